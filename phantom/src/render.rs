//! Sampling the analytic model onto a grid: clean intensities and labels, then
//! partial-volume blur and noise.

use isotherm_sdk::abi::Geometry;
use rayon::prelude::*;

use crate::ablation::{Needle, Zone};
use crate::anatomy::{Anatomy, LIVER_HU, Tissue, norm, sub};
use crate::deform::Deformation;
use crate::labels;
use crate::rng::Rng;

pub struct Rendered {
    pub ct: Vec<i16>,
    pub labels: Vec<u16>,
    pub tumour_ids: Vec<u16>,
    pub displacement: [Vec<f32>; 3],
}

/// Ablation zone intensity: non-enhancing coagulation, 30-50 HU below liver
/// (clinical-facts, "Ablation zone"), ringed by a thin brighter hyperaemic rim in the
/// liver around it.
const ZONE_HU: f64 = LIVER_HU - 45.0;
const RIM_HU: f64 = LIVER_HU + 20.0;
const RIM_MM: f64 = 1.5;
const TRACK_RADIUS_MM: f64 = 1.2;

/// Renders `anatomy` (and, after treatment, the zone and needle track, given in the
/// pre frame) on `geometry`, whose world points map into the model through `motion`.
pub fn render(anatomy: &Anatomy, treatment: Option<(&Zone, &Needle)>, geometry: &Geometry, motion: &Deformation, noise_hu: f64, seed: u64) -> Rendered {
    let n = geometry.len();
    let [nx, ny, nz] = geometry.dims_usize();
    let mut clean = vec![0f32; n];
    let mut lab = vec![0u16; n];
    let mut ids = vec![0u16; n];
    let mut disp = [vec![0f32; n], vec![0f32; n], vec![0f32; n]];
    let slice = nx * ny;
    let [dx, dy, dz] = &mut disp;
    clean
        .par_chunks_mut(slice)
        .zip(lab.par_chunks_mut(slice))
        .zip(ids.par_chunks_mut(slice))
        .zip(dx.par_chunks_mut(slice).zip(dy.par_chunks_mut(slice)).zip(dz.par_chunks_mut(slice)))
        .enumerate()
        .for_each(|(k, (((c, l), t), ((ux, uy), uz)))| {
            for j in 0..ny {
                for i in 0..nx {
                    let m = i + nx * j;
                    let p = geometry.index_to_world([i as f64, j as f64, k as f64]);
                    let q = motion.post_to_pre(p);
                    ux[m] = (q[0] - p[0]) as f32;
                    uy[m] = (q[1] - p[1]) as f32;
                    uz[m] = (q[2] - p[2]) as f32;
                    let (mut hu, tissue) = anatomy.sample(q);
                    let mut label = match tissue {
                        Tissue::Liver => labels::LIVER,
                        Tissue::LiverVessel => labels::VESSEL,
                        Tissue::Gallbladder => labels::GALLBLADDER,
                        Tissue::Lung => labels::LUNG,
                        Tissue::Tumour(id) => {
                            t[m] = id as u16;
                            labels::TUMOUR
                        }
                        _ => 0,
                    };
                    if let Some((zone, needle)) = treatment {
                        let in_liver = matches!(label, labels::LIVER | labels::VESSEL | labels::TUMOUR);
                        let near = in_liver && norm(sub(q, zone.centre)) < zone.bound() + RIM_MM;
                        if near && zone.contains(q) {
                            hu = ZONE_HU;
                            label = labels::ABLATION_ZONE;
                            t[m] = 0;
                        } else if near && label == labels::LIVER && zone.in_rim(q, RIM_MM) {
                            hu = RIM_HU;
                        } else if in_liver && crate::anatomy::segment_distance(q, needle.entry, needle.tip) < TRACK_RADIUS_MM {
                            hu = ZONE_HU;
                        }
                    }
                    c[m] = hu as f32;
                    l[m] = label;
                }
            }
        });
    let blurred = isotherm_sdk::volume::filter::gaussian(&clean, [nx, ny, nz], [0.5, 0.5, 0.4]);
    let mut ct = vec![0i16; n];
    ct.par_chunks_mut(slice).enumerate().for_each(|(k, out)| {
        let mut rng = Rng::new(seed ^ (k as u64).wrapping_mul(0x9E3779B97F4A7C15));
        for (m, v) in out.iter_mut().enumerate() {
            let hu = blurred[k * slice + m] as f64 + noise_hu * rng.normal();
            *v = hu.round().clamp(-1024.0, 3071.0) as i16;
        }
    });
    Rendered { ct, labels: lab, tumour_ids: ids, displacement: disp }
}
