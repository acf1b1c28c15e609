//! The minimal ablative margin, free of FFI (the margin plugin's logic, shared with planning).
//!
//! Definition (clinical-facts.md, "Minimal ablative margin"): for every point of a
//! tumour's surface, the signed distance to the ablation zone's surface — positive when
//! the point lies inside the zone — and the MAM is its minimum. Surfaces are the
//! masks' iso-surfaces (half-way between inside and outside voxel centres), smoothed to
//! remove the voxel staircase; distances are exact point-to-triangle distances in mm,
//! so anisotropic and oblique grids need no special care.

use isotherm_sdk::prelude::*;
use isotherm_sdk::volume::mesh::{mask_surface_smooth, smooth_taubin};
use isotherm_sdk::volume::mesh_distance::MeshDistance;
use isotherm_sdk::volume::{VoxelBox, edt, resample};

#[derive(Debug, Clone)]
pub struct Settings {
    /// 0 = every non-zero value is a tumour.
    pub tumour_label: u16,
    /// 0 = any non-zero value is zone.
    pub zone_label: u16,
    pub shell_mm: f64,
    pub smoothing: usize,
}

/// Gaussian sigma (voxels) applied to each mask before its surface is extracted: enough
/// to remove the voxel staircase, small enough to keep sub-millimetre shape.
pub const ANTI_ALIAS_VOXELS: f64 = 0.7;

/// A margin of at least this is the technical-success target (clinical-facts.md).
pub const TARGET_MM: f64 = 5.0;

/// One tumour's figures.
#[derive(Debug, Clone)]
pub struct LesionMargin {
    pub id: u16,
    pub volume_ml: f64,
    /// Signed: negative when part of the tumour lies outside the zone.
    pub minimal_margin_mm: f64,
    pub uncovered_ml: f64,
    pub shell_ablated_percent: f64,
    /// Tumour-surface point and zone-surface point where the margin is smallest.
    pub closest: ([f64; 3], [f64; 3]),
    /// The tumour surface with the margin per vertex.
    pub surface: Mesh,
}

impl LesionMargin {
    pub fn covered(&self) -> bool {
        self.uncovered_ml == 0.0 && self.minimal_margin_mm > 0.0
    }
    /// "0 mm" (not covered), "0-5 mm" or ">= 5 mm".
    pub fn class(&self) -> &'static str {
        if !self.covered() {
            "0 mm"
        } else if self.minimal_margin_mm < TARGET_MM {
            "0-5 mm"
        } else {
            ">= 5 mm"
        }
    }
}

pub struct Assessment {
    pub lesions: Vec<LesionMargin>,
    /// The tumours as measured: tumour n (the table's row n) has value n, named
    /// "tumour n" (what a DICOM SR's measurement groups reference).
    pub tumours: LabelMap,
    pub zone_surface: Mesh,
    pub zone_ml: f64,
}

fn selected(labels: &[u16], value: u16) -> Vec<bool> {
    labels.iter().map(|&l| if value == 0 { l != 0 } else { l == value }).collect()
}

/// Measures every tumour's margin to the zone.
pub fn assess(tumours: &LabelMap, zone: &LabelMap, s: &Settings, host: &Host<'_>) -> Result<Assessment, PluginError> {
    let g = tumours.geometry;
    let dims = g.dims_usize();
    // The zone on the tumour grid: identical grids pass through, others are resampled
    // by nearest neighbour through world coordinates.
    let in_zone = if zone.geometry.same_grid(&g, 1e-3) {
        selected(&zone.labels, s.zone_label)
    } else {
        selected(&resample::resample_nearest(&zone.labels, &zone.geometry, &g), s.zone_label)
    };
    let zone_voxels = in_zone.iter().filter(|&&z| z).count();
    if zone_voxels == 0 {
        return Err(PluginError::invalid_input("the ablation zone is empty (on the tumour grid)"));
    }
    host.progress(0.05, "zone surface");
    let mut zone_surface = mask_surface_smooth(&in_zone, &g, ANTI_ALIAS_VOXELS);
    if zone_surface.triangles.is_empty() {
        return Err(PluginError::invalid_input(format!("the ablation zone ({zone_voxels} voxels) is too small to have a surface")));
    }
    smooth_taubin(&mut zone_surface, s.smoothing);
    zone_surface.colour = [0.3, 0.85, 0.45, 0.3];
    let spacing_max = g.spacing.iter().cloned().fold(0.0, f64::max);
    let zone_distance = MeshDistance::new(&zone_surface, (2.0 * spacing_max).max(2.0));
    let voxel_ml = g.voxel_volume_mm3() / 1000.0;

    let mut out = Vec::new();
    let mut measured = vec![0u16; g.len()];
    // One tumour's mask at a time (each is full-size).
    tumours.for_each_lesion(s.tumour_label, |n, count, id, mask| {
        let mask = &mask;
        for (m, &inside) in measured.iter_mut().zip(mask) {
            if inside {
                *m = id;
            }
        }
        host.checkpoint()?;
        host.progress(0.1 + 0.85 * n as f32 / count as f32, &format!("tumour {id}"));
        let voxels = mask.iter().filter(|&&m| m).count();
        let uncovered = mask.iter().zip(&in_zone).filter(|(m, z)| **m && !**z).count();
        // The shell around the tumour, by the exact EDT in mm. The EDT measures from
        // tumour voxel *centres*; the tumour's surface lies about half a voxel further
        // out, so the shell reaches half a (mean) voxel further in EDT terms.
        // Only the tumour's box grown by the shell's reach can be in the shell: the EDT
        // runs there (a full-grid EDT per tumour is 315 MB and seconds at 512 x 512 x 300).
        let reach = s.shell_mm + 0.5 * g.spacing.iter().sum::<f64>() / 3.0;
        let grow = (reach / g.spacing.iter().cloned().fold(f64::INFINITY, f64::min)).ceil() as usize + 1;
        let (mut shell, mut shell_ablated) = (0usize, 0usize);
        if let Some(b) = VoxelBox::around(dims, |n| mask[n]).map(|b| b.grown(grow, dims)) {
            let (local_mask, local_zone) = (b.cut(mask, dims), b.cut(&in_zone, dims));
            let d = edt::distance_to(&local_mask, b.dims(), g.spacing);
            for (i, &di) in d.iter().enumerate() {
                if di > 0.0 && (di as f64) <= reach {
                    shell += 1;
                    shell_ablated += local_zone[i] as usize;
                }
            }
        }
        let mut surface = mask_surface_smooth(mask, &g, ANTI_ALIAS_VOXELS);
        smooth_taubin(&mut surface, s.smoothing);
        let mut margins = Vec::with_capacity(surface.positions.len());
        let mut best = (f64::INFINITY, [0.0; 3], [0.0; 3]);
        for p in surface.positions.iter() {
            let p = p.map(|x| x as f64);
            let near = zone_distance.nearest(p).expect("zone surface is not empty");
            // Inside the zone the signed distance is negative: the margin is its negation.
            let m = -near.signed_distance;
            margins.push(m as f32);
            if m < best.0 {
                best = (m, p, near.point);
            }
        }
        surface.colour = [0.95, 0.75, 0.2, 1.0];
        surface.scalars = ROption::RSome(VertexScalars { name: "margin".into(), unit: "mm".into(), values: margins.into(), colormap: Colormap::Margin, range: [-5.0, 10.0] });
        out.push(LesionMargin {
            id,
            volume_ml: voxels as f64 * voxel_ml,
            minimal_margin_mm: best.0,
            uncovered_ml: uncovered as f64 * voxel_ml,
            shell_ablated_percent: if shell == 0 { 0.0 } else { 100.0 * shell_ablated as f64 / shell as f64 },
            closest: (best.1, best.2),
            surface,
        });
        Ok::<(), PluginError>(())
    })?;
    if out.is_empty() {
        return Err(PluginError::invalid_input("the tumour label map has no tumour"));
    }
    host.progress(1.0, "done");
    let table = out.iter().map(|l| LabelEntry::new(l.id, &format!("tumour {}", l.id), isotherm_sdk::volume::lesion_colour(l.id as usize))).collect();
    Ok(Assessment { tumours: LabelMap::new(g, measured, table), lesions: out, zone_surface, zone_ml: zone_voxels as f64 * voxel_ml })
}

/// The report table, the measured tumours, surfaces and closest-point rulers.
pub fn to_output(a: Assessment) -> RunOutput {
    let text = |s: &str| Cell::Text(s.into());
    let rows: Vec<RVec<Cell>> = a
        .lesions
        .iter()
        .map(|l| {
            let shown = if l.covered() { format!("{:.1} mm", l.minimal_margin_mm) } else { "0 mm, not covered".to_string() };
            vec![
                Cell::Integer(l.id as i64),
                text(&shown),
                Cell::Number(l.minimal_margin_mm),
                text(if l.covered() { "yes" } else { "no" }),
                Cell::Number(l.uncovered_ml),
                Cell::Number(l.shell_ablated_percent),
                text(l.class()),
                Cell::Number(l.volume_ml),
            ]
            .into()
        })
        .collect();
    let columns = ["tumour", "MAM", "signed MAM", "covered", "uncovered tumour", "shell ablated", "class", "tumour volume"];
    let units = ["", "", "mm", "", "ml", "%", "", "ml"];
    let table = Table {
        name: "margins".into(),
        columns: columns.iter().map(|c| RString::from(*c)).collect(),
        units: units.iter().map(|c| RString::from(*c)).collect(),
        rows: rows.into(),
    };
    let worst = a.lesions.iter().map(|l| l.minimal_margin_mm).fold(f64::INFINITY, f64::min);
    let summary = a.lesions.iter().map(|l| format!("tumour {}: {}", l.id, if l.covered() { format!("MAM {:.1} mm ({})", l.minimal_margin_mm, l.class()) } else { format!("0 mm, not covered ({:.2} ml outside)", l.uncovered_ml) })).collect::<Vec<_>>().join("; ");
    let report = Report {
        title: "Minimal ablative margin".into(),
        text: summary.into(),
        values: vec![
            KeyValue { key: "smallest_margin".into(), value: Cell::Number(worst), unit: "mm".into() },
            KeyValue { key: "tumours".into(), value: Cell::Integer(a.lesions.len() as i64), unit: "".into() },
            KeyValue { key: "zone_volume".into(), value: Cell::Number(a.zone_ml), unit: "ml".into() },
        ]
        .into(),
        tables: vec![table].into(),
    };
    let lines: Vec<LineMarkup> = a
        .lesions
        .iter()
        .map(|l| LineMarkup { label: format!("tumour {} MAM {:.1} mm", l.id, l.minimal_margin_mm).into(), kind: LineKind::Ruler, start: l.closest.0, end: l.closest.1 })
        .collect();
    let node = |name: String, data: NodeData| NodeChange::Upsert(SceneNode { name: name.into(), data });
    let mut changes = vec![
        node("margins".into(), NodeData::Report(report)),
        node("tumours".into(), NodeData::LabelMap(a.tumours)),
        node("ablation-zone".into(), NodeData::Mesh(a.zone_surface.clone())),
        node("closest-points".into(), NodeData::Markups(Markups { points: RVec::new(), lines: lines.into(), colour: [1.0, 0.2, 0.9, 1.0] })),
    ];
    for l in &a.lesions {
        changes.push(node(format!("tumour-{}", l.id), NodeData::Mesh(l.surface.clone())));
    }
    RunOutput { changes: changes.into() }
}
