//! The ablation zone's size the way charts give it: length along the antenna, diameter
//! across it, and the reach past the tip, found to a tenth of a millimetre by walking
//! the damage field (trilinear) to its threshold along and across the antenna.

use isotherm_sdk::volume::resample::trilinear;

use crate::sar::Pose;

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ZoneAxes {
    pub long_mm: f64,
    pub short_mm: f64,
    /// Past the tip (negative when the zone stops short of it).
    pub distal_mm: f64,
    /// Centre of the zone behind the tip, mm.
    pub centre_behind_tip_mm: f64,
}

const STEP_M: f64 = 1e-4;
const AZIMUTHS: usize = 8;

/// Axes of the region where `field >= threshold`, around `start_behind_tip_m` on the
/// axis (a point inside the zone). Zero axes when that point is not ablated.
pub fn measure(field: &[f32], threshold: f32, dims: [usize; 3], h: f64, pose: &Pose, start_behind_tip_m: f64) -> ZoneAxes {
    let value = |p: [f64; 3]| trilinear(field, dims, [p[0] / h, p[1] / h, p[2] / h]).unwrap_or(0.0);
    let on_axis = |z: f64, r: f64, dir: [f64; 3]| [0, 1, 2].map(|a| pose.tip[a] + z * pose.back[a] + r * dir[a]);
    // Last point inside, walking from `from` by `step` along `at(s)`; interpolated.
    let walk = |at: &dyn Fn(f64) -> [f64; 3], limit: f64| -> f64 {
        let mut s = 0.0;
        let mut prev = value(at(0.0)) - threshold;
        while s < limit {
            let next = value(at(s + STEP_M)) - threshold;
            if next < 0.0 {
                return s + STEP_M * prev as f64 / (prev - next) as f64;
            }
            prev = next;
            s += STEP_M;
        }
        limit
    };
    let z0 = start_behind_tip_m;
    if value(on_axis(z0, 0.0, [0.0; 3])) < threshold {
        return ZoneAxes::default();
    }
    let limit = 0.1;
    let distal = walk(&|s| on_axis(z0 - s, 0.0, [0.0; 3]), limit);
    let proximal = walk(&|s| on_axis(z0 + s, 0.0, [0.0; 3]), limit);
    let (z_distal, z_proximal) = (z0 - distal, z0 + proximal);
    let (e1, e2) = perpendiculars(pose.back);
    let mut widest: f64 = 0.0;
    let stations = ((z_proximal - z_distal) / 5e-4).ceil() as usize;
    for s in 0..=stations {
        let z = z_distal + (z_proximal - z_distal) * s as f64 / stations.max(1) as f64;
        if value(on_axis(z, 0.0, [0.0; 3])) < threshold {
            continue;
        }
        let mean: f64 = (0..AZIMUTHS)
            .map(|a| {
                let phi = 2.0 * std::f64::consts::PI * a as f64 / AZIMUTHS as f64;
                let dir = [0, 1, 2].map(|i| phi.cos() * e1[i] + phi.sin() * e2[i]);
                walk(&|r| on_axis(z, r, dir), limit)
            })
            .sum::<f64>()
            / AZIMUTHS as f64;
        widest = widest.max(mean);
    }
    ZoneAxes { long_mm: (z_proximal - z_distal) * 1e3, short_mm: 2.0 * widest * 1e3, distal_mm: -z_distal * 1e3, centre_behind_tip_mm: 0.5 * (z_proximal + z_distal) * 1e3 }
}

/// Two unit vectors perpendicular to `u` and to each other.
pub fn perpendiculars(u: [f64; 3]) -> ([f64; 3], [f64; 3]) {
    let helper = if u[0].abs() < 0.9 { [1.0, 0.0, 0.0] } else { [0.0, 1.0, 0.0] };
    let cross = |a: [f64; 3], b: [f64; 3]| [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
    let norm = |a: [f64; 3]| {
        let l = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
        [a[0] / l, a[1] / l, a[2] / l]
    };
    let e1 = norm(cross(u, helper));
    (e1, norm(cross(u, e1)))
}
