//! Smoothing filters.

use rayon::prelude::*;

/// Separable Gaussian blur with a per-axis sigma in *voxels* (0 skips an axis);
/// edges are clamped. Use `sigma_mm / spacing` for a physical width.
pub fn gaussian(data: &[f32], dims: [usize; 3], sigma: [f64; 3]) -> Vec<f32> {
    assert_eq!(data.len(), dims.iter().product::<usize>(), "data length does not match dims");
    let mut cur = data.to_vec();
    let strides = [1, dims[0], dims[0] * dims[1]];
    for axis in 0..3 {
        let s = sigma[axis];
        if s <= 0.0 || dims[axis] < 2 {
            continue;
        }
        let r = (3.0 * s).ceil() as isize;
        let weights: Vec<f64> = (-r..=r).map(|x| (-((x * x) as f64) / (2.0 * s * s)).exp()).collect();
        let total: f64 = weights.iter().sum();
        let kernel: Vec<f32> = weights.iter().map(|w| (w / total) as f32).collect();
        let n = dims[axis] as isize;
        let stride = strides[axis];
        let src = cur.clone();
        cur.par_chunks_mut(dims[0]).enumerate().for_each(|(row, out)| {
            let base = row * dims[0];
            for (i, o) in out.iter_mut().enumerate() {
                let idx = base + i;
                let pos = ((idx / stride) % dims[axis]) as isize;
                let mut acc = 0.0;
                for (off, w) in (-r..=r).zip(&kernel) {
                    let q = (pos + off).clamp(0, n - 1);
                    acc += w * src[(idx as isize + (q - pos) * stride as isize) as usize];
                }
                *o = acc;
            }
        });
    }
    cur
}

#[cfg(test)]
mod tests {
    #[test]
    fn blur_keeps_the_mean_and_spreads_an_impulse_by_sigma() {
        let dims = [31, 1, 1];
        let mut d = vec![0f32; 31];
        d[15] = 1.0;
        let b = super::gaussian(&d, dims, [2.0, 0.0, 0.0]);
        let sum: f32 = b.iter().sum();
        let var: f32 = b.iter().enumerate().map(|(i, v)| v * (i as f32 - 15.0).powi(2)).sum();
        assert!((sum - 1.0).abs() < 1e-5 && (var - 4.0).abs() < 0.05, "{sum} {var}");
    }
}
