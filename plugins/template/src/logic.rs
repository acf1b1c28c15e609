//! The template's computation, free of FFI: what the plugin does, as functions that
//! tests call directly.

use isotherm_sdk::prelude::*;
use isotherm_sdk::volume::{components, edt, filter, mesh};

/// The parameters, resolved and typed.
#[derive(Debug, Clone)]
pub struct Settings {
    pub lower: f64,
    pub upper: f64,
    /// 0 = any non-zero mask value.
    pub mask_label: u16,
    /// Distance from the mask's edge inside which voxels are ignored, mm.
    pub mask_margin_mm: f64,
    pub smoothing_mm: f64,
    pub largest_only: bool,
    pub mesh_smoothing: usize,
}

/// What the template finds.
pub struct Segmentation {
    pub geometry: Geometry,
    pub mask: Vec<bool>,
    pub surface: Mesh,
    pub volume_ml: f64,
    pub mean_hu: f64,
    pub voxels: usize,
    pub regions: usize,
}

/// Thresholds `ct` in [lower, upper] (after optional Gaussian smoothing) inside `mask`,
/// keeps the largest region, and meshes it. Reports progress; honours cancellation.
pub fn segment(ct: &Volume, mask: Option<&LabelMap>, s: &Settings, host: &Host<'_>) -> Result<Segmentation, PluginError> {
    if s.lower > s.upper {
        return Err(PluginError::invalid_input(format!("lower threshold {} HU is above upper {} HU", s.lower, s.upper)));
    }
    let g = ct.geometry;
    if let Some(m) = mask {
        if !m.geometry.same_grid(&g, 1e-3) {
            return Err(PluginError::invalid_input("the mask is not on the CT's grid (dims or position differ); resample it first"));
        }
    }
    let dims = g.dims_usize();
    host.progress(0.05, "smoothing");
    let hu = ct.to_f32();
    let sigma = g.spacing.map(|sp| s.smoothing_mm / sp);
    let smoothed = if s.smoothing_mm > 0.0 { filter::gaussian(&hu, dims, sigma) } else { hu.clone() };
    host.checkpoint()?;

    // The region to search: the mask (or everything), shrunk by the margin in mm with
    // the exact EDT, so partial-volume voxels at the mask's edge are left out.
    let allowed: Vec<bool> = match mask {
        Some(m) => {
            let inside: Vec<bool> = m.labels.iter().map(|&l| if s.mask_label == 0 { l != 0 } else { l == s.mask_label }).collect();
            if s.mask_margin_mm > 0.0 {
                let outside: Vec<bool> = inside.iter().map(|b| !b).collect();
                let depth = edt::distance_to(&outside, dims, g.spacing);
                depth.iter().map(|&d| d as f64 > s.mask_margin_mm).collect()
            } else {
                inside
            }
        }
        None => vec![true; g.len()],
    };
    host.checkpoint()?;

    host.progress(0.3, "thresholding");
    let (lo, hi) = (s.lower as f32, s.upper as f32);
    let mut selected: Vec<bool> = smoothed.iter().zip(&allowed).map(|(&v, &a)| a && v >= lo && v <= hi).collect();
    host.checkpoint()?;

    host.progress(0.5, "connected components");
    let comps = components::label(&selected, dims, components::Connectivity::Six);
    if s.largest_only {
        selected = comps.labels.iter().map(|&l| l == 1).collect();
    }
    host.checkpoint()?;

    host.progress(0.7, "surface mesh");
    let mut surface = mesh::mask_surface(&selected, &g);
    mesh::smooth_taubin(&mut surface, s.mesh_smoothing);
    surface.colour = [0.95, 0.75, 0.2, 1.0];

    let voxels = selected.iter().filter(|&&b| b).count();
    let mean_hu = if voxels == 0 { 0.0 } else { selected.iter().zip(&hu).filter(|(b, _)| **b).map(|(_, &v)| v as f64).sum::<f64>() / voxels as f64 };
    host.progress(1.0, "done");
    Ok(Segmentation {
        geometry: g,
        volume_ml: voxels as f64 * g.voxel_volume_mm3() / 1000.0,
        mask: selected,
        surface,
        mean_hu,
        voxels,
        regions: comps.count(),
    })
}

/// Turns a segmentation into the scene changes the host shows and writes.
pub fn to_output(seg: Segmentation) -> RunOutput {
    let labels: Vec<u16> = seg.mask.iter().map(|&b| b as u16).collect();
    let map = LabelMap::new(seg.geometry, labels, vec![LabelEntry::new(1, "segment", [242, 191, 51, 255])]);
    let value = |key: &str, v: Cell, unit: &str| KeyValue { key: key.into(), value: v, unit: unit.into() };
    let report = Report {
        title: "HU threshold".into(),
        text: format!("{} voxels, {:.2} ml ({} regions before selection)", seg.voxels, seg.volume_ml, seg.regions).into(),
        values: vec![
            value("volume", Cell::Number(seg.volume_ml), "ml"),
            value("voxels", Cell::Integer(seg.voxels as i64), ""),
            value("mean_hu", Cell::Number(seg.mean_hu), "HU"),
            value("surface_area", Cell::Number(mesh::surface_area(&seg.surface)), "mm2"),
            value("regions_found", Cell::Integer(seg.regions as i64), ""),
        ]
        .into(),
        tables: RVec::new(),
    };
    let node = |name: &str, data: NodeData| NodeChange::Upsert(SceneNode { name: name.into(), data });
    RunOutput {
        changes: vec![node("segment", NodeData::LabelMap(map)), node("surface", NodeData::Mesh(seg.surface)), node("summary", NodeData::Report(report))].into(),
    }
}
