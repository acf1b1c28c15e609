//! The template's computation, free of FFI: what the plugin does, as functions that
//! tests call directly.

use isotherm_sdk::prelude::*;
use isotherm_sdk::volume::{components, edt, filter, mesh, stats};

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

    let stats = ct.stats_in(&selected);
    host.progress(1.0, "done");
    Ok(Segmentation {
        geometry: g,
        volume_ml: stats.volume_ml,
        mask: selected,
        surface,
        mean_hu: stats.mean,
        voxels: stats.voxels,
        regions: comps.count(),
    })
}

/// Turns a segmentation into the scene changes the host shows and writes.
pub fn to_output(seg: Segmentation) -> RunOutput {
    let labels: Vec<u16> = seg.mask.iter().map(|&b| b as u16).collect();
    let map = LabelMap::new(seg.geometry, labels, vec![LabelEntry::new(1, "segment", [242, 191, 51, 255])]);
    let report = Report::new("HU threshold")
        .text(format!("{} voxels, {:.2} ml ({} regions before selection)", seg.voxels, seg.volume_ml, seg.regions))
        .number("volume", seg.volume_ml, "ml")
        .integer("voxels", seg.voxels as i64, "")
        .number("mean_hu", seg.mean_hu, "HU")
        .number("surface_area", mesh::surface_area(&seg.surface), "mm2")
        .integer("regions_found", seg.regions as i64, "");
    // The viewer's slices go to the region's centre when the run finishes.
    let centre = stats::centroid(&seg.geometry, &seg.mask);
    let out = RunOutput::new().label_map("segment", map).mesh("surface", seg.surface).report("summary", report);
    match centre {
        Some(c) => out.focus(c),
        None => out,
    }
}
