//! Training and evaluation of the segmentation network on synthetic phantoms.
//!
//!     cargo run --release -p isotherm-segmentation-core -- train --out assets/models/segmentation
//!     cargo run --release -p isotherm-segmentation-core -- eval --model assets/models/segmentation

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use isotherm_segmentation_core::net::Architecture;
use isotherm_segmentation_core::train::{self, TrainOptions};
use isotherm_segmentation_core::{eval as scoring, model};

#[derive(Parser)]
#[command(about = "Train and evaluate Isotherm's segmentation network on synthetic phantoms")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train from scratch on phantom seeds (kept apart from the evaluation seeds).
    Train {
        /// Folder for unet.safetensors and unet.toml.
        #[arg(long)]
        out: PathBuf,
        /// First and last training seed (inclusive).
        #[arg(long, default_value_t = 100)]
        first_seed: u64,
        #[arg(long, default_value_t = 131)]
        last_seed: u64,
        #[arg(long, default_value_t = 600)]
        steps: usize,
        #[arg(long, default_value_t = 12)]
        batch: usize,
        #[arg(long, default_value_t = 128)]
        crop: usize,
        #[arg(long, default_value_t = 3e-3)]
        learning_rate: f64,
        #[arg(long, default_value_t = 8)]
        base_channels: usize,
        /// Neighbouring axial slices the network sees (odd).
        #[arg(long, default_value_t = Architecture::default().in_slices)]
        in_slices: usize,
        /// The share of training seeds generated with small tumours (radius 4-9 mm), whose
        /// ablation zones are often under 10 ml.
        #[arg(long, default_value_t = 0.0)]
        small_tumours: f64,
        /// Continue from these weights instead of starting from scratch (the same
        /// architecture, or one that sees more slices: the new ones start at zero).
        #[arg(long)]
        init: Option<PathBuf>,
        /// Also train on every other training seed whose ablation zone sits inside an
        /// under-treated tumour (the hardest zones to tell from tumour).
        #[arg(long)]
        under_treated: bool,
    },
    /// Score a trained network on held-out phantom seeds and print the table.
    Eval {
        /// Folder with unet.toml and unet.safetensors.
        #[arg(long, default_value = "assets/models/segmentation")]
        model: PathBuf,
        /// Number of held-out cases.
        #[arg(long, default_value_t = scoring::FIRST_TEST_SEED - scoring::FIRST_EVAL_SEED)]
        cases: u64,
        /// The first held-out seed: 1000-1079 validate candidate weights, 1080 on test
        /// the shipped ones.
        #[arg(long, default_value_t = scoring::FIRST_EVAL_SEED)]
        first_seed: u64,
        /// Grid size of the generated cases: small, demo, medium, full.
        #[arg(long, default_value = "demo")]
        size: String,
        /// Also write the table to this file.
        #[arg(long)]
        table: Option<PathBuf>,
    },
    /// Time inference on one generated case and write what bench/segmentation.sh needs to
    /// time the same network in PyTorch (the forward passes and a probe input/output).
    Bench {
        #[arg(long, default_value = "assets/models/segmentation")]
        model: PathBuf,
        #[arg(long, default_value = "full")]
        size: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value = "auto")]
        device: String,
        #[arg(long, default_value_t = 8)]
        batch: usize,
        #[arg(long, default_value = "bench/out-segmentation")]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train { out, first_seed, last_seed, steps, batch, crop, learning_rate, base_channels, in_slices, small_tumours, init, under_treated } => {
            let arch = Architecture { base_channels, in_slices, ..Default::default() };
            if let Err(e) = arch.check() {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
            if first_seed > last_seed || !(first_seed..=last_seed).all(scoring::is_training_seed) {
                eprintln!("error: training seeds {first_seed}-{last_seed}: they must be at least 100 and avoid {:?}, held out for evaluation", scoring::HELD_OUT_SEEDS);
                return ExitCode::FAILURE;
            }
            let mut seeds: Vec<u64> = (first_seed..=last_seed).collect();
            if under_treated {
                let extra: Vec<u64> = train::under_treated_seeds(small_tumours).into_iter().filter(|s| !seeds.contains(s)).collect();
                eprintln!("adding {} seeds with the zone inside an under-treated tumour", extra.len());
                seeds.extend(extra);
            }
            let opts = TrainOptions { arch: arch.clone(), seeds, steps, batch, crop, learning_rate, seed: 42, small_tumours, init };
            let log = |line: String| eprintln!("{line}");
            let checkpoint = |vm: &candle_nn::VarMap, step: usize| {
                if let Err(e) = train::save(vm, &arch, &out) {
                    eprintln!("checkpoint at step {step} failed: {e}");
                }
            };
            train::train(&opts, &log, &checkpoint).map(|_| ()).map_err(|e| e.to_string())
        }
        Command::Eval { model, cases, first_seed, size, table } => eval(&model, first_seed, cases, &size, table.as_deref()),
        Command::Bench { model, size, seed, device, batch, out } => bench(&model, &size, seed, &device, batch, &out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn eval(dir: &std::path::Path, first_seed: u64, cases: u64, size: &str, table: Option<&std::path::Path>) -> Result<(), String> {
    if first_seed < scoring::FIRST_EVAL_SEED {
        return Err(format!("seed {first_seed} is a training seed; held-out seeds start at {}", scoring::FIRST_EVAL_SEED));
    }
    let size = isotherm_phantom::Size::parse(size).ok_or_else(|| format!("unknown size '{size}' (small, demo, medium, full)"))?;
    let device = model::device("auto")?;
    let net = model::load(&dir.join("unet.toml"), "", &dir.join("unet.safetensors"), "", &device)?;
    let set = if first_seed >= scoring::FIRST_TEST_SEED { "test" } else if first_seed + cases <= scoring::FIRST_TEST_SEED { "validation" } else { "validation and test" };
    eprintln!("seeds {first_seed}-{}: the {set} set", first_seed + cases - 1);
    let mut scores = Vec::new();
    for seed in first_seed..first_seed + cases {
        let case = isotherm_phantom::generate(&isotherm_phantom::Config::new(seed, size));
        let s = scoring::score(&net, &device, &case, seed)?;
        eprintln!("seed {seed}: liver {:.3}/{:.3}, tumour {:.3}, found {}/{}, fp {}, zone {:.3} ({:.1} s)", s.liver_dice_pre, s.liver_dice_post, s.tumour_dice, s.found, s.lesions, s.false_positives, s.zone_dice, s.seconds);
        scores.push(s);
    }
    let text = scoring::table(&scores);
    println!("{text}");
    if let Some(path) = table {
        std::fs::write(path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn bench(dir: &std::path::Path, size: &str, seed: u64, device: &str, batch: usize, out: &std::path::Path) -> Result<(), String> {
    use candle_core::Tensor;
    use isotherm_segmentation_core::{infer, preprocess};
    let size = isotherm_phantom::Size::parse(size).ok_or_else(|| format!("unknown size '{size}'"))?;
    let device = model::device(device)?;
    let net = model::load(&dir.join("unet.toml"), "", &dir.join("unet.safetensors"), "", &device)?;
    let case = isotherm_phantom::generate(&isotherm_phantom::Config::new(seed, size));
    let ct = &case.pre_ct;
    let never = |_: f64| true;
    let _warm = infer::predict(&net, &isotherm_phantom::generate(&isotherm_phantom::Config::new(seed, isotherm_phantom::Size::Small)).pre_ct, &device, batch, &never);
    let mut runs = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let p = infer::predict(&net, ct, &device, batch, &never).map_err(|e| format!("{e:?}"))?;
        let _classes = p.classes_on(&ct.geometry);
        runs.push((started.elapsed().as_secs_f64(), p.network_seconds));
        last = Some(p);
    }
    let p = last.unwrap();
    let dims = ct.geometry.dims;
    for (total, network) in &runs {
        println!("{}x{}x{} on {:?}: {total:.2} s in all, {network:.2} s in the network ({} passes)", dims[0], dims[1], dims[2], device, p.passes.len());
    }
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let best = runs.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
    let passes: Vec<String> = p.passes.iter().map(|q| format!("[{}, {}, {}]", q[0], q[1], q[2])).collect();
    let plan = format!("{{\"dims\": {dims:?}, \"device\": \"{device:?}\", \"candle_network_seconds\": {best}, \"passes\": [{}]}}\n", passes.join(", "));
    std::fs::write(out.join("plan.json"), plan).map_err(|e| e.to_string())?;
    // A probe: one real input tile and the network's logits, to check PyTorch computes the same.
    let arch = &net.arch;
    let working = preprocess::inference_geometry(&ct.geometry, arch);
    let image = preprocess::to_working(&ct.data, &ct.geometry, &working, arch);
    let (tile, k) = (64usize, working.dims[2] as usize / 2);
    let mut input = vec![0f32; 2 * arch.in_slices * tile * tile];
    let wdims = working.dims_usize();
    for b in 0..2 {
        let n = arch.in_slices * tile * tile;
        preprocess::stack(&image, wdims, k + b, arch.in_slices, (wdims[0] / 2) as isize - 32, (wdims[1] / 2) as isize - 32, tile, tile, &mut input[b * n..(b + 1) * n]);
    }
    let x = Tensor::from_vec(input, (2, arch.in_slices, tile, tile), &candle_core::Device::Cpu).map_err(|e| e.to_string())?;
    let cpu_net = model::load(&dir.join("unet.toml"), "", &dir.join("unet.safetensors"), "", &candle_core::Device::Cpu)?;
    let y = cpu_net.forward(&x).map_err(|e| e.to_string())?;
    // And the probabilities from the same inference pass as timed above.
    let p = cpu_net.probabilities(x.flatten_all().and_then(|x| x.to_vec1()).map_err(|e| e.to_string())?, (2, tile, tile), &candle_core::Device::Cpu, &mut Default::default()).map_err(|e| e.to_string())?;
    let p = Tensor::from_vec(p, y.shape(), &candle_core::Device::Cpu).map_err(|e| e.to_string())?;
    let tensors = std::collections::HashMap::from([("input".to_string(), x), ("logits".to_string(), y), ("probabilities".to_string(), p)]);
    candle_core::safetensors::save(&tensors, out.join("probe.safetensors")).map_err(|e| e.to_string())?;
    println!("wrote {}/plan.json and probe.safetensors", out.display());
    Ok(())
}
