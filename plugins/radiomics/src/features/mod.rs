//! IBSI-1 feature families, each a module computing a map from IBSI tag (e.g.
//! `cm_joint_max_3D_comb`) to value, so results can be compared with the reference
//! table row by row and written with IBSI names.
//!
//! Texture aggregation follows the IBSI manual: "2D" works slice by slice (axial),
//! "2.5D" merges the slices' matrices, "3D" works on the volume; for directional
//! matrices "averaged" averages features over directions and "merged" (`comb`) sums
//! the matrices first.

mod autocorrelation;
pub mod glcm;
pub mod glrlm;
mod hull;
pub mod intensity;
pub mod morph;
pub mod neighbourhood;
pub mod roi;
pub mod zones;

use std::collections::BTreeMap;

pub use roi::{Families, Roi, Scope, Texture};

/// Feature values by IBSI tag.
pub type Features = BTreeMap<String, f64>;

/// Every family on one ROI (used as both the morphological and the intensity ROI).
pub fn all(roi: &Roi) -> Features {
    let (mut f, texture) = rayon::join(
        || {
            let mut f = Features::new();
            morph::features(roi, &mut f);
            f
        },
        || texture_and_intensity(roi),
    );
    f.extend(texture);
    f
}

/// Every family on an ROI whose two masks differ after re-segmentation (IBSI,
/// "Intensity and morphological masks"): morphology on the morphological mask, the other
/// families on the intensity mask; integrated intensity is the morphological volume
/// times the intensity mask's mean. Only what `scope` asks for is computed.
pub fn of_masks(dims: [usize; 3], spacing: [f64; 3], image: &[f64], morphological: &[bool], intensity: &[bool], d: roi::Discretisation, ivh: roi::Ivh, scope: Scope) -> Features {
    let morph_roi = Roi::new(dims, spacing, image, morphological, d);
    let roi = Roi::new(dims, spacing, image, intensity, d).with_ivh(ivh).with_scope(scope).with_morphological(morphological);
    let (mut f, texture) = rayon::join(
        || {
            let mut f = Features::new();
            morph::shape(&morph_roi, &mut f);
            if scope.families.includes("morph_moran_i") {
                morph::intensity_weighted(&morph_roi, &roi, &mut f);
            }
            f
        },
        || texture_and_intensity(&roi),
    );
    let mean = roi.roi_values().iter().sum::<f64>() / roi.count() as f64;
    if let Some(v) = f.get("morph_volume").copied() {
        f.insert("morph_integ_int".into(), v * mean);
    }
    f.extend(texture);
    f.retain(|tag, _| scope.families.includes(tag));
    f
}

/// Every family except morphology, on the intensity ROI (those of `roi.families`). The
/// families are independent, so they run side by side.
pub fn texture_and_intensity(roi: &Roi) -> Features {
    use rayon::prelude::*;
    // Each with the tag prefix of its features (zones: size zones and distance zones).
    const FAMILIES: [(&str, fn(&Roi, &mut Features)); 9] = [
        ("stat_", intensity::statistics),
        ("ih_", intensity::histogram),
        ("ivh_", intensity::volume_histogram),
        ("loc_", intensity::local_peaks),
        ("cm_", glcm::features),
        ("rlm_", glrlm::features),
        ("szm_", zones::zone_features),
        ("ngt_", neighbourhood::ngtdm_features),
        ("ngl_", neighbourhood::ngldm_features),
    ];
    FAMILIES
        .par_iter()
        .filter(|(prefix, _)| roi.families.includes(prefix))
        .map(|(_, family)| {
            let mut f = Features::new();
            family(roi, &mut f);
            f
        })
        .reduce(Features::new, |mut a, b| {
            a.extend(b);
            a
        })
}

/// The 13 unique directions of 3D neighbourhoods (one of each opposite pair).
pub const DIRS_3D: [[i64; 3]; 13] = [
    [1, 0, 0], [0, 1, 0], [1, 1, 0], [1, -1, 0],
    [0, 0, 1], [1, 0, 1], [1, 0, -1], [0, 1, 1], [0, 1, -1],
    [1, 1, 1], [1, 1, -1], [1, -1, 1], [1, -1, -1],
];

/// The in-plane (axial) directions, the first four of [`DIRS_3D`].
pub const DIRS_2D: [[i64; 3]; 4] = [[1, 0, 0], [0, 1, 0], [1, 1, 0], [1, -1, 0]];

/// Entropy term, 0 log 0 = 0.
pub(crate) fn plogp(p: f64) -> f64 {
    if p > 0.0 { p * p.log2() } else { 0.0 }
}

/// Mean of a list of feature maps, key by key.
pub(crate) fn average(maps: &[Features]) -> Features {
    let mut out = Features::new();
    if maps.is_empty() {
        return out;
    }
    for k in maps[0].keys() {
        let v = maps.iter().filter_map(|m| m.get(k)).sum::<f64>() / maps.len() as f64;
        out.insert(k.clone(), v);
    }
    out
}

/// Inserts `map` with each key suffixed (`_3D_comb` and so on).
pub(crate) fn insert_suffixed(out: &mut Features, map: Features, suffix: &str) {
    for (k, v) in map {
        out.insert(format!("{k}{suffix}"), v);
    }
}
