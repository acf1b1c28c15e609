//! The Pennes bioheat equation on a regular 3D grid, explicit in time:
//!
//! ρc ∂T/∂t = ∇·(k∇T) − ρ_b c_b ω_b (T − T_b) + Q
//!
//! with water vaporisation as an enthalpy jump: the state is the temperature, each step
//! adds its energy to the voxel's enthalpy H(T) = ρc·T + latent·clamp((T − T_l)/(T_u − T_l))
//! and inverts it, so a step of any size spends the latent heat exactly once (the
//! apparent-heat-capacity model of MITA, made robust to the large steps explicit schemes
//! take near the antenna). Desiccated tissue keeps ρc: MITA's vapour value (4.4e5) would
//! need an eight times shorter step, and it only matters inside the dried core, which is
//! ablated whichever value holds.
//!
//! The outermost layer of the grid is held at blood temperature (Dirichlet), and so are
//! voxels marked as flowing blood (large vessels: the heat sink). Work is confined to an
//! active box that starts at the heat source and grows by a voxel wherever its faces have
//! warmed by more than [`ACTIVE_EPS`]: an explicit step moves heat one voxel at most, so
//! what lies outside is still at blood temperature.

use rayon::prelude::*;

use crate::tissue::{BLOOD_C, VAPOUR_HIGH_C, VAPOUR_LOW_C};

/// A face of the active box grows once any of its voxels is this far from blood temperature (K).
pub const ACTIVE_EPS: f32 = 1e-5;

/// Per-voxel material of a simulation grid.
#[derive(Debug, Clone)]
pub struct Medium {
    /// Voxels per axis (x fastest) and the isotropic spacing in metres.
    pub dims: [usize; 3],
    pub h: f64,
    /// Conductivity k per voxel, W/(m K).
    pub conductivity: Vec<f32>,
    /// Perfusion sink coefficient ρ_b c_b ω_b per voxel, W/(m³ K); set to 0 where the
    /// tissue has coagulated.
    pub perfusion: Vec<f32>,
    /// Volumetric heat capacity, J/(m³ K), and latent heat of vaporisation, J/m³, shared
    /// by every voxel (all tissue classes carry the liver's; see `tissue`).
    pub rho_c: f64,
    pub latent: f64,
    /// Voxels held at blood temperature (the lumen of large vessels), as linear indices.
    pub fixed: Vec<usize>,
}

impl Medium {
    /// A homogeneous block of one tissue.
    pub fn uniform(dims: [usize; 3], h: f64, tissue: crate::tissue::Tissue) -> Self {
        let n = dims[0] * dims[1] * dims[2];
        Medium {
            dims,
            h,
            conductivity: vec![tissue.conductivity as f32; n],
            perfusion: vec![(crate::tissue::BLOOD_RHO_C * tissue.perfusion) as f32; n],
            rho_c: tissue.rho_c,
            latent: tissue.latent(),
            fixed: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.dims[0] * self.dims[1] * self.dims[2]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The largest stable explicit step (s): 1/(6α/h² + β) at the most conductive and
    /// most perfused voxel.
    pub fn stable_step(&self) -> f64 {
        let k = self.conductivity.iter().cloned().fold(0.0f32, f32::max) as f64;
        let p = self.perfusion.iter().cloned().fold(0.0f32, f32::max) as f64;
        self.rho_c / (6.0 * k / (self.h * self.h) + p)
    }
}

/// Inclusive-exclusive voxel ranges per axis where the field is updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActiveBox {
    pub lo: [usize; 3],
    pub hi: [usize; 3],
}

/// A running simulation: the medium, the heat source and the temperature field.
pub struct Bioheat {
    pub medium: Medium,
    /// Heat source Q per voxel, W/m³.
    pub source: Vec<f32>,
    temperature: Vec<f32>,
    next: Vec<f32>,
    /// Simulated time, s.
    pub time: f64,
    /// The step, s.
    pub dt: f64,
    active: Option<ActiveBox>,
    /// The conductivity when every voxel has the same one.
    uniform_k: Option<f32>,
}

impl Bioheat {
    /// Starts at blood temperature everywhere, with no source, at 90 % of the stable step.
    pub fn new(medium: Medium) -> Self {
        let n = medium.len();
        let dt = 0.9 * medium.stable_step();
        let k0 = medium.conductivity.first().copied().unwrap_or(0.0);
        let uniform_k = medium.conductivity.iter().all(|&k| k == k0).then_some(k0);
        Bioheat { source: vec![0.0; n], temperature: vec![BLOOD_C as f32; n], next: vec![BLOOD_C as f32; n], time: 0.0, dt, active: None, uniform_k, medium }
    }

    pub fn temperature(&self) -> &[f32] {
        &self.temperature
    }

    pub fn active_box(&self) -> Option<ActiveBox> {
        self.active
    }

    /// Replaces the heat source; the active box grows to cover it.
    pub fn set_source(&mut self, q: Vec<f32>) {
        assert_eq!(q.len(), self.medium.len());
        self.source = q;
        let [nx, ny, _] = self.medium.dims;
        let mut lo = [usize::MAX; 3];
        let mut hi = [0usize; 3];
        for (idx, &v) in self.source.iter().enumerate() {
            if v != 0.0 {
                let p = [idx % nx, (idx / nx) % ny, idx / (nx * ny)];
                for a in 0..3 {
                    lo[a] = lo[a].min(p[a]);
                    hi[a] = hi[a].max(p[a] + 1);
                }
            }
        }
        if lo[0] != usize::MAX {
            self.include(ActiveBox { lo, hi });
        }
    }

    fn include(&mut self, b: ActiveBox) {
        let d = self.medium.dims;
        let clip = |b: ActiveBox| ActiveBox { lo: [0, 1, 2].map(|a| b.lo[a].max(1)), hi: [0, 1, 2].map(|a| b.hi[a].min(d[a] - 1)) };
        let b = clip(b);
        self.active = Some(match self.active {
            None => b,
            Some(a) => ActiveBox { lo: [0, 1, 2].map(|i| a.lo[i].min(b.lo[i])), hi: [0, 1, 2].map(|i| a.hi[i].max(b.hi[i])) },
        });
    }

    /// Updates the whole grid from now on (no active box).
    pub fn activate_all(&mut self) {
        let d = self.medium.dims;
        self.include(ActiveBox { lo: [1, 1, 1], hi: d });
    }

    /// Advances by `steps` steps of `dt`.
    pub fn run_steps(&mut self, steps: usize) {
        for _ in 0..steps {
            self.step();
        }
    }

    /// One explicit step over the active box, then the box grows where it has warmed.
    pub fn step(&mut self) {
        let Some(b) = self.active else {
            self.time += self.dt;
            return;
        };
        let m = &self.medium;
        let [nx, ny, _] = m.dims;
        let plane = nx * ny;
        let inv_h2 = (1.0 / (m.h * m.h)) as f32;
        let dt = self.dt as f32;
        let rho_c = m.rho_c as f32;
        let latent = m.latent as f32;
        let (tl, tu) = (VAPOUR_LOW_C as f32, VAPOUR_HIGH_C as f32);
        let (hl, hu) = (rho_c * tl, rho_c * tu + latent);
        let tb = BLOOD_C as f32;
        let (t, k, perf, q) = (&self.temperature, &m.conductivity, &m.perfusion, &self.source);
        // One conductivity everywhere (every tissue class carries the liver's today): the
        // same sum without reading k, a quarter less memory traffic per voxel.
        let uniform_k = self.uniform_k;
        self.next[b.lo[2] * plane..b.hi[2] * plane].par_chunks_mut(plane).enumerate().for_each(|(dz, out)| {
            let z = b.lo[2] + dz;
            for y in b.lo[1]..b.hi[1] {
                let s = z * plane + y * nx + b.lo[0];
                let e = z * plane + y * nx + b.hi[0];
                let n = e - s;
                let tc = &t[s..e];
                let (xm, xp, ym, yp, zm, zp) = (&t[s - 1..e - 1], &t[s + 1..e + 1], &t[s - nx..e - nx], &t[s + nx..e + nx], &t[s - plane..e - plane], &t[s + plane..e + plane]);
                let (pc, qc) = (&perf[s..e], &q[s..e]);
                let o = &mut out[y * nx + b.lo[0]..y * nx + b.hi[0]];
                let update = |c: f32, div: f32, p: f32, qv: f32| -> f32 {
                    let flux = div * inv_h2 + qv - p * (c - tb);
                    let enthalpy = rho_c * c + latent * ((c - tl) / (tu - tl)).clamp(0.0, 1.0) + dt * flux;
                    (enthalpy - latent * ((enthalpy - hl) / (hu - hl)).clamp(0.0, 1.0)) / rho_c
                };
                if let Some(kk) = uniform_k {
                    for i in 0..n {
                        let c = tc[i];
                        let div = kk * (xm[i] + xp[i] + ym[i] + yp[i] + zm[i] + zp[i] - 6.0 * c);
                        o[i] = update(c, div, pc[i], qc[i]);
                    }
                } else {
                    let kc = &k[s..e];
                    let (kxm, kxp, kym, kyp, kzm, kzp) = (&k[s - 1..e - 1], &k[s + 1..e + 1], &k[s - nx..e - nx], &k[s + nx..e + nx], &k[s - plane..e - plane], &k[s + plane..e + plane]);
                    for i in 0..n {
                        let c = tc[i];
                        let kk = kc[i];
                        // Face conductivities are the mean of the two voxels'.
                        let div = 0.5 * ((kk + kxm[i]) * (xm[i] - c) + (kk + kxp[i]) * (xp[i] - c) + (kk + kym[i]) * (ym[i] - c) + (kk + kyp[i]) * (yp[i] - c) + (kk + kzm[i]) * (zm[i] - c) + (kk + kzp[i]) * (zp[i] - c));
                        o[i] = update(c, div, pc[i], qc[i]);
                    }
                }
            }
        });
        for &i in &m.fixed {
            self.next[i] = tb;
        }
        std::mem::swap(&mut self.temperature, &mut self.next);
        self.time += self.dt;
        self.grow(b);
    }

    /// Extends each face of the box by one voxel where any of its voxels has warmed.
    fn grow(&mut self, b: ActiveBox) {
        let [nx, ny, _] = self.medium.dims;
        let t = &self.temperature;
        let tb = BLOOD_C as f32;
        let warm = |axis: usize, at: usize| -> bool {
            let (u, v) = match axis {
                0 => (1, 2),
                1 => (0, 2),
                _ => (0, 1),
            };
            for a in b.lo[u]..b.hi[u] {
                for c in b.lo[v]..b.hi[v] {
                    let mut p = [0usize; 3];
                    p[axis] = at;
                    p[u] = a;
                    p[v] = c;
                    if (t[p[0] + nx * (p[1] + ny * p[2])] - tb).abs() > ACTIVE_EPS {
                        return true;
                    }
                }
            }
            false
        };
        let mut grown = b;
        for axis in 0..3 {
            if warm(axis, b.lo[axis]) {
                grown.lo[axis] = b.lo[axis].saturating_sub(1);
            }
            if warm(axis, b.hi[axis] - 1) {
                grown.hi[axis] = b.hi[axis] + 1;
            }
        }
        self.include(grown);
    }
}
