//! Training on synthetic phantoms (`isotherm-segmentation train`).
//!
//! Each training seed gives two volumes: the pre-ablation CT (liver, tumours) and the
//! post-ablation CT (liver, residual tumour, ablation zone), generated at a grid size drawn
//! from the seed and brought to the working grid by the same code inference uses.
//! Augmentation: in-plane turns (+-12 deg), working spacing +-12 % (slices near the
//! working spacing kept as they are, as in inference), noise level of the generator
//! 8-18 HU, then per crop intensity scale and shift and extra noise.
//! Loss: cross-entropy plus soft Dice over the foreground classes (batch Dice), the usual
//! nnU-Net pairing, which keeps small tumours from being drowned by background.

use std::path::Path;
use std::time::Instant;

use candle_core::{D, DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use isotherm_phantom::{Config, Size, generate, labels, treatment_summary};
use rayon::prelude::*;

use crate::eval::is_training_seed;
use crate::net::{Architecture, UNet};
use crate::preprocess::{labels_to_working, stack, to_working, working_geometry, working_spacing};

/// Phantom label -> class index (vessels inside the liver are liver).
pub fn class_of_phantom_label(label: u16) -> u8 {
    match label {
        labels::LIVER | labels::VESSEL => 1,
        labels::TUMOUR => 2,
        labels::ABLATION_ZONE => 3,
        _ => 0,
    }
}

/// The grid size a seed's case is generated at: mostly the demo grid, some coarse, some
/// fine, so the network meets several native spacings.
pub fn size_for_seed(seed: u64) -> Size {
    match seed % 8 {
        0 | 1 | 2 | 3 => Size::Demo,
        4 | 5 => Size::Medium,
        6 => Size::Small,
        _ => Size::Full,
    }
}

/// One volume on its (augmented) working grid.
pub struct Sample {
    pub dims: [usize; 3],
    pub image: Vec<f32>,
    pub target: Vec<u8>,
    /// Voxel indices of tumour and zone, of the zone alone, and of liver: crop centres
    /// are drawn from these.
    pub lesion: Vec<u32>,
    pub zone: Vec<u32>,
    pub liver: Vec<u32>,
}

/// Tiny portable PRNG (splitmix64), so a training run is reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-12), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Tumour radii of a "small lesions" case, mm: its ablation zone (tumour plus a margin
/// of -3 to 9 mm, at least 2 cm across) is then often under 10 ml, the zones the
/// network misses most.
pub const SMALL_TUMOUR_RADIUS_MM: (f64, f64) = (4.0, 9.0);

/// The generator settings of a training seed: its grid size, and small tumours for a
/// share `small_tumours` of the seeds (drawn from the seed alone, so the other seeds'
/// augmentation stays what earlier runs had).
pub fn config_for_seed(seed: u64, small_tumours: f64) -> Config {
    let mut config = Config::new(seed, size_for_seed(seed));
    if Rng::new(seed ^ 0x5EED).uniform() < small_tumours {
        (config.min_radius, config.max_radius) = SMALL_TUMOUR_RADIUS_MM;
    }
    config
}

/// Above this [`TreatmentSummary::under_treatment_mm`] a seed's post-ablation scan shows
/// its zone inside the tumour: the case the network took for one tumour as a whole.
pub const UNDER_TREATED_MM: f64 = 1.5;

/// The training seeds up to 3999 whose zone sits inside an under-treated tumour, as
/// generated with `small_tumours`: found from the plans alone, nothing is rendered.
/// About one seed in 35 qualifies, too few among 100-999 alone.
pub fn under_treated_seeds(small_tumours: f64) -> Vec<u64> {
    (100..=3999).filter(|&seed| is_training_seed(seed)).filter(|&seed| treatment_summary(&config_for_seed(seed, small_tumours)).under_treatment_mm() > UNDER_TREATED_MM).collect()
}

/// Generates the training volumes for `seeds` (pre and post per seed); a share
/// `small_tumours` of the seeds draws its tumours from [`SMALL_TUMOUR_RADIUS_MM`].
pub fn make_samples(arch: &Architecture, seeds: &[u64], small_tumours: f64, log: &(dyn Fn(String) + Sync)) -> Vec<Sample> {
    seeds
        .par_iter()
        .flat_map_iter(|&seed| {
            let mut rng = Rng::new(seed.wrapping_mul(7919));
            let mut config = config_for_seed(seed, small_tumours);
            config.noise_hu = rng.range(8.0, 18.0);
            let case = generate(&config);
            let mut out = Vec::new();
            for (ct, labels) in [(&case.pre_ct, &case.pre_labels), (&case.post_ct, &case.post_labels)] {
                let jitter = rng.range(0.88, 1.12);
                let nominal = arch.working_spacing_mm;
                let spacing = working_spacing(nominal.map(|s| s * jitter), nominal[2], ct.geometry.spacing[2]);
                let working = working_geometry(&ct.geometry, spacing, rng.range(-12.0, 12.0));
                let image = to_working(&ct.data, &ct.geometry, &working, arch);
                let classes: Vec<u8> = labels.labels.iter().map(|&l| class_of_phantom_label(l)).collect();
                let target = labels_to_working(&classes, &ct.geometry, &working);
                let lesion = (0..target.len() as u32).filter(|&n| target[n as usize] >= 2).collect();
                let zone = (0..target.len() as u32).filter(|&n| target[n as usize] == 3).collect();
                let liver = (0..target.len() as u32).filter(|&n| target[n as usize] == 1).step_by(7).collect();
                out.push(Sample { dims: working.dims_usize(), image, target, lesion, zone, liver });
            }
            log(format!("case {seed}: {:?} grid ready", config.size));
            out
        })
        .collect()
}

/// The share of crops centred on an ablation zone.
const ZONE_CROPS: f64 = 1.0 / 3.0;

/// A batch of random crops: (input, class targets, one-hot targets).
pub fn batch(samples: &[Sample], arch: &Architecture, size: usize, crop: usize, rng: &mut Rng, device: &Device) -> candle_core::Result<(Tensor, Tensor)> {
    let slices = arch.in_slices;
    let classes = arch.classes.len();
    let mut x = vec![0f32; size * slices * crop * crop];
    let mut onehot = vec![0f32; size * classes * crop * crop];
    let with_zone: Vec<usize> = (0..samples.len()).filter(|&i| !samples[i].zone.is_empty()).collect();
    for b in 0..size {
        // A third of the crops centre on an ablation zone: it is the rarest class, and
        // the one most easily taken for tumour (small zones especially).
        if !with_zone.is_empty() && rng.uniform() < ZONE_CROPS {
            let s = &samples[with_zone[rng.below(with_zone.len())]];
            let centre = s.zone[rng.below(s.zone.len())] as usize;
            crop_at(s, centre, arch, crop, rng, b, &mut x, &mut onehot);
            continue;
        }
        let s = &samples[rng.below(samples.len())];
        let [nx, ny, nz] = s.dims;
        // Centre on a lesion voxel half the time, on liver a third, anywhere otherwise.
        let r = rng.uniform();
        let centre = if r < 0.5 && !s.lesion.is_empty() {
            s.lesion[rng.below(s.lesion.len())] as usize
        } else if r < 0.83 && !s.liver.is_empty() {
            s.liver[rng.below(s.liver.len())] as usize
        } else {
            rng.below(nx * ny * nz)
        };
        crop_at(s, centre, arch, crop, rng, b, &mut x, &mut onehot);
    }
    Ok((Tensor::from_vec(x, (size, slices, crop, crop), device)?, Tensor::from_vec(onehot, (size, classes, crop, crop), device)?))
}

/// Writes crop number `b` around `centre` (jittered) with its intensity augmentation into
/// the batch's input and one-hot buffers.
#[allow(clippy::too_many_arguments)]
fn crop_at(s: &Sample, centre: usize, arch: &Architecture, crop: usize, rng: &mut Rng, b: usize, x: &mut [f32], onehot: &mut [f32]) {
    let (slices, classes) = (arch.in_slices, arch.classes.len());
    let [nx, ny, _] = s.dims;
    let (ci, cj, k) = (centre % nx, (centre / nx) % ny, centre / (nx * ny));
    let jitter = crop as isize / 3;
    let x0 = ci as isize - crop as isize / 2 + (rng.below(2 * jitter as usize + 1) as isize - jitter);
    let y0 = cj as isize - crop as isize / 2 + (rng.below(2 * jitter as usize + 1) as isize - jitter);
    let xb = &mut x[b * slices * crop * crop..(b + 1) * slices * crop * crop];
    stack(&s.image, s.dims, k, slices, x0, y0, crop, crop, xb);
    // Intensity: scale, shift (about +-16 HU) and extra noise, in normalised units.
    let (scale, shift, noise) = (rng.range(0.9, 1.1) as f32, rng.range(-0.08, 0.08) as f32, rng.range(0.0, 0.06) as f32);
    for v in xb.iter_mut() {
        *v = *v * scale + shift + noise * rng.normal() as f32;
    }
    let plane = &s.target[k * nx * ny..(k + 1) * nx * ny];
    for y in 0..crop {
        for xx in 0..crop {
            let (i, j) = (x0 + xx as isize, y0 + y as isize);
            let c = if i < 0 || j < 0 || i >= nx as isize || j >= ny as isize { 0 } else { plane[i as usize + nx * j as usize] as usize };
            onehot[((b * classes + c) * crop + y) * crop + xx] = 1.0;
        }
    }
}

/// Cross-entropy plus (1 - mean soft Dice of the foreground classes).
pub fn loss(logits: &Tensor, onehot: &Tensor) -> candle_core::Result<(Tensor, f32, f32)> {
    let log_p = candle_nn::ops::log_softmax(logits, 1)?;
    let ce = (log_p.mul(onehot)?.sum(1)?.mean_all()? * -1.0)?;
    let p = log_p.exp()?;
    let sum_over = |t: &Tensor| -> candle_core::Result<Tensor> { t.sum(0)?.sum(D::Minus1)?.sum(D::Minus1) };
    let inter = sum_over(&p.mul(onehot)?)?;
    let denom = (sum_over(&p)? + sum_over(onehot)?)?;
    let dice = ((inter * 2.0)? + 1.0)?.div(&(denom + 1.0)?)?;
    let classes = dice.dim(0)?;
    let fg_dice = dice.narrow(0, 1, classes - 1)?.mean_all()?;
    let total = (&ce + (1.0 - &fg_dice)?)?;
    let (ce_v, dice_v) = (ce.to_scalar::<f32>()?, fg_dice.to_scalar::<f32>()?);
    Ok((total, ce_v, dice_v))
}

pub struct TrainOptions {
    pub arch: Architecture,
    pub seeds: Vec<u64>,
    pub steps: usize,
    pub batch: usize,
    pub crop: usize,
    pub learning_rate: f64,
    pub seed: u64,
    /// The share of seeds generated with small tumours (and so small ablation zones).
    pub small_tumours: f64,
    /// Start from these weights instead of from scratch (see [`load_init`]).
    pub init: Option<std::path::PathBuf>,
}

/// Trains a network from scratch; returns its variables. `log` receives progress lines;
/// `checkpoint` is called every 100 steps and at the end.
pub fn train(opts: &TrainOptions, log: &(dyn Fn(String) + Sync), checkpoint: &dyn Fn(&VarMap, usize)) -> candle_core::Result<VarMap> {
    let device = Device::Cpu;
    let start = Instant::now();
    let samples = make_samples(&opts.arch, &opts.seeds, opts.small_tumours, log);
    log(format!("{} training volumes in {:.1} s", samples.len(), start.elapsed().as_secs_f64()));
    let varmap = VarMap::new();
    let net = UNet::new(&opts.arch, VarBuilder::from_varmap(&varmap, DType::F32, &device))?;
    if let Some(init) = &opts.init {
        load_init(&varmap, init, &device)?;
        log(format!("starting from {}", init.display()));
    }
    let params = ParamsAdamW { lr: opts.learning_rate, weight_decay: 1e-4, ..Default::default() };
    let mut optimiser = AdamW::new(varmap.all_vars(), params)?;
    let mut rng = Rng::new(opts.seed);
    let (mut ce_avg, mut dice_avg) = (0.0f32, 0.0f32);
    let t0 = Instant::now();
    for step in 1..=opts.steps {
        // Cosine decay to 5 % of the initial rate, after a short warm-up.
        let progress = step as f64 / opts.steps as f64;
        let warm = (step as f64 / 20.0).min(1.0);
        optimiser.set_learning_rate(opts.learning_rate * warm * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())));
        let (x, onehot) = batch(&samples, &opts.arch, opts.batch, opts.crop, &mut rng, &device)?;
        let logits = net.forward(&x)?;
        let (total, ce, dice) = loss(&logits, &onehot)?;
        optimiser.backward_step(&total)?;
        ce_avg = if step == 1 { ce } else { 0.9 * ce_avg + 0.1 * ce };
        dice_avg = if step == 1 { dice } else { 0.9 * dice_avg + 0.1 * dice };
        if step % 10 == 0 || step == opts.steps {
            let per = t0.elapsed().as_secs_f64() / step as f64;
            log(format!("step {step}/{}: cross-entropy {ce_avg:.4}, foreground Dice {dice_avg:.3} ({per:.2} s/step)", opts.steps));
        }
        if step % 100 == 0 || step == opts.steps {
            checkpoint(&varmap, step);
        }
    }
    Ok(varmap)
}

/// Starts `varmap` from earlier weights. Every tensor must match in shape, except that the
/// first convolution may see more neighbouring slices than the weights were trained on:
/// the old kernel goes to the middle slices and the new outer slices start at zero, so the
/// widened network computes exactly what the old one did until training moves it.
pub fn load_init(varmap: &VarMap, path: &Path, device: &Device) -> candle_core::Result<()> {
    let saved = candle_core::safetensors::load(path, device)?;
    let vars = varmap.data().lock().expect("the variable map's lock is never poisoned");
    for (name, var) in vars.iter() {
        let old = saved.get(name).ok_or_else(|| candle_core::Error::Msg(format!("{}: no tensor '{name}'", path.display())))?;
        let (want, have) = (var.dims().to_vec(), old.dims().to_vec());
        let value = if want == have {
            old.clone()
        } else if name == "enc.0.conv1.weight" && want.len() == 4 && have.len() == 4 && want[0] == have[0] && want[2..] == have[2..] && want[1] > have[1] && (want[1] - have[1]) % 2 == 0 {
            let side = (want[1] - have[1]) / 2;
            let zeros = Tensor::zeros((want[0], side, want[2], want[3]), old.dtype(), device)?;
            Tensor::cat(&[&zeros, old, &zeros], 1)?
        } else {
            return Err(candle_core::Error::Msg(format!("{}: tensor '{name}' is {have:?}, the network needs {want:?}", path.display())));
        };
        var.set(&value)?;
    }
    Ok(())
}

/// Writes the architecture next to the weights.
pub fn save(varmap: &VarMap, arch: &Architecture, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    varmap.save(dir.join("unet.safetensors")).map_err(|e| format!("{}: {e}", dir.join("unet.safetensors").display()))?;
    std::fs::write(dir.join("unet.toml"), arch.to_toml()).map_err(|e| format!("{}: {e}", dir.join("unet.toml").display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_steps_reduce_the_loss_on_a_small_phantom() {
        // Training works end to end: data, crops, loss, gradients, optimiser.
        let arch = Architecture { base_channels: 4, groups: 2, depth: 2, tile: 32, overlap: 8, working_spacing_mm: [4.0, 4.0, 5.0], ..Default::default() };
        let samples = make_samples(&arch, &[6], 0.0, &|_| {});
        assert_eq!(samples.len(), 2);
        assert!(samples.iter().all(|s| !s.lesion.is_empty() && !s.liver.is_empty()));
        let varmap = VarMap::new();
        let net = UNet::new(&arch, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).unwrap();
        let mut opt = AdamW::new(varmap.all_vars(), ParamsAdamW { lr: 1e-2, ..Default::default() }).unwrap();
        let mut rng = Rng::new(1);
        let (x, onehot) = batch(&samples, &arch, 4, 32, &mut rng, &Device::Cpu).unwrap();
        let first = loss(&net.forward(&x).unwrap(), &onehot).unwrap().0.to_scalar::<f32>().unwrap();
        for _ in 0..30 {
            let (total, _, _) = loss(&net.forward(&x).unwrap(), &onehot).unwrap();
            opt.backward_step(&total).unwrap();
        }
        let last = loss(&net.forward(&x).unwrap(), &onehot).unwrap().0.to_scalar::<f32>().unwrap();
        assert!(last < 0.7 * first, "loss {first} -> {last}");
    }

    #[test]
    fn a_network_widened_to_more_slices_starts_out_computing_the_same() {
        let narrow = Architecture { base_channels: 4, groups: 2, depth: 2, tile: 32, overlap: 8, ..Default::default() };
        let wide = Architecture { in_slices: narrow.in_slices + 2, ..narrow.clone() };
        let dir = std::env::temp_dir().join(format!("isotherm-widen-{}", std::process::id()));
        let varmap = VarMap::new();
        let net = UNet::new(&narrow, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).unwrap();
        save(&varmap, &narrow, &dir).unwrap();
        let wide_vars = VarMap::new();
        let wide_net = UNet::new(&wide, VarBuilder::from_varmap(&wide_vars, DType::F32, &Device::Cpu)).unwrap();
        load_init(&wide_vars, &dir.join("unet.safetensors"), &Device::Cpu).unwrap();
        let x = Tensor::randn(0f32, 1.0, (2, wide.in_slices, 32, 32), &Device::Cpu).unwrap();
        let centre = x.narrow(1, 1, narrow.in_slices).unwrap();
        let diff = (net.forward(&centre).unwrap() - wide_net.forward(&x).unwrap()).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-5, "widened network differs by {diff}");
        // Anything else that does not fit is refused, naming the file and the tensor.
        let other = VarMap::new();
        UNet::new(&Architecture { base_channels: 8, ..narrow }, VarBuilder::from_varmap(&other, DType::F32, &Device::Cpu)).unwrap();
        let err = load_init(&other, &dir.join("unet.safetensors"), &Device::Cpu).unwrap_err().to_string();
        assert!(err.contains("unet.safetensors") && err.contains("the network needs"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_share_of_seeds_gets_small_tumours() {
        let small = |share: f64| (100..500u64).filter(|&s| config_for_seed(s, share).max_radius == SMALL_TUMOUR_RADIUS_MM.1).count();
        assert_eq!(small(0.0), 0);
        assert_eq!(small(1.0), 400);
        let half = small(0.5);
        assert!((160..240).contains(&half), "{half} of 400 seeds");
        // Without the option a seed is generated as before it existed.
        let plain = config_for_seed(123, 0.0);
        assert_eq!((plain.min_radius, plain.max_radius), (Config::new(123, Size::Demo).min_radius, Config::new(123, Size::Demo).max_radius));
    }
}
