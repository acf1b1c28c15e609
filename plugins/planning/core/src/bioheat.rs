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

/// A face of the active box grows once any of its voxels is this far from blood
/// temperature (K): a thousandth of a kelvin changes no damage model and no isotherm.
pub const ACTIVE_EPS: f32 = 1e-3;

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
    /// With one perfusion value (or none, where coagulated): a flag per voxel and the value.
    perfused: Option<(Vec<u8>, f32)>,
    /// Where the source may be non-zero.
    source_box: Option<ActiveBox>,
}

impl Bioheat {
    /// Starts at blood temperature everywhere, with no source, at 90 % of the stable step.
    pub fn new(medium: Medium) -> Self {
        let n = medium.len();
        let dt = 0.9 * medium.stable_step();
        let k0 = medium.conductivity.first().copied().unwrap_or(0.0);
        let uniform_k = medium.conductivity.iter().all(|&k| k == k0).then_some(k0);
        let p0 = medium.perfusion.iter().cloned().fold(0.0f32, f32::max);
        let perfused = medium.perfusion.iter().all(|&p| p == 0.0 || p == p0).then(|| (medium.perfusion.iter().map(|&p| (p > 0.0) as u8).collect(), p0));
        Bioheat { source: vec![0.0; n], temperature: vec![BLOOD_C as f32; n], next: vec![BLOOD_C as f32; n], time: 0.0, dt, active: None, uniform_k, perfused, source_box: None, medium }
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
            self.source_box = Some(ActiveBox { lo, hi });
            self.include(ActiveBox { lo, hi });
        } else {
            self.source_box = None;
        }
    }

    /// Replaces the heat source whose non-zero voxels lie within `support` (no scan).
    pub fn set_source_within(&mut self, q: Vec<f32>, support: ActiveBox) {
        assert_eq!(q.len(), self.medium.len());
        self.source = q;
        self.source_box = Some(support);
        self.include(support);
    }

    /// Takes the source buffer out (for a source that rewrites only its own voxels).
    pub fn take_source(&mut self) -> Vec<f32> {
        std::mem::take(&mut self.source)
    }

    /// Stops the perfusion of voxel `i` (coagulated tissue: its vessels are closed).
    pub fn stop_perfusion(&mut self, i: usize) {
        self.medium.perfusion[i] = 0.0;
        if let Some((flags, _)) = &mut self.perfused {
            flags[i] = 0;
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
        let source_box = self.source_box;
        let perfused = self.perfused.as_ref().map(|(f, p0)| (f.as_slice(), *p0));
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
                    // The source is zero outside its box: those parts of the row skip it,
                    // and with one perfusion value the sink is read as a byte flag.
                    let (q0, q1) = match source_box {
                        Some(sb) if (sb.lo[1]..sb.hi[1]).contains(&y) && (sb.lo[2]..sb.hi[2]).contains(&z) => {
                            let lo = sb.lo[0].clamp(b.lo[0], b.hi[0]) - b.lo[0];
                            (lo, (sb.hi[0].clamp(b.lo[0], b.hi[0]) - b.lo[0]).max(lo))
                        }
                        _ => (0, 0),
                    };
                    let k = Kernel { kk, inv_h2, dt, rho_c, latent, tl, tu, hl, hu, tb };
                    let rows = Rows { tc, xm, xp, ym, yp, zm, zp, qc, pc };
                    let flags = perfused.map(|(f, p0)| (&f[s..e], p0));
                    let row = |o: &mut [f32], from: usize, to: usize, with_q: bool| match (flags, with_q) {
                        (Some((f, p0)), true) => k.row::<true, true>(&mut o[from..to], &rows, from..to, f, p0),
                        (Some((f, p0)), false) => k.row::<true, false>(&mut o[from..to], &rows, from..to, f, p0),
                        (None, true) => k.row::<false, true>(&mut o[from..to], &rows, from..to, &[], 0.0),
                        (None, false) => k.row::<false, false>(&mut o[from..to], &rows, from..to, &[], 0.0),
                    };
                    row(o, 0, q0, false);
                    row(o, q0, q1, true);
                    row(o, q1, n, false);
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

/// The constants of one step.
#[derive(Clone, Copy)]
struct Kernel {
    kk: f32,
    inv_h2: f32,
    dt: f32,
    rho_c: f32,
    latent: f32,
    tl: f32,
    tu: f32,
    hl: f32,
    hu: f32,
    tb: f32,
}

/// One row's centre and neighbour temperatures, source and perfusion, from the row's start.
struct Rows<'a> {
    tc: &'a [f32],
    xm: &'a [f32],
    xp: &'a [f32],
    ym: &'a [f32],
    yp: &'a [f32],
    zm: &'a [f32],
    zp: &'a [f32],
    qc: &'a [f32],
    pc: &'a [f32],
}

impl Kernel {
    /// Updates `o` (the row's `r` part) with uniform conductivity; `FLAGS`: perfusion is
    /// `p0` where `flags` (the row's, from its start) is 1; `Q`: read the source.
    #[inline(always)]
    fn row<const FLAGS: bool, const Q: bool>(&self, o: &mut [f32], w: &Rows<'_>, r: std::ops::Range<usize>, flags: &[u8], p0: f32) {
        let n = o.len();
        let (tc, xm, xp, ym, yp, zm, zp) = (&w.tc[r.clone()], &w.xm[r.clone()], &w.xp[r.clone()], &w.ym[r.clone()], &w.yp[r.clone()], &w.zm[r.clone()], &w.zp[r.clone()]);
        let qc = if Q { &w.qc[r.clone()] } else { &w.qc[..0] };
        let pc = if FLAGS { &w.pc[..0] } else { &w.pc[r.clone()] };
        let f = if FLAGS { &flags[r] } else { &flags[..0] };
        let k = *self;
        // Equal lengths, stated once, so the loop runs without bounds checks (and vectorises).
        assert!(tc.len() == n && xm.len() == n && xp.len() == n && ym.len() == n && yp.len() == n && zm.len() == n && zp.len() == n);
        assert!((!Q || qc.len() == n) && (FLAGS || pc.len() == n) && (!FLAGS || f.len() == n));
        for i in 0..n {
            let c = tc[i];
            let div = k.kk * (xm[i] + xp[i] + ym[i] + yp[i] + zm[i] + zp[i] - 6.0 * c);
            let p = if FLAGS { p0 * f[i] as f32 } else { pc[i] };
            let q = if Q { qc[i] } else { 0.0 };
            let flux = div * k.inv_h2 + q - p * (c - k.tb);
            let enthalpy = k.rho_c * c + k.latent * ((c - k.tl) / (k.tu - k.tl)).clamp(0.0, 1.0) + k.dt * flux;
            o[i] = (enthalpy - k.latent * ((enthalpy - k.hl) / (k.hu - k.hl)).clamp(0.0, 1.0)) / k.rho_c;
        }
    }
}
