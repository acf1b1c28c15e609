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
        /// Also refit without each setting in turn and predict it (this many simulations per refit; 0 = skip).
        #[arg(long, default_value_t = 0)]
        leave_one_out: usize,
    },
    /// Simulate the chart's settings with the profile's calibration and compare.
    Chart {
        antenna: PathBuf,
    },
    /// Operator variability: novice and expert placements with and without the recommendation
    /// on generated phantom tumours.
    Variability {
        antenna: PathBuf,
        /// First phantom seed; seeds follow until enough tumours are found.
        #[arg(long, default_value_t = 100)]
        seed: u64,
        #[arg(long, default_value_t = 24)]
        tumours: usize,
        #[arg(long, default_value_t = 50)]
        trials: usize,
    },
    /// Benchmark: trajectory search over 10,000 skin entries of a generated demo-size
    /// phantom, the Pareto front included (bench/planning.sh).
    BenchTrajectory {
        antenna: PathBuf,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, default_value_t = 10_000)]
        entries: usize,
        #[arg(long, default_value_t = 3)]
        repeat: usize,
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
        Command::Calibrate { antenna, evaluations, criterion, write, leave_one_out } => {
            let mut a = Antenna::load(&antenna)?;
            let criterion = Criterion::from_name(&criterion).ok_or_else(|| format!("unknown criterion '{criterion}' (one of {})", Criterion::ALL.map(|c| c.name()).join(", ")))?;
            let start = a.sar()?;
            let t0 = std::time::Instant::now();
            let fit = calibrate::fit(start, a.frequency_hz, &a.chart, criterion, 1e-3, evaluations, |n, rms, p| {
                eprintln!("[{n:3}] {:6.1} s  rms {rms:.3} mm  feed {:.2} mm  half {:.2} mm  efficiency {:.3}  mismatch {:.3}", t0.elapsed().as_secs_f64(), p.feed_behind_tip_mm, p.feed_half_length_mm, p.efficiency, p.mismatch);
            });
            print_table(&a, &fit.zones);
            println!("rms {:.2} mm after {} simulations of the chart", fit.rms_mm, fit.evaluations);
            let held_out = (leave_one_out > 0).then(|| {
                calibrate::leave_one_out(fit.params, a.frequency_hz, &a.chart, criterion, 1e-3, leave_one_out, |i, rms| eprintln!("without setting {}: rms {rms:.2} mm on the rest", i + 1))
            });
            if write {
                a.calibration = Some(isotherm_planning_core::antenna::Calibration { sar: fit.params, criterion, grid_mm: 1.0, fitted: format!("isotherm-planning {} calibrate", env!("CARGO_PKG_VERSION")), rms_mm: (fit.rms_mm * 1000.0).round() / 1000.0 });
                std::fs::write(&antenna, a.to_toml()).map_err(|e| format!("{}: {e}", antenna.display()))?;
                let card = antenna.with_extension("md");
                std::fs::write(&card, card_text(&a, &fit.zones, held_out.as_deref())).map_err(|e| format!("{}: {e}", card.display()))?;
                println!("wrote {} and {}", antenna.display(), card.display());
            }
        }
        Command::Chart { antenna } => {
            let a = Antenna::load(&antenna)?;
            let c = a.calibration.as_ref().ok_or("the profile has no calibration")?;
            let zones = calibrate::simulate_chart(c.sar, a.frequency_hz, &a.chart, c.criterion, c.grid_mm * 1e-3);
            print_table(&a, &zones);
            println!("rms {:.2} mm", calibrate::rms(&calibrate::residuals(&zones, &a.chart)));
        }
        Command::Variability { antenna, seed, tumours, trials } => {
            use isotherm_planning_core::variability;
            let a = Antenna::load(&antenna)?;
            let s = variability::study(&a, seed..seed + 200, isotherm_phantom::Size::Demo, tumours, trials)?;
            println!("{} tumours (phantom seeds from {}), {} placements each per arm; error model: execution {} mm per axis for all; by eye: novice aim {} mm, {} deg, size {:.0} %; expert aim {} mm, {} deg, size {:.0} %", s.tumours, seed, s.trials, variability::EXECUTION_MM, variability::NOVICE.aim_mm, variability::NOVICE.angle_deg, 100.0 * variability::NOVICE.size_error, variability::EXPERT.aim_mm, variability::EXPERT.angle_deg, 100.0 * variability::EXPERT.size_error);
            println!("| operator | recommendation | mean MAM (mm) | spread (SD, mm) | reaching 5 mm |");
            println!("|---|---|---|---|---|");
            for arm in &s.arms {
                println!("| {} | {} | {:.2} | {:.2} | {:.0} % |", arm.operator, if arm.recommended { "with" } else { "without" }, arm.mean(), arm.spread(), arm.reaching_5mm());
            }
        }
        Command::BenchTrajectory { antenna, seed, entries, repeat } => {
            use isotherm_planning_core::{recommend, trajectory};
            let a = Antenna::load(&antenna)?;
            let case = isotherm_phantom::generate(&isotherm_phantom::Config::new(seed, isotherm_phantom::Size::Demo));
            let treated = case.truth.treated_tumour as u16;
            let target = recommend::target_of(&case.pre_tumours, treated)?;
            let shapes = recommend::setting_shapes(&a, a.calibration.as_ref().map(|c| c.criterion).unwrap_or(Criterion::ArrheniusJacques))?;
            let t0 = std::time::Instant::now();
            let obstacles = trajectory::obstacles(&case.pre_ct, Some(&case.pre_labels), 3.0, 1.5);
            let prepare = t0.elapsed().as_secs_f64();
            let mut best = f64::INFINITY;
            let mut last = None;
            for _ in 0..repeat.max(1) {
                let t = std::time::Instant::now();
                let s = trajectory::search(&obstacles, target.centroid, &shapes[0].shape, &target.surface, &target.voxels, a.usable_length_mm, entries);
                best = best.min(t.elapsed().as_secs_f64());
                last = Some(s);
            }
            let s = last.unwrap();
            println!("trajectory search: {best:.3} s for {} entries ({} feasible, front {}), obstacles {prepare:.3} s once per case ({} skin points)", s.evaluated, s.feasible, s.front.len(), obstacles.skin.len());
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
                if let Some(b) = ablation.sim.active_box() {
                    eprintln!("active box at the end: {:?} voxels", [0, 1, 2].map(|a| b.hi[a] - b.lo[a]));
                }
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

/// The calibration card: what was fitted to what, and how well.
fn card_text(a: &Antenna, zones: &[isotherm_planning_core::zone::ZoneAxes], held_out: Option<&[isotherm_planning_core::zone::ZoneAxes]>) -> String {
    let c = a.calibration.as_ref().expect("calibrated");
    let p = c.sar;
    let res = calibrate::residuals(zones, &a.chart);
    let worst = res.iter().flatten().map(|e| e.abs()).fold(0.0, f64::max);
    let mut t = format!("# {} antenna profile: calibration card\n\n", a.name);
    t += &format!("Profile `{}.toml` (id `{}`), {:.2} GHz. Chart source: {}\n\n", a.id, a.id, a.frequency_hz / 1e9, a.source);
    t += "## What was fitted\n\n";
    t += "The planning plugin's SAR model (feed points on the antenna axis launching spherical waves absorbed at the Ji & Brace temperature-dependent rate; the radiating section stretches with the wavelength as the tissue dries; the absorbed fraction falls as the permittivity around the section drops) drives the Pennes solver with vaporisation in a homogeneous block of COMSOL human liver (perfusion stopped where tissue coagulates). ";
    t += &format!("Five parameters were fitted by Nelder-Mead to the chart's long axis, short axis and distal extent at every setting, on a {} mm grid, the zone drawn by the `{}` criterion ({}); the source radius is fixed.\n\n", c.grid_mm, c.criterion.name(), c.criterion.describe());
    t += &format!("| parameter | value |\n|---|---|\n| radiating section centre behind the tip | {:.2} mm |\n| radiating section half-length at 37 C | {:.2} mm |\n| absorbed fraction (cool tissue) | {:.3} |\n| detuning exponent | {:.3} |\n| share of the stretch back along the shaft | {:.3} |\n| source radius (fixed) | {:.2} mm |\n\n", p.feed_behind_tip_mm, p.feed_half_length_mm, p.efficiency, p.mismatch, p.stretch_back, p.source_radius_mm);
    t += &format!("Fitted by `{}`; rms error {:.2} mm, largest error {:.2} mm.\n\n", c.fitted, c.rms_mm, worst);
    t += "## Chart against the calibrated simulation\n\n| power (W) | time (min) | energy (kJ) | long (mm) chart / sim | short (mm) chart / sim | distal (mm) chart / sim | volume per kJ (mL/kJ) chart / sim |\n|---|---|---|---|---|---|---|\n";
    for (e, z) in a.chart.iter().zip(zones) {
        let sim_ml = std::f64::consts::PI / 6.0 * z.long_mm * z.short_mm * z.short_mm / 1e3;
        t += &format!("| {} | {} | {:.1} | {:.1} / {:.1} | {:.1} / {:.1} | {:.1} / {:.1} | {:.2} / {:.2} |\n", e.power_w, e.time_min, e.energy_kj(), e.long_mm, z.long_mm, e.short_mm, z.short_mm, e.distal_mm, z.distal_mm, e.volume_ml() / e.energy_kj(), sim_ml / e.energy_kj());
    }
    if let Some(held) = held_out {
        let physics: Vec<[f64; 3]> = held.iter().map(|z| [z.long_mm, z.short_mm, z.distal_mm]).collect();
        let energy = calibrate::energy_regression_leave_one_out(&a.chart);
        t += &format!("\n## Leave one setting out\n\nEach setting predicted by a model fitted without it: the physics model (refitted) has a mean absolute error of {:.2} mm over long, short and distal; a straight line in energy (P x t) per axis has {:.2} mm.\n", calibrate::mean_absolute_error(&physics, &a.chart), calibrate::mean_absolute_error(&energy, &a.chart));
    }
    t += "\n## Limits\n\nThe chart's tissue (in or ex vivo, species) is not stated by its source; the fit makes the simulated zone in COMSOL human liver match it. Real zones differ from vendor charts (chart-to-clinical correlation r = 0.51-0.63, JVIR 2016): the plan is a prediction with that uncertainty, and the report's damage-model spread shows how far the boundary moves with the damage criterion alone.\n";
    t
}
