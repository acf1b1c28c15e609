//! Moran's I and Geary's C (IBSI morphology family): spatial autocorrelation of the
//! ROI's intensities with inverse-distance weights w_ij = 1 / |r_i - r_j| (mm) over
//! every pair of voxels.
//!
//! The definition is a sum over N^2 pairs, which dominated the whole extraction for a
//! 40 mm lesion. Every pair sum is a correlation with the kernel K(r) = 1/|r| (K(0) = 0)
//! on the voxel grid, so it is computed by FFT in O(N log N), exactly up to rounding:
//! with m the mask and z = x - mean inside it (0 outside),
//!   W = sum_ij w_ij         = m . (K * m)
//!   Z = sum_ij w_ij z_i z_j = z . (K * z)
//!   G = sum_ij w_ij (x_i - x_j)^2 = 2 (z^2 . (K * m)) - 2 Z
//! m and z travel as the real and imaginary parts of one complex grid (K is real and
//! even), so the whole thing is one forward and one inverse transform plus K's.

use rustfft::{FftDirection, FftPlanner, num_complex::Complex};

/// (Moran's I, Geary's C) of `values` inside `mask` on an axis-aligned grid.
pub fn moran_geary(dims: [usize; 3], spacing: [f64; 3], mask: &[bool], values: &[f64]) -> (f64, f64) {
    // Only the mask's voxels take part: its box, not the neighbourhood around it, sets
    // the transform's size (the ROI comes with a margin for local peaks).
    match isotherm_sdk::volume::VoxelBox::around(dims, |i| mask[i]) {
        Some(b) if b.dims() != dims => moran_geary_in_box(b.dims(), spacing, &b.cut(mask, dims), &b.cut(values, dims)),
        _ => moran_geary_in_box(dims, spacing, mask, values),
    }
}

fn moran_geary_in_box(dims: [usize; 3], spacing: [f64; 3], mask: &[bool], values: &[f64]) -> (f64, f64) {
    let n = mask.iter().filter(|m| **m).count() as f64;
    let mean = values.iter().zip(mask).filter(|(_, m)| **m).map(|(v, _)| v).sum::<f64>() / n;
    // Linear (not circular) correlation: every axis padded to at least 2d - 1.
    let p = dims.map(|d| fft_size(2 * d - 1));
    let len = p[0] * p[1] * p[2];
    let at = |i: usize, j: usize, k: usize| i + p[0] * (j + p[1] * k);

    let mut data = vec![Complex::new(0.0, 0.0); len];
    for k in 0..dims[2] {
        for j in 0..dims[1] {
            for i in 0..dims[0] {
                let s = i + dims[0] * (j + dims[1] * k);
                if mask[s] {
                    data[at(i, j, k)] = Complex::new(1.0, values[s] - mean);
                }
            }
        }
    }
    let mut planner = FftPlanner::new();
    let spectrum = kernel_spectrum(dims, spacing, p, &mut planner);
    let q = p.map(|n| n / 2 + 1);
    fft3(&mut data, p, dims, &mut planner, FftDirection::Forward);
    {
        use rayon::prelude::*;
        let fold = |i: usize, n: usize| i.min(n - i);
        data.par_chunks_mut(p[0] * p[1]).enumerate().for_each(|(k, slab)| {
            let kz = fold(k, p[2]);
            for (j, row) in slab.chunks_mut(p[0]).enumerate() {
                let line = &spectrum[q[0] * (fold(j, p[1]) + q[1] * kz)..][..q[0]];
                for (i, d) in row.iter_mut().enumerate() {
                    *d *= line[fold(i, p[0])];
                }
            }
        });
    }
    fft3(&mut data, p, dims, &mut planner, FftDirection::Inverse);

    let scale = 1.0 / len as f64;
    let (mut w, mut zz, mut z2m, mut denom) = (0.0, 0.0, 0.0, 0.0);
    for k in 0..dims[2] {
        for j in 0..dims[1] {
            for i in 0..dims[0] {
                let s = i + dims[0] * (j + dims[1] * k);
                if mask[s] {
                    let conv = data[at(i, j, k)] * scale;
                    let z = values[s] - mean;
                    w += conv.re;
                    zz += z * conv.im;
                    z2m += z * z * conv.re;
                    denom += z * z;
                }
            }
        }
    }
    let geary_sum = 2.0 * z2m - 2.0 * zz;
    (n / w * zz / denom, (n - 1.0) / (2.0 * w) * geary_sum / denom)
}

/// The transform of the kernel K(r) = 1/|r| (K(0) = 0) at the wrapped offsets
/// -(d-1)..=(d-1) of the padded grid `p`, on one octant of frequencies (`p / 2 + 1` per
/// axis, x fastest). K is real and even along every axis, so its transform is too:
/// the octant holds all of it, and each axis's pass needs only the lines of that octant,
/// two real lines packed into one complex transform (the real part is the first line's
/// transform, the imaginary part the second's). About an eighth of a full transform.
fn kernel_spectrum(dims: [usize; 3], spacing: [f64; 3], p: [usize; 3], planner: &mut FftPlanner<f64>) -> Vec<f64> {
    use rayon::prelude::*;
    let q = p.map(|n| n / 2 + 1);
    // Offsets 0..q along each axis; beyond d - 1 the kernel is zero (padding).
    let mut h = vec![0.0; q[0] * q[1] * q[2]];
    h.par_chunks_mut(q[0] * q[1]).enumerate().for_each(|(c, plane)| {
        for b in 0..q[1] {
            for a in 0..q[0] {
                if a < dims[0] && b < dims[1] && c < dims[2] && (a, b, c) != (0, 0, 0) {
                    let r2 = (a as f64 * spacing[0]).powi(2) + (b as f64 * spacing[1]).powi(2) + (c as f64 * spacing[2]).powi(2);
                    plane[a + q[0] * b] = 1.0 / r2.sqrt();
                }
            }
        }
    });
    // One axis at a time: gather the octant's lines along `axis`, unfold each to its
    // full even length, transform in pairs, keep the first q values.
    for axis in 0..3 {
        let (n, nq) = (p[axis], q[axis]);
        let fft = planner.plan_fft_forward(n);
        let stride = [1, q[0], q[0] * q[1]][axis];
        let starts: Vec<usize> = (0..h.len()).filter(|&s| (s / stride) % nq == 0).collect();
        let out: Vec<Vec<f64>> = starts
            .par_chunks(2)
            .map(|pair| {
                let mut buf = vec![Complex::new(0.0, 0.0); n];
                for (t, x) in buf.iter_mut().enumerate() {
                    let f = t.min(n - t);
                    let re = h[pair[0] + f * stride];
                    let im = pair.get(1).map_or(0.0, |&s| h[s + f * stride]);
                    *x = Complex::new(re, im);
                }
                fft.process(&mut buf);
                let mut vals = Vec::with_capacity(2 * nq);
                vals.extend(buf[..nq].iter().map(|c| c.re));
                vals.extend(buf[..nq].iter().map(|c| c.im));
                vals
            })
            .collect();
        for (pair, vals) in starts.chunks(2).zip(&out) {
            for (slot, &s) in pair.iter().enumerate() {
                for f in 0..nq {
                    h[s + f * stride] = vals[slot * nq + f];
                }
            }
        }
    }
    h
}

/// The smallest 2^a 3^b 5^c >= n: sizes rustfft transforms fastest.
fn fft_size(n: usize) -> usize {
    (n.max(1)..)
        .find(|&m| {
            let mut r = m;
            for f in [2, 3, 5] {
                while r % f == 0 {
                    r /= f;
                }
            }
            r == 1
        })
        .unwrap()
}

/// In-place 3D transform (unnormalised), axis by axis, each axis's lines side by side
/// (rayon). Only the corner `live` of the grid matters on one side of the transform:
/// forward, the input is zero outside it, so x lines outside it and y planes beyond its
/// z extent are zero and skipped; inverse, only outputs inside it are read, so the axes
/// run in reverse order (z, y, x) and the y and x passes stop at its extent. For a ROI
/// padded to twice its size this skips about 40 % of the work.
fn fft3(data: &mut [Complex<f64>], p: [usize; 3], live: [usize; 3], planner: &mut FftPlanner<f64>, dir: FftDirection) {
    use rayon::prelude::*;
    let [px, py, pz] = p;
    let (fx, fy, fz) = (planner.plan_fft(px, dir), planner.plan_fft(py, dir), planner.plan_fft(pz, dir));
    let x_pass = |data: &mut [Complex<f64>]| {
        // Rows j < live[1] of slabs k < live[2] are one contiguous run per slab.
        data.par_chunks_mut(px * py).take(live[2]).for_each(|slab| fx.process(&mut slab[..px * live[1]]));
    };
    let y_pass = |data: &mut [Complex<f64>]| {
        data.par_chunks_mut(px * py).take(live[2]).for_each_init(
            || vec![Complex::new(0.0, 0.0); px * py],
            |plane, slab| {
                for j in 0..py {
                    for i in 0..px {
                        plane[i * py + j] = slab[i + px * j];
                    }
                }
                fy.process(plane);
                for j in 0..py {
                    for i in 0..px {
                        slab[i + px * j] = plane[i * py + j];
                    }
                }
            },
        );
    };
    let z_pass = |data: &mut [Complex<f64>]| {
        // Row j of every slab, as disjoint borrows grouped by j, so that each group of
        // z lines is gathered, transformed and written back on its own.
        let mut by_row: Vec<Vec<&mut [Complex<f64>]>> = (0..py).map(|_| Vec::with_capacity(pz)).collect();
        for slab in data.chunks_mut(px * py) {
            for (j, row) in slab.chunks_mut(px).enumerate() {
                by_row[j].push(row);
            }
        }
        by_row.into_par_iter().for_each_init(
            || vec![Complex::new(0.0, 0.0); px * pz],
            |plane, mut rows| {
                for (k, row) in rows.iter().enumerate() {
                    for (i, v) in row.iter().enumerate() {
                        plane[i * pz + k] = *v;
                    }
                }
                fz.process(plane);
                for (k, row) in rows.iter_mut().enumerate() {
                    for (i, v) in row.iter_mut().enumerate() {
                        *v = plane[i * pz + k];
                    }
                }
            },
        );
    };
    match dir {
        FftDirection::Forward => {
            x_pass(data);
            y_pass(data);
            z_pass(data);
        }
        FftDirection::Inverse => {
            z_pass(data);
            y_pass(data);
            x_pass(data);
        }
    }
}

#[cfg(test)]
mod tests {
    /// The definition, pair by pair.
    fn direct(dims: [usize; 3], spacing: [f64; 3], mask: &[bool], values: &[f64]) -> (f64, f64) {
        let mut pts = Vec::new();
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let s = i + dims[0] * (j + dims[1] * k);
                    if mask[s] {
                        pts.push(([i as f64 * spacing[0], j as f64 * spacing[1], k as f64 * spacing[2]], values[s]));
                    }
                }
            }
        }
        let n = pts.len() as f64;
        let mean = pts.iter().map(|p| p.1).sum::<f64>() / n;
        let (mut w, mut m, mut g) = (0.0, 0.0, 0.0);
        for (a, pa) in pts.iter().enumerate() {
            for (b, pb) in pts.iter().enumerate() {
                if a != b {
                    let d = ((pa.0[0] - pb.0[0]).powi(2) + (pa.0[1] - pb.0[1]).powi(2) + (pa.0[2] - pb.0[2]).powi(2)).sqrt();
                    w += 1.0 / d;
                    m += (pa.1 - mean) * (pb.1 - mean) / d;
                    g += (pa.1 - pb.1).powi(2) / d;
                }
            }
        }
        let denom: f64 = pts.iter().map(|p| (p.1 - mean).powi(2)).sum();
        (n / w * m / denom, (n - 1.0) / (2.0 * w) * g / denom)
    }

    #[test]
    fn fft_sums_equal_the_pairwise_definition_on_anisotropic_grids() {
        // A blob with a smooth gradient plus deterministic noise, on odd-sized grids
        // (padding to 2^a 3^b 5^c) and anisotropic spacing.
        for (dims, spacing) in [([11, 9, 7], [0.8, 0.8, 2.5]), ([6, 13, 5], [1.0, 2.0, 3.0]), ([1, 8, 8], [1.0, 1.0, 1.0])] {
            let len = dims[0] * dims[1] * dims[2];
            let mut mask = vec![false; len];
            let mut values = vec![0.0; len];
            let mut seed = 12345u64;
            for k in 0..dims[2] {
                for j in 0..dims[1] {
                    for i in 0..dims[0] {
                        let s = i + dims[0] * (j + dims[1] * k);
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        let noise = (seed >> 33) as f64 / (1u64 << 31) as f64;
                        mask[s] = noise > 0.25;
                        values[s] = 40.0 + 3.0 * i as f64 - 2.0 * k as f64 + 25.0 * noise;
                    }
                }
            }
            let (mi, gc) = super::moran_geary(dims, spacing, &mask, &values);
            let (mi_ref, gc_ref) = direct(dims, spacing, &mask, &values);
            assert!((mi - mi_ref).abs() < 1e-9 * mi_ref.abs().max(1.0), "{dims:?}: Moran {mi} vs {mi_ref}");
            assert!((gc - gc_ref).abs() < 1e-9 * gc_ref.abs().max(1.0), "{dims:?}: Geary {gc} vs {gc_ref}");
        }
    }

    #[test]
    fn fft_sizes_are_smooth_and_large_enough() {
        assert_eq!(super::fft_size(1), 1);
        assert_eq!(super::fft_size(7), 8);
        assert_eq!(super::fft_size(13), 15);
        assert_eq!(super::fft_size(97), 100);
    }
}
