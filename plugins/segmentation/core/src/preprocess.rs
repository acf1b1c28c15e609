//! From a CT in any geometry to the network's working grid and back.
//!
//! The working grid keeps the input's axes (so "axial slice" means the input's k-planes,
//! whatever its orientation), optionally turned about the slice normal (training
//! augmentation), at the architecture's working spacing, covering the whole input.
//! Training and inference share these functions, so they see identical inputs.

use isotherm_sdk::abi::Geometry;
use isotherm_sdk::volume::resample::{Voxels, resample_linear, resample_nearest, trilinear};
use rayon::prelude::*;

use crate::net::Architecture;

/// HU outside the scan (air).
pub const OUTSIDE_HU: f32 = -1024.0;

/// How far (as a fraction) an input's slice spacing may lie from the architecture's for
/// the working grid to keep the input's own slices. Interpolating across slices blends an
/// end slice of a structure with the one beyond it, and the network then missed it: a
/// small ablation zone lost its end slices (3.125 mm slices onto 3 mm working ones).
/// 20 % keeps the usual 2.5-3.5 mm slices native.
pub const SLICE_SNAP: f64 = 0.2;

/// The working spacing for an input with slice spacing `input_slice_mm`: `nominal` (the
/// architecture's, possibly jittered in training), with the input's own slice spacing
/// when it lies within [`SLICE_SNAP`] of the architecture's `slice_mm`.
pub fn working_spacing(nominal: [f64; 3], slice_mm: f64, input_slice_mm: f64) -> [f64; 3] {
    let mut spacing = nominal;
    if (input_slice_mm / slice_mm - 1.0).abs() <= SLICE_SNAP {
        spacing[2] = input_slice_mm;
    }
    spacing
}

/// A working grid along `input`'s axes, turned by `turn_deg` about its slice normal, at
/// `spacing` mm, covering every voxel of `input`.
pub fn working_geometry(input: &Geometry, spacing: [f64; 3], turn_deg: f64) -> Geometry {
    let d = input.direction;
    let (s, c) = turn_deg.to_radians().sin_cos();
    // Columns of the direction matrix are the grid's axes in world space; turn the first
    // two about the third.
    let col = |m: usize| [d[m], d[3 + m], d[6 + m]];
    let (u, v, w) = (col(0), col(1), col(2));
    let u2 = [0, 1, 2].map(|r| c * u[r] + s * v[r]);
    let v2 = [0, 1, 2].map(|r| -s * u[r] + c * v[r]);
    let direction = [u2[0], v2[0], w[0], u2[1], v2[1], w[1], u2[2], v2[2], w[2]];
    let n = input.dims;
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for corner in 0..8 {
        let ijk = [0, 1, 2].map(|a| if corner >> a & 1 == 1 { (n[a] - 1) as f64 } else { 0.0 });
        let p = input.index_to_world(ijk);
        // Coordinates of p along the new axes.
        for (a, axis) in [u2, v2, w].iter().enumerate() {
            let t = p[0] * axis[0] + p[1] * axis[1] + p[2] * axis[2];
            lo[a] = lo[a].min(t);
            hi[a] = hi[a].max(t);
        }
    }
    let dims = [0, 1, 2].map(|a| ((hi[a] - lo[a]) / spacing[a] - 1e-9).ceil().max(0.0) as u32 + 1);
    let origin = [0, 1, 2].map(|r| lo[0] * u2[r] + lo[1] * v2[r] + lo[2] * w[r]);
    Geometry { dims, spacing, origin, direction }
}

/// The working grid inference uses for `input`: the architecture's spacing, unturned,
/// with the input's slices kept when near the architecture's.
pub fn inference_geometry(input: &Geometry, arch: &Architecture) -> Geometry {
    let nominal = arch.working_spacing_mm;
    working_geometry(input, working_spacing(nominal, nominal[2], input.spacing[2]), 0.0)
}

/// The CT on the working grid, normalised to the network's input range.
pub fn to_working<D: Voxels + ?Sized>(ct: &D, geometry: &Geometry, working: &Geometry, arch: &Architecture) -> Vec<f32> {
    let mut data = resample_linear(ct, geometry, working, OUTSIDE_HU);
    data.par_iter_mut().for_each(|v| *v = arch.normalise(*v));
    data
}

/// Labels on the working grid (nearest neighbour).
pub fn labels_to_working(labels: &[u8], geometry: &Geometry, working: &Geometry) -> Vec<u8> {
    resample_nearest(labels, geometry, working)
}

/// Copies the stack of `slices` slices centred on `k` (edge slices repeated), cropped to
/// the rectangle at (`x0`, `y0`) of `w` x `h` (outside the grid: -1, i.e. air), into
/// `out` as (slices, h, w).
pub fn stack(data: &[f32], dims: [usize; 3], k: usize, slices: usize, x0: isize, y0: isize, w: usize, h: usize, out: &mut [f32]) {
    let [nx, ny, nz] = dims;
    let half = slices as isize / 2;
    for s in 0..slices {
        let kk = (k as isize + s as isize - half).clamp(0, nz as isize - 1) as usize;
        let plane = &data[kk * nx * ny..(kk + 1) * nx * ny];
        for y in 0..h {
            let j = y0 + y as isize;
            let row = &mut out[(s * h + y) * w..(s * h + y + 1) * w];
            if j < 0 || j >= ny as isize {
                row.fill(-1.0);
                continue;
            }
            for (x, o) in row.iter_mut().enumerate() {
                let i = x0 + x as isize;
                *o = if i < 0 || i >= nx as isize { -1.0 } else { plane[i as usize + nx * j as usize] };
            }
        }
    }
}

/// Per-class probabilities on the working grid -> the most probable class at every voxel
/// of `target`, interpolating the probabilities trilinearly (smoother boundaries than
/// resampling the labels). Voxels outside the working grid get class 0.
pub fn classes_on(probabilities: &[Vec<f32>], working: &Geometry, target: &Geometry) -> Vec<u8> {
    let map = working.world_to_index_map();
    let dims = working.dims_usize();
    let [tx, ty, _] = target.dims_usize();
    let mut out = vec![0u8; target.len()];
    out.par_chunks_mut(tx * ty).enumerate().for_each(|(k, plane)| {
        for j in 0..ty {
            for i in 0..tx {
                let p = map.apply(target.index_to_world([i as f64, j as f64, k as f64]));
                let mut best = (0u8, f32::NEG_INFINITY);
                for (c, prob) in probabilities.iter().enumerate() {
                    match trilinear(prob, dims, p) {
                        Some(v) if v > best.1 => best = (c as u8, v),
                        Some(_) => {}
                        None => break,
                    }
                }
                plane[i + tx * j] = best.0;
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_grid_covers_the_input_in_its_axes() {
        let g = Geometry::axis_aligned([100, 80, 30], [0.8, 0.8, 2.5], [-40.0, -30.0, 10.0]);
        let w = working_geometry(&g, [2.0, 2.0, 3.0], 0.0);
        assert_eq!(w.dims, [41, 33, 26]);
        assert_eq!(w.origin, g.origin);
        assert_eq!(w.direction, g.direction);
        // Turned: the first axis leans towards +y, and the far corner of the input still
        // lies inside the grid.
        let t = working_geometry(&g, [2.0, 2.0, 3.0], 10.0);
        assert!(t.direction[3] > 0.17 && t.direction[3] < 0.18);
        let far = t.world_to_index(g.index_to_world([99.0, 79.0, 29.0]));
        let near = t.world_to_index(g.origin);
        for p in [far, near] {
            for a in 0..3 {
                assert!(p[a] > -1e-6 && p[a] <= (t.dims[a] - 1) as f64 + 1e-6, "{p:?} outside {:?}", t.dims);
            }
        }
    }

    #[test]
    fn slices_near_the_working_spacing_are_kept() {
        let nominal = [2.0, 2.0, 3.0];
        assert_eq!(working_spacing(nominal, 3.0, 3.125), [2.0, 2.0, 3.125]);
        assert_eq!(working_spacing(nominal, 3.0, 2.5), [2.0, 2.0, 2.5]);
        assert_eq!(working_spacing(nominal, 3.0, 1.25), nominal);
        assert_eq!(working_spacing(nominal, 3.0, 5.0), nominal);
        // Kept slices: every working slice lies on an input slice.
        let g = Geometry::axis_aligned([10, 10, 64], [1.875, 1.75, 3.125], [0.0, 0.0, -100.0]);
        let w = working_geometry(&g, working_spacing(nominal, 3.0, g.spacing[2]), 0.0);
        assert_eq!(w.dims[2], 64);
        for k in [0.0, 17.0, 63.0] {
            let z = g.world_to_index(w.index_to_world([0.0, 0.0, k]))[2];
            assert!((z - k).abs() < 1e-9, "working slice {k} at input slice {z}");
        }
    }

    #[test]
    fn probabilities_come_back_to_the_input_grid() {
        // Class 1 where x > 0 on a coarse grid; read back on a fine one.
        let coarse = Geometry::axis_aligned([11, 3, 3], [2.0, 2.0, 2.0], [-10.0, -2.0, -2.0]);
        let p1: Vec<f32> = (0..coarse.len()).map(|n| if coarse.index_to_world([coarse.ijk(n)[0] as f64, 0.0, 0.0])[0] > 0.0 { 0.9 } else { 0.1 }).collect();
        let p0: Vec<f32> = p1.iter().map(|p| 1.0 - p).collect();
        let fine = Geometry::axis_aligned([41, 1, 1], [0.5, 1.0, 1.0], [-10.0, 0.0, 0.0]);
        let classes = classes_on(&[p0, p1], &coarse, &fine);
        // The boundary sits half-way between the voxel centres at x = 0 and x = 2 (p = 0.5).
        for (i, c) in classes.iter().enumerate() {
            let x = -10.0 + 0.5 * i as f64;
            assert_eq!(*c, (x > 1.0) as u8, "x = {x}");
        }
    }

    #[test]
    fn stacks_repeat_edge_slices_and_pad_with_air() {
        let dims = [2, 2, 2];
        let data: Vec<f32> = (0..8).map(|v| v as f32 / 10.0).collect();
        let mut out = vec![0.0; 3 * 3 * 3];
        stack(&data, dims, 0, 3, -1, 0, 3, 3, &mut out);
        // Slice below k=0 repeats k=0; column -1 and row 2 are air.
        assert_eq!(&out[0..9], &[-1.0, 0.0, 0.1, -1.0, 0.2, 0.3, -1.0, -1.0, -1.0]);
        assert_eq!(&out[9..18], &out[0..9]);
        assert_eq!(&out[18..21], &[-1.0, 0.4, 0.5]);
    }
}
