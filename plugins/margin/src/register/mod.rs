//! Registration of the post-ablation CT onto the pre-ablation CT, in Candle (CPU here,
//! the same graph on CUDA).
//!
//! The transform maps pre-frame world points to post-frame world points (so the post
//! scan is resampled onto the pre grid): `y = R (x - c) + c + t + u(x)`, a rigid part
//! started from the liver masks' centroids, then a smooth displacement `u` interpolated
//! (trilinearly: first-order B-splines) from a control grid, coarse then fine. Both are
//! fitted by Adam on a weighted sum of squared intensity differences inside the dilated
//! pre-ablation liver, with the post-ablation zone (which has no counterpart before
//! treatment) left out, plus a membrane penalty on the control grid. Each step uses a
//! fresh random subset of the liver's voxels, as elastix does.

pub mod sampler;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use isotherm_sdk::abi::{Geometry, Volume};
use isotherm_sdk::volume::{edt, filter, resample, stats};

use sampler::{GridTable, weighted_ssd, world_to_index};

#[derive(Debug, Clone)]
pub struct Settings {
    /// Liver mask dilation for the similarity region, mm.
    pub region_margin_mm: f64,
    pub samples_per_step: usize,
    pub rigid_steps: usize,
    /// Control-grid spacings, coarse to fine, mm.
    pub control_spacing_mm: Vec<f64>,
    pub deformable_steps: usize,
    /// Weight of the membrane penalty (squared control-point differences per mm^2).
    pub smoothness: f64,
    pub seed: u64,
    /// Where the fit runs (the CPU, or a CUDA device with the `cuda` feature).
    pub device: Device,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { region_margin_mm: 10.0, samples_per_step: 20_000, rigid_steps: 200, control_spacing_mm: vec![32.0, 16.0], deformable_steps: 150, smoothness: 2.0, seed: 1, device: Device::Cpu }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rigid {
    /// Rotations about x, y, z (radians), applied as Rz Ry Rx about `centre`.
    pub angles: [f64; 3],
    pub translation: [f64; 3],
    pub centre: [f64; 3],
}

fn rotation(a: [f64; 3]) -> [[f64; 3]; 3] {
    let (sx, cx) = a[0].sin_cos();
    let (sy, cy) = a[1].sin_cos();
    let (sz, cz) = a[2].sin_cos();
    [
        [cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx],
        [sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx],
        [-sy, cy * sx, cy * cx],
    ]
}

impl Rigid {
    pub fn apply(&self, p: [f64; 3]) -> [f64; 3] {
        let r = rotation(self.angles);
        let d = [0, 1, 2].map(|a| p[a] - self.centre[a]);
        [0, 1, 2].map(|row| (0..3).map(|c| r[row][c] * d[c]).sum::<f64>() + self.centre[row] + self.translation[row])
    }
}

/// A displacement field on an axis-aligned control grid (mm, world axes).
#[derive(Debug, Clone)]
pub struct ControlGrid {
    pub geometry: Geometry,
    /// x, y, z displacement planes.
    pub displacement: [Vec<f32>; 3],
}

impl ControlGrid {
    pub fn at(&self, p: [f64; 3]) -> [f64; 3] {
        let idx = self.geometry.world_to_index(p);
        let dims = self.geometry.dims_usize();
        let clamped = [0, 1, 2].map(|a| idx[a].clamp(0.0, (dims[a] - 1) as f64));
        [0, 1, 2].map(|a| resample::trilinear(&self.displacement[a], dims, clamped).unwrap_or(0.0) as f64)
    }
}

#[derive(Debug, Clone)]
pub struct Registration {
    pub rigid: Rigid,
    pub field: Option<ControlGrid>,
    /// Weighted mean squared difference (normalised intensity units) before and after.
    pub similarity_before: f64,
    pub similarity_after: f64,
}

impl Registration {
    /// Pre-frame world point -> post-frame world point.
    pub fn map(&self, p: [f64; 3]) -> [f64; 3] {
        let q = self.rigid.apply(p);
        match &self.field {
            Some(f) => {
                let u = f.at(p);
                [q[0] + u[0], q[1] + u[1], q[2] + u[2]]
            }
            None => q,
        }
    }

    /// The post-frame CT resampled onto `target` (the pre grid) through the transform,
    /// trilinear, stored as whole HU (i16; -1024 outside): no full-size f32 copy.
    pub fn warp_linear_hu<D: resample::Voxels + ?Sized>(&self, data: &D, from: &Geometry, target: &Geometry) -> Vec<i16> {
        resample::resample_linear_through_as(data, from, target, -1024i16, |p| self.map(p), |v| v.round().clamp(i16::MIN as f32, i16::MAX as f32) as i16)
    }

    /// Post-frame labels (or masks) carried onto `target` by nearest neighbour (0 outside).
    pub fn warp_nearest<T: Copy + Default + Send + Sync>(&self, labels: &[T], from: &Geometry, target: &Geometry) -> Vec<T> {
        resample::resample_nearest_through(labels, from, target, |p| self.map(p))
    }
}

/// HU -> the registration's intensity scale (soft tissue window, about unit variance).
fn normalise(hu: f32) -> f32 {
    (hu.clamp(-200.0, 300.0) - 100.0) / 100.0
}

fn smoothed(v: &Volume) -> Vec<f32> {
    let g = v.geometry;
    let sigma = g.spacing.map(|s| (1.0 / s).min(1.0));
    let data: Vec<f32> = v.to_f32().into_iter().map(normalise).collect();
    filter::gaussian(&data, g.dims_usize(), sigma)
}

/// The finest grid the fit works on: the similarity is sampled from a smoothed image
/// (about 1 mm) at random points, so thinner voxels add memory and time, not accuracy.
/// A 512 x 512 x 300 scan at 0.8 x 0.8 x 1 mm is fitted on a 1.6 x 1.6 x 2 mm grid.
pub const FIT_SPACING_MM: [f64; 3] = [1.5, 1.5, 2.0];

/// `v` and its masks on a grid along the same axes whose spacing is at least
/// [`FIT_SPACING_MM`] (whole multiples of the input's, so coarse voxels sit on input
/// voxels); unchanged when the input is already that coarse.
fn fit_grid(v: &Volume, masks: &[&[bool]]) -> Option<(Volume, Vec<Vec<bool>>)> {
    let g = v.geometry;
    let factor: [usize; 3] = std::array::from_fn(|a| (FIT_SPACING_MM[a] / g.spacing[a] - 1e-6).ceil().max(1.0) as usize);
    if factor == [1, 1, 1] {
        return None;
    }
    let mut coarse = g;
    for a in 0..3 {
        coarse.spacing[a] = g.spacing[a] * factor[a] as f64;
        coarse.dims[a] = ((g.dims[a] as usize - 1) / factor[a] + 1) as u32;
    }
    let data = resample::resample_linear(&v.data, &g, &coarse, -1024.0);
    let masks = masks.iter().map(|m| resample::resample_nearest(m, &g, &coarse)).collect();
    Some((Volume::from_f32(coarse, data), masks))
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// What the fit needs at every step, built once.
struct Problem {
    device: Device,
    /// Candidate points (world mm) and the fixed image there.
    points: Vec<[f32; 3]>,
    fixed: Vec<f32>,
    moving: GridTable,
    /// 1 where the post scan is comparable (outside the dilated zone), on the post grid.
    comparable: GridTable,
    post: Geometry,
}

impl Problem {
    fn batch(&self, rng: &mut Rng, n: usize) -> candle_core::Result<(Tensor, Tensor)> {
        let pick: Vec<usize> = (0..n.min(self.points.len())).map(|_| rng.below(self.points.len())).collect();
        let pts: Vec<f32> = pick.iter().flat_map(|&i| self.points[i]).collect();
        let fixed: Vec<f32> = pick.iter().map(|&i| self.fixed[i]).collect();
        Ok((Tensor::from_vec(pts, (pick.len(), 3), &self.device)?, Tensor::from_vec(fixed, pick.len(), &self.device)?))
    }

    /// Weighted SSD between the fixed values and the moving image at `y` (world mm).
    fn loss(&self, y: &Tensor, fixed: &Tensor) -> candle_core::Result<Tensor> {
        let idx = world_to_index(y, &self.post)?;
        let (m, inside) = self.moving.sample(&idx)?;
        let (ok, _) = self.comparable.sample(&idx.detach())?;
        let w = inside.mul(&ok.squeeze(1)?.detach())?;
        weighted_ssd(&m.squeeze(1)?, fixed, &w)
    }
}

fn rotation_tensor(a: &Tensor) -> candle_core::Result<Tensor> {
    let s = a.sin()?;
    let c = a.cos()?;
    let at = |t: &Tensor, i: usize| t.narrow(0, i, 1);
    let (sx, sy, sz, cx, cy, cz) = (at(&s, 0)?, at(&s, 1)?, at(&s, 2)?, at(&c, 0)?, at(&c, 1)?, at(&c, 2)?);
    let e = [
        cz.mul(&cy)?, (cz.mul(&sy)?.mul(&sx)? - sz.mul(&cx)?)?, (cz.mul(&sy)?.mul(&cx)? + sz.mul(&sx)?)?,
        sz.mul(&cy)?, (sz.mul(&sy)?.mul(&sx)? + cz.mul(&cx)?)?, (sz.mul(&sy)?.mul(&cx)? - cz.mul(&sx)?)?,
        sy.neg()?, cy.mul(&sx)?, cy.mul(&cx)?,
    ];
    Tensor::cat(&e, 0)?.reshape((3, 3))
}

/// y = (x - c) R^T + c + t for points as rows.
fn rigid_graph(x: &Tensor, angles: &Tensor, t: &Tensor, centre: &Tensor) -> candle_core::Result<Tensor> {
    let r = rotation_tensor(angles)?;
    x.broadcast_sub(centre)?.matmul(&r.t()?)?.broadcast_add(centre)?.broadcast_add(&t.unsqueeze(0)?)
}

/// Registers `post` onto `pre`. `pre_liver` and `post_liver` (on their own grids) start
/// the rigid part and define the similarity region; `post_exclude` marks post voxels with
/// no pre counterpart (the ablation zone). `progress` gets 0..1 and returns false to stop.
pub fn register(pre: &Volume, post: &Volume, pre_liver: &[bool], post_liver: &[bool], post_exclude: &[bool], s: &Settings, progress: &dyn Fn(f64) -> bool) -> Result<Registration, String> {
    // Thin-slice scans are fitted on a coarser grid (the transform is in world mm, so it
    // applies to the full grids unchanged).
    let coarse_pre = fit_grid(pre, &[pre_liver]);
    let coarse_post = fit_grid(post, &[post_liver, post_exclude]);
    if coarse_pre.is_some() || coarse_post.is_some() {
        let (pre, pre_masks) = match &coarse_pre {
            Some((v, m)) => (v, vec![m[0].as_slice()]),
            None => (pre, vec![pre_liver]),
        };
        let (post, post_masks) = match &coarse_post {
            Some((v, m)) => (v, vec![m[0].as_slice(), m[1].as_slice()]),
            None => (post, vec![post_liver, post_exclude]),
        };
        return register_on(pre, post, pre_masks[0], post_masks[0], post_masks[1], s, progress);
    }
    register_on(pre, post, pre_liver, post_liver, post_exclude, s, progress)
}

fn register_on(pre: &Volume, post: &Volume, pre_liver: &[bool], post_liver: &[bool], post_exclude: &[bool], s: &Settings, progress: &dyn Fn(f64) -> bool) -> Result<Registration, String> {
    let err = |e: candle_core::Error| e.to_string();
    let device = s.device.clone();
    let (pg, qg) = (pre.geometry, post.geometry);
    let c_pre = stats::centroid(&pg, pre_liver).ok_or("the pre-ablation liver mask is empty")?;
    let c_post = stats::centroid(&qg, post_liver).ok_or("the post-ablation liver mask is empty")?;
    // Similarity region: the pre liver dilated by region_margin_mm.
    let dist = edt::distance_to(pre_liver, pg.dims_usize(), pg.spacing);
    let fixed_all = smoothed(pre);
    let mut points = Vec::new();
    let mut fixed = Vec::new();
    for (n, d) in dist.iter().enumerate() {
        if (*d as f64) <= s.region_margin_mm {
            let [i, j, k] = pg.ijk(n);
            points.push(pg.index_to_world([i as f64, j as f64, k as f64]).map(|v| v as f32));
            fixed.push(fixed_all[n]);
        }
    }
    let zone_dist = edt::distance_to(post_exclude, qg.dims_usize(), qg.spacing);
    let any_excluded = post_exclude.iter().any(|&z| z);
    let comparable: Vec<f32> = zone_dist.iter().map(|&d| if any_excluded && d <= 5.0 { 0.0 } else { 1.0 }).collect();
    let table = |v: Vec<f32>| {
        let n = v.len();
        Tensor::from_vec(v, (n, 1), &device).map(|values| GridTable { dims: qg.dims_usize(), values })
    };
    let problem = Problem { device: device.clone(), points, fixed, moving: table(smoothed(post)).map_err(err)?, comparable: table(comparable).map_err(err)?, post: qg };
    let mut rng = Rng(s.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let total_steps = (s.rigid_steps + s.deformable_steps * s.control_spacing_mm.len()) as f64;

    // Rigid: angles are optimised in units of 0.01 rad so that one Adam step moves about
    // as far in rotation (at 100 mm from the centre) as in translation.
    let centre = Tensor::from_vec(c_pre.map(|v| v as f32).to_vec(), (1, 3), &device).map_err(err)?;
    let angles = Var::zeros(3, DType::F32, &device).map_err(err)?;
    let init: Vec<f32> = (0..3).map(|a| (c_post[a] - c_pre[a]) as f32).collect();
    let translation = Var::from_vec(init, 3, &device).map_err(err)?;
    let (x, f) = problem.batch(&mut rng, 50_000).map_err(err)?;
    let similarity_before = problem.loss(&rigid_graph(&x, &(angles.as_tensor() * 0.01).map_err(err)?, translation.as_tensor(), &centre).map_err(err)?, &f).and_then(|l| l.to_scalar::<f32>()).map_err(err)? as f64;
    let mut opt = AdamW::new(vec![angles.clone(), translation.clone()], ParamsAdamW { lr: 0.5, weight_decay: 0.0, ..Default::default() }).map_err(err)?;
    for step in 0..s.rigid_steps {
        opt.set_learning_rate(0.5 * (1.0 - step as f64 / s.rigid_steps as f64) + 0.02);
        let (x, f) = problem.batch(&mut rng, s.samples_per_step).map_err(err)?;
        let y = rigid_graph(&x, &(angles.as_tensor() * 0.01).map_err(err)?, translation.as_tensor(), &centre).map_err(err)?;
        opt.backward_step(&problem.loss(&y, &f).map_err(err)?).map_err(err)?;
        if !progress(step as f64 / total_steps) {
            return Err("cancelled".into());
        }
    }
    let a: Vec<f32> = (angles.as_tensor() * 0.01).and_then(|t| t.to_vec1()).map_err(err)?;
    let t: Vec<f32> = translation.as_tensor().to_vec1().map_err(err)?;
    let rigid = Rigid { angles: [a[0] as f64, a[1] as f64, a[2] as f64], translation: [t[0] as f64, t[1] as f64, t[2] as f64], centre: c_pre };
    let rigid_angles = (angles.as_tensor() * 0.01).map_err(err)?.detach();
    let rigid_t = translation.as_tensor().detach();

    // Deformable, coarse to fine, over the box of the similarity region.
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for p in &problem.points {
        for a in 0..3 {
            lo[a] = lo[a].min(p[a] as f64);
            hi[a] = hi[a].max(p[a] as f64);
        }
    }
    let mut field: Option<ControlGrid> = None;
    let mut done = s.rigid_steps;
    for &spacing in &s.control_spacing_mm {
        let dims = [0, 1, 2].map(|a| ((hi[a] - lo[a]) / spacing).ceil() as u32 + 3);
        let origin = [0, 1, 2].map(|a| lo[a] - spacing);
        let cg = Geometry::axis_aligned(dims, [spacing; 3], origin);
        // Start from the previous level's field, sampled at this level's control points.
        let start: Vec<f32> = (0..cg.len())
            .flat_map(|n| {
                let [i, j, k] = cg.ijk(n);
                let u = field.as_ref().map(|f| f.at(cg.index_to_world([i as f64, j as f64, k as f64]))).unwrap_or([0.0; 3]);
                u.map(|v| v as f32)
            })
            .collect();
        let d = Var::from_vec(start, (cg.len(), 3), &device).map_err(err)?;
        let mut opt = AdamW::new(vec![d.clone()], ParamsAdamW { lr: 0.3, weight_decay: 0.0, ..Default::default() }).map_err(err)?;
        let cdims = cg.dims_usize();
        for step in 0..s.deformable_steps {
            opt.set_learning_rate(0.3 * (1.0 - step as f64 / s.deformable_steps as f64) + 0.02);
            let (x, f) = problem.batch(&mut rng, s.samples_per_step).map_err(err)?;
            let grid = GridTable { dims: cdims, values: d.as_tensor().clone() };
            let (u, _) = grid.sample(&world_to_index(&x, &cg).map_err(err)?).map_err(err)?;
            let y = (rigid_graph(&x, &rigid_angles, &rigid_t, &centre).map_err(err)? + u).map_err(err)?;
            let data = problem.loss(&y, &f).map_err(err)?;
            let membrane = membrane(d.as_tensor(), cdims).map_err(err)?;
            let total = (data + (membrane * (s.smoothness / (spacing * spacing))).map_err(err)?).map_err(err)?;
            opt.backward_step(&total).map_err(err)?;
            done += 1;
            if !progress(done as f64 / total_steps) {
                return Err("cancelled".into());
            }
        }
        let values: Vec<f32> = d.as_tensor().flatten_all().and_then(|t| t.to_vec1()).map_err(err)?;
        let plane = |a: usize| values.iter().skip(a).step_by(3).copied().collect::<Vec<f32>>();
        field = Some(ControlGrid { geometry: cg, displacement: [plane(0), plane(1), plane(2)] });
    }
    let mut reg = Registration { rigid, field, similarity_before, similarity_after: 0.0 };
    // Final similarity on the same 50,000 points as before.
    let ys: Vec<f32> = x.to_vec2::<f32>().map_err(err)?.iter().flat_map(|p| reg.map([p[0] as f64, p[1] as f64, p[2] as f64]).map(|v| v as f32)).collect();
    let y = Tensor::from_vec(ys, x.dims2().map_err(err)?, &device).map_err(err)?;
    reg.similarity_after = problem.loss(&y, &f).and_then(|l| l.to_scalar::<f32>()).map_err(err)? as f64;
    Ok(reg)
}

/// Sum over axes of the mean squared difference between neighbouring control points.
fn membrane(d: &Tensor, dims: [usize; 3]) -> candle_core::Result<Tensor> {
    let [nx, ny, nz] = dims;
    let v = d.reshape((nz, ny, nx, 3))?;
    let mut total: Option<Tensor> = None;
    for (axis, n) in [(2usize, nx), (1, ny), (0, nz)] {
        if n < 2 {
            continue;
        }
        let diff = (v.narrow(axis, 1, n - 1)? - v.narrow(axis, 0, n - 1)?)?.sqr()?.mean_all()?;
        total = Some(match total {
            None => diff,
            Some(t) => (t + diff)?,
        });
    }
    total.map_or_else(|| Tensor::new(0f32, d.device()), Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rigid_graph_matches_the_plain_transform() {
        let r = Rigid { angles: [0.03, -0.02, 0.05], translation: [1.0, -2.0, 3.0], centre: [10.0, 20.0, 30.0] };
        let x = Tensor::from_vec(vec![0f32, 0.0, 0.0, 50.0, -20.0, 5.0], (2, 3), &Device::Cpu).unwrap();
        let a = Tensor::from_vec(r.angles.map(|v| v as f32).to_vec(), 3, &Device::Cpu).unwrap();
        let t = Tensor::from_vec(r.translation.map(|v| v as f32).to_vec(), 3, &Device::Cpu).unwrap();
        let c = Tensor::from_vec(r.centre.map(|v| v as f32).to_vec(), (1, 3), &Device::Cpu).unwrap();
        let y = rigid_graph(&x, &a, &t, &c).unwrap().to_vec2::<f32>().unwrap();
        for (row, p) in [[0.0, 0.0, 0.0], [50.0, -20.0, 5.0]].iter().enumerate() {
            let want = r.apply(*p);
            for k in 0..3 {
                assert!((y[row][k] as f64 - want[k]).abs() < 1e-3, "{:?} vs {want:?}", y[row]);
            }
        }
    }
}
