//! What a planned ablation returns: scene nodes and the report.

use isotherm_margin_core as margin;
use isotherm_planning_core::anatomy::Structure;
use isotherm_planning_core::antenna::{Antenna, ChartEntry};
use isotherm_planning_core::plan::{Planned, Setting};
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

pub fn to_output(p: &Planned, antenna: &Antenna, host: &Host<'_>) -> Result<RunOutput, PluginError> {
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

    let needle = needle(s, antenna);
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
    if let Some(chart) = chart_zone(s, antenna) {
        out = out.mesh("chart-zone", chart);
    }
    Ok(out.focus(s.tip))
}

/// The antenna from entry to tip, labelled with its setting.
pub fn needle(s: &Setting, antenna: &Antenna) -> Markups {
    Markups {
        points: RVec::new(),
        lines: vec![LineMarkup {
            label: format!("{} {:.0} W {:.1} min", antenna.name, s.power_w, s.time_min).into(),
            kind: LineKind::Needle,
            start: s.entry,
            end: s.tip,
        }]
        .into(),
        colour: [0.9, 0.9, 0.95, 1.0],
    }
}

/// The vendor chart's zone for the setting (listed or interpolated, see
/// [`Antenna::chart_zone`]) as an ellipsoid about the antenna: what a chart lookup
/// draws, to compare with the simulated zone. `None` where the chart does not reach.
pub fn chart_zone(s: &Setting, antenna: &Antenna) -> Option<Mesh> {
    let c = antenna.chart_zone(s.power_w, s.time_min)?;
    Some(ellipsoid(s.tip, s.entry, &c))
}

/// The ellipsoid of a chart entry: `long_mm` along the antenna, reaching `distal_mm` past
/// the tip, `short_mm` across.
fn ellipsoid(tip: [f64; 3], entry: [f64; 3], c: &ChartEntry) -> Mesh {
    use isotherm_planning_core::vec3::{sub, unit};
    let back = unit(sub(entry, tip));
    // Two unit vectors across the antenna.
    let helper = if back[0].abs() < 0.9 { [1.0, 0.0, 0.0] } else { [0.0, 1.0, 0.0] };
    let cross = |a: [f64; 3], b: [f64; 3]| [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
    let u = unit(cross(back, helper));
    let v = cross(back, u);
    let centre = [0, 1, 2].map(|a| tip[a] + (0.5 * c.long_mm - c.distal_mm) * back[a]);
    let (rings, segments) = (24usize, 48usize);
    let mut positions = Vec::new();
    for i in 0..=rings {
        let theta = std::f64::consts::PI * i as f64 / rings as f64;
        for j in 0..segments {
            let phi = 2.0 * std::f64::consts::PI * j as f64 / segments as f64;
            let (along, across) = (0.5 * c.long_mm * theta.cos(), 0.5 * c.short_mm * theta.sin());
            positions.push([0, 1, 2].map(|a| (centre[a] + along * back[a] + across * (phi.cos() * u[a] + phi.sin() * v[a])) as f32));
        }
    }
    let mut triangles = Vec::new();
    for i in 0..rings {
        for j in 0..segments {
            let (a, b) = ((i * segments + j) as u32, (i * segments + (j + 1) % segments) as u32);
            let (c2, d) = (a + segments as u32, b + segments as u32);
            triangles.push([a, c2, b]);
            triangles.push([b, c2, d]);
        }
    }
    let mut mesh =
        Mesh { positions: positions.into(), normals: RVec::new(), triangles: triangles.into(), colour: [0.92, 0.92, 1.0, 0.18], scalars: ROption::RNone };
    isotherm_sdk::volume::mesh::compute_normals(&mut mesh);
    mesh
}

/// The tumours a label map names (by its label table), as a binary map.
pub fn tumours_named_in(labels: &LabelMap) -> LabelMap {
    use isotherm_planning_core::anatomy::structure_of;
    let mut is_tumour = vec![false; 65536];
    for e in labels.table.iter() {
        is_tumour[e.value as usize] = structure_of(e.name.as_str()) == Some(Structure::Tumour);
    }
    let values = labels.labels.iter().map(|&v| is_tumour[v as usize] as u16).collect();
    LabelMap::new(labels.geometry, values, vec![LabelEntry::new(1, "tumour", [240, 200, 40, 255])])
}

/// Recommend mode: the simulated recommendation's nodes, with the recommended setting, the
/// Pareto front of paths and the settings considered in the report.
pub fn recommendation_output(r: &isotherm_planning_core::recommend::Recommendation, antenna: &Antenna, host: &Host<'_>) -> Result<RunOutput, PluginError> {
    let mut out = to_output(&r.planned, antenna, host)?;
    let s = &r.planned.setting;
    let mut front = Table::new("pareto front").column("entry x", "mm").column("entry y", "mm").column("entry z", "mm").column("length", "mm").column("vessel clearance", "mm").column("predicted margin", "mm").column("covered", "%");
    for p in &r.search.front {
        front = front.row(vec![p.entry[0].into(), p.entry[1].into(), p.entry[2].into(), p.length_mm.into(), p.clearance_mm.min(999.0).into(), p.margin_mm.into(), p.covered_percent.into()]);
    }
    let mut considered = Table::new("settings").column("power", "W").column("time", "min").column("energy", "kJ").column("best predicted margin", "mm").column("zone", "ml");
    for c in &r.considered {
        considered = considered.row(vec![c.setting.power_w.into(), c.setting.time_min.into(), c.setting.energy_kj().into(), c.best.map(|p| p.margin_mm).unwrap_or(f64::NAN).into(), c.zone_ml.into()]);
    }
    let mut refused = Table::new("refused paths").column("reason", "").column("paths", "");
    for (f, n) in &r.search.refused {
        refused = refused.row(vec![f.name().into(), (*n as i64).into()]);
    }
    let mut sources = Table::new("structure sources").column("structure", "").column("from", "");
    for (f, src) in &r.obstacles.sources {
        sources = sources.row(vec![f.name().into(), src.as_str().into()]);
    }
    let alternatives = Markups {
        points: r.search.front.iter().enumerate().map(|(i, p)| PointMarkup { label: format!("entry {} ({:.1} mm margin)", i + 1, p.margin_mm).into(), position: p.entry }).collect::<Vec<_>>().into(),
        lines: RVec::new(),
        colour: [0.6, 0.8, 1.0, 1.0],
    };
    let mut extra = Some(
        Report::new("")
            .label("recommended_setting", &format!("{:.0} W, {:.1} min", s.power_w, s.time_min))
            .number("path_length", r.path.length_mm, "mm")
            .number("vessel_clearance", r.path.clearance_mm.min(999.0), "mm")
            .label("entry", &format!("{:.1},{:.1},{:.1}", s.entry[0], s.entry[1], s.entry[2]))
            .label("tip", &format!("{:.1},{:.1},{:.1}", s.tip[0], s.tip[1], s.tip[2]))
            .integer("entries_evaluated", r.search.evaluated as i64, "")
            .integer("entries_feasible", r.search.feasible as i64, "")
            .integer("pareto_front", r.search.front.len() as i64, "")
            .label("reaches_5mm_margin", if r.reaches_target { "yes" } else { "no" })
            .table(front)
            .table(considered)
            .table(refused)
            .table(sources),
    );
    let mut changes: Vec<NodeChange> = out.changes.into_iter().collect();
    for c in changes.iter_mut() {
        if let NodeChange::Upsert(SceneNode { name, data: NodeData::Report(rep) }) = c {
            if name.as_str() == "planning" {
                let mut extra = extra.take().expect("one planning report");
                rep.title = "Microwave-ablation recommendation".into();
                rep.values.extend(extra.values.drain(..));
                rep.tables.extend(extra.tables.drain(..));
                rep.text = format!("Recommended: {:.0} W for {:.1} min ({} entries evaluated, {} feasible). {}", s.power_w, s.time_min, r.search.evaluated, r.search.feasible, rep.text).into();
            }
        }
    }
    changes.push(NodeChange::Upsert(SceneNode { name: "alternative-entries".into(), data: NodeData::Markups(alternatives) }));
    if let Some((plan, others)) = &r.multi {
        several_antennas(&mut changes, r, plan, others, antenna, host)?;
    }
    out.changes = changes.into();
    Ok(out)
}

/// A multi-antenna plan: the zones of all antennas together (each simulated on the patient;
/// the ablations are taken one after the other, so their zones are joined), the margin of
/// the tumour to that union, every antenna's needle.
fn several_antennas(changes: &mut [NodeChange], r: &isotherm_planning_core::recommend::Recommendation, plan: &isotherm_planning_core::recommend::MultiPlan, others: &[isotherm_planning_core::plan::Planned], antenna: &Antenna, host: &Host<'_>) -> Result<(), PluginError> {
    use isotherm_sdk::volume::resample::resample_nearest;
    let g = r.target.mask.geometry;
    let mut union = vec![0u16; g.len()];
    for p in std::iter::once(&r.planned).chain(others) {
        let z: Vec<u16> = p.zone_mask().iter().map(|&v| v as u16).collect();
        for (u, v) in union.iter_mut().zip(resample_nearest(&z, p.geometry(), &g)) {
            *u |= v;
        }
    }
    // Healthy liver in any antenna's block that any zone reached.
    let mut liver = vec![0u16; g.len()];
    for p in std::iter::once(&r.planned).chain(others) {
        let l: Vec<u16> = p.anatomy.structure.iter().map(|&s| (s == Structure::Liver) as u16).collect();
        for (u, v) in liver.iter_mut().zip(resample_nearest(&l, p.geometry(), &g)) {
            *u |= v;
        }
    }
    let healthy_ml = union.iter().zip(&liver).filter(|(z, l)| **z != 0 && **l != 0).count() as f64 * g.voxel_volume_mm3() / 1000.0;
    let zone = LabelMap::new(g, union, vec![LabelEntry::new(1, &format!("ablation zones of {} antennas", plan.paths.len()), [60, 200, 90, 255])]);
    let settings = margin::Settings { tumour_label: 1, zone_label: 1, shell_mm: margin::TARGET_MM, smoothing: 0 };
    let a = margin::assess(&r.target.mask, &zone, &settings, host)?;
    let lesion = a.lesions.into_iter().next();
    let s = plan.setting;
    let needles = Markups {
        points: RVec::new(),
        lines: plan.paths.iter().enumerate().map(|(i, (e, t))| LineMarkup { label: format!("antenna {} of {}: {} {:.0} W {:.1} min", i + 1, plan.paths.len(), antenna.name, s.power_w, s.time_min).into(), kind: LineKind::Needle, start: *e, end: *t }).collect::<Vec<_>>().into(),
        colour: [0.9, 0.9, 0.95, 1.0],
    };
    for c in changes.iter_mut() {
        let NodeChange::Upsert(node) = c else { continue };
        match (node.name.as_str(), &mut node.data) {
            ("predicted-zone", data) => *data = NodeData::LabelMap(zone.clone()),
            ("predicted-zone-surface", data) => *data = NodeData::Mesh(a.zone_surface.clone()),
            ("antenna", data) => *data = NodeData::Markups(needles.clone()),
            ("tumour-margin", data) => {
                if let Some(l) = &lesion {
                    *data = NodeData::Mesh(l.surface.clone());
                }
            }
            ("planning", NodeData::Report(rep)) => {
                rep.values.retain(|v| {
                    ![
                        "predicted_mam",
                        "tumour_covered",
                        "margin_class",
                        "reaches_5mm_margin",
                        "zone_volume",
                        "healthy_liver_ablated",
                        "zone_long_axis",
                        "zone_short_axis",
                        "zone_distal_of_tip",
                    ]
                    .contains(&v.key.as_str())
                });
                let mut extra = Report::new("")
                    .integer("antennas", plan.paths.len() as i64, "")
                    .number("zone_volume", a.zone_ml, "ml")
                    .number("healthy_liver_ablated", healthy_ml, "ml")
                    .number("set_cover_covered", plan.covered_percent, "%");
                let verdict = match &lesion {
                    Some(l) => {
                        let covered = 100.0 * (1.0 - l.uncovered_ml / l.volume_ml.max(1e-9));
                        extra = extra.number("predicted_mam", l.minimal_margin_mm, "mm").number("tumour_covered", covered, "%").label("margin_class", l.class()).label("reaches_5mm_margin", if l.minimal_margin_mm >= margin::TARGET_MM { "yes" } else { "no" });
                        format!("predicted MAM {:.1} mm ({})", l.minimal_margin_mm, l.class())
                    }
                    None => "no margin".into(),
                };
                rep.values.extend(extra.values.drain(..));
                let energy = plan.paths.len() as f64 * s.energy_kj();
                rep.values.retain(|v| v.key.as_str() != "energy");
                rep.values.push(KeyValue { key: "energy".into(), value: Cell::Number(energy), unit: "kJ".into() });
                rep.text = format!(
                    "The tumour ({:.1} ml) is larger than one zone with its margin: {} antennas, parallel, each {} at {:.0} W for {:.1} min ({energy:.0} kJ in all), zones joined: {verdict}; {:.1} ml of healthy liver ablated.",
                    r.target.volume_ml, plan.paths.len(), antenna.name, s.power_w, s.time_min, healthy_ml
                )
                .into();
            }
            _ => {}
        }
    }
    Ok(())
}
