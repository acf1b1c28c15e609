//! Where the antenna's power is absorbed: a specific-absorption-rate (SAR) model fast
//! enough to re-evaluate every few simulated seconds as the tissue dries out.
//!
//! No analytic microwave SAR validated for liver was found (`ablation-physics.md` §2.3),
//! so this is the derived substitute the reference outlines: the antenna's radiating
//! section is a row of feed points on its axis, each launching a spherical wave whose
//! power is absorbed at the local rate a(T) = 2α(T) of the Ji & Brace dielectric fits,
//!
//!   SAR(x) = Σ_j w_j · a(T(x)) · exp(−∫_j^x a ds) / (4π (|x − x_j|² + d0²)),
//!
//! scaled so that the tissue absorbs the fraction `efficiency` of the generator's power.
//! As tissue near the antenna dries, a(T) falls (1/e depth 8.9 mm at 37 °C, 15.5 mm at
//! 100 °C) and power reaches further: the zone keeps growing while perfusion alone would
//! have it saturate. The wave is taken as axisymmetric about the antenna (vessels carve
//! the heat, not the field): absorption is integrated on an (r, z) grid of the
//! azimuthally averaged temperature and mapped back onto the voxels.

use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::tissue::power_attenuation;

/// Where the radiating section sits, and how much of the power reaches tissue: the
/// parameters calibrated per antenna against its vendor chart.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SarParameters {
    /// Centre of the radiating section behind the tip, mm.
    pub feed_behind_tip_mm: f64,
    /// Half-length of the radiating section, mm.
    pub feed_half_length_mm: f64,
    /// Fraction of the generator's power absorbed by tissue (the rest heats the cable
    /// and leaves with the cooling water).
    pub efficiency: f64,
    /// Source radius d0 that keeps the field finite at the antenna, mm.
    pub source_radius_mm: f64,
    /// How fast the absorbed power falls as the tissue around the radiating section dries
    /// (the antenna detunes and the cooling water takes the rest): the absorbed fraction
    /// is `efficiency · (ε̄/ε(37 °C))^mismatch`, ε̄ the mean permittivity within
    /// [`FEED_SHELL_M`] of the section.
    pub mismatch: f64,
    /// Which way the radiating section stretches as the tissue dries: the share of the
    /// stretch that goes back along the shaft (0.5: both ways alike).
    #[serde(default = "half")]
    pub stretch_back: f64,
}

fn half() -> f64 {
    0.5
}

/// The tissue whose drying detunes the antenna and stretches its radiating section:
/// within this distance of the section (m).
pub const FEED_SHELL_M: f64 = 0.005;
/// The radiating section scales with the wavelength in the tissue around it
/// (λ ∝ 1/√ε_r): at most this many times its length at 37 °C (√(47.9/10.9) = 2.1 at 100 °C).
const STRETCH_MAX: f64 = 2.2;

/// Feed points along the longest the radiating section can become.
const FEEDS: usize = 25;

/// The antenna in grid coordinates (metres from voxel 0's centre).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    pub tip: [f64; 3],
    /// Unit vector from the tip back along the shaft, towards the skin entry.
    pub back: [f64; 3],
}

impl Pose {
    /// (r, z) of a point: distance from the axis and position along it, positive behind the tip.
    #[inline]
    pub fn cylindrical(&self, p: [f64; 3]) -> (f64, f64) {
        let d = [p[0] - self.tip[0], p[1] - self.tip[1], p[2] - self.tip[2]];
        let z = d[0] * self.back[0] + d[1] * self.back[1] + d[2] * self.back[2];
        let r2 = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] - z * z).max(0.0);
        (r2.sqrt(), z)
    }
}

/// One voxel's place on the (r, z) grid: its cell and bilinear fractions.
#[derive(Debug, Clone, Copy)]
struct Tap {
    voxel: u32,
    cell: u32,
    fr: f32,
    fz: f32,
}

/// The SAR model bound to one grid and pose.
pub struct Sar {
    params: SarParameters,
    frequency: f64,
    /// (r, z) grid: `nr` radii from 0 and `nz` axial stations from `z0`, spacing `h`.
    nr: usize,
    nz: usize,
    z0: f64,
    h: f64,
    taps: Vec<Tap>,
    /// Feed positions behind the tip (m), spanning the most stretched section.
    feeds: Vec<f64>,
    rays: Arc<Rays>,
    voxel_volume: f64,
    /// The voxels the field reaches (an inclusive-exclusive box).
    support: crate::bioheat::ActiveBox,
}

/// Per (cell, feed) ray: the cells its path samples with their path-length weights (m),
/// in `cells[start[r]..start[r + 1]]`, and its geometric factor. In the antenna's own
/// (r, z) frame, so the same for every pose and grid of one spacing.
struct Rays {
    start: Vec<u32>,
    cells: Vec<u32>,
    weights: Vec<f32>,
    spread: Vec<f64>,
}

/// Ray tables made lately, by what they depend on: an interactive session rebuilds the
/// SAR at every move of the antenna, a recommendation for every setting, and the tables
/// are the same each time (most of a rebuild's cost on a coarse grid).
static RAYS: Mutex<Vec<([u64; 6], Arc<Rays>)>> = Mutex::new(Vec::new());
const RAYS_KEPT: usize = 8;

fn rays_cached(feeds: &[f64], nr: usize, nz: usize, z0: f64, h: f64, d0: f64) -> Arc<Rays> {
    let key = [feeds[0].to_bits(), feeds[feeds.len() - 1].to_bits(), nr as u64 * 1_000_003 + nz as u64, z0.to_bits(), h.to_bits(), d0.to_bits()];
    let mut kept = RAYS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = kept.iter().position(|(k, _)| *k == key) {
        let hit = kept.remove(i);
        let rays = hit.1.clone();
        kept.push(hit);
        return rays;
    }
    let made = Arc::new(rays(feeds, nr, nz, z0, h, d0));
    if kept.len() >= RAYS_KEPT {
        kept.remove(0);
    }
    kept.push((key, made.clone()));
    made
}

/// The rays from every feed to every (r, z) cell, sampled at half-cell steps with
/// bilinear weights (midpoint rule), each cell's weights merged: `absorb · weight`
/// summed over a ray is its optical depth.
fn rays(feeds: &[f64], nr: usize, nz: usize, z0: f64, h: f64, d0: f64) -> Rays {
    let per_cell: Vec<(Vec<(u32, f32)>, f64)> = (0..nr * nz * feeds.len())
        .into_par_iter()
        .map(|ray| {
            let (c, f) = (ray / feeds.len(), ray % feeds.len());
            let (r, z) = ((c % nr) as f64 * h, z0 + (c / nr) as f64 * h);
            let (dr, dz) = (r, z - feeds[f]);
            let d = (dr * dr + dz * dz).sqrt();
            let n = (2.0 * d / h).ceil().max(1.0) as usize;
            let ds = d / n as f64;
            let mut taps: Vec<(u32, f32)> = Vec::with_capacity(4 * n);
            for s in 0..n {
                let t = (s as f64 + 0.5) / n as f64;
                let (gr, gz) = ((t * dr / h).clamp(0.0, (nr - 1) as f64 - 1e-9), ((feeds[f] + t * dz - z0) / h).clamp(0.0, (nz - 1) as f64 - 1e-9));
                let (ir, iz) = (gr as usize, gz as usize);
                let (fr, fz) = (gr - ir as f64, gz - iz as f64);
                let base = ir + nr * iz;
                for (cell, w) in [(base, (1.0 - fr) * (1.0 - fz)), (base + 1, fr * (1.0 - fz)), (base + nr, (1.0 - fr) * fz), (base + nr + 1, fr * fz)] {
                    if w > 0.0 {
                        taps.push((cell as u32, (w * ds) as f32));
                    }
                }
            }
            taps.sort_unstable_by_key(|t| t.0);
            let mut merged: Vec<(u32, f32)> = Vec::with_capacity(taps.len() / 2);
            for (cell, w) in taps {
                match merged.last_mut() {
                    Some(last) if last.0 == cell => last.1 += w,
                    _ => merged.push((cell, w)),
                }
            }
            let spread = 1.0 / (4.0 * std::f64::consts::PI * (d * d + d0 * d0));
            (merged, spread)
        })
        .collect();
    let mut start = Vec::with_capacity(per_cell.len() + 1);
    let (mut cells, mut weights, mut spread) = (Vec::new(), Vec::new(), Vec::with_capacity(per_cell.len()));
    for (taps, g) in per_cell {
        start.push(cells.len() as u32);
        for (c, w) in taps {
            cells.push(c);
            weights.push(w);
        }
        spread.push(g);
    }
    start.push(cells.len() as u32);
    Rays { start, cells, weights, spread }
}

/// Reach of the field: beyond 30 mm from the feed the absorbed power is below 1e-4 of its peak.
const REACH_M: f64 = 0.030;

impl Sar {
    pub fn new(params: SarParameters, frequency: f64, pose: Pose, dims: [usize; 3], h: f64) -> Self {
        let feed_c = params.feed_behind_tip_mm * 1e-3;
        let half = params.feed_half_length_mm * 1e-3;
        // Room for the whole stretch on either side.
        let span = half * (1.0 + 2.0 * (STRETCH_MAX - 1.0));
        let feeds: Vec<f64> = (0..FEEDS).map(|j| feed_c - span + 2.0 * span * (j as f64 + 0.5) / FEEDS as f64).collect();
        let half = span;
        let (zmin, zmax) = (feed_c - half - REACH_M, feed_c + half + REACH_M);
        let nr = (REACH_M / h).ceil() as usize + 2;
        let nz = ((zmax - zmin) / h).ceil() as usize + 2;
        let mut taps = Vec::new();
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let (r, z) = pose.cylindrical([i as f64 * h, j as f64 * h, k as f64 * h]);
                    let (gr, gz) = (r / h, (z - zmin) / h);
                    if gr >= (nr - 1) as f64 || gz < 0.0 || gz >= (nz - 1) as f64 {
                        continue;
                    }
                    let (ir, iz) = (gr.floor() as usize, gz.floor() as usize);
                    let voxel = (i + dims[0] * (j + dims[1] * k)) as u32;
                    taps.push(Tap { voxel, cell: (ir + nr * iz) as u32, fr: (gr - ir as f64) as f32, fz: (gz - iz as f64) as f32 });
                }
            }
        }
        let mut support = crate::bioheat::ActiveBox { lo: [usize::MAX; 3], hi: [0; 3] };
        for t in &taps {
            let v = t.voxel as usize;
            let p = [v % dims[0], (v / dims[0]) % dims[1], v / (dims[0] * dims[1])];
            for a in 0..3 {
                support.lo[a] = support.lo[a].min(p[a]);
                support.hi[a] = support.hi[a].max(p[a] + 1);
            }
        }
        let rays = rays_cached(&feeds, nr, nz, zmin, h, params.source_radius_mm * 1e-3);
        Sar { params, frequency, nr, nz, z0: zmin, h, taps, feeds, rays, voxel_volume: h * h * h, support }
    }

    /// The heat source Q (W/m³) for the generator `power` (W) and the current
    /// temperatures, into `q`: a buffer this SAR filled before (or an empty one); only the
    /// voxels the field reaches are written.
    pub fn source_into(&self, power: f64, temperature: &[f32], q: &mut Vec<f32>) {
        let (nr, nz) = (self.nr, self.nz);
        // Azimuthal mean temperature per (r, z) cell, splatted with the bilinear weights.
        // (Each thread splats its share of the taps; the shares are added.)
        let (sum, weight) = self
            .taps
            .par_chunks(16384)
            .map(|chunk| {
                let (mut sum, mut weight) = (vec![0.0f64; nr * nz], vec![0.0f64; nr * nz]);
                for t in chunk {
                    let v = temperature[t.voxel as usize] as f64;
                    for (cell, w) in self.corners(t) {
                        sum[cell] += w * v;
                        weight[cell] += w;
                    }
                }
                (sum, weight)
            })
            .reduce(
                || (vec![0.0f64; nr * nz], vec![0.0f64; nr * nz]),
                |(mut s1, mut w1), (s2, w2)| {
                    s1.iter_mut().zip(&s2).for_each(|(a, b)| *a += b);
                    w1.iter_mut().zip(&w2).for_each(|(a, b)| *a += b);
                    (s1, w1)
                },
            );
        let mean_t: Vec<f64> = (0..nr * nz).map(|c| if weight[c] > 1e-9 { sum[c] / weight[c] } else { crate::tissue::BLOOD_C }).collect();
        let absorb: Vec<f64> = mean_t.iter().map(|&t| power_attenuation(t, self.frequency)).collect();
        // Permittivity around the radiating section (volume-weighted on the (r, z) grid).
        let (feed_c, half0) = (self.params.feed_behind_tip_mm * 1e-3, self.params.feed_half_length_mm * 1e-3);
        let (mut eps, mut vol) = (0.0, 0.0);
        for (c, &t) in mean_t.iter().enumerate() {
            let (r, z) = ((c % nr) as f64 * self.h, self.z0 + (c / nr) as f64 * self.h);
            if r <= FEED_SHELL_M && (z - feed_c).abs() <= half0 + FEED_SHELL_M {
                let v = r.max(0.25 * self.h);
                eps += v * crate::tissue::permittivity(t);
                vol += v;
            }
        }
        let ratio = if vol > 0.0 { (eps / vol / crate::tissue::permittivity(crate::tissue::BLOOD_C)).clamp(0.05, 1.0) } else { 1.0 };
        let half = (half0 / ratio.sqrt()).min(STRETCH_MAX * half0);
        let stretch = 2.0 * (half - half0);
        let back = self.params.stretch_back.clamp(0.0, 1.0);
        let (lo, hi) = (feed_c - half0 - (1.0 - back) * stretch, feed_c + half0 + back * stretch);
        let spacing = if self.feeds.len() > 1 { self.feeds[1] - self.feeds[0] } else { 1.0 };
        let feed_weight: Vec<f64> = self
            .feeds
            .iter()
            .map(|&zf| if half0 <= 0.0 { 1.0 } else { ((zf - lo) / spacing + 0.5).clamp(0.0, 1.0) * ((hi - zf) / spacing + 0.5).clamp(0.0, 1.0) })
            .collect();
        let absorbed = self.params.efficiency * ratio.powf(self.params.mismatch);
        let rays = &*self.rays;
        let feeds = rays.spread.len() / (nr * nz);
        // Power density per cell: each feed's wave, attenuated along its straight path.
        let density: Vec<f64> = (0..nr * nz)
            .into_par_iter()
            .map(|c| {
                (0..feeds)
                    .map(|f| {
                        // Feeds outside the radiating section add nothing: their rays
                        // are not walked (most of them while the section is short).
                        if feed_weight[f] == 0.0 {
                            return 0.0;
                        }
                        let ray = c * feeds + f;
                        let (s, e) = (rays.start[ray] as usize, rays.start[ray + 1] as usize);
                        let path: f64 = rays.cells[s..e].iter().zip(&rays.weights[s..e]).map(|(&cell, &w)| absorb[cell as usize] * w as f64).sum();
                        feed_weight[f] * rays.spread[ray] * absorb[c] * (-path).exp()
                    })
                    .sum()
            })
            .collect();
        let values: Vec<f64> = self.taps.par_iter().map(|t| self.corners(t).map(|(cell, wt)| wt * density[cell]).sum()).collect();
        let total: f64 = values.iter().sum();
        let scale = if total > 0.0 { absorbed * power / (total * self.voxel_volume) } else { 0.0 };
        // Only the taps are written: a buffer reused from the last update is zero elsewhere.
        q.resize(temperature.len(), 0.0);
        for (t, v) in self.taps.iter().zip(values) {
            q[t.voxel as usize] = (v * scale) as f32;
        }
    }

    /// The voxels the field can reach.
    pub fn support(&self) -> crate::bioheat::ActiveBox {
        self.support
    }

    #[inline]
    fn corners(&self, t: &Tap) -> impl Iterator<Item = (usize, f64)> {
        let c = t.cell as usize;
        let (fr, fz) = (t.fr as f64, t.fz as f64);
        [(c, (1.0 - fr) * (1.0 - fz)), (c + 1, fr * (1.0 - fz)), (c + self.nr, (1.0 - fr) * fz), (c + self.nr + 1, fr * fz)].into_iter()
    }
}
