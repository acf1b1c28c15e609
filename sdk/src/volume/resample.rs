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
        let labels: Vec<u16> = (0..from.len()).map(|n| (from.ijk(n)[0] >= 10) as u16).collect();
        let nearest = resample_nearest(&labels, &from, &from);
        assert_eq!(nearest, labels);
    }
}
