//! The network's whole inference pass on the CPU on plain buffers: CT slabs in,
//! per-class probabilities out, the same numbers as `softmax(UNet::forward)`.
//!
//! Each GroupNorm + ReLU is left pending on its convolution's output (a scale and shift
//! per image and channel, from the moments the convolution returned) and applied by the
//! next read: the next convolution's padding, the pooling on the way down, the skip
//! connection, or the 1x1 head, which also does the softmax. The caller keeps the
//! buffers ([`Scratch`]) between the passes over one volume, so the large allocations
//! are not mapped and zeroed by the kernel every time (that alone was a tenth of
//! inference), and frees them with the volume.

use rayon::prelude::*;

use super::conv::{self, Kernel, Operand, Source};
use super::norm::group_affine;

/// A 3x3 convolution, weights packed for the kernel.
pub(crate) struct Conv {
    packed: Vec<f32>,
    bias: Vec<f32>,
    cout: usize,
}

impl Conv {
    /// From `[cout][cin][3][3]` weights; `None` when `cout` is not a multiple of 8.
    pub fn new(weight: &[f32], bias: Vec<f32>, cin: usize) -> Option<Conv> {
        let cout = bias.len();
        (cout % 8 == 0 && weight.len() == cout * cin * 9).then(|| Conv { packed: conv::pack(weight, cin, cout), bias, cout })
    }
}

pub(crate) struct Norm {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    pub groups: usize,
    pub eps: f64,
}

/// conv -> GroupNorm -> ReLU, twice.
pub(crate) struct Block {
    pub conv1: Conv,
    pub norm1: Norm,
    pub conv2: Conv,
    pub norm2: Norm,
}

pub(crate) struct Weights {
    /// `depth + 1` levels, the first on the input slabs.
    pub encoders: Vec<Block>,
    /// Per level: the up-convolution (on the 2x upsampled level below, then ReLU) and
    /// the block on `[skip, up]`.
    pub decoders: Vec<(Conv, Block)>,
    /// 1x1 head, `[classes][channels]`, and its bias.
    pub head: Vec<f32>,
    pub head_bias: Vec<f32>,
}

/// An activation with its GroupNorm + ReLU (or ReLU alone) pending.
struct Pending {
    data: Vec<f32>,
    channels: usize,
    affine: Option<Vec<[f32; 2]>>,
}

impl Pending {
    fn operand(&self) -> Operand<'_> {
        Operand { data: &self.data, channels: self.channels, affine: self.affine.as_deref(), relu: true }
    }
}

/// Buffers kept between passes (over one volume: dropping it frees them).
#[derive(Default)]
pub struct Scratch {
    padded: Vec<f32>,
    free: Vec<Vec<f32>>,
}

impl Scratch {
    fn take(&mut self) -> Vec<f32> {
        self.free.pop().unwrap_or_default()
    }
}

pub(crate) struct Pass {
    weights: Weights,
    kernel: Kernel,
}

impl Pass {
    pub fn new(weights: Weights) -> Pass {
        Pass { weights, kernel: Kernel::best() }
    }

    /// Whether slabs of `h` x `w` can go through: every level's rows at least 8 wide
    /// (the kernels' narrowest strip) and sizes that halve exactly.
    pub fn takes(&self, h: usize, w: usize) -> bool {
        let depth = self.weights.decoders.len();
        let step = 1 << depth;
        h % step == 0 && w % step == 0 && w / step >= 8
    }

    /// `input`: `[b, in_slices, h, w]`; returns `[b, classes, h, w]` probabilities.
    pub fn probabilities(&self, input: &[f32], [b, h, w]: [usize; 3], scratch: &mut Scratch) -> Vec<f32> {
        assert!(self.takes(h, w));
        let weights = &self.weights;
        let depth = weights.decoders.len();
        let in_slices = input.len() / (b * h * w);
        let mut skips: Vec<Pending> = Vec::with_capacity(depth);
        let mut current: Option<Pending> = None;
        for (level, block) in weights.encoders.iter().enumerate() {
            let size = [b, h >> level.saturating_sub(1), w >> level.saturating_sub(1)];
            let next = match &current {
                None => self.block(block, &[Operand::plain(input, in_slices)], size, Source::Plain, scratch),
                Some(p) => self.block(block, &[p.operand()], size, Source::Pooled2, scratch),
            };
            // Every level's output but the deepest is a skip connection.
            if let Some(p) = current.replace(next) {
                skips.push(p);
            }
        }
        let mut current = current.expect("at least one level");
        for level in (0..depth).rev() {
            let (up_conv, block) = &weights.decoders[level];
            let below = [b, h >> (level + 1), w >> (level + 1)];
            let mut up = scratch.take();
            self.conv(up_conv, &[current.operand()], below, Source::Upsampled2, scratch, &mut up, false);
            let up = Pending { data: up, channels: up_conv.cout, affine: None };
            let skip = skips.pop().expect("one skip per level");
            let size = [b, h >> level, w >> level];
            let next = self.block(block, &[skip.operand(), up.operand()], size, Source::Plain, scratch);
            scratch.free.extend([skip.data, up.data, current.data]);
            current = next;
        }
        let out = head_softmax(current.operand(), [b, h * w], &weights.head, &weights.head_bias);
        scratch.free.push(current.data);
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn conv(&self, layer: &Conv, inputs: &[Operand], size: [usize; 3], source: Source, scratch: &mut Scratch, out: &mut Vec<f32>, moments: bool) -> Vec<conv::Moments> {
        conv::convolve(inputs, size, source, &layer.packed, &layer.bias, layer.cout, self.kernel, &mut scratch.padded, out, moments)
    }

    /// A block on `inputs` of `size` (before `source`); its output's normalisation pending.
    fn block(&self, block: &Block, inputs: &[Operand], size: [usize; 3], source: Source, scratch: &mut Scratch) -> Pending {
        let mut first = scratch.take();
        let m = self.conv(&block.conv1, inputs, size, source, scratch, &mut first, true);
        let first = Pending { data: first, channels: block.conv1.cout, affine: Some(affine(&m, &block.norm1, block.conv1.cout)) };
        let (oh, ow) = source.output(size[1], size[2]);
        let out_size = [size[0], oh, ow];
        let mut second = scratch.take();
        let m = self.conv(&block.conv2, &[first.operand()], out_size, Source::Plain, scratch, &mut second, true);
        scratch.free.push(first.data);
        Pending { data: second, channels: block.conv2.cout, affine: Some(affine(&m, &block.norm2, block.conv2.cout)) }
    }
}

fn affine(moments: &[conv::Moments], norm: &Norm, channels: usize) -> Vec<[f32; 2]> {
    group_affine(moments, channels, &norm.gamma, &norm.beta, norm.groups, norm.eps)
}

/// Pixels per step of the head: each channel's values for them stay in the first-level
/// cache while every class's logit is summed.
const SPAN: usize = 64;

/// The 1x1 head and the softmax over classes, reading `x` through its pending
/// normalisation: `[b, classes, pixels]` probabilities.
fn head_softmax(x: Operand, [b, pixels]: [usize; 2], head: &[f32], bias: &[f32]) -> Vec<f32> {
    let (channels, classes) = (x.channels, bias.len());
    let mut out = vec![0f32; b * classes * pixels];
    out.par_chunks_mut(classes * pixels).enumerate().for_each(|(n, dst)| {
        let mut values = vec![[0f32; SPAN]; channels];
        let mut logits = vec![[0f32; SPAN]; classes];
        for p0 in (0..pixels).step_by(SPAN) {
            let len = SPAN.min(pixels - p0);
            for (c, v) in values.iter_mut().enumerate() {
                let [scale, shift] = x.affine.map_or([1.0, 0.0], |a| a[n * channels + c]);
                let src = &x.data[(n * channels + c) * pixels + p0..][..len];
                for (d, &s) in v.iter_mut().zip(src) {
                    let y = s * scale + shift;
                    *d = if x.relu { y.max(0.0) } else { y };
                }
            }
            for (k, l) in logits.iter_mut().enumerate() {
                *l = [bias[k]; SPAN];
                for (c, v) in values.iter().enumerate() {
                    let wkc = head[k * channels + c];
                    for i in 0..SPAN {
                        l[i] += wkc * v[i];
                    }
                }
            }
            let mut top = logits[0];
            for l in &logits[1..] {
                for i in 0..SPAN {
                    top[i] = top[i].max(l[i]);
                }
            }
            let mut total = [0f32; SPAN];
            for l in logits.iter_mut() {
                for i in 0..SPAN {
                    l[i] = exp(l[i] - top[i]);
                    total[i] += l[i];
                }
            }
            for (k, l) in logits.iter().enumerate() {
                for (i, d) in dst[k * pixels + p0..][..len].iter_mut().enumerate() {
                    *d = l[i] / total[i];
                }
            }
        }
    });
    out
}

/// `e^x` for x <= 0 (a softmax's shifted logits) to about 2 ulp, in straight-line
/// arithmetic the compiler vectorises (libm's `expf` is a call per value): x = n ln 2 + r
/// with |r| <= ln 2 / 2, a degree-6 Taylor polynomial for e^r, and 2^n from the exponent
/// bits. Below -87 it gives e^-87 (1.6e-38, where e^x leaves the normal range).
#[inline(always)]
fn exp(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer.
    let x = x.max(-87.0);
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    // ln 2 split in two so n * ln 2 is exact in its high part.
    let r = (x - n * 0.693_145_75) - n * 1.428_606_8e-6;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let bits = (t.to_bits() as i32 - MAGIC.to_bits() as i32 + 127) << 23;
    p * f32::from_bits(bits as u32)
}

#[cfg(test)]
mod tests {
    #[test]
    fn exp_is_within_3_ulp_of_libm_on_softmax_inputs() {
        let mut worst = 0f32;
        for i in 0..=870_000 {
            let x = -(i as f32) * 1e-4;
            let (got, want) = (super::exp(x), x.exp());
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 3.0 * f32::EPSILON, "worst relative error {worst}");
        let tiny = super::exp(-200.0);
        assert!((0.0..1e-37).contains(&tiny), "{tiny}");
    }
}
