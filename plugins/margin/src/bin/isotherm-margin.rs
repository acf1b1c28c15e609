//! Registration benchmark (`isotherm margin bench-registration`): generates a phantom
//! pair with a known deformation, registers it with `register` (truth liver masks and
//! zone, so that only the registration is timed), reports landmark TRE and time, and
//! writes the images as raw float32 + JSON for the peers in bench/registration_peers.py.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use isotherm_margin::register::{Settings, register};
use isotherm_phantom::{Config, Size, generate, labels};
use isotherm_sdk::abi::Geometry;

#[derive(Parser)]
#[command(name = "isotherm margin")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    BenchRegistration {
        #[arg(long, default_value_t = 5)]
        seed: u64,
        /// small, demo, medium (256 x 256 x 128) or full.
        #[arg(long, default_value = "medium")]
        size: String,
        #[arg(long, default_value = "bench/out-registration")]
        out: PathBuf,
    },
    /// Time the SDK's exact Euclidean distance transform on a clinical-size mask and write
    /// the mask and distances for bench/edt_peers.py.
    BenchEdt {
        #[arg(long, default_value = "bench/out-edt")]
        out: PathBuf,
    },
}

fn write_raw(path: &Path, data: &[f32]) -> Result<(), String> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn geometry_json(g: &Geometry) -> String {
    format!("{{\"dims\": {:?}, \"spacing\": {:?}, \"origin\": {:?}, \"direction\": {:?}}}", g.dims, g.spacing, g.origin, g.direction)
}

fn bench_edt(out: &Path) -> Result<(), String> {
    use isotherm_sdk::volume::edt;
    // 512 x 512 x 100 at 0.8 x 0.8 x 2.5 mm: a liver-sized ellipsoid with two holes.
    let dims = [512usize, 512, 100];
    let spacing = [0.8, 0.8, 2.5];
    let mut mask = vec![false; dims.iter().product()];
    for k in 0..dims[2] {
        for j in 0..dims[1] {
            for i in 0..dims[0] {
                let p = [i as f64 * spacing[0] - 200.0, j as f64 * spacing[1] - 210.0, k as f64 * spacing[2] - 120.0];
                let e = (p[0] / 110.0).powi(2) + (p[1] / 80.0).powi(2) + (p[2] / 90.0).powi(2);
                let hole = ((p[0] - 30.0).powi(2) + p[1].powi(2) + p[2].powi(2)).sqrt() < 20.0 || ((p[0] + 50.0).powi(2) + (p[1] - 20.0).powi(2) + (p[2] - 30.0).powi(2)).sqrt() < 12.0;
                mask[i + dims[0] * (j + dims[1] * k)] = e <= 1.0 && !hole;
            }
        }
    }
    let mut best = f64::INFINITY;
    let mut d = Vec::new();
    for _ in 0..3 {
        let started = std::time::Instant::now();
        d = edt::distance_to(&mask, dims, spacing);
        best = best.min(started.elapsed().as_secs_f64());
    }
    println!("Isotherm EDT (distance to the mask, exact, anisotropic): {}x{}x{} in {best:.3} s (best of 3, {} threads)", dims[0], dims[1], dims[2], rayon_threads());
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    std::fs::write(out.join("mask.raw"), mask.iter().map(|&m| m as u8).collect::<Vec<u8>>()).map_err(|e| e.to_string())?;
    write_raw(&out.join("isotherm.raw"), &d)?;
    std::fs::write(out.join("case.json"), format!("{{\"dims\": {dims:?}, \"spacing\": {spacing:?}, \"seconds\": {best}}}\n")).map_err(|e| e.to_string())
}

fn rayon_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn main() -> ExitCode {
    let (seed, size, out) = match Cli::parse().command {
        Command::BenchRegistration { seed, size, out } => (seed, size, out),
        Command::BenchEdt { out } => {
            return match bench_edt(&out) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            };
        }
    };
    let Some(size) = Size::parse(&size) else {
        eprintln!("error: unknown size");
        return ExitCode::from(2);
    };
    let case = generate(&Config::new(seed, size));
    let pre_liver: Vec<bool> = case.pre_labels.labels.iter().map(|&l| l != 0).collect();
    let post_liver: Vec<bool> = case.post_labels.labels.iter().map(|&l| l != 0).collect();
    let zone: Vec<bool> = case.post_labels.labels.iter().map(|&l| l == labels::ABLATION_ZONE).collect();
    let err = |p: [f64; 3], q: [f64; 3]| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt();
    let lm = &case.truth.landmarks;
    let before = lm.iter().map(|l| err(l.pre_mm, l.post_mm)).sum::<f64>() / lm.len() as f64;
    let mut best = f64::INFINITY;
    let mut tre = 0.0;
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let reg = match register(&case.pre_ct, &case.post_ct, &pre_liver, &post_liver, &zone, &Settings::default(), &|_| true) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        best = best.min(started.elapsed().as_secs_f64());
        tre = lm.iter().map(|l| err(reg.map(l.pre_mm), l.post_mm)).sum::<f64>() / lm.len() as f64;
    }
    let d = case.pre_ct.geometry.dims;
    println!("Isotherm (Candle, CPU): {}x{}x{}, {} landmarks: TRE {before:.2} mm -> {tre:.2} mm in {best:.2} s (best of 3)", d[0], d[1], d[2], lm.len());
    let result = (|| -> Result<(), String> {
        std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
        write_raw(&out.join("pre.raw"), &case.pre_ct.to_f32())?;
        write_raw(&out.join("post.raw"), &case.post_ct.to_f32())?;
        let landmarks: Vec<String> = lm.iter().map(|l| format!("{{\"pre\": {:?}, \"post\": {:?}}}", l.pre_mm, l.post_mm)).collect();
        let json = format!(
            "{{\"pre\": {}, \"post\": {}, \"landmarks\": [{}], \"isotherm\": {{\"tre_mm\": {tre}, \"seconds\": {best}}}}}\n",
            geometry_json(&case.pre_ct.geometry), geometry_json(&case.post_ct.geometry), landmarks.join(", ")
        );
        std::fs::write(out.join("case.json"), json).map_err(|e| e.to_string())
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
