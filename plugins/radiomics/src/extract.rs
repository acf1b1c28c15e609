//! Per-lesion feature extraction from a CT and a label map: cut each lesion's
//! neighbourhood, process it as the protocol says (interpolation, re-segmentation),
//! discretise, compute every family.

use isotherm_sdk::prelude::*;
use isotherm_sdk::volume::VoxelBox;

use crate::features::{self, Features};
use crate::preprocess;
use crate::presets::Protocol;

#[derive(Debug, Clone)]
pub struct Settings {
    pub protocol: Protocol,
    /// 0 = every non-zero value is a lesion (a single value is split by connectivity).
    pub label: u16,
}

pub struct Lesion {
    pub id: u16,
    pub voxels: usize,
    pub features: Features,
}

/// How far (mm) the features look beyond the ROI: the local-peak sphere of 1 cm^3.
const LOOKS_BEYOND_MM: f64 = 6.3;
/// Extra voxels cut around a lesion, so that interpolation near the cut's sides sees the
/// scan as it is (the cubic spline's prefilter fades within 8 voxels).
const CUT_MARGIN: usize = 8;

pub fn extract(ct: &Volume, map: &LabelMap, s: &Settings, host: &Host<'_>) -> Result<Vec<Lesion>, PluginError> {
    if !map.geometry.same_grid(&ct.geometry, 1e-3) {
        return Err(PluginError::invalid_input("the mask is not on the CT's grid; resample it first"));
    }
    let p = &s.protocol;
    let scan = ct.geometry;
    let dims = scan.dims_usize();
    // Per axis, in voxels of the finer of the two grids (thick slices reach fewer).
    let new_spacing = p.resampling.map(|r| r.spacing_on(&scan)).unwrap_or(scan.spacing);
    let reach = [0, 1, 2].map(|a| (LOOKS_BEYOND_MM / new_spacing[a].min(scan.spacing[a])).ceil() as usize + 1);
    let margin = if p.resampling.is_some() { CUT_MARGIN } else { 0 };
    let cut_reach = reach.map(|r| r + margin);
    // Everything happens inside the lesions' box and then each lesion's neighbourhood:
    // a 40 mm lesion in a 512 x 512 scan costs what the lesion costs.
    let Some(region) = map.bounding_box(s.label) else {
        return Err(PluginError::invalid_input("the mask has no lesion"));
    };
    let region = region.grown_by(cut_reach, dims);
    let (ct, map) = (ct.crop(&region), map.crop(&region));
    let dims = region.dims();
    let hu_region = ct.to_f32();
    let found = map.lesions(s.label);
    let mut out = Vec::new();
    for (n, (id, mask)) in found.iter().enumerate() {
        host.checkpoint()?;
        host.progress(n as f32 / found.len() as f32, &format!("lesion {id}"));
        let lesion = VoxelBox::around(dims, |i| mask[i]).expect("a lesion has voxels");
        let cut = lesion.grown_by(cut_reach, dims);
        let hu: Vec<f32> = cut.cut(&hu_region, dims);
        let roi = cut.cut(mask, dims);
        // The new grid is the whole scan's centred grid (IBSI), not the cut's.
        let in_scan = VoxelBox { lo: [0, 1, 2].map(|a| region.lo[a] + cut.lo[a]), hi: [0, 1, 2].map(|a| region.lo[a] + cut.hi[a]) };
        let to = p.resampling.map(|r| scan.centred_grid_within(&in_scan, r.spacing_on(&scan), margin));
        let prepared = preprocess::prepare_onto(&hu, &roi, &scan.crop(&in_scan), to.as_ref(), p.resampling.as_ref(), &p.resegmentation);
        let g = prepared.geometry;
        let gd = g.dims_usize();
        let Some(b) = VoxelBox::around(gd, |i| prepared.morphological[i]) else {
            return Err(PluginError::invalid_input(format!("lesion {id} vanishes when resampled (smaller than half a voxel of the new grid)")));
        };
        if !prepared.intensity.iter().any(|&m| m) {
            let mut why = Vec::new();
            if let Some((lo, hi)) = p.resegmentation.range {
                why.push(format!("the re-segmentation range [{lo}, {hi}] HU"));
            }
            if p.resegmentation.outliers_3sd {
                why.push("the 3-sigma outlier filter".to_string());
            }
            return Err(PluginError::invalid_input(format!("lesion {id} has no voxel within {}", why.join(" and "))));
        }
        let b = b.grown_by(reach, gd);
        let (image, morph, intensity) = (b.cut(&prepared.image, gd), b.cut(&prepared.morphological, gd), b.cut(&prepared.intensity, gd));
        let f = features::of_masks(b.dims(), g.spacing, &image, &morph, &intensity, p.discretisation, p.ivh, p.scope());
        out.push(Lesion { id: *id, voxels: morph.iter().filter(|m| **m).count(), features: f });
    }
    host.progress(1.0, "done");
    Ok(out)
}
