//! Per-lesion feature extraction from a CT and a label map: crop each lesion, apply
//! the re-segmentation range and the discretisation, compute every family.

use isotherm_sdk::prelude::*;

use crate::features::{self, Features, Roi, roi::Discretisation};

#[derive(Debug, Clone)]
pub struct Settings {
    pub discretisation: Discretisation,
    /// Re-segmentation range, HU: voxels outside it leave the intensity ROI (the
    /// morphological ROI keeps them), as IBSI prescribes.
    pub resegment: (f64, f64),
    /// 0 = every non-zero value is a lesion (a single value is split by connectivity).
    pub label: u16,
}

pub struct Lesion {
    pub id: u16,
    pub voxels: usize,
    pub features: Features,
}

pub fn extract(ct: &Volume, map: &LabelMap, s: &Settings, host: &Host<'_>) -> Result<Vec<Lesion>, PluginError> {
    let g = ct.geometry;
    if !map.geometry.same_grid(&g, 1e-3) {
        return Err(PluginError::invalid_input("the mask is not on the CT's grid; resample it first"));
    }
    let hu = ct.to_f32();
    let found = map.lesions(s.label);
    if found.is_empty() {
        return Err(PluginError::invalid_input("the mask has no lesion"));
    }
    let mut out = Vec::new();
    for (n, (id, mask)) in found.iter().enumerate() {
        host.checkpoint()?;
        host.progress(n as f32 / found.len() as f32, &format!("lesion {id}"));
        // Crop to the lesion's box plus one voxel, where every family needs to look.
        let (mut lo, mut hi) = ([usize::MAX; 3], [0usize; 3]);
        for (i, _) in mask.iter().enumerate().filter(|(_, m)| **m) {
            let p = g.ijk(i);
            for a in 0..3 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        let dims = g.dims_usize();
        let lo = [0, 1, 2].map(|a| lo[a].saturating_sub(1));
        let hi = [0, 1, 2].map(|a| (hi[a] + 1).min(dims[a] - 1));
        let cd = [0, 1, 2].map(|a| hi[a] - lo[a] + 1);
        let mut image = Vec::with_capacity(cd.iter().product());
        let mut morph_mask = Vec::with_capacity(image.capacity());
        for k in lo[2]..=hi[2] {
            for j in lo[1]..=hi[1] {
                for i in lo[0]..=hi[0] {
                    let idx = g.index(i, j, k);
                    image.push(hu[idx] as f64);
                    morph_mask.push(mask[idx]);
                }
            }
        }
        let intensity_mask: Vec<bool> = morph_mask.iter().zip(&image).map(|(&m, &v)| m && v >= s.resegment.0 && v <= s.resegment.1).collect();
        if !intensity_mask.iter().any(|&m| m) {
            return Err(PluginError::invalid_input(format!("lesion {id} has no voxel within the re-segmentation range {:?} HU", s.resegment)));
        }
        let morph_roi = Roi::new(cd, g.spacing, &image, &morph_mask, s.discretisation);
        let roi = Roi::new(cd, g.spacing, &image, &intensity_mask, s.discretisation);
        let mut f = Features::new();
        features::morph::features(&morph_roi, &mut f);
        // Integrated intensity uses the intensity ROI's mean over the morphological volume.
        let mean = roi.roi_values().iter().sum::<f64>() / roi.count() as f64;
        if let Some(v) = f.get("morph_volume").copied() {
            f.insert("morph_integ_int".into(), v * mean);
        }
        for (k, v) in features::texture_and_intensity(&roi) {
            f.insert(k, v);
        }
        out.push(Lesion { id: *id, voxels: morph_roi.count(), features: f });
    }
    host.progress(1.0, "done");
    Ok(out)
}
