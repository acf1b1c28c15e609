//! A direct 3x3 "same" convolution (stride 1, padding 1, plus bias) for CPU inference,
//! optionally reading its input through a 2x nearest upsampling (the decoder's
//! up-convolution, without materialising the upsampled tensor).
//!
//! Candle 0.11's CPU conv2d gathers an im2col tile element by element with bounds
//! checks; on this network (8-64 channels, 256 x 256 slices) that gather took ~70% of
//! inference and the GEMM it feeds ~3%. Here the input is zero-padded once per image and
//! a block of 8 output channels x one or two vectors of pixels stays in registers while
//! the kernel walks the input channels and the 9 taps: each vector load of input feeds
//! 8 fused multiply-adds. The widest kernel the CPU has (AVX-512, AVX2+FMA) is chosen
//! at run time, written with intrinsics because LLVM does not keep such a block in
//! registers on its own; other CPUs get a portable loop.

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

fn apply(x: &Tensor, weight: &Tensor, bias: &Tensor, source: Source) -> Result<Option<Tensor>> {
    let (_, _, _, w) = x.dims4()?;
    let (cout, _, kh, kw) = weight.dims4()?;
    let out_w = if source == Source::Upsampled2 { 2 * w } else { w };
    if !x.device().is_cpu() || x.dtype() != candle_core::DType::F32 || (kh, kw) != (3, 3) || cout % CB != 0 || out_w < 8 {
        return Ok(None);
    }
    let (x, weight, bias) = (x.contiguous()?, weight.contiguous()?, bias.contiguous()?);
    x.apply_op3_no_bwd(&weight, &bias, &Conv3x3 { source }).map(Some)
}

struct Conv3x3 {
    source: Source,
}

impl CustomOp3 for Conv3x3 {
    fn name(&self) -> &'static str {
        "isotherm-conv3x3"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout, s3: &CpuStorage, l3: &Layout) -> Result<(CpuStorage, Shape)> {
        let view = |s: &CpuStorage, l: &Layout| -> Result<Vec<f32>> { Ok(s.as_slice::<f32>()?[l.start_offset()..][..l.shape().elem_count()].to_vec()) };
        let (b, cin, h, w) = l1.shape().dims4()?;
        let (cout, wcin, _, _) = l2.shape().dims4()?;
        if wcin != cin {
            candle_core::bail!("conv3x3: input has {cin} channels, the weights expect {wcin}");
        }
        let (x, weight, bias) = (view(s1, l1)?, view(s2, l2)?, view(s3, l3)?);
        let (oh, ow) = if self.source == Source::Upsampled2 { (2 * h, 2 * w) } else { (h, w) };
        let out = forward_with(&x, [b, cin, h, w], self.source, &weight, &bias, cout, Kernel::best());
        Ok((CpuStorage::F32(out), Shape::from((b, cout, oh, ow))))
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

/// The convolution on plain NCHW buffers; `[b, cin, h, w]` are the input's dimensions.
fn forward_with(x: &[f32], [b, cin, h, w]: [usize; 4], source: Source, weight: &[f32], bias: &[f32], cout: usize, kernel: Kernel) -> Vec<f32> {
    let (oh, ow) = if source == Source::Upsampled2 { (2 * h, 2 * w) } else { (h, w) };
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
    // Each image zero-padded by one pixel (and upsampled on the way when asked).
    let (pw, ph) = (ow + 2, oh + 2);
    let padded: Vec<Vec<f32>> = (0..b)
        .into_par_iter()
        .map(|n| {
            let mut p = vec![0f32; cin * ph * pw];
            for ci in 0..cin {
                for y in 0..oh {
                    let dst = &mut p[(ci * ph + y + 1) * pw + 1..][..ow];
                    match source {
                        Source::Plain => dst.copy_from_slice(&x[((n * cin + ci) * h + y) * w..][..w]),
                        Source::Upsampled2 => {
                            let src = &x[((n * cin + ci) * h + y / 2) * w..][..w];
                            for (pair, &v) in dst.chunks_exact_mut(2).zip(src) {
                                pair.fill(v);
                            }
                        }
                    }
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
        }
        // Shapes it does not take fall back to Candle: rows narrower than a strip, output
        // channels not a multiple of 8.
        let zeros = |shape: &[usize]| Tensor::zeros(shape, DType::F32, &Device::Cpu).unwrap();
        assert!(super::conv3x3(&zeros(&[1, 3, 8, 6]), &zeros(&[8, 3, 3, 3]), &zeros(&[8])).unwrap().is_none());
        assert!(super::conv3x3(&zeros(&[1, 3, 8, 16]), &zeros(&[12, 3, 3, 3]), &zeros(&[12])).unwrap().is_none());
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
            let got = super::forward_with(&x, [2, cin, h, w], Source::Plain, &k, &bias, cout, kernel);
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
