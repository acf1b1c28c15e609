//! Resampling between grids through world coordinates (so any two geometries,
//! oblique or not, line up in millimetres).

use rayon::prelude::*;

use crate::abi::{Geometry, VoxelData};

/// Scalar voxels read by index as f32: a float field, or a volume's own storage (a CT's
/// i16), so that resampling a CT needs no f32 copy of it (315 MB at 512 x 512 x 300).
pub trait Voxels: Sync {
    fn value(&self, index: usize) -> f32;
}

impl Voxels for [f32] {
    #[inline]
    fn value(&self, index: usize) -> f32 {
        self[index]
    }
}

impl Voxels for Vec<f32> {
    #[inline]
    fn value(&self, index: usize) -> f32 {
        self[index]
    }
}

impl Voxels for VoxelData {
    #[inline]
    fn value(&self, index: usize) -> f32 {
        self.get_f32(index)
    }
}

/// Trilinear value of `data` (on `geometry`) at a continuous index; `None` outside
/// the grid (beyond the outermost voxel centres).
#[inline]
pub fn trilinear<D: Voxels + ?Sized>(data: &D, dims: [usize; 3], p: [f64; 3]) -> Option<f32> {
    let [nx, ny, nz] = dims;
    let mut base = [0usize; 3];
    let mut frac = [0f64; 3];
    for a in 0..3 {
        let n = dims[a];
        if !(p[a] >= -1e-6 && p[a] <= n as f64 - 1.0 + 1e-6) {
            return None;
        }
        let x = p[a].clamp(0.0, (n - 1) as f64);
        let b = (x.floor() as usize).min(n.saturating_sub(2));
        base[a] = b;
        frac[a] = if n > 1 { x - b as f64 } else { 0.0 };
    }
    let at = |i: usize, j: usize, k: usize| data.value(i.min(nx - 1) + nx * (j.min(ny - 1) + ny * k.min(nz - 1))) as f64;
    let [i, j, k] = base;
    let [fx, fy, fz] = frac;
    let c00 = at(i, j, k) * (1.0 - fx) + at(i + 1, j, k) * fx;
    let c10 = at(i, j + 1, k) * (1.0 - fx) + at(i + 1, j + 1, k) * fx;
    let c01 = at(i, j, k + 1) * (1.0 - fx) + at(i + 1, j, k + 1) * fx;
    let c11 = at(i, j + 1, k + 1) * (1.0 - fx) + at(i + 1, j + 1, k + 1) * fx;
    let c0 = c00 * (1.0 - fy) + c10 * fy;
    let c1 = c01 * (1.0 - fy) + c11 * fy;
    Some((c0 * (1.0 - fz) + c1 * fz) as f32)
}

/// Resamples a scalar field onto `to` with trilinear interpolation; `fill` outside.
pub fn resample_linear<D: Voxels + ?Sized>(data: &D, from: &Geometry, to: &Geometry, fill: f32) -> Vec<f32> {
    resample_linear_through(data, from, to, fill, |p| p)
}

/// Resamples onto `to` trilinearly, taking the nearest edge value beyond the outermost
/// voxel centres (IBSI: the interpolation grid may overhang the image by up to half a
/// voxel, and those voxels take the boundary intensity).
pub fn resample_linear_clamped<D: Voxels + ?Sized>(data: &D, from: &Geometry, to: &Geometry) -> Vec<f32> {
    let dims = from.dims_usize();
    sample_onto(from, to, 0.0, |p| p, |p| trilinear(data, dims, clamp_index(p, dims)))
}

/// Resamples onto `to` by cubic B-spline interpolation (the "tricubic spline" of IBSI),
/// interpolating: the coefficients are prefiltered so the spline passes through every
/// voxel, with mirror boundaries; beyond the outermost voxel centres, the edge value.
pub fn resample_cubic_spline_clamped<D: Voxels + ?Sized>(data: &D, from: &Geometry, to: &Geometry) -> Vec<f32> {
    let dims = from.dims_usize();
    let coefficients = bspline_coefficients(data, dims);
    sample_onto(from, to, 0.0, |p| p, |p| Some(cubic_bspline(&coefficients, dims, clamp_index(p, dims)) as f32))
}

fn clamp_index(p: [f64; 3], dims: [usize; 3]) -> [f64; 3] {
    [0, 1, 2].map(|a| p[a].clamp(0.0, (dims[a] - 1) as f64))
}

/// Cubic B-spline coefficients of a volume, axis by axis (Unser's recursive filter,
/// pole sqrt(3) - 2, mirror-symmetric boundaries). Along y and z the filter runs on
/// whole x rows at once (every x position is a lane), so memory is read row by row.
fn bspline_coefficients<D: Voxels + ?Sized>(data: &D, dims: [usize; 3]) -> Vec<f64> {
    let [nx, ny, nz] = dims;
    let mut c: Vec<f64> = (0..dims.iter().product::<usize>()).into_par_iter().map(|n| data.value(n) as f64).collect();
    if nx >= 2 {
        c.par_chunks_mut(nx).for_each(|line| prefilter_rows(line, nx, 1));
    }
    if ny >= 2 {
        c.par_chunks_mut(nx * ny).for_each(|slab| prefilter_rows(slab, ny, nx));
    }
    if nz >= 2 {
        // The z lines of row j are nz rows of nx, one per slab: gathered, filtered,
        // written back slab by slab.
        let planes: Vec<Vec<f64>> = (0..ny)
            .into_par_iter()
            .map(|j| {
                let mut plane = Vec::with_capacity(nx * nz);
                for k in 0..nz {
                    plane.extend_from_slice(&c[nx * (j + ny * k)..][..nx]);
                }
                prefilter_rows(&mut plane, nz, nx);
                plane
            })
            .collect();
        c.par_chunks_mut(nx * ny).enumerate().for_each(|(k, slab)| {
            for (j, plane) in planes.iter().enumerate() {
                slab[nx * j..][..nx].copy_from_slice(&plane[nx * k..][..nx]);
            }
        });
    }
    c
}

/// The prefilter along `n` rows of `width` lanes each (row t at `x[t * width..]`): every
/// lane is one line filtered on its own.
fn prefilter_rows(x: &mut [f64], n: usize, width: usize) {
    let z = 3f64.sqrt() - 2.0;
    let gain = (1.0 - z) * (1.0 - 1.0 / z);
    x.iter_mut().for_each(|v| *v *= gain);
    // Causal initialisation, mirror boundary: the first value becomes a weighted sum of
    // the line, truncated where z^k falls below 1e-12, or, on a line shorter than that,
    // the exact sum over the mirrored period.
    let horizon = ((1e-12f64).ln() / z.abs().ln()).ceil() as usize;
    let mut w = vec![0.0; n];
    if horizon < n {
        let mut zk = 1.0;
        for wt in w.iter_mut().take(horizon) {
            *wt = zk;
            zk *= z;
        }
    } else {
        let norm = 1.0 / (1.0 - z.powi(2 * n as i32 - 2));
        let (mut zk, iz) = (z, 1.0 / z);
        let mut z2n = z.powi(n as i32 - 1);
        w[0] = norm;
        w[n - 1] = z2n * norm;
        z2n *= z2n * iz;
        for wt in w.iter_mut().take(n - 1).skip(1) {
            *wt = (zk + z2n) * norm;
            zk *= z;
            z2n *= iz;
        }
    }
    let mut first = vec![0.0; width];
    for (t, &wt) in w.iter().enumerate().filter(|(_, wt)| **wt != 0.0) {
        for (f, v) in first.iter_mut().zip(&x[t * width..][..width]) {
            *f += wt * v;
        }
    }
    x[..width].copy_from_slice(&first);
    for t in 1..n {
        let (done, rest) = x.split_at_mut(t * width);
        for (v, p) in rest[..width].iter_mut().zip(&done[(t - 1) * width..]) {
            *v += z * p;
        }
    }
    // Anticausal initialisation, mirror boundary.
    let c = z / (z * z - 1.0);
    let (head, last) = x.split_at_mut((n - 1) * width);
    for (v, p) in last.iter_mut().zip(&head[(n - 2) * width..]) {
        *v = c * (z * p + *v);
    }
    for t in (0..n - 1).rev() {
        let (head, next) = x.split_at_mut((t + 1) * width);
        for (v, q) in head[t * width..].iter_mut().zip(&next[..width]) {
            *v = z * (q - *v);
        }
    }
}

/// The cubic B-spline of `c` at a continuous index inside the grid.
fn cubic_bspline(c: &[f64], dims: [usize; 3], p: [f64; 3]) -> f64 {
    let mut index = [[0usize; 4]; 3];
    let mut weight = [[0f64; 4]; 3];
    for a in 0..3 {
        let n = dims[a] as i64;
        let base = p[a].floor() as i64 - 1;
        let t = p[a] - p[a].floor();
        weight[a] = [(1.0 - t).powi(3) / 6.0, (3.0 * t.powi(3) - 6.0 * t * t + 4.0) / 6.0, (-3.0 * t.powi(3) + 3.0 * t * t + 3.0 * t + 1.0) / 6.0, t.powi(3) / 6.0];
        for (m, slot) in index[a].iter_mut().enumerate() {
            // Mirror at both ends, as the coefficients were computed.
            let mut q = base + m as i64;
            if n == 1 {
                q = 0;
            } else {
                let period = 2 * (n - 1);
                q = q.rem_euclid(period);
                if q >= n {
                    q = period - q;
                }
            }
            *slot = q as usize;
        }
    }
    let mut v = 0.0;
    for (wk, &k) in weight[2].iter().zip(&index[2]) {
        for (wj, &j) in weight[1].iter().zip(&index[1]) {
            let row = dims[0] * (j + dims[1] * k);
            let w = wk * wj;
            for (wi, &i) in weight[0].iter().zip(&index[0]) {
                v += w * wi * c[row + i];
            }
        }
    }
    v
}

/// Resamples labels onto `to` by nearest neighbour; 0 outside.
pub fn resample_nearest<T: Copy + Default + Send + Sync>(data: &[T], from: &Geometry, to: &Geometry) -> Vec<T> {
    resample_nearest_through(data, from, to, |p| p)
}

/// As [`resample_linear`], with each `to` world point first carried into `from`'s world
/// by `map` (a registration's transform, say).
pub fn resample_linear_through<D: Voxels + ?Sized>(data: &D, from: &Geometry, to: &Geometry, fill: f32, map: impl Fn([f64; 3]) -> [f64; 3] + Sync) -> Vec<f32> {
    let dims = from.dims_usize();
    sample_onto(from, to, fill, map, |p| trilinear(data, dims, p))
}

/// As [`resample_linear_through`], each value stored as `convert` makes it (e.g. whole
/// HU as i16): no full-size f32 result on the way.
pub fn resample_linear_through_as<D: Voxels + ?Sized, T: Copy + Send + Sync>(
    data: &D,
    from: &Geometry,
    to: &Geometry,
    fill: T,
    map: impl Fn([f64; 3]) -> [f64; 3] + Sync,
    convert: impl Fn(f32) -> T + Sync,
) -> Vec<T> {
    let dims = from.dims_usize();
    sample_onto(from, to, fill, map, |p| trilinear(data, dims, p).map(&convert))
}

/// As [`resample_nearest`], with `map` as in [`resample_linear_through`].
pub fn resample_nearest_through<T: Copy + Default + Send + Sync>(data: &[T], from: &Geometry, to: &Geometry, map: impl Fn([f64; 3]) -> [f64; 3] + Sync) -> Vec<T> {
    let [nx, ny, nz] = from.dims_usize();
    sample_onto(from, to, T::default(), map, |p| {
        let r = p.map(|x| x.round());
        (r[0] >= 0.0 && r[1] >= 0.0 && r[2] >= 0.0 && (r[0] as usize) < nx && (r[1] as usize) < ny && (r[2] as usize) < nz)
            .then(|| data[r[0] as usize + nx * (r[1] as usize + ny * r[2] as usize)])
    })
}

/// Every voxel of `to`, slice-parallel: its world point through `map`, then `from`'s
/// continuous index, then `sample` (`fill` where it gives nothing).
fn sample_onto<T: Copy + Send + Sync>(from: &Geometry, to: &Geometry, fill: T, map: impl Fn([f64; 3]) -> [f64; 3] + Sync, sample: impl Fn([f64; 3]) -> Option<T> + Sync) -> Vec<T> {
    let index = from.world_to_index_map();
    let [tx, ty, _] = to.dims_usize();
    let mut out = vec![fill; to.len()];
    out.par_chunks_mut(tx * ty).enumerate().for_each(|(k, slice)| {
        for j in 0..ty {
            for i in 0..tx {
                if let Some(v) = sample(index.apply(map(to.index_to_world([i as f64, j as f64, k as f64])))) {
                    slice[i + tx * j] = v;
                }
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::geometry::dist;

    #[test]
    fn linear_field_is_reproduced_exactly_across_grids() {
        // f(world) = x + 2y - z is linear, so trilinear resampling is exact.
        let from = Geometry::axis_aligned([20, 20, 10], [1.0, 1.0, 2.5], [-10.0, -10.0, -10.0]);
        let f = |p: [f64; 3]| (p[0] + 2.0 * p[1] - p[2]) as f32;
        let data: Vec<f32> = (0..from.len()).map(|n| { let [i, j, k] = from.ijk(n); f(from.index_to_world([i as f64, j as f64, k as f64])) }).collect();
        let (c, s) = (0.2f64.cos(), 0.2f64.sin());
        let to = Geometry { dims: [8, 8, 8], spacing: [1.3, 1.1, 1.7], origin: [-4.0, -4.0, -4.0], direction: [c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0] };
        let out = resample_linear(&data, &from, &to, f32::NAN);
        for n in 0..to.len() {
            let [i, j, k] = to.ijk(n);
            let expected = f(to.index_to_world([i as f64, j as f64, k as f64]));
            assert!((out[n] - expected).abs() < 1e-3, "{} vs {}", out[n], expected);
        }
        // The cubic spline reproduces polynomials up to degree 3 away from the borders
        // and interpolates: on the same grid it gives the voxels back.
        let spline = resample_cubic_spline_clamped(&data, &from, &from);
        assert!(spline.iter().zip(&data).all(|(a, b)| (a - b).abs() < 1e-3), "the spline does not interpolate");
        let labels: Vec<u16> = (0..from.len()).map(|n| (from.ijk(n)[0] >= 10) as u16).collect();
        let nearest = resample_nearest(&labels, &from, &from);
        assert_eq!(nearest, labels);
    }

    #[test]
    fn centred_grid_follows_ibsi_and_the_spline_is_smooth() {
        // The IBSI lung CT: 204 x 201 x 60 at 0.977 x 0.977 x 3 mm onto 2 mm.
        let g = Geometry::axis_aligned([204, 201, 60], [0.977, 0.977, 3.0], [0.0; 3]);
        let c = g.centred_grid([2.0; 3]);
        assert_eq!(c.dims, [100, 99, 90]);
        // Centres coincide.
        let centre = |g: &Geometry| g.index_to_world(g.dims.map(|d| (d as f64 - 1.0) / 2.0));
        assert!(dist(centre(&g), centre(&c)) < 1e-9);
        // In-plane only: z untouched.
        let b = g.centred_grid([2.0, 2.0, 3.0]);
        assert_eq!(b.dims[2], 60);
        assert!((b.origin[2] - g.origin[2]).abs() < 1e-12);
        // A cubic in x is reproduced by the spline between the borders, not by trilinear.
        let from = Geometry::axis_aligned([24, 4, 4], [1.0; 3], [0.0; 3]);
        let f = |x: f64| 0.02 * x * x * x - 0.3 * x * x + x;
        let data: Vec<f32> = (0..from.len()).map(|n| f(from.ijk(n)[0] as f64) as f32).collect();
        let to = Geometry::axis_aligned([8, 1, 1], [0.5, 1.0, 1.0], [8.25, 1.0, 1.0]);
        let spline = resample_cubic_spline_clamped(&data, &from, &to);
        let linear = resample_linear_clamped(&data, &from, &to);
        for (i, (s, l)) in spline.iter().zip(&linear).enumerate() {
            let want = f(8.25 + 0.5 * i as f64);
            assert!((*s as f64 - want).abs() < 2e-3, "spline at {i}: {s} vs {want}");
            assert!((*l as f64 - want).abs() > 1e-2, "trilinear should miss the cubic's curvature at {i}");
        }
    }
}
