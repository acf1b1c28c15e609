//! A direct 3x3 "same" convolution (stride 1, padding 1, plus bias) on the CPU.
//! Training uses it as a Candle custom op with a backward pass; inference
//! (`super::pass`) calls [`convolve`] on plain buffers, reading the input through a 2x
//! nearest upsampling (the decoder's up-convolution), a 2x2 max pooling (the encoder's
//! way down), from several operands as if concatenated (the skip connection) and through
//! a pending GroupNorm + ReLU, without materialising any of those intermediates, and
//! returning the statistics of its output for the next GroupNorm.
//!
//! Candle 0.11's CPU conv2d gathers an im2col tile element by element with bounds
//! checks; on this network (8-64 channels, 256 x 256 slices) that gather took ~70% of
//! inference and the GEMM it feeds ~3%. Here the input is zero-padded once per image and
//! a block of 8 output channels x one or two vectors of pixels stays in registers while
//! the kernel walks the input channels and the 9 taps: each vector load of input feeds
//! 8 fused multiply-adds (with AVX2 on wide rows, 4 channels x 3 vectors: 12
//! accumulators). The widest kernel the CPU has (AVX-512, AVX2+FMA) is chosen at run
//! time, written with intrinsics because LLVM does not keep such a block in
//! registers on its own; other CPUs get a portable loop.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// Output channels per register block.
const CB: usize = 8;

/// How the input is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Plain,
    /// Nearest-neighbour 2x upsampling first (Candle's `upsample_nearest2d` to 2h x 2w).
    Upsampled2,
    /// 2x2 max pooling with stride 2 first (Candle's `max_pool2d(2)`), even sizes only.
    Pooled2,
}

impl Source {
    pub(crate) fn output(self, h: usize, w: usize) -> (usize, usize) {
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
    apply(x, weight, bias)
}

fn applies(x: &Tensor, weight: &Tensor, out_w: usize) -> bool {
    let Ok((cout, _, kh, kw)) = weight.dims4() else { return false };
    x.device().is_cpu() && x.dtype() == candle_core::DType::F32 && weight.dtype() == candle_core::DType::F32 && (kh, kw) == (3, 3) && cout % CB == 0 && out_w >= 8
}

fn apply(x: &Tensor, weight: &Tensor, bias: &Tensor) -> Result<Option<Tensor>> {
    let (_, _, _, w) = x.dims4()?;
    if !applies(x, weight, w) {
        return Ok(None);
    }
    let (x, weight, bias) = (x.contiguous()?, weight.contiguous()?, bias.contiguous()?);
    x.apply_op3(&weight, &bias, Conv3x3).map(Some)
}

/// A contiguous f32 operand of a custom op, borrowed from its storage.
pub(super) fn view<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    Ok(&s.as_slice::<f32>()?[l.start_offset()..][..l.shape().elem_count()])
}

struct Conv3x3;

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
        let out = forward_with(&[(view(s1, l1)?, cin)], [b, h, w], Source::Plain, view(s2, l2)?, view(s3, l3)?, cout, Kernel::best());
        Ok((CpuStorage::F32(out), Shape::from((b, cout, h, w))))
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

/// The instruction sets the kernel comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    Portable,
    Avx2,
    Avx2Wide,
    Avx512,
}

impl Kernel {
    pub(crate) fn best() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                return Kernel::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return Kernel::Avx2Wide;
            }
        }
        Kernel::Portable
    }

    /// The kernel for rows `w` wide: a narrower one where the strip does not fit, or,
    /// for AVX2, the 8-pixel strip where 24-pixel ones would compute over 25 % more
    /// pixels (the wide kernel is 1.3-1.6x faster per pixel it computes).
    fn for_width(self, w: usize) -> Kernel {
        match self {
            Kernel::Avx512 if w >= self.strip() => self,
            Kernel::Avx2Wide if w >= self.strip() && w.div_ceil(24) * 24 * 4 <= w.div_ceil(8) * 8 * 5 => self,
            Kernel::Avx512 | Kernel::Avx2Wide | Kernel::Avx2 if w >= 8 => Kernel::Avx2,
            _ => Kernel::Portable,
        }
    }

    /// Pixels per register block.
    fn strip(self) -> usize {
        match self {
            Kernel::Avx512 => 32,
            Kernel::Avx2Wide => 24,
            Kernel::Avx2 | Kernel::Portable => 8,
        }
    }
}

/// One operand of the convolution: `channels` planes per image of `[b, channels, h, w]`,
/// each value read as `v * scale + shift` with its (image, channel) pair when `affine` is
/// given (a GroupNorm not yet applied), then clamped at zero when `relu`. Folding the
/// normalisation into the read the convolution makes anyway saves a pass over memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operand<'a> {
    pub data: &'a [f32],
    pub channels: usize,
    pub affine: Option<&'a [[f32; 2]]>,
    pub relu: bool,
}

impl<'a> Operand<'a> {
    pub fn plain(data: &'a [f32], channels: usize) -> Self {
        Operand { data, channels, affine: None, relu: false }
    }
}

/// Sum and sum of squares of one output channel of one image (GroupNorm's statistics).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Moments {
    pub count: f64,
    pub sum: f64,
    pub sum_sq: f64,
}

/// Weights `[cout][cin][3][3]` regrouped per block of 8 output channels:
/// `[block][ci][tap][8]`, so the 8 values one input vector meets sit side by side.
pub(crate) fn pack(weight: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let mut packed = vec![0f32; cout * cin * 9];
    for co in 0..cout {
        for ci in 0..cin {
            for t in 0..9 {
                packed[((co / CB * cin + ci) * 9 + t) * CB + co % CB] = weight[(co * cin + ci) * 9 + t];
            }
        }
    }
    packed
}

/// The convolution on plain NCHW buffers, with fresh buffers. `inputs` are concatenated
/// along channels, each `[b, channels, h, w]` before `source` applies.
fn forward_with(inputs: &[(&[f32], usize)], dims: [usize; 3], source: Source, weight: &[f32], bias: &[f32], cout: usize, kernel: Kernel) -> Vec<f32> {
    let operands: Vec<Operand> = inputs.iter().map(|&(d, c)| Operand::plain(d, c)).collect();
    let cin = inputs.iter().map(|i| i.1).sum();
    let mut out = Vec::new();
    convolve(&operands, dims, source, &pack(weight, cin, cout), bias, cout, kernel, &mut Vec::new(), &mut out, false);
    out
}

/// Rows per kernel call: the statistics of a few rows are taken while they are still in
/// the first-level cache.
const ROWS: usize = 4;

/// `packed` (see [`pack`]) convolved with the operands into `out` (resized to
/// `[b, cout, oh, ow]`), through `padded` (a scratch buffer, reused across calls so large
/// allocations are not mapped and zeroed afresh each time). With `moments`, also each
/// (image, output channel)'s sum and sum of squares, in that order.
#[allow(clippy::too_many_arguments)]
pub(crate) fn convolve(inputs: &[Operand], [b, h, w]: [usize; 3], source: Source, packed: &[f32], bias: &[f32], cout: usize, kernel: Kernel, padded: &mut Vec<f32>, out: &mut Vec<f32>, moments: bool) -> Vec<Moments> {
    let cin: usize = inputs.iter().map(|i| i.channels).sum();
    let (oh, ow) = source.output(h, w);
    // A row narrower than the kernel's strip takes the next narrower kernel.
    let kernel = kernel.for_width(ow);
    let blocks = cout / CB;
    assert!(packed.len() == cout * cin * 9 && bias.len() == cout && cout % CB == 0);
    // Each image zero-padded by one pixel (upsampled or pooled, normalised, on the way).
    let (pw, ph) = (ow + 2, oh + 2);
    padded.resize(b * cin * ph * pw, 0.0);
    padded.par_chunks_mut(cin * ph * pw).enumerate().for_each(|(n, p)| {
        let mut ci = 0;
        for op in inputs {
            for c in 0..op.channels {
                let plane = &op.data[(n * op.channels + c) * h * w..][..h * w];
                let [scale, shift] = op.affine.map_or([1.0, 0.0], |a| a[n * op.channels + c]);
                let read = |v: f32| if op.relu { (v * scale + shift).max(0.0) } else { v * scale + shift };
                let dst = &mut p[ci * ph * pw..][..ph * pw];
                // The border is zeroed each time: the buffer may hold another size's data.
                dst[..pw].fill(0.0);
                dst[(ph - 1) * pw..].fill(0.0);
                for y in 0..oh {
                    let row = &mut dst[(y + 1) * pw..][..pw];
                    row[0] = 0.0;
                    row[pw - 1] = 0.0;
                    let row = &mut row[1..=ow];
                    match source {
                        Source::Plain => {
                            for (d, &v) in row.iter_mut().zip(&plane[y * w..][..w]) {
                                *d = read(v);
                            }
                        }
                        Source::Upsampled2 => {
                            for (pair, &v) in row.chunks_exact_mut(2).zip(&plane[y / 2 * w..][..w]) {
                                pair.fill(read(v));
                            }
                        }
                        Source::Pooled2 => {
                            let (r0, r1) = (&plane[2 * y * w..][..w], &plane[(2 * y + 1) * w..][..w]);
                            for (i, d) in row.iter_mut().enumerate() {
                                *d = read(r0[2 * i]).max(read(r0[2 * i + 1])).max(read(r1[2 * i])).max(read(r1[2 * i + 1]));
                            }
                        }
                    }
                }
                ci += 1;
            }
        }
    });
    // One task per (image, block of 8 output channels): disjoint output.
    out.resize(b * cout * oh * ow, 0.0);
    let padded = &padded[..];
    let per_task: Vec<[Moments; CB]> = out
        .par_chunks_mut(CB * oh * ow)
        .enumerate()
        .map(|(task, dst)| {
            let (n, block) = (task / blocks, task % blocks);
            let job = Job {
                input: &padded[n * cin * ph * pw..][..cin * ph * pw],
                wts: &packed[block * cin * 9 * CB..][..cin * 9 * CB],
                bias: std::array::from_fn(|c| bias[block * CB + c]),
                cin,
                h: oh,
                w: ow,
            };
            assert!(dst.len() == CB * oh * ow);
            let mut acc = [[0f64; 3]; CB];
            let mut pivot = [0f32; CB];
            for y0 in (0..oh).step_by(ROWS) {
                let rows = y0..(y0 + ROWS).min(oh);
                match kernel {
                    // SAFETY: each arm is only chosen when the CPU reported its features, and
                    // the sizes the kernels rely on were asserted above.
                    #[cfg(target_arch = "x86_64")]
                    Kernel::Avx512 => unsafe { job.run_avx512(dst, rows.clone()) },
                    #[cfg(target_arch = "x86_64")]
                    Kernel::Avx2 => unsafe { job.run_avx2(dst, rows.clone()) },
                    #[cfg(target_arch = "x86_64")]
                    Kernel::Avx2Wide => unsafe { job.run_avx2_wide(dst, rows.clone()) },
                    _ => job.run_portable(dst, rows.clone()),
                }
                if !moments {
                    continue;
                }
                for (c, a) in acc.iter_mut().enumerate() {
                    let values = &dst[(c * oh + rows.start) * ow..(c * oh + rows.end) * ow];
                    // Sums about the channel's first value, so E[x^2] - E[x]^2 does not
                    // cancel in f32 when the mean is large against the spread.
                    if y0 == 0 {
                        pivot[c] = values[0];
                    }
                    let (s, q) = shifted_sums(values, pivot[c]);
                    a[0] += values.len() as f64;
                    a[1] += s;
                    a[2] += q;
                }
            }
            std::array::from_fn(|c| {
                let ([count, s, q], p) = (acc[c], pivot[c] as f64);
                Moments { count, sum: s + count * p, sum_sq: q + 2.0 * p * s + count * p * p }
            })
        })
        .collect();
    if moments { per_task.into_iter().flatten().collect() } else { Vec::new() }
}

/// Sum of `v - pivot` and of its square, in 8 f32 lanes (vectorised) summed in f64.
fn shifted_sums(values: &[f32], pivot: f32) -> (f64, f64) {
    let (mut s, mut q) = ([0f32; 8], [0f32; 8]);
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for i in 0..8 {
            let d = chunk[i] - pivot;
            s[i] += d;
            q[i] += d * d;
        }
    }
    let (mut s, mut q) = (s.iter().map(|&v| v as f64).sum::<f64>(), q.iter().map(|&v| v as f64).sum::<f64>());
    for &v in rest {
        let d = (v - pivot) as f64;
        s += d;
        q += d * d;
    }
    (s, q)
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
    unsafe fn run_avx512(&self, dst: &mut [f32], rows: std::ops::Range<usize>) {
        use std::arch::x86_64::*;
        let (h, w, pw, ph) = (self.h, self.w, self.w + 2, self.h + 2);
        let (input, wts, out) = (self.input.as_ptr(), self.wts.as_ptr(), dst.as_mut_ptr());
        for y in rows {
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

    /// Two passes of 4 channels x 24 pixels (three 8-float vectors): 12 accumulators,
    /// three input vectors and one broadcast weight fill the 16 registers, and 12 fused
    /// multiply-adds in flight hide their latency better than 8.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2_wide(&self, dst: &mut [f32], rows: std::ops::Range<usize>) {
        use std::arch::x86_64::*;
        const HALF: usize = CB / 2;
        let (h, w, pw, ph) = (self.h, self.w, self.w + 2, self.h + 2);
        let (input, wts, out) = (self.input.as_ptr(), self.wts.as_ptr(), dst.as_mut_ptr());
        for half in 0..2 {
            for y in rows.clone() {
                for x in strips(w, 24) {
                    // SAFETY: as above with x <= w - 24.
                    unsafe {
                        let mut acc = [[_mm256_setzero_ps(); 3]; HALF];
                        for (c, a) in acc.iter_mut().enumerate() {
                            *a = [_mm256_set1_ps(self.bias[half * HALF + c]); 3];
                        }
                        for ci in 0..self.cin {
                            let plane = input.add(ci * ph * pw);
                            let taps = wts.add(ci * 9 * CB + half * HALF);
                            for ky in 0..3 {
                                let row = plane.add((y + ky) * pw + x);
                                for kx in 0..3 {
                                    let v = [_mm256_loadu_ps(row.add(kx)), _mm256_loadu_ps(row.add(kx + 8)), _mm256_loadu_ps(row.add(kx + 16))];
                                    let wk = taps.add((ky * 3 + kx) * CB);
                                    for (c, a) in acc.iter_mut().enumerate() {
                                        let k = _mm256_broadcast_ss(&*wk.add(c));
                                        a[0] = _mm256_fmadd_ps(v[0], k, a[0]);
                                        a[1] = _mm256_fmadd_ps(v[1], k, a[1]);
                                        a[2] = _mm256_fmadd_ps(v[2], k, a[2]);
                                    }
                                }
                            }
                        }
                        for (c, a) in acc.iter().enumerate() {
                            let o = out.add(((half * HALF + c) * h + y) * w + x);
                            _mm256_storeu_ps(o, a[0]);
                            _mm256_storeu_ps(o.add(8), a[1]);
                            _mm256_storeu_ps(o.add(16), a[2]);
                        }
                    }
                }
            }
        }
    }

    /// 8 channels x 8 pixels: 8 accumulators of the 16 registers.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(&self, dst: &mut [f32], rows: std::ops::Range<usize>) {
        use std::arch::x86_64::*;
        let (h, w, pw, ph) = (self.h, self.w, self.w + 2, self.h + 2);
        let (input, wts, out) = (self.input.as_ptr(), self.wts.as_ptr(), dst.as_mut_ptr());
        for y in rows {
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
    fn run_portable(&self, dst: &mut [f32], rows: std::ops::Range<usize>) {
        const XW: usize = 8;
        let (h, w, pw, ph) = (self.h, self.w, self.w + 2, self.h + 2);
        for y in rows {
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

    fn max_difference(a: &Tensor, b: &[f32]) -> f32 {
        let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

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
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let (kv, bv) = (flat(&k), flat(&b));
            let run = |inputs: &[(&[f32], usize)], dims, source| super::forward_with(inputs, dims, source, &kv, &bv, cout, Kernel::best());
            // Through a 2x upsampling.
            let up = x.upsample_nearest2d(2 * h, 2 * w).unwrap();
            let want = up.conv2d(&k, 1, 1, 1, 1).unwrap().broadcast_add(&bias).unwrap();
            let diff = max_difference(&want, &run(&[(&flat(&x), cin)], [2, h, w], Source::Upsampled2));
            assert!(diff < 1e-4, "upsampled {cin}->{cout} {h}x{w}: max difference {diff}");
            // After a 2x2 max pooling (even sizes, rows still 8 wide).
            let big = Tensor::randn(0f32, 1.0, (2, cin, 2 * h, 2 * w), &Device::Cpu).unwrap();
            let want = big.max_pool2d(2).unwrap().conv2d(&k, 1, 1, 1, 1).unwrap().broadcast_add(&bias).unwrap();
            let diff = max_difference(&want, &run(&[(&flat(&big), cin)], [2, 2 * h, 2 * w], Source::Pooled2));
            assert!(diff < 1e-4, "pooled {cin}->{cout} {h}x{w}: max difference {diff}");
            // Over a concatenation along channels.
            let extra = Tensor::randn(0f32, 1.0, (2, 3, h, w), &Device::Cpu).unwrap();
            let k2 = Tensor::randn(0f32, 0.3, (cout, cin + 3, 3, 3), &Device::Cpu).unwrap();
            let want = Tensor::cat(&[&x, &extra], 1).unwrap().conv2d(&k2, 1, 1, 1, 1).unwrap().broadcast_add(&bias).unwrap();
            let got = super::forward_with(&[(&flat(&x), cin), (&flat(&extra), 3)], [2, h, w], Source::Plain, &flat(&k2), &bv, cout, Kernel::best());
            let diff = max_difference(&want, &got);
            assert!(diff < 1e-4, "concatenated {cin}+3->{cout} {h}x{w}: max difference {diff}");
        }
        // Shapes it does not take fall back to Candle: rows narrower than a strip, output
        // channels not a multiple of 8.
        let zeros = |shape: &[usize]| Tensor::zeros(shape, DType::F32, &Device::Cpu).unwrap();
        assert!(super::conv3x3(&zeros(&[1, 3, 8, 6]), &zeros(&[8, 3, 3, 3]), &zeros(&[8])).unwrap().is_none());
        assert!(super::conv3x3(&zeros(&[1, 3, 8, 16]), &zeros(&[12, 3, 3, 3]), &zeros(&[12])).unwrap().is_none());
    }

    #[test]
    fn reads_through_a_pending_normalisation_and_returns_its_output_moments() {
        // Operand values v read as max(0, v * s + t) per (image, channel); a reused
        // scratch buffer of another size first (its stale border must not leak in).
        let (cin, cout, h, w) = (8, 16, 12, 20);
        let x = Tensor::randn(3f32, 1.0, (2, cin, h, w), &Device::Cpu).unwrap();
        let affine: Vec<[f32; 2]> = (0..2 * cin).map(|i| [0.5 + 0.1 * i as f32, -1.5 + 0.2 * i as f32]).collect();
        let st = |j: usize| Tensor::from_vec(affine.iter().map(|a| a[j]).collect::<Vec<_>>(), (2, cin, 1, 1), &Device::Cpu).unwrap();
        let read = x.broadcast_mul(&st(0)).unwrap().broadcast_add(&st(1)).unwrap().relu().unwrap();
        let k = Tensor::randn(0f32, 0.3, (cout, cin, 3, 3), &Device::Cpu).unwrap();
        let b = Tensor::randn(5f32, 1.0, cout, &Device::Cpu).unwrap();
        let want = read.conv2d(&k, 1, 1, 1, 1).unwrap().broadcast_add(&b.reshape((1, cout, 1, 1)).unwrap()).unwrap();
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let xv = flat(&x);
        let op = super::Operand { data: &xv, channels: cin, affine: Some(&affine), relu: true };
        let (mut padded, mut out) = (vec![7f32; 50_000], Vec::new());
        let moments = super::convolve(&[op], [2, h, w], Source::Plain, &super::pack(&flat(&k), cin, cout), &flat(&b), cout, Kernel::best(), &mut padded, &mut out, true);
        assert!(max_difference(&want, &out) < 1e-4);
        for (i, m) in moments.iter().enumerate() {
            let plane = &out[i * h * w..][..h * w];
            let sum: f64 = plane.iter().map(|&v| v as f64).sum();
            let sq: f64 = plane.iter().map(|&v| (v as f64).powi(2)).sum();
            assert_eq!(m.count, (h * w) as f64);
            assert!((m.sum - sum).abs() < 1e-6 * sq.sqrt().max(1.0) * 10.0 && (m.sum_sq - sq).abs() < 1e-5 * sq, "{i}: {m:?} vs {sum}, {sq}");
        }
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
            Kernel::Avx512 => kernels.extend([Kernel::Avx2, Kernel::Avx2Wide, Kernel::Avx512]),
            Kernel::Avx2 | Kernel::Avx2Wide => kernels.extend([Kernel::Avx2, Kernel::Avx2Wide]),
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
