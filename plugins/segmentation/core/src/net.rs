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

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, GroupNorm, VarBuilder};
use serde::{Deserialize, Serialize};

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

/// GroupNorm with its scale and shift kept at hand for the fused inference kernel
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

    /// `relu(group_norm(x))`.
    fn forward_relu(&self, x: &Tensor, fast: bool) -> Result<Tensor> {
        if fast && let Some(y) = crate::kernels::group_norm_relu(x, &self.gamma, &self.beta, self.groups, GN_EPS)? {
            return Ok(y);
        }
        self.layer.forward(x)?.relu()
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

    fn forward(&self, x: &Tensor, fast: bool) -> Result<Tensor> {
        self.rest(conv(&self.conv1, x)?, fast)
    }

    /// After a 2x2 max pooling (the encoder's way down).
    fn forward_pooled(&self, x: &Tensor, fast: bool) -> Result<Tensor> {
        if fast && let Some(bias) = self.conv1.bias() && let Some(y) = crate::kernels::conv3x3_pooled(x, self.conv1.weight(), bias)? {
            return self.rest(y, fast);
        }
        self.forward(&x.max_pool2d(2)?, fast)
    }

    /// On `cat([skip, up], 1)` (the decoder's skip connection).
    fn forward_cat(&self, skip: &Tensor, up: &Tensor, fast: bool) -> Result<Tensor> {
        if fast && let Some(bias) = self.conv1.bias() && let Some(y) = crate::kernels::conv3x3_cat(skip, up, self.conv1.weight(), bias)? {
            return self.rest(y, fast);
        }
        self.forward(&Tensor::cat(&[skip, up], 1)?, fast)
    }

    /// Everything after the first convolution.
    fn rest(&self, y: Tensor, fast: bool) -> Result<Tensor> {
        let x = self.norm1.forward_relu(&y, fast)?;
        self.norm2.forward_relu(&conv(&self.conv2, &x)?, fast)
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

/// Nearest upsampling to `size`, then a 3x3 convolution: fused into one kernel for
/// inference when the step is exactly 2x.
fn up_conv(layer: &Conv2d, x: &Tensor, (h, w): (usize, usize), fast: bool) -> Result<Tensor> {
    let (_, _, xh, xw) = x.dims4()?;
    if fast && (h, w) == (2 * xh, 2 * xw) && let Some(bias) = layer.bias() && let Some(y) = crate::kernels::conv3x3_upsampled(x, layer.weight(), bias)? {
        return Ok(y);
    }
    conv(layer, &x.upsample_nearest2d(h, w)?)
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
        Ok(UNet { arch: arch.clone(), encoders, decoders, head })
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
        self.run(x, false)
    }

    /// The same logits for inference: also the forward-only fused kernels.
    pub fn infer(&self, x: &Tensor) -> Result<Tensor> {
        self.run(x, true)
    }

    fn run(&self, x: &Tensor, fast: bool) -> Result<Tensor> {
        let mut skips = Vec::with_capacity(self.arch.depth);
        let mut h = x.clone();
        for (level, enc) in self.encoders.iter().enumerate() {
            h = if level > 0 { enc.forward_pooled(&h, fast)? } else { enc.forward(&h, fast)? };
            if level < self.arch.depth {
                skips.push(h.clone());
            }
        }
        for level in (0..self.arch.depth).rev() {
            let skip = &skips[level];
            let (_, _, sh, sw) = skip.dims4()?;
            let up = up_conv(&self.decoders[level].up, &h, (sh, sw), fast)?.relu()?;
            h = self.decoders[level].block.forward_cat(skip, &up, fast)?;
        }
        self.head.forward(&h)
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
        // Inference through the direct kernels gives the same logits.
        let y3 = loaded.infer(&x).unwrap();
        let diff = (&y - y3).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-4, "infer vs forward: {diff}");

        // The same file does not fit a wider network: the error names the file.
        let wider = Architecture { base_channels: 8, ..arch.clone() };
        let err = UNet::load(&wider, std::fs::read(&path).unwrap(), &path, &Device::Cpu).err().unwrap();
        assert!(err.contains("w.safetensors") && err.contains("does not fit"), "{err}");
        let err = UNet::load(&arch, b"not safetensors".to_vec(), &path, &Device::Cpu).err().unwrap();
        assert!(err.contains("not a readable safetensors"), "{err}");
        std::fs::remove_dir_all(dir).ok();
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
