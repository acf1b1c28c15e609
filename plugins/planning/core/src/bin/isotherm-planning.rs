//! The planning plugin's tools: `isotherm planning calibrate` fits an antenna profile's
//! SAR parameters to its vendor chart and writes them, with a card of the residuals.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use isotherm_planning_core::{antenna::Antenna, calibrate, damage::Criterion};

#[derive(Parser)]
#[command(name = "isotherm-planning", about = "Microwave-ablation planning tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fit an antenna's SAR parameters to its chart (starting from its current calibration).
    Calibrate {
        /// The antenna profile (TOML).
        antenna: PathBuf,
        /// Most chart simulations to spend.
        #[arg(long, default_value_t = 120)]
        evaluations: usize,
        /// Damage criterion the chart's zones are matched with.
        #[arg(long, default_value = "arrhenius-jacques")]
        criterion: String,
        /// Write the fit into the profile and its card next to it.
        #[arg(long)]
        write: bool,
    },
    /// Simulate the chart's settings with the profile's calibration and compare.
    Chart {
        antenna: PathBuf,
    },
    /// Benchmark: one ablation on an N^3 liver block at 1 mm (bench/planning.sh); writes
    /// case.json (the setting, the step, the seconds) into --out for the NumPy peer.
    Bench {
        antenna: PathBuf,
        #[arg(long, default_value_t = 128)]
        size: usize,
        #[arg(long, default_value_t = 100.0)]
        power: f64,
        #[arg(long, default_value_t = 10.0)]
        minutes: f64,
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Calibrate { antenna, evaluations, criterion, write } => {
            let mut a = Antenna::load(&antenna)?;
            let criterion = Criterion::from_name(&criterion).ok_or_else(|| format!("unknown criterion '{criterion}' (one of {})", Criterion::ALL.map(|c| c.name()).join(", ")))?;
            let start = a.sar()?;
            let t0 = std::time::Instant::now();
            let fit = calibrate::fit(start, a.frequency_hz, &a.chart, criterion, 1e-3, evaluations, |n, rms, p| {
                eprintln!("[{n:3}] {:6.1} s  rms {rms:.3} mm  feed {:.2} mm  half {:.2} mm  efficiency {:.3}  mismatch {:.3}", t0.elapsed().as_secs_f64(), p.feed_behind_tip_mm, p.feed_half_length_mm, p.efficiency, p.mismatch);
            });
            print_table(&a, &fit.zones);
            println!("rms {:.2} mm after {} simulations of the chart", fit.rms_mm, fit.evaluations);
            if write {
                a.calibration = Some(isotherm_planning_core::antenna::Calibration { sar: fit.params, criterion, grid_mm: 1.0, fitted: format!("isotherm-planning {} calibrate", env!("CARGO_PKG_VERSION")), rms_mm: (fit.rms_mm * 1000.0).round() / 1000.0 });
                std::fs::write(&antenna, a.to_toml()).map_err(|e| format!("{}: {e}", antenna.display()))?;
                println!("wrote {}", antenna.display());
            }
        }
        Command::Chart { antenna } => {
            let a = Antenna::load(&antenna)?;
            let c = a.calibration.as_ref().ok_or("the profile has no calibration")?;
            let zones = calibrate::simulate_chart(c.sar, a.frequency_hz, &a.chart, c.criterion, c.grid_mm * 1e-3);
            print_table(&a, &zones);
            println!("rms {:.2} mm", calibrate::rms(&calibrate::residuals(&zones, &a.chart)));
        }
        Command::Bench { antenna, size, power, minutes, repeat, out } => {
            use isotherm_planning_core::{ablation::Ablation, bioheat::Medium, sar::Pose, tissue::Tissue};
            let a = Antenna::load(&antenna)?;
            let c = a.calibration.as_ref().ok_or("the profile has no calibration")?;
            let h = 1e-3;
            let mut best = f64::INFINITY;
            let mut result = None;
            for _ in 0..repeat.max(1) {
                let medium = Medium::uniform([size; 3], h, Tissue::LIVER);
                let centre = (size / 2) as f64 * h;
                // The zone centred in the block.
                let pose = Pose { tip: [centre, centre, centre - c.sar.feed_behind_tip_mm * 1e-3], back: [0.0, 0.0, 1.0] };
                let t0 = std::time::Instant::now();
                let mut ablation = Ablation::with_parameters(medium, c.sar, a.frequency_hz, pose, power);
                ablation.run_until(minutes * 60.0);
                let axes = ablation.axes(c.criterion);
                best = best.min(t0.elapsed().as_secs_f64());
                result = Some((axes, ablation.sim.dt, (minutes * 60.0 / ablation.sim.dt).round() as usize));
            }
            let (axes, dt, steps) = result.unwrap();
            std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
            let case = format!(
                "{{\n  \"row\": \"bioheat\",\n  \"input\": \"{minutes} min at {power} W, {size}^3 liver block at 1 mm ({steps} steps of {dt:.3} s)\",\n  \"size\": {size},\n  \"steps\": {steps},\n  \"dt\": {dt},\n  \"seconds\": {best},\n  \"zone_long_mm\": {:.2},\n  \"zone_short_mm\": {:.2}\n}}\n",
                axes.long_mm, axes.short_mm
            );
            std::fs::write(out.join("case.json"), &case).map_err(|e| format!("{}: {e}", out.display()))?;
            print!("{case}");
            println!("Isotherm: {best:.3} s for {steps} steps on {size}^3 (zone {:.1} x {:.1} mm)", axes.long_mm, axes.short_mm);
        }
    }
    Ok(())
}

fn print_table(a: &Antenna, zones: &[isotherm_planning_core::zone::ZoneAxes]) {
    println!("| power (W) | time (min) | long (mm) chart / sim | short (mm) chart / sim | distal (mm) chart / sim |");
    println!("|---|---|---|---|---|");
    for (c, z) in a.chart.iter().zip(zones) {
        println!("| {} | {} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1} / {:.1} |", c.power_w, c.time_min, c.long_mm, z.long_mm, c.short_mm, z.short_mm, c.distal_mm, z.distal_mm);
    }
}
