//! GroupNorm for inference as a per-(image, channel) scale and shift, from the moments
//! the convolution returned with its output (`conv::convolve`), to be applied by whatever
//! reads that output next: no pass of its own over memory. Variance as Candle computes
//! it: the mean of squared deviations.

use super::conv::Moments;

/// `[scale, shift]` per (image, channel) such that
/// `group_norm(x) = x * scale + shift` for the moments of `x` (`[image][channel]` order).
pub(crate) fn group_affine(moments: &[Moments], channels: usize, gamma: &[f32], beta: &[f32], groups: usize, eps: f64) -> Vec<[f32; 2]> {
    assert!(channels % groups == 0 && gamma.len() == channels && beta.len() == channels && moments.len() % channels == 0);
    let per_group = channels / groups;
    let mut affine = Vec::with_capacity(moments.len());
    for image in moments.chunks(channels) {
        for group in image.chunks(per_group) {
            let (n, s, q) = group.iter().fold((0.0, 0.0, 0.0), |(n, s, q), m| (n + m.count, s + m.sum, q + m.sum_sq));
            let mean = s / n;
            let var = (q / n - mean * mean).max(0.0);
            let inv = 1.0 / (var + eps).sqrt();
            for _ in 0..per_group {
                let ch = affine.len() % channels;
                let scale = gamma[ch] as f64 * inv;
                affine.push([scale as f32, (beta[ch] as f64 - mean * scale) as f32]);
            }
        }
    }
    affine
}

#[cfg(test)]
mod tests {
    use super::super::conv::Moments;
    use candle_core::{Device, Module, Tensor};

    #[test]
    fn agrees_with_candle_group_norm() {
        for (b, c, h, w, groups) in [(2, 8, 16, 16, 4), (1, 16, 5, 7, 4), (3, 6, 9, 3, 2)] {
            let x = (Tensor::randn(0f32, 2.0, (b, c, h, w), &Device::Cpu).unwrap() + 40.0).unwrap();
            let gamma = Tensor::randn(1f32, 0.3, c, &Device::Cpu).unwrap();
            let beta = Tensor::randn(0f32, 0.3, c, &Device::Cpu).unwrap();
            let gn = candle_nn::GroupNorm::new(gamma.clone(), beta.clone(), c, groups, 1e-5).unwrap();
            let want = gn.forward(&x).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let xs = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let moments: Vec<Moments> = xs
                .chunks(h * w)
                .map(|p| Moments { count: p.len() as f64, sum: p.iter().map(|&v| v as f64).sum(), sum_sq: p.iter().map(|&v| (v as f64).powi(2)).sum() })
                .collect();
            let flat = |t: &Tensor| t.to_vec1::<f32>().unwrap();
            let affine = super::group_affine(&moments, c, &flat(&gamma), &flat(&beta), groups, 1e-5);
            let diff = xs.iter().enumerate().map(|(i, &v)| (v * affine[i / (h * w)][0] + affine[i / (h * w)][1] - want[i]).abs()).fold(0f32, f32::max);
            assert!(diff < 1e-4, "{b}x{c}x{h}x{w}, {groups} groups: {diff}");
        }
    }
}
