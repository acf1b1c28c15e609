//! A direct 3x3 "same" convolution (stride 1, padding 1, plus bias) for CPU inference.
//! It can read its input through a 2x nearest upsampling (the decoder's up-convolution),
//! a 2x2 max pooling (the encoder's way down) or from two tensors as if concatenated
//! (the skip connection), without materialising any of those intermediate tensors.
//!
//! Candle 0.11's CPU conv2d gathers an im2col tile element by element with bounds
//! checks; on this network (8-64 channels, 256 x 256 slices) that gather took ~70% of
//! inference and the GEMM it feeds ~3%. Here the input is zero-padded once per image and
//! a block of 8 output channels x one or two vectors of pixels stays in registers while
//! the kernel walks the input channels and the 9 taps: each vector load of input feeds
//! 8 fused multiply-adds. The widest kernel the CPU has (AVX-512, AVX2+FMA) is chosen
//! at run time, written with intrinsics because LLVM does not keep such a block in
//! registers on its own; other CPUs get a portable loop. The plain convolution also has
//! a backward pass (training); the fused variants are forward-only.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// Output channels per register block.
const CB: usize = 8;

/// How the input is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Plain,
    /// Nearest-neighbour 2x upsampling first (Candle's `upsample_nearest2d` to 2h x 2w).
    Upsampled2,
    /// 2x2 max pooling with stride 2 first (Candle's `max_pool2d(2)`), even sizes only.
    Pooled2,
}

impl Source {
    fn output(self, h: usize, w: usize) -> (usize, usize) {
        match self {
            Source::Plain => (h, w),
            Source::Upsampled2 => (2 * h, 2 * w),
            Source::Pooled2 => (h / 2, w / 2),
        }
    }
}

/// `conv2d(x, weight, padding 1) + bias` with the direct kernel when it applies (CPU,
/// f32, 3x3 weights, output channels a multiple of 8, rows at least 8 wide), else `None`.
pub fn conv3x3(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Option<Tensor>> {
    apply(x, weight, bias, Source::Plain)
}

/// `conv2d(upsample_nearest2d(x, 2h, 2w), weight, padding 1) + bias`, likewise.
pub fn conv3x3_upsampled(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Option<Tensor>> {
    apply(x, weight, bias, Source::Upsampled2)
}

/// `conv2d(max_pool2d(x, 2), weight, padding 1) + bias`, likewise (even sizes).
pub fn conv3x3_pooled(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Option<Tensor>> {
    let (_, _, h, w) = x.dims4()?;
    if h % 2 != 0 || w % 2 != 0 {
        return Ok(None);
    }
    apply(x, weight, bias, Source::Pooled2)
}

/// `conv2d(cat([a, b], 1), weight, padding 1) + bias` without building the
/// concatenation (the decoder's skip connection), likewise.
pub fn conv3x3_cat(a: &Tensor, b: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Option<Tensor>> {
    let ((na, ca, h, w), (nb, cb, hb, wb)) = (a.dims4()?, b.dims4()?);
    let (cout, cin, _, _) = weight.dims4()?;
    if (na, h, w) != (nb, hb, wb) || ca + cb != cin || !applies(a, weight, w) {
        return Ok(None);
    }
    // Weights and bias travel as one tensor so the op keeps three operands.
    let wb = Tensor::cat(&[weight.flatten_all()?, bias.flatten_all()?], 0)?;
    let (a, b) = (a.contiguous()?, b.contiguous()?);
    a.apply_op3_no_bwd(&b, &wb, &Conv3x3Cat { cout }).map(Some)
}

fn applies(x: &Tensor, weight: &Tensor, out_w: usize) -> bool {
    let Ok((cout, _, kh, kw)) = weight.dims4() else { return false };
    x.device().is_cpu() && x.dtype() == candle_core::DType::F32 && weight.dtype() == candle_core::DType::F32 && (kh, kw) == (3, 3) && cout % CB == 0 && out_w >= 8
}

fn apply(x: &Tensor, weight: &Tensor, bias: &Tensor, source: Source) -> Result<Option<Tensor>> {
    let (_, _, h, w) = x.dims4()?;
    if !applies(x, weight, source.output(h, w).1) {
        return Ok(None);
    }
    let (x, weight, bias) = (x.contiguous()?, weight.contiguous()?, bias.contiguous()?);
    match source {
        // The plain convolution has a backward pass (training); the fused ones do not.
        Source::Plain => x.apply_op3(&weight, &bias, Conv3x3 { source }).map(Some),
        _ => x.apply_op3_no_bwd(&weight, &bias, &Conv3x3 { source }).map(Some),
    }
}

/// A contiguous f32 operand of a custom op, borrowed from its storage.
pub(super) fn view<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    Ok(&s.as_slice::<f32>()?[l.start_offset()..][..l.shape().elem_count()])
}

struct Conv3x3 {
    source: Source,
}

impl CustomOp3 for Conv3x3 {
    fn name(&self) -> &'static str {
        "isotherm-conv3x3"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout, s3: &CpuStorage, l3: &Layout) -> Result<(CpuStorage, Shape)> {
        let (b, cin, h, w) = l1.shape().dims4()?;
        let (cout, wcin, _, _) = l2.shape().dims4()?;
        if wcin != cin {
            candle_core::bail!("conv3x3: input has {cin} channels, the weights expect {wcin}");
        }
        let (oh, ow) = self.source.output(h, w);
        let out = forward_with(&[(view(s1, l1)?, cin)], [b, h, w], self.source, view(s2, l2)?, view(s3, l3)?, cout, Kernel::best());
        Ok((CpuStorage::F32(out), Shape::from((b, cout, oh, ow))))
    }

    /// Gradients of the plain convolution: the input's is a convolution of the output
    /// gradient with the flipped, transposed kernel (this same kernel when the input has
    /// a multiple of 8 channels, Candle's transposed convolution otherwise, and none for
    /// an input that needs none, such as the network's input); the weights' is one GEMM
    /// of the output gradient with the input's 9 shifted copies; the bias's a sum.
    fn bwd(&self, x: &Tensor, weight: &Tensor, _: &Tensor, _: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, cin, h, w) = x.dims4()?;
        let cout = weight.dim(0)?;
        let grad = grad.contiguous()?;
        let grad_bias = grad.sum((0, 2, 3))?;
        let grad_x = if x.track_op() {
            let flip = Tensor::new(&[2u32, 1, 0], x.device())?;
            let turned = weight.transpose(0, 1)?.contiguous()?.index_select(&flip, 2)?.contiguous()?.index_select(&flip, 3)?.contiguous()?;
            match conv3x3(&grad, &turned, &Tensor::zeros(cin, grad.dtype(), grad.device())?)? {
                Some(g) => Some(g),
                None => Some(grad.conv_transpose2d(weight, 1, 0, 1, 1)?),
            }
        } else {
            None
        };
        // The input's 9 shifted copies as rows (ci, ky, kx) of P = b * h * w columns.
        let xs = x.contiguous()?.flatten_all()?.to_vec1::<f32>()?;
        let p = b * h * w;
        let mut columns = vec![0f32; cin * 9 * p];
        columns.par_chunks_mut(p).enumerate().for_each(|(row, dst)| {
            let (ci, ky, kx) = (row / 9, row % 9 / 3, row % 3);
            for n in 0..b {
                let plane = &xs[(n * cin + ci) * h * w..][..h * w];
                for y in 0..h {
                    let sy = y as isize + ky as isize - 1;
                    if sy < 0 || sy >= h as isize {
                        continue;
                    }
                    let src = &plane[sy as usize * w..][..w];
                    let out = &mut dst[(n * h + y) * w..][..w];
                    // out[x] = src[x + kx - 1], zero where that falls outside the row.
                    match kx {
                        0 => out[1..].copy_from_slice(&src[..w - 1]),
                        1 => out.copy_from_slice(src),
                        _ => out[..w - 1].copy_from_slice(&src[1..]),
                    }
                }
            }
        });
        let columns = Tensor::from_vec(columns, (cin * 9, p), x.device())?;
        let g = grad.transpose(0, 1)?.contiguous()?.reshape((cout, p))?;
        let grad_weight = g.matmul(&columns.t()?)?.reshape((cout, cin, 3, 3))?;
        Ok((grad_x, Some(grad_weight), Some(grad_bias)))
    }
}

struct Conv3x3Cat {
    cout: usize,
}

impl CustomOp3 for Conv3x3Cat {
    fn name(&self) -> &'static str {
        "isotherm-conv3x3-cat"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout, s3: &CpuStorage, l3: &Layout) -> Result<(CpuStorage, Shape)> {
        let ((b, ca, h, w), (_, cb, _, _)) = (l1.shape().dims4()?, l2.shape().dims4()?);
        let wb = view(s3, l3)?;
        let n = self.cout * (ca + cb) * 9;
        if wb.len() != n + self.cout {
            candle_core::bail!("conv3x3-cat: {} weights and biases for {} -> {} channels", wb.len(), ca + cb, self.cout);
        }
        let out = forward_with(&[(view(s1, l1)?, ca), (view(s2, l2)?, cb)], [b, h, w], Source::Plain, &wb[..n], &wb[n..], self.cout, Kernel::best());
        Ok((CpuStorage::F32(out), Shape::from((b, self.cout, h, w))))
    }
}

/// The instruction sets the kernel comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    Portable,
    Avx2,
    Avx512,
}

impl Kernel {
    fn best() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                return Kernel::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return Kernel::Avx2;
            }
        }
        Kernel::Portable
    }

    /// Pixels per register block.
    fn strip(self) -> usize {
        match self {
            Kernel::Avx512 => 32,
            Kernel::Avx2 | Kernel::Portable => 8,
        }
    }
}

/// The convolution on plain NCHW buffers. `inputs` are concatenated along channels
/// (buffer, channels), each `[b, channels, h, w]` before `source` applies.
fn forward_with(inputs: &[(&[f32], usize)], [b, h, w]: [usize; 3], source: Source, weight: &[f32], bias: &[f32], cout: usize, kernel: Kernel) -> Vec<f32> {
    let cin: usize = inputs.iter().map(|i| i.1).sum();
    let (oh, ow) = source.output(h, w);
    // A row narrower than the kernel's strip takes the next narrower kernel.
    let kernel = if ow < kernel.strip() { if kernel == Kernel::Avx512 { Kernel::Avx2 } else { Kernel::Portable } } else { kernel };
    // Weights regrouped per block of 8 output channels: [block][ci][tap][8], so the 8
    // values one input vector meets sit side by side.
    let blocks = cout / CB;
    let mut packed = vec![0f32; cout * cin * 9];
    for co in 0..cout {
        for ci in 0..cin {
            for t in 0..9 {
                packed[((co / CB * cin + ci) * 9 + t) * CB + co % CB] = weight[(co * cin + ci) * 9 + t];
            }
        }
    }
    // Each image zero-padded by one pixel (upsampled or pooled on the way when asked).
    let (pw, ph) = (ow + 2, oh + 2);
    let padded: Vec<Vec<f32>> = (0..b)
        .into_par_iter()
        .map(|n| {
            let mut p = vec![0f32; cin * ph * pw];
            let mut ci = 0;
            for &(x, channels) in inputs {
                for c in 0..channels {
                    let plane = &x[(n * channels + c) * h * w..][..h * w];
                    for y in 0..oh {
                        let dst = &mut p[(ci * ph + y + 1) * pw + 1..][..ow];
                        match source {
                            Source::Plain => dst.copy_from_slice(&plane[y * w..][..w]),
                            Source::Upsampled2 => {
                                for (pair, &v) in dst.chunks_exact_mut(2).zip(&plane[y / 2 * w..][..w]) {
                                    pair.fill(v);
                                }
                            }
                            Source::Pooled2 => {
                                let (r0, r1) = (&plane[2 * y * w..][..w], &plane[(2 * y + 1) * w..][..w]);
                                for (i, d) in dst.iter_mut().enumerate() {
                                    *d = r0[2 * i].max(r0[2 * i + 1]).max(r1[2 * i]).max(r1[2 * i + 1]);
                                }
                            }
                        }
                    }
                    ci += 1;
                }
            }
            p
        })
        .collect();
    // One task per (image, block of 8 output channels): disjoint output.
    let mut out = vec![0f32; b * cout * oh * ow];
    out.par_chunks_mut(CB * oh * ow).enumerate().for_each(|(task, dst)| {
        let (n, block) = (task / blocks, task % blocks);
        let job = Job {
            input: &padded[n],
            wts: &packed[block * cin * 9 * CB..][..cin * 9 * CB],
            bias: std::array::from_fn(|c| bias[block * CB + c]),
            cin,
            h: oh,
            w: ow,
        };
        assert!(dst.len() == CB * oh * ow && job.input.len() == cin * ph * pw);
        match kernel {
            // SAFETY: each arm is only chosen when the CPU reported its features, and the
            // sizes the kernels rely on were asserted above.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { job.run_avx512(dst) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { job.run_avx2(dst) },
            _ => job.run_portable(dst),
        }
    });
    out
}

struct Job<'a> {
    /// `cin` planes of (h + 2) x (w + 2), zero border.
    input: &'a [f32],
    /// `[ci][tap][8]`.
    wts: &'a [f32],
    bias: [f32; CB],
    cin: usize,
    h: usize,
    w: usize,
}

/// The strips of one output row: `strip` pixels each, the last one moved left to end at
/// the row's end (overlapping its neighbour) when the width is not a multiple.
fn strips(w: usize, strip: usize) -> impl Iterator<Item = usize> {
    (0..w.div_ceil(strip)).map(move |s| (s * strip).min(w - strip))
}

impl Job<'_> {
    /// 8 channels x 32 pixels (two 16-float vectors): 16 accumulators of the 32 registers.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn run_avx512(&self, dst: &mut [f32]) {
        use std::arch::x86_64::*;
        let (h, w, pw, ph) = (self.h, self.w, self.w + 2, self.h + 2);
        let (input, wts, out) = (self.input.as_ptr(), self.wts.as_ptr(), dst.as_mut_ptr());
        for y in 0..h {
            for x in strips(w, 32) {
                // SAFETY: rows y..y+2 of a padded plane hold columns x..x+33 because
                // x <= w - 32; the caller asserted the buffer sizes.
                unsafe {
                    let mut a0 = [_mm512_setzero_ps(); CB];
                    let mut a1 = [_mm512_setzero_ps(); CB];
                    for c in 0..CB {
                        a0[c] = _mm512_set1_ps(self.bias[c]);
                        a1[c] = a0[c];
                    }
                    for ci in 0..self.cin {
                        let plane = input.add(ci * ph * pw);
                        let taps = wts.add(ci * 9 * CB);
                        for ky in 0..3 {
                            let row = plane.add((y + ky) * pw + x);
                            for kx in 0..3 {
                                let v0 = _mm512_loadu_ps(row.add(kx));
                                let v1 = _mm512_loadu_ps(row.add(kx + 16));
                                let wk = taps.add((ky * 3 + kx) * CB);
                                for c in 0..CB {
                                    let k = _mm512_set1_ps(*wk.add(c));
                                    a0[c] = _mm512_fmadd_ps(v0, k, a0[c]);
                                    a1[c] = _mm512_fmadd_ps(v1, k, a1[c]);
                                }
                            }
                        }
                    }
                    for c in 0..CB {
                        let o = out.add((c * h + y) * w + x);
                        _mm512_storeu_ps(o, a0[c]);
                        _mm512_storeu_ps(o.add(16), a1[c]);
                    }
                }
            }
        }
    }

    /// 8 channels x 8 pixels: 8 accumulators of the 16 registers.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(&self, dst: &mut [f32]) {
        use std::arch::x86_64::*;
        let (h, w, pw, ph) = (self.h, self.w, self.w + 2, self.h + 2);
        let (input, wts, out) = (self.input.as_ptr(), self.wts.as_ptr(), dst.as_mut_ptr());
        for y in 0..h {
            for x in strips(w, 8) {
                // SAFETY: as above with x <= w - 8.
                unsafe {
                    let mut acc = [_mm256_setzero_ps(); CB];
                    for (c, a) in acc.iter_mut().enumerate() {
                        *a = _mm256_set1_ps(self.bias[c]);
                    }
                    for ci in 0..self.cin {
                        let plane = input.add(ci * ph * pw);
                        let taps = wts.add(ci * 9 * CB);
                        for ky in 0..3 {
                            let row = plane.add((y + ky) * pw + x);
                            for kx in 0..3 {
                                let v = _mm256_loadu_ps(row.add(kx));
                                let wk = taps.add((ky * 3 + kx) * CB);
                                for (c, a) in acc.iter_mut().enumerate() {
                                    *a = _mm256_fmadd_ps(v, _mm256_broadcast_ss(&*wk.add(c)), *a);
                                }
                            }
                        }
                    }
                    for (c, a) in acc.iter().enumerate() {
                        _mm256_storeu_ps(out.add((c * h + y) * w + x), *a);
                    }
                }
            }
        }
    }

    /// The same blocking in plain Rust, for other CPUs.
    fn run_portable(&self, dst: &mut [f32]) {
        const XW: usize = 8;
        let (h, w, pw, ph) = (self.h, self.w, self.w + 2, self.h + 2);
        for y in 0..h {
            for x in strips(w, XW) {
                let mut acc = [[0f32; XW]; CB];
                for (c, a) in acc.iter_mut().enumerate() {
                    *a = [self.bias[c]; XW];
                }
                for ci in 0..self.cin {
                    let plane = &self.input[ci * ph * pw..][..ph * pw];
                    let taps = &self.wts[ci * 9 * CB..][..9 * CB];
                    for ky in 0..3 {
                        let row = &plane[(y + ky) * pw + x..][..XW + 2];
                        for kx in 0..3 {
                            let wk = &taps[(ky * 3 + kx) * CB..][..CB];
                            for c in 0..CB {
                                for i in 0..XW {
                                    acc[c][i] += row[kx + i] * wk[c];
                                }
                            }
                        }
                    }
                }
                for (c, a) in acc.iter().enumerate() {
                    dst[(c * h + y) * w + x..][..XW].copy_from_slice(a);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Kernel, Source};
    use candle_core::{DType, Device, Tensor};

    #[test]
    fn agrees_with_candle_conv2d_on_odd_sizes() {
        // Widths that are and are not multiples of the strips, several channel counts.
        for (cin, cout, h, w) in [(3, 8, 16, 16), (8, 16, 9, 37), (16, 8, 20, 64), (1, 24, 5, 17), (4, 8, 3, 40)] {
            let x = Tensor::randn(0f32, 1.0, (2, cin, h, w), &Device::Cpu).unwrap();
            let k = Tensor::randn(0f32, 0.3, (cout, cin, 3, 3), &Device::Cpu).unwrap();
            let b = Tensor::randn(0f32, 1.0, cout, &Device::Cpu).unwrap();
            let bias = b.reshape((1, cout, 1, 1)).unwrap();
            let want = x.conv2d(&k, 1, 1, 1, 1).unwrap().broadcast_add(&bias).unwrap();
            let got = super::conv3x3(&x, &k, &b).unwrap().expect("the direct kernel applies");
            let diff = (want - got).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(diff < 1e-4, "{cin}->{cout} {h}x{w}: max difference {diff}");
            // Through a 2x upsampling.
            let up = x.upsample_nearest2d(2 * h, 2 * w).unwrap();
            let want = up.conv2d(&k, 1, 1, 1, 1).unwrap().broadcast_add(&bias).unwrap();
            let got = super::conv3x3_upsampled(&x, &k, &b).unwrap().expect("applies");
            let diff = (want - got).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(diff < 1e-4, "upsampled {cin}->{cout} {h}x{w}: max difference {diff}");
            // After a 2x2 max pooling (even sizes, rows still 8 wide).
            let big = Tensor::randn(0f32, 1.0, (2, cin, 2 * h, 2 * w), &Device::Cpu).unwrap();
            let want = big.max_pool2d(2).unwrap().conv2d(&k, 1, 1, 1, 1).unwrap().broadcast_add(&bias).unwrap();
            let got = super::conv3x3_pooled(&big, &k, &b).unwrap().expect("applies");
            let diff = (want - got).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(diff < 1e-4, "pooled {cin}->{cout} {h}x{w}: max difference {diff}");
            // Over a concatenation along channels.
            let extra = Tensor::randn(0f32, 1.0, (2, 3, h, w), &Device::Cpu).unwrap();
            let k2 = Tensor::randn(0f32, 0.3, (cout, cin + 3, 3, 3), &Device::Cpu).unwrap();
            let want = Tensor::cat(&[&x, &extra], 1).unwrap().conv2d(&k2, 1, 1, 1, 1).unwrap().broadcast_add(&bias).unwrap();
            let got = super::conv3x3_cat(&x, &extra, &k2, &b).unwrap().expect("applies");
            let diff = (want - got).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(diff < 1e-4, "concatenated {cin}+3->{cout} {h}x{w}: max difference {diff}");
        }
        // Shapes it does not take fall back to Candle: rows narrower than a strip, output
        // channels not a multiple of 8.
        let zeros = |shape: &[usize]| Tensor::zeros(shape, DType::F32, &Device::Cpu).unwrap();
        assert!(super::conv3x3(&zeros(&[1, 3, 8, 6]), &zeros(&[8, 3, 3, 3]), &zeros(&[8])).unwrap().is_none());
        assert!(super::conv3x3(&zeros(&[1, 3, 8, 16]), &zeros(&[12, 3, 3, 3]), &zeros(&[12])).unwrap().is_none());
    }

    #[test]
    fn gradients_agree_with_candle_conv2d() {
        use candle_core::Var;
        // 8 input channels (the input's gradient through this kernel) and 3 (Candle's
        // transposed convolution), odd sizes.
        for (cin, cout, h, w) in [(8, 16, 11, 19), (3, 8, 9, 12)] {
            let x = Var::randn(0f32, 1.0, (2, cin, h, w), &Device::Cpu).unwrap();
            let k = Var::randn(0f32, 0.3, (cout, cin, 3, 3), &Device::Cpu).unwrap();
            let b = Var::randn(0f32, 1.0, cout, &Device::Cpu).unwrap();
            let r = Tensor::randn(0f32, 1.0, (2, cout, h, w), &Device::Cpu).unwrap();
            let ours = (super::conv3x3(&x, &k, &b).unwrap().unwrap() * &r).unwrap().sum_all().unwrap().backward().unwrap();
            let theirs = (x.conv2d(&k, 1, 1, 1, 1).unwrap().broadcast_add(&b.reshape((1, cout, 1, 1)).unwrap()).unwrap() * &r).unwrap().sum_all().unwrap().backward().unwrap();
            for (name, v) in [("input", x.as_tensor()), ("weights", k.as_tensor()), ("bias", b.as_tensor())] {
                let (a, c) = (ours.get(v).unwrap(), theirs.get(v).unwrap());
                let scale = c.abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap().max(1.0);
                let diff = (a - c).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
                assert!(diff < 1e-4 * scale, "{cin}->{cout}: {name} gradient differs by {diff} (scale {scale})");
            }
        }
    }

    #[test]
    fn every_kernel_this_cpu_has_agrees_with_a_scalar_reference() {
        let (cin, cout, h, w) = (5, 16, 7, 45);
        let x: Vec<f32> = (0..2 * cin * h * w).map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0).collect();
        let k: Vec<f32> = (0..cout * cin * 9).map(|i| ((i * 13 % 29) as f32 - 14.0) / 30.0).collect();
        let bias: Vec<f32> = (0..cout).map(|i| i as f32 * 0.1).collect();
        let mut kernels = vec![Kernel::Portable];
        match Kernel::best() {
            Kernel::Avx512 => kernels.extend([Kernel::Avx2, Kernel::Avx512]),
            Kernel::Avx2 => kernels.push(Kernel::Avx2),
            Kernel::Portable => {}
        }
        for kernel in kernels {
            let got = super::forward_with(&[(&x, cin)], [2, h, w], Source::Plain, &k, &bias, cout, kernel);
            for n in 0..2 {
                for co in 0..cout {
                    for y in 0..h {
                        for xx in 0..w {
                            let mut s = bias[co] as f64;
                            for ci in 0..cin {
                                for ky in 0..3 {
                                    for kx in 0..3 {
                                        let (yy, xs) = (y as i64 + ky - 1, xx as i64 + kx - 1);
                                        if yy >= 0 && yy < h as i64 && xs >= 0 && xs < w as i64 {
                                            s += (x[((n * cin + ci) * h + yy as usize) * w + xs as usize] * k[(co * cin + ci) * 9 + (ky * 3 + kx) as usize]) as f64;
                                        }
                                    }
                                }
                            }
                            let g = got[((n * cout + co) * h + y) * w + xx] as f64;
                            assert!((g - s).abs() < 1e-4, "{kernel:?} ({n}, {co}, {y}, {xx}): {g} vs {s}");
                        }
                    }
                }
            }
        }
    }
}
