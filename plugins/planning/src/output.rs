//! What a planned ablation returns: scene nodes and the report.

use isotherm_margin_core as margin;
use isotherm_planning_core::anatomy::Structure;
use isotherm_planning_core::antenna::Antenna;
use isotherm_planning_core::plan::Planned;
use isotherm_sdk::prelude::*;
use isotherm_sdk::volume::components::{self, Connectivity};
use isotherm_sdk::volume::mesh::{marching_cubes, mask_surface_smooth};

/// The tumour the antenna treats: the 26-connected tumour region of the simulation grid
/// that holds the zone's centre, else the one nearest it. `None` when the block has none.
fn targeted_tumour(p: &Planned) -> Option<LabelMap> {
    let g = *p.geometry();
    let mask: Vec<bool> = p.anatomy.structure.iter().map(|&s| s == Structure::Tumour).collect();
    let comps = components::label(&mask, g.dims_usize(), Connectivity::TwentySix);
    if comps.count() == 0 {
        return None;
    }
    let h = g.spacing[0] * 1e-3;
    let c_m = [0, 1, 2].map(|a| p.ablation.pose.tip[a] + p.ablation.sar_parameters.feed_behind_tip_mm * 1e-3 * p.ablation.pose.back[a]);
    let centre = c_m.map(|v| v / h);
    let mut best = (f64::INFINITY, 0u32);
    for (i, &c) in comps.labels.iter().enumerate() {
        if c != 0 {
            let ijk = g.ijk(i);
            let d2: f64 = (0..3).map(|a| (ijk[a] as f64 - centre[a]).powi(2)).sum();
            if d2 < best.0 {
                best = (d2, c);
            }
        }
    }
    let labels: Vec<u16> = comps.labels.iter().map(|&c| (c == best.1) as u16).collect();
    Some(LabelMap::new(g, labels, vec![LabelEntry::new(1, "targeted tumour", [240, 200, 40, 255])]))
}

pub fn to_output(p: &Planned, antenna: &Antenna, _tumour_source: Option<&LabelMap>, host: &Host<'_>) -> Result<RunOutput, PluginError> {
    let g = *p.geometry();
    let s = &p.setting;
    let zone = p.zone_mask();
    let zone_voxels = zone.iter().filter(|&&z| z).count();
    let zone_map = LabelMap::new(g, zone.iter().map(|&z| z as u16).collect(), vec![LabelEntry::new(1, &format!("ablation zone ({})", s.criterion.name()), [60, 200, 90, 255])]);
    let temperature: Vec<f32> = p.ablation.sim.temperature().to_vec();
    let mut iso50 = marching_cubes(&temperature, &g, 50.0);
    iso50.colour = [1.0, 0.8, 0.2, 0.25];
    let mut iso60 = marching_cubes(&temperature, &g, 60.0);
    iso60.colour = [1.0, 0.35, 0.1, 0.35];

    // The predicted margin of the targeted tumour, measured by the margin plugin's logic.
    let lesion = match targeted_tumour(p) {
        Some(t) if zone_voxels > 0 => {
            let settings = margin::Settings { tumour_label: 1, zone_label: 1, shell_mm: margin::TARGET_MM, smoothing: 0 };
            let a = margin::assess(&t, &zone_map, &settings, host)?;
            a.lesions.into_iter().next()
        }
        _ => None,
    };
    let mut zone_surface = mask_surface_smooth(&zone, &g, margin::ANTI_ALIAS_VOXELS);
    zone_surface.colour = [0.3, 0.85, 0.45, 0.3];

    let axes = p.zone_axes;
    let energy_kj = s.power_w * s.time_min * 60.0 / 1000.0;
    let zone_ml = zone_voxels as f64 * p.voxel_ml();
    let mut report = Report::new("Microwave-ablation plan")
        .label("antenna", &antenna.name)
        .number("power", s.power_w, "W")
        .number("time", s.time_min, "min")
        .number("energy", energy_kj, "kJ")
        .label("criterion", s.criterion.describe())
        .number("zone_long_axis", axes.long_mm, "mm")
        .number("zone_short_axis", axes.short_mm, "mm")
        .number("zone_distal_of_tip", axes.distal_mm, "mm")
        .number("zone_volume", zone_ml, "ml")
        .number("healthy_liver_ablated", p.healthy_liver_ablated_ml(), "ml")
        .number("damage_model_spread", p.criterion_spread_mm(), "mm")
        .integer("heat_sink_vessels_near_zone", p.sink_flags.len() as i64, "")
        .label("vessels_from", &p.anatomy.vessel_source);
    if let Some(l) = &lesion {
        let covered = if l.volume_ml > 0.0 { 100.0 * (1.0 - l.uncovered_ml / l.volume_ml) } else { 0.0 };
        report = report.number("predicted_mam", l.minimal_margin_mm, "mm").number("tumour_covered", covered, "%").number("tumour_volume", l.volume_ml, "ml").label("margin_class", l.class());
    }
    if let Some(c) = &p.chart {
        report = report.number("chart_long_axis", c.long_mm, "mm").number("chart_short_axis", c.short_mm, "mm");
    }
    let mut summary = format!(
        "{} at {:.0} W for {:.1} min ({:.1} kJ): zone {:.1} x {:.1} mm ({}), {:.1} mm past the tip.",
        antenna.name, s.power_w, s.time_min, energy_kj, axes.long_mm, axes.short_mm, s.criterion.name(), axes.distal_mm
    );
    match &lesion {
        Some(l) if l.covered() => summary.push_str(&format!(" Predicted MAM {:.1} mm ({}).", l.minimal_margin_mm, l.class())),
        Some(l) => summary.push_str(&format!(" The tumour is not covered: {:.2} ml outside the zone.", l.uncovered_ml)),
        None => summary.push_str(" No tumour at the antenna."),
    }
    for f in &p.sink_flags {
        summary.push_str(&format!(" Heat sink: a {:.1} mm vessel {:.1} mm from the zone.", f.diameter_mm, f.distance_mm));
    }
    let mut models = Table::new("damage models").column("criterion", "").column("long axis", "mm").column("short axis", "mm").column("distal of tip", "mm").column("volume", "ml");
    for (c, a, ml) in &p.per_criterion {
        models = models.row(vec![c.name().into(), a.long_mm.into(), a.short_mm.into(), a.distal_mm.into(), (*ml).into()]);
    }
    let mut sinks = Table::new("heat sink").column("vessel", "").column("diameter", "mm").column("distance to zone", "mm");
    for f in &p.sink_flags {
        sinks = sinks.row(vec![(f.vessel as i64).into(), f.diameter_mm.into(), f.distance_mm.into()]);
    }
    report = report.text(summary).table(models).table(sinks);

    let needle = Markups {
        points: RVec::new(),
        lines: vec![LineMarkup { label: format!("{} {:.0} W {:.1} min", antenna.name, s.power_w, s.time_min).into(), kind: LineKind::Needle, start: s.entry, end: s.tip }].into(),
        colour: [0.9, 0.9, 0.95, 1.0],
    };
    let mut out = RunOutput::new()
        .report("planning", report)
        .markups("antenna", needle)
        .label_map("predicted-zone", zone_map)
        .mesh("predicted-zone-surface", zone_surface)
        .volume("temperature", Volume::from_f32(g, temperature))
        .mesh("isotherm-50", iso50)
        .mesh("isotherm-60", iso60);
    if let Some(l) = lesion {
        out = out.mesh("tumour-margin", l.surface);
    }
    Ok(out.focus(s.tip))
}
