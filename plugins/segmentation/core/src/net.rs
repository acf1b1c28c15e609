//! The network: a 2.5D U-Net in Candle.
//!
//! Candle 0.11 has `conv2d` but no `conv3d`, so the network sees `in_slices` neighbouring
//! axial slices as input channels and predicts the middle one (2.5D). Each level is two
//! 3x3 convolutions, each followed by GroupNorm (batch-size independent, so training and
//! inference behave the same) and ReLU; max-pooling down, nearest upsampling plus a 3x3
//! convolution up, skip connections by concatenation, a 1x1 head.
//!
//! Tensor names follow PyTorch's `state_dict` of the equivalent module (see
//! `assets/models/segmentation/MODEL_CARD.md`), so weights trained elsewhere load here.

use std::path::Path;
use std::sync::OnceLock;

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, GroupNorm, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::kernels::pass::{self, Pass};
pub use crate::kernels::pass::Scratch;

/// The architecture and its pre-processing, as written in `unet.toml` next to the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Architecture {
    /// Always "unet-2.5d" for now; anything else is refused.
    pub architecture: String,
    /// Neighbouring axial slices fed as channels (odd; the middle one is predicted).
    pub in_slices: usize,
    /// Channels at full resolution; doubled at each level.
    pub base_channels: usize,
    /// Number of 2x poolings.
    pub depth: usize,
    /// GroupNorm groups (must divide `base_channels`).
    pub groups: usize,
    /// Output classes, index 0 first. Known names: background, liver, tumour, ablation zone.
    pub classes: Vec<String>,
    /// The grid the network works on, mm (x, y along the input's rows and columns; z
    /// across slices).
    pub working_spacing_mm: [f64; 3],
    /// HU mapped linearly onto [-1, 1], clipped outside.
    pub hu_window: [f64; 2],
    /// In-plane inference tile and its overlap, in working voxels.
    pub tile: usize,
    pub overlap: usize,
}

impl Default for Architecture {
    fn default() -> Self {
        Architecture {
            architecture: "unet-2.5d".into(),
            in_slices: 5,
            base_channels: 8,
            depth: 3,
            groups: 4,
            classes: ["background", "liver", "tumour", "ablation zone"].map(String::from).to_vec(),
            working_spacing_mm: [2.0, 2.0, 3.0],
            hu_window: [-150.0, 250.0],
            tile: 256,
            overlap: 32,
        }
    }
}

impl Architecture {
    pub fn from_toml(text: &str) -> std::result::Result<Self, String> {
        let a: Architecture = toml::from_str(text).map_err(|e| e.to_string())?;
        a.check()?;
        Ok(a)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("architecture serialises")
    }

    /// Rejects configurations the network cannot be built for, saying which field.
    pub fn check(&self) -> std::result::Result<(), String> {
        let fail = |m: String| Err(m);
        if self.architecture != "unet-2.5d" {
            return fail(format!("architecture '{}' is not supported (expected 'unet-2.5d')", self.architecture));
        }
        if self.in_slices == 0 || self.in_slices % 2 == 0 {
            return fail(format!("in_slices = {} must be odd", self.in_slices));
        }
        if self.base_channels == 0 || self.groups == 0 || self.base_channels % self.groups != 0 {
            return fail(format!("groups = {} must divide base_channels = {}", self.groups, self.base_channels));
        }
        if !(1..=6).contains(&self.depth) {
            return fail(format!("depth = {} must be 1-6", self.depth));
        }
        if self.classes.len() < 2 {
            return fail("classes must name at least background and one structure".into());
        }
        if self.working_spacing_mm.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return fail(format!("working_spacing_mm {:?} must be positive", self.working_spacing_mm));
        }
        if !(self.hu_window[1] > self.hu_window[0]) {
            return fail(format!("hu_window {:?} must be increasing", self.hu_window));
        }
        let step = 1 << self.depth;
        if self.tile < 2 * step || self.tile % step != 0 || self.overlap * 2 >= self.tile {
            return fail(format!("tile = {} must be a multiple of {step} and more than twice overlap = {}", self.tile, self.overlap));
        }
        Ok(())
    }

    /// Class index by name, if the network predicts it.
    pub fn class(&self, name: &str) -> Option<usize> {
        self.classes.iter().position(|c| c == name)
    }

    /// Maps HU to the network's input range.
    #[inline]
    pub fn normalise(&self, hu: f32) -> f32 {
        let [lo, hi] = self.hu_window;
        (((hu as f64 - lo) / (hi - lo)) * 2.0 - 1.0).clamp(-1.0, 1.0) as f32
    }

    fn channels(&self, level: usize) -> usize {
        self.base_channels << level
    }
}

const GN_EPS: f64 = 1e-5;

/// conv3x3 -> GroupNorm -> ReLU, twice.
struct Block {
    conv1: Conv2d,
    norm1: Norm,
    conv2: Conv2d,
    norm2: Norm,
}

/// GroupNorm with its scale and shift kept at hand for the CPU inference pass
/// (candle-nn's `GroupNorm` does not expose them).
struct Norm {
    layer: GroupNorm,
    gamma: Tensor,
    beta: Tensor,
    groups: usize,
}

impl Norm {
    fn new(groups: usize, channels: usize, vb: VarBuilder) -> Result<Self> {
        let layer = candle_nn::group_norm(groups, channels, GN_EPS, vb.clone())?;
        Ok(Norm { layer, gamma: vb.get(channels, "weight")?, beta: vb.get(channels, "bias")?, groups })
    }

    fn plain(&self) -> Result<pass::Norm> {
        Ok(pass::Norm { gamma: self.gamma.to_vec1()?, beta: self.beta.to_vec1()?, groups: self.groups, eps: GN_EPS })
    }
}

impl Block {
    fn new(cin: usize, cout: usize, groups: usize, vb: VarBuilder) -> Result<Self> {
        let same = Conv2dConfig { padding: 1, ..Default::default() };
        Ok(Block {
            conv1: candle_nn::conv2d(cin, cout, 3, same, vb.pp("conv1"))?,
            norm1: Norm::new(groups, cout, vb.pp("norm1"))?,
            conv2: candle_nn::conv2d(cout, cout, 3, same, vb.pp("conv2"))?,
            norm2: Norm::new(groups, cout, vb.pp("norm2"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.norm1.layer.forward(&conv(&self.conv1, x)?)?.relu()?;
        self.norm2.layer.forward(&conv(&self.conv2, &x)?)?.relu()
    }

    fn plain(&self) -> Result<Option<pass::Block>> {
        let (Some(conv1), Some(conv2)) = (plain_conv(&self.conv1)?, plain_conv(&self.conv2)?) else { return Ok(None) };
        Ok(Some(pass::Block { conv1, norm1: self.norm1.plain()?, conv2, norm2: self.norm2.plain()? }))
    }
}

/// A 3x3 convolution: the direct CPU kernel (`crate::kernels`, differentiable) when it
/// applies, Candle's conv2d otherwise; for training and inference alike.
fn conv(layer: &Conv2d, x: &Tensor) -> Result<Tensor> {
    if let Some(bias) = layer.bias() && let Some(y) = crate::kernels::conv3x3(x, layer.weight(), bias)? {
        return Ok(y);
    }
    layer.forward(x)
}

/// A 3x3 convolution's weights for the inference pass, if its kernel takes them.
fn plain_conv(layer: &Conv2d) -> Result<Option<pass::Conv>> {
    let (_, cin, kh, kw) = layer.weight().dims4()?;
    let Some(bias) = layer.bias() else { return Ok(None) };
    if (kh, kw) != (3, 3) || layer.weight().dtype() != DType::F32 {
        return Ok(None);
    }
    Ok(pass::Conv::new(&layer.weight().flatten_all()?.to_vec1()?, bias.to_vec1()?, cin))
}

struct Up {
    up: Conv2d,
    block: Block,
}

pub struct UNet {
    pub arch: Architecture,
    encoders: Vec<Block>,
    decoders: Vec<Up>,
    head: Conv2d,
    /// The CPU inference pass, built from these tensors on first use (`None` where its
    /// kernels do not take the layers, or off the CPU).
    pass: OnceLock<Option<Pass>>,
}

impl UNet {
    /// Builds the network, taking (or, with a `VarMap` builder, creating) its tensors.
    pub fn new(arch: &Architecture, vb: VarBuilder) -> Result<Self> {
        let same = Conv2dConfig { padding: 1, ..Default::default() };
        let mut encoders = Vec::new();
        for level in 0..=arch.depth {
            let cin = if level == 0 { arch.in_slices } else { arch.channels(level - 1) };
            encoders.push(Block::new(cin, arch.channels(level), arch.groups, vb.pp(format!("enc.{level}")))?);
        }
        let mut decoders = Vec::new();
        for level in 0..arch.depth {
            let vb = vb.pp(format!("dec.{level}"));
            let (c, below) = (arch.channels(level), arch.channels(level + 1));
            decoders.push(Up { up: candle_nn::conv2d(below, c, 3, same, vb.pp("up"))?, block: Block::new(2 * c, c, arch.groups, vb)? });
        }
        let head = candle_nn::conv2d(arch.channels(0), arch.classes.len(), 1, Default::default(), vb.pp("head"))?;
        Ok(UNet { arch: arch.clone(), encoders, decoders, head, pass: OnceLock::new() })
    }

    /// Loads safetensors weights for `arch`; errors name the file and the tensor.
    pub fn load(arch: &Architecture, weights: Vec<u8>, weights_path: &Path, device: &Device) -> std::result::Result<Self, String> {
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, device)
            .map_err(|e| format!("{}: not a readable safetensors file: {e}", weights_path.display()))?;
        UNet::new(arch, vb).map_err(|e| format!("{}: does not fit the architecture ({} channels, depth {}): {e}", weights_path.display(), arch.base_channels, arch.depth))
    }

    /// (batch, in_slices, h, w) normalised CT -> (batch, classes, h, w) logits.
    /// `h` and `w` must be multiples of 2^depth. Differentiable (training).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut skips = Vec::with_capacity(self.arch.depth);
        let mut h = x.clone();
        for (level, enc) in self.encoders.iter().enumerate() {
            h = if level > 0 { enc.forward(&h.max_pool2d(2)?)? } else { enc.forward(&h)? };
            if level < self.arch.depth {
                skips.push(h.clone());
            }
        }
        for level in (0..self.arch.depth).rev() {
            let skip = &skips[level];
            let (_, _, sh, sw) = skip.dims4()?;
            let up = conv(&self.decoders[level].up, &h.upsample_nearest2d(sh, sw)?)?.relu()?;
            h = self.decoders[level].block.forward(&Tensor::cat(&[skip, &up], 1)?)?;
        }
        self.head.forward(&h)
    }

    /// Inference: `input` as (batch, in_slices, h, w) normalised CT on `device`, the
    /// softmax of the logits as `[batch][class][h][w]`. On the CPU the plain-buffer pass
    /// (`crate::kernels::pass`), elsewhere Candle's ops. `scratch` holds buffers for the
    /// next call: keep one for the passes over a volume, drop it after.
    pub fn probabilities(&self, input: Vec<f32>, (b, h, w): (usize, usize, usize), device: &Device, scratch: &mut Scratch) -> Result<Vec<f32>> {
        if device.is_cpu() && let Some(pass) = self.pass() && pass.takes(h, w) && input.len() == b * self.arch.in_slices * h * w {
            return Ok(pass.probabilities(&input, [b, h, w], scratch));
        }
        let x = Tensor::from_vec(input, (b, self.arch.in_slices, h, w), device)?;
        candle_nn::ops::softmax(&self.forward(&x)?, 1)?.to_device(&Device::Cpu)?.flatten_all()?.to_vec1()
    }

    fn pass(&self) -> Option<&Pass> {
        self.pass
            .get_or_init(|| {
                let plain = || -> Result<Option<pass::Weights>> {
                    if !self.head.weight().device().is_cpu() || self.head.weight().dtype() != DType::F32 {
                        return Ok(None);
                    }
                    let mut encoders = Vec::new();
                    for e in &self.encoders {
                        let Some(b) = e.plain()? else { return Ok(None) };
                        encoders.push(b);
                    }
                    let mut decoders = Vec::new();
                    for d in &self.decoders {
                        let (Some(up), Some(b)) = (plain_conv(&d.up)?, d.block.plain()?) else { return Ok(None) };
                        decoders.push((up, b));
                    }
                    let Some(bias) = self.head.bias() else { return Ok(None) };
                    Ok(Some(pass::Weights { encoders, decoders, head: self.head.weight().flatten_all()?.to_vec1()?, head_bias: bias.to_vec1()? }))
                };
                plain().ok().flatten().map(Pass::new)
            })
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_nn::VarMap;

    #[test]
    fn shapes_and_round_trip_through_safetensors() {
        let arch = Architecture { base_channels: 4, groups: 2, depth: 2, tile: 32, overlap: 8, ..Default::default() };
        let varmap = VarMap::new();
        let net = UNet::new(&arch, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).unwrap();
        let x = Tensor::randn(0f32, 1.0, (2, arch.in_slices, 16, 24), &Device::Cpu).unwrap();
        let y = net.forward(&x).unwrap();
        assert_eq!(y.dims(), &[2, 4, 16, 24]);

        let dir = std::env::temp_dir().join(format!("isotherm-net-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.safetensors");
        varmap.save(&path).unwrap();
        let loaded = UNet::load(&arch, std::fs::read(&path).unwrap(), &path, &Device::Cpu).unwrap();
        let y2 = loaded.forward(&x).unwrap();
        let diff = (&y - y2).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert_eq!(diff, 0.0);
        // 4 channels: the CPU pass does not take them, Candle's ops give the probabilities.
        assert!(loaded.pass().is_none());
        let want = candle_nn::ops::softmax(&y, 1).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let got = loaded.probabilities(x.flatten_all().unwrap().to_vec1().unwrap(), (2, 16, 24), &Device::Cpu, &mut Scratch::default()).unwrap();
        assert_eq!(got, want);

        // The same file does not fit a wider network: the error names the file.
        let wider = Architecture { base_channels: 8, ..arch.clone() };
        let err = UNet::load(&wider, std::fs::read(&path).unwrap(), &path, &Device::Cpu).err().unwrap();
        assert!(err.contains("w.safetensors") && err.contains("does not fit"), "{err}");
        let err = UNet::load(&arch, b"not safetensors".to_vec(), &path, &Device::Cpu).err().unwrap();
        assert!(err.contains("not a readable safetensors"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn the_cpu_pass_gives_the_softmax_of_the_forward_pass() {
        let arch = Architecture { base_channels: 8, groups: 4, depth: 2, tile: 32, overlap: 8, ..Default::default() };
        let varmap = VarMap::new();
        let net = UNet::new(&arch, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).unwrap();
        // GroupNorm scales and shifts away from their initial 1 and 0, so a wrong
        // channel or group order shows.
        for (name, var) in varmap.data().lock().unwrap().iter() {
            if name.contains("norm") {
                let n = var.as_tensor().elem_count();
                let base = if name.ends_with("weight") { 1.0 } else { 0.0 };
                let values: Vec<f32> = (0..n).map(|i| base + 0.3 * ((i * 7 % 5) as f32 - 2.0)).collect();
                var.set(&Tensor::new(values, &Device::Cpu).unwrap()).unwrap();
            }
        }
        let x = Tensor::randn(0f32, 1.0, (3, arch.in_slices, 32, 40), &Device::Cpu).unwrap();
        assert!(net.pass().is_some_and(|p| p.takes(32, 40)), "the CPU pass takes these shapes");
        let mut scratch = Scratch::default();
        for (b, h, w) in [(3, 32, 40), (1, 16, 32), (3, 32, 40)] {
            // The second and third reuse the buffers of other sizes.
            let x = x.narrow(0, 0, b).unwrap().narrow(2, 0, h).unwrap().narrow(3, 0, w).unwrap().contiguous().unwrap();
            let want = candle_nn::ops::softmax(&net.forward(&x).unwrap(), 1).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let got = net.probabilities(x.flatten_all().unwrap().to_vec1().unwrap(), (b, h, w), &Device::Cpu, &mut scratch).unwrap();
            let diff = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(diff < 1e-5, "pass vs softmax(forward): {diff}");
        }
        // Rows too narrow at the deepest level for the kernels: not taken.
        assert!(!net.pass().unwrap().takes(32, 24));
    }

    #[test]
    fn architecture_checks_name_the_field() {
        let a = Architecture::default();
        assert_eq!(Architecture::from_toml(&a.to_toml()).unwrap(), a);
        let bad = Architecture { in_slices: 4, ..a.clone() };
        assert!(bad.check().unwrap_err().contains("in_slices"));
        let bad = Architecture { groups: 3, ..a.clone() };
        assert!(bad.check().unwrap_err().contains("groups"));
        assert!(Architecture::from_toml("architecture = 'unet-2.5d'\nfoo = 1").is_err());
    }
}
