//! The patient on the simulation grid: an isotropic block around the antenna, in the
//! CT's orientation, with each voxel's structure taken from the label maps (by the names
//! in their label tables) or, for vessels no map labels, from the CT's HU.
//!
//! Large vessels (≥ [`SINK_MIN_DIAMETER_MM`]) are the heat sink: their lumen, the part of
//! the vessel mask a 3 mm ball fits in (a morphological opening through two distance
//! transforms), is held at blood temperature. Each such vessel's diameter is twice the
//! largest distance from its lumen to its wall.

use isotherm_sdk::abi::{Geometry, LabelMap, Volume};
use isotherm_sdk::volume::components::{Connectivity, label};
use isotherm_sdk::volume::{edt, resample};

/// Vessels at least this wide carry heat away (Yu 2008; the ">3 mm" contact criterion).
pub const SINK_MIN_DIAMETER_MM: f64 = 3.0;
/// Without labelled vessels, liver voxels this far above the liver's median HU are
/// contrast-filled vessel (portal venous phase: vessels 150-200 HU, parenchyma ~110).
pub const VESSEL_HU_ABOVE_LIVER: f32 = 40.0;

/// What a voxel of the simulation grid is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Structure {
    Other = 0,
    Liver = 1,
    Tumour = 2,
    Vessel = 3,
}

/// Which structure a label table's name means; `None` for names planning does not use.
pub fn structure_of(name: &str) -> Option<Structure> {
    let n = name.to_ascii_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| n.contains(w));
    if any(&["ablation", "zone"]) {
        None
    } else if any(&["tumour", "tumor", "lesion", "metasta", "hcc", "nodule"]) {
        Some(Structure::Tumour)
    } else if any(&["vessel", "vein", "portal", "artery", "aorta", "cava", "ivc", "vascul"]) {
        Some(Structure::Vessel)
    } else if n.contains("liver") || n.contains("hepat") {
        Some(Structure::Liver)
    } else {
        None
    }
}

/// One vessel of the heat sink.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkVessel {
    pub id: u32,
    pub diameter_mm: f64,
    pub voxels: usize,
}

pub struct Anatomy {
    /// The simulation grid (isotropic, the CT's orientation).
    pub geometry: Geometry,
    pub structure: Vec<Structure>,
    /// Heat-sink lumen: vessel id per voxel (0 = none), ids into `sink_vessels` (1-based).
    pub sink: Vec<u32>,
    pub sink_vessels: Vec<SinkVessel>,
    /// Where the vessels came from: "label map" or "CT threshold (...)".
    pub vessel_source: String,
}

/// The lumen of the vessels at least [`SINK_MIN_DIAMETER_MM`] wide in a vessel mask on an
/// isotropic grid of spacing `h` mm: the voxels a ball of that diameter fits in (opening by
/// two distance transforms), and each voxel's distance to the nearest non-vessel voxel.
/// A voxel-centre distance of r + h/2 to the wall means a radius of about r.
pub fn large_vessel_lumen(vessel: &[bool], dims: [usize; 3], h: f64) -> (Vec<bool>, Vec<f32>) {
    let spacing = [h; 3];
    let inside = edt::distance_to(&vessel.iter().map(|v| !v).collect::<Vec<_>>(), dims, spacing);
    let radius = SINK_MIN_DIAMETER_MM / 2.0;
    let core: Vec<bool> = inside.iter().map(|&d| d as f64 - 0.5 * h >= radius - 1e-6).collect();
    let from_core = edt::distance_to(&core, dims, spacing);
    let lumen = vessel.iter().zip(&from_core).map(|(&v, &d)| v && (d as f64) <= radius + 0.5 * h).collect();
    (lumen, inside)
}

/// The isotropic grid of `size` voxels of `h_mm` centred on `centre` (world mm), axes along
/// the CT's.
pub fn grid_around(ct: &Geometry, centre: [f64; 3], size: usize, h_mm: f64) -> Geometry {
    let d = ct.direction;
    let half = (size as f64 - 1.0) / 2.0 * h_mm;
    let origin = [0, 1, 2].map(|r| centre[r] - half * (d[3 * r] + d[3 * r + 1] + d[3 * r + 2]));
    Geometry { dims: [size as u32; 3], spacing: [h_mm; 3], origin, direction: d }
}

/// Builds the anatomy on `grid` from the CT and the label maps.
pub fn build(grid: Geometry, ct: &Volume, labels: Option<&LabelMap>, tumours: Option<&LabelMap>) -> Result<Anatomy, String> {
    let n = grid.len();
    let mut structure = vec![Structure::Other; n];
    let mut vessels_labelled = false;
    if let Some(map) = labels {
        let mut lut = vec![Structure::Other; 65536];
        for e in map.table.iter() {
            if let Some(s) = structure_of(e.name.as_str()) {
                lut[e.value as usize] = s;
                vessels_labelled |= s == Structure::Vessel;
            }
        }
        let on_grid = resample::resample_nearest(&map.labels, &map.geometry, &grid);
        for (s, &v) in structure.iter_mut().zip(&on_grid) {
            *s = lut[v as usize];
        }
    }
    if let Some(t) = tumours {
        let on_grid = resample::resample_nearest(&t.labels, &t.geometry, &grid);
        for (s, &v) in structure.iter_mut().zip(&on_grid) {
            if v != 0 {
                *s = Structure::Tumour;
            }
        }
    }
    if !structure.iter().any(|&s| s == Structure::Liver || s == Structure::Tumour) {
        return Err("no liver around the antenna: the label map names no 'liver' voxels within the simulated block".into());
    }
    let dims = grid.dims_usize();
    let vessel_source = if vessels_labelled {
        "label map".to_string()
    } else {
        let hu = resample::resample_linear(&ct.data, &ct.geometry, &grid, -1000.0);
        let mut liver_hu: Vec<f32> = hu.iter().zip(&structure).filter(|(_, s)| **s == Structure::Liver).map(|(h, _)| *h).collect();
        let mid = liver_hu.len() / 2;
        let median = *liver_hu.select_nth_unstable_by(mid, f32::total_cmp).1;
        let threshold = median + VESSEL_HU_ABOVE_LIVER;
        for (s, &h) in structure.iter_mut().zip(&hu) {
            if *s == Structure::Liver && h > threshold {
                *s = Structure::Vessel;
            }
        }
        format!("CT threshold inside the liver (> {threshold:.0} HU: liver median {median:.0} + {VESSEL_HU_ABOVE_LIVER:.0})")
    };
    let h = grid.spacing[0];
    let vessel: Vec<bool> = structure.iter().map(|&s| s == Structure::Vessel).collect();
    let (lumen, inside) = large_vessel_lumen(&vessel, dims, h);
    let comps = label(&lumen, dims, Connectivity::TwentySix);
    let mut widest = vec![0.0f64; comps.count()];
    for (i, &c) in comps.labels.iter().enumerate() {
        if c != 0 {
            widest[c as usize - 1] = widest[c as usize - 1].max(inside[i] as f64 - 0.5 * h);
        }
    }
    let sink_vessels = (0..comps.count()).map(|c| SinkVessel { id: c as u32 + 1, diameter_mm: 2.0 * widest[c], voxels: comps.sizes[c] }).collect();
    Ok(Anatomy { geometry: grid, structure, sink: comps.labels, sink_vessels, vessel_source })
}
