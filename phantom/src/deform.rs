//! The motion between the pre- and post-ablation scans: a rigid breathing shift (mostly
//! cranio-caudal, with a small rotation) plus a smooth deformation (a sum of Gaussian
//! displacement bumps). Maps post-frame world points to pre-frame world points.

use serde::Serialize;

use crate::anatomy::{add, norm, sub};
use crate::rng::Rng;

#[derive(Debug, Clone, Serialize)]
pub struct Bump {
    pub centre: [f64; 3],
    /// Displacement at the centre, mm.
    pub amplitude: [f64; 3],
    /// Gaussian width, mm.
    pub sigma: f64,
}

/// `pre = R (post - c) + c + t + sum_g A_g exp(-|post - c_g|^2 / (2 s_g^2))`.
#[derive(Debug, Clone, Serialize)]
pub struct Deformation {
    /// Rotation about the left-right (x) axis, degrees.
    pub rotation_x_deg: f64,
    pub centre: [f64; 3],
    pub translation: [f64; 3],
    pub bumps: Vec<Bump>,
}

impl Deformation {
    pub fn identity() -> Self {
        Deformation { rotation_x_deg: 0.0, centre: [0.0; 3], translation: [0.0; 3], bumps: vec![] }
    }

    pub fn generate(rng: &mut Rng) -> Self {
        let bumps = (0..4)
            .map(|_| Bump {
                centre: [rng.range(0.0, 100.0), rng.range(-40.0, 60.0), rng.range(-50.0, 50.0)],
                amplitude: [rng.range(-3.0, 3.0), rng.range(-3.0, 3.0), rng.range(-4.0, 4.0)],
                sigma: rng.range(40.0, 60.0),
            })
            .collect();
        Deformation {
            rotation_x_deg: rng.range(-2.0, 2.0),
            centre: [50.0, 0.0, 0.0],
            translation: [rng.range(-2.0, 2.0), rng.range(-3.0, 3.0), rng.range(8.0, 14.0) * if rng.unit() < 0.5 { -1.0 } else { 1.0 }],
            bumps,
        }
    }

    fn rotate(&self, v: [f64; 3], inverse: bool) -> [f64; 3] {
        let t = self.rotation_x_deg.to_radians() * if inverse { -1.0 } else { 1.0 };
        let (c, s) = (t.cos(), t.sin());
        [v[0], c * v[1] - s * v[2], s * v[1] + c * v[2]]
    }

    fn smooth(&self, p: [f64; 3]) -> [f64; 3] {
        let mut u = [0.0; 3];
        for b in &self.bumps {
            let w = (-(norm(sub(p, b.centre)).powi(2)) / (2.0 * b.sigma * b.sigma)).exp();
            for a in 0..3 {
                u[a] += b.amplitude[a] * w;
            }
        }
        u
    }

    /// Where the post-frame point `p` was in the pre frame.
    pub fn post_to_pre(&self, p: [f64; 3]) -> [f64; 3] {
        add(add(add(self.rotate(sub(p, self.centre), false), self.centre), self.translation), self.smooth(p))
    }

    /// Inverse by fixed-point iteration (the smooth part is a contraction: its gradient
    /// is below 0.1 for the generated amplitudes and widths).
    pub fn pre_to_post(&self, q: [f64; 3]) -> [f64; 3] {
        let mut p = q;
        for _ in 0..50 {
            let rigid_target = sub(sub(q, self.translation), self.smooth(p));
            let next = add(self.rotate(sub(rigid_target, self.centre), true), self.centre);
            if norm(sub(next, p)) < 1e-9 {
                return next;
            }
            p = next;
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_round_trips_to_a_micrometre() {
        let d = Deformation::generate(&mut Rng::new(5));
        for q in [[0.0, 0.0, 0.0], [60.0, 20.0, -30.0], [100.0, -50.0, 70.0]] {
            let back = d.post_to_pre(d.pre_to_post(q));
            assert!(norm(sub(back, q)) < 1e-3, "{q:?} -> {back:?}");
        }
    }
}
