//! GroupNorm followed by ReLU in two passes over each group (statistics, then
//! normalise-scale-shift-clamp), instead of Candle's chain of eight tensor ops with an
//! allocation each. Variance as Candle computes it: the mean of squared deviations.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use super::conv::view;
use rayon::prelude::*;

/// `relu(group_norm(x))` for NCHW f32 on the CPU, else `None`.
pub fn group_norm_relu(x: &Tensor, gamma: &Tensor, beta: &Tensor, groups: usize, eps: f64) -> Result<Option<Tensor>> {
    let (_, c, _, _) = x.dims4()?;
    if !x.device().is_cpu() || x.dtype() != candle_core::DType::F32 || groups == 0 || c % groups != 0 {
        return Ok(None);
    }
    let (x, gamma, beta) = (x.contiguous()?, gamma.contiguous()?, beta.contiguous()?);
    x.apply_op3_no_bwd(&gamma, &beta, &GroupNormRelu { groups, eps }).map(Some)
}

struct GroupNormRelu {
    groups: usize,
    eps: f64,
}

impl CustomOp3 for GroupNormRelu {
    fn name(&self) -> &'static str {
        "isotherm-group-norm-relu"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout, s3: &CpuStorage, l3: &Layout) -> Result<(CpuStorage, Shape)> {
        let (b, c, h, w) = l1.shape().dims4()?;
        let (x, gamma, beta) = (view(s1, l1)?, view(s2, l2)?, view(s3, l3)?);
        if gamma.len() != c || beta.len() != c {
            candle_core::bail!("group norm: {c} channels but {} scales and {} shifts", gamma.len(), beta.len());
        }
        Ok((CpuStorage::F32(forward(x, [b, c, h * w], gamma, beta, self.groups, self.eps)), Shape::from((b, c, h, w))))
    }
}

/// On a plain buffer of `[batch, channels, pixels]`.
pub fn forward(x: &[f32], [b, c, hw]: [usize; 3], gamma: &[f32], beta: &[f32], groups: usize, eps: f64) -> Vec<f32> {
    let per_group = c / groups * hw;
    let mut out = vec![0f32; b * c * hw];
    out.par_chunks_mut(per_group).zip(x.par_chunks(per_group)).enumerate().for_each(|(task, (dst, src))| {
        let first_channel = (task % groups) * (c / groups);
        let mean = src.iter().map(|&v| v as f64).sum::<f64>() / per_group as f64;
        let var = src.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / per_group as f64;
        let inv = 1.0 / (var + eps).sqrt();
        for (k, (d, s)) in dst.chunks_mut(hw).zip(src.chunks(hw)).enumerate() {
            let ch = first_channel + k;
            // y = max(0, x * scale + shift), with the normalisation folded into both.
            let scale = (gamma[ch] as f64 * inv) as f32;
            let shift = (beta[ch] as f64 - mean * inv * gamma[ch] as f64) as f32;
            for (o, &v) in d.iter_mut().zip(s) {
                *o = (v * scale + shift).max(0.0);
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Module, Tensor};

    #[test]
    fn agrees_with_candle_group_norm_then_relu() {
        for (b, c, h, w, groups) in [(2, 8, 16, 16, 4), (1, 16, 5, 7, 4), (3, 6, 9, 3, 2)] {
            let x = (Tensor::randn(0f32, 2.0, (b, c, h, w), &Device::Cpu).unwrap() + 0.7).unwrap();
            let gamma = Tensor::randn(1f32, 0.3, c, &Device::Cpu).unwrap();
            let beta = Tensor::randn(0f32, 0.3, c, &Device::Cpu).unwrap();
            let gn = candle_nn::GroupNorm::new(gamma.clone(), beta.clone(), c, groups, 1e-5).unwrap();
            let want = gn.forward(&x).unwrap().relu().unwrap();
            let got = super::group_norm_relu(&x, &gamma, &beta, groups, 1e-5).unwrap().unwrap();
            let diff = (want - got).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(diff < 1e-5, "{b}x{c}x{h}x{w}, {groups} groups: {diff}");
        }
    }
}
