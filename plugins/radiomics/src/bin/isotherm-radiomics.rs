//! Prognosis model tools (`isotherm radiomics ...` runs this binary):
//!
//!     isotherm radiomics synth-cohort --patients 600 --out cohort.csv
//!     isotherm radiomics fit --cohort cohort.csv --out model/
//!     isotherm radiomics predict --model model/ --cohort cohort.csv --out predictions/
//!     isotherm radiomics predict --model model/ --patient age=64,afp=120,child_pugh=B,... --out p/
//!     isotherm radiomics bench --ct ct.nii.gz --mask mask.nii.gz
//!
//! A cohort CSV may name images (`ct`, `mask` columns) instead of features: they are
//! measured as `isotherm run radiomics` measures them (`isotherm_radiomics::imaging`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use isotherm_radiomics::imaging;
use isotherm_radiomics::prognosis::{cohort, model, model_card, plot, survival, synth};

#[derive(Parser)]
#[command(name = "isotherm radiomics", about = "Fit and apply the radiomics prognosis model (Cox, elastic net)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a synthetic cohort with a known hazard (no patient data).
    SynthCohort {
        #[arg(long, default_value_t = 600)]
        patients: usize,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Fit on a cohort CSV (id, time in months, event 0/1, covariates, or `ct` and
    /// `mask` image columns measured into the `--features` covariates).
    Fit {
        #[arg(long)]
        cohort: PathBuf,
        #[command(flatten)]
        images: ImageFeatures,
        #[arg(long)]
        out: PathBuf,
        /// Elastic-net mixing: 1 = lasso, 0 = ridge.
        #[arg(long, default_value_t = 0.5)]
        alpha: f64,
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Where the cohort comes from, for the model card.
        #[arg(long, default_value = "a user-supplied cohort")]
        source: String,
    },
    /// Risk score, risk group and survival at 12/24/36 months, with curves as PNG.
    Predict {
        #[arg(long)]
        model: PathBuf,
        /// A cohort CSV (time and event optional; with them a Kaplan-Meier plot per group).
        #[arg(long, conflicts_with = "patient")]
        cohort: Option<PathBuf>,
        #[command(flatten)]
        images: ImageFeatures,
        /// One patient as name=value pairs, e.g. age=64,afp=120,child_pugh=B.
        #[arg(long)]
        patient: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Time reading a CT and mask and computing every feature family (what pyradiomics'
    /// `execute` does), for `bench/radiomics.sh`.
    Bench {
        #[arg(long)]
        ct: PathBuf,
        #[arg(long)]
        mask: PathBuf,
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        /// A processing preset (`ibsi-ct-a` ... `ibsi-ct-e`); default: the plugin's defaults.
        #[arg(long)]
        preset: Option<String>,
        /// Only the families pyradiomics computes (`pyradiomics`), or all (`all`).
        #[arg(long, default_value = "all")]
        families: String,
    },
}

/// Which covariates an image cohort's images are measured into.
#[derive(clap::Args)]
struct ImageFeatures {
    /// Comma-separated IBSI tags and/or tumour_count, tumour_size_mm (image cohorts only).
    #[arg(long, value_delimiter = ',', default_values_t = imaging::DEFAULT_FEATURES.map(String::from))]
    features: Vec<String>,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::SynthCohort { patients, seed, out } => {
            let (_, csv) = synth::cohort(patients, seed);
            std::fs::write(&out, csv).map_err(|e| format!("{}: {e}", out.display())).map(|_| println!("wrote {} synthetic patients to {}", patients, out.display()))
        }
        Command::Fit { cohort, images, out, alpha, folds, source } => fit(&cohort, &images.features, &out, alpha, folds, &source),
        Command::Predict { model, cohort, images, patient, out } => predict(&model, cohort.as_deref(), &images.features, patient.as_deref(), &out),
        Command::Bench { ct, mask, repeat, preset, families } => bench(&ct, &mask, repeat, preset.as_deref(), &families),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads a cohort CSV; an image cohort is measured first and its feature table written
/// to `out/cohort-features.csv` (reusable as a cohort itself).
fn read_cohort(path: &Path, features: &[String], needs_outcome: bool, out: &Path) -> Result<cohort::Cohort, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !imaging::has_images(&text) {
        return cohort::parse(&text, needs_outcome).map_err(|e| format!("{}: {e}", path.display()));
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let rows = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).count().saturating_sub(1);
    println!("measuring {} on the images of {rows} patients", features.join(", "));
    let table = imaging::to_feature_cohort(&text, base, features, &imaging::default_settings()).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let written = out.join("cohort-features.csv");
    write(&written, &table)?;
    println!("wrote the measured cohort to {}", written.display());
    cohort::parse(&table, needs_outcome).map_err(|e| format!("{}: {e}", written.display()))
}

fn fit(cohort_path: &Path, features: &[String], out: &Path, alpha: f64, folds: usize, source: &str) -> Result<(), String> {
    if !(0.0..=1.0).contains(&alpha) || folds < 2 {
        return Err(format!("alpha {alpha} must be in [0, 1] and folds {folds} at least 2"));
    }
    let c = read_cohort(cohort_path, features, true, out)?;
    let report = model::fit(&c, alpha, folds).map_err(|e| format!("{}: {e}", cohort_path.display()))?;
    report.model.save(out)?;
    write(&out.join("MODEL_CARD.md"), &model_card(&report, source))?;
    let mut calibration = String::from("risk_group,months,patients,predicted_survival,observed_survival\n");
    for r in &report.calibration {
        calibration += &format!("{},{},{},{:.4},{:.4}\n", r.group, r.horizon, r.patients, r.predicted, r.observed);
    }
    write(&out.join("calibration.csv"), &calibration)?;
    let i = &report.model.info;
    println!("{} patients, {} events; lambda {} (alpha {alpha}); cross-validated C-index {:.3}", i.patients, i.events, i.lambda, i.cv_c_index);
    println!("wrote {}/prognosis.toml, prognosis.safetensors, MODEL_CARD.md, calibration.csv", out.display());
    Ok(())
}

fn parse_patient(text: &str) -> Result<HashMap<String, f64>, String> {
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').ok_or_else(|| format!("'{pair}' is not name=value"))?;
            Ok((cohort::encoded_name(k.trim()), cohort::encode(k.trim(), v)?))
        })
        .collect()
}

fn predict(dir: &Path, cohort_path: Option<&Path>, features: &[String], patient: Option<&str>, out: &Path) -> Result<(), String> {
    let m = model::PrognosisModel::load(dir)?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let horizon_cols = model::HORIZONS.iter().map(|h| format!("survival_{h}m")).collect::<Vec<_>>().join(",");
    if let Some(text) = patient {
        let p = m.predict(&parse_patient(text)?)?;
        let at: Vec<String> = model::HORIZONS.iter().map(|&h| format!("{:.3}", survival::step_at(&p.survival, h, 1.0))).collect();
        println!("risk score {:.3} ({} risk); survival at 12/24/36 months: {}", p.linear_predictor, p.group, at.join(" / "));
        write(&out.join("prediction.csv"), &format!("risk_score,risk_group,{horizon_cols}\n{:.5},{},{}\n", p.linear_predictor, p.group, at.join(",")))?;
        plot::survival_png(&[p.survival], 60.0, &out.join("survival.png"))?;
        println!("wrote {}/prediction.csv and survival.png", out.display());
        return Ok(());
    }
    let path = cohort_path.ok_or("give --cohort CSV or --patient name=value,...")?;
    let c = read_cohort(path, features, false, out)?;
    let mut csv = format!("id,risk_score,risk_group,{horizon_cols}\n");
    let mut groups: Vec<usize> = Vec::new();
    let mut scores = Vec::new();
    for (n, row) in c.x.iter().enumerate() {
        let covariates: HashMap<String, f64> = c.names.iter().cloned().zip(row.iter().copied()).collect();
        let p = m.predict(&covariates).map_err(|e| format!("{}: patient {}: {e}", path.display(), c.ids[n]))?;
        let at: Vec<String> = model::HORIZONS.iter().map(|&h| format!("{:.4}", survival::step_at(&p.survival, h, 1.0))).collect();
        csv += &format!("{},{:.5},{},{}\n", c.ids[n], p.linear_predictor, p.group, at.join(","));
        groups.push(model::GROUPS.iter().position(|g| *g == p.group).unwrap_or(0));
        scores.push(p.linear_predictor);
    }
    write(&out.join("predictions.csv"), &csv)?;
    println!("wrote {}/predictions.csv ({} patients)", out.display(), c.x.len());
    if !c.time.is_empty() {
        let curves: Vec<Vec<(f64, f64)>> = (0..3)
            .map(|g| {
                let idx: Vec<usize> = (0..c.x.len()).filter(|&i| groups[i] == g).collect();
                survival::kaplan_meier(&idx.iter().map(|&i| c.time[i]).collect::<Vec<_>>(), &idx.iter().map(|&i| c.event[i]).collect::<Vec<_>>())
            })
            .collect();
        plot::survival_png(&curves, 60.0, &out.join("kaplan-meier.png"))?;
        let counts: Vec<usize> = (0..3).map(|g| groups.iter().filter(|&&x| x == g).count()).collect();
        println!(
            "C-index {:.3}; Kaplan-Meier by predicted risk group (blue low {}, orange intermediate {}, red high {}) in {}/kaplan-meier.png",
            survival::c_index(&c.time, &c.event, &scores), counts[0], counts[1], counts[2], out.display()
        );
    }
    Ok(())
}

fn bench(ct: &Path, mask: &Path, repeat: usize, preset: Option<&str>, families: &str) -> Result<(), String> {
    use isotherm_radiomics::features::Families;
    use std::time::Instant;
    let mut settings = imaging::default_settings();
    if let Some(name) = preset {
        settings.protocol = isotherm_radiomics::presets::preset(name).ok_or_else(|| format!("no preset '{name}' (try {})", isotherm_radiomics::presets::IBSI_CT.join(", ")))?;
    }
    settings.protocol.families = Families::named(families).ok_or_else(|| format!("--families {families}: all or pyradiomics"))?;
    for _ in 0..repeat.max(1) {
        let start = Instant::now();
        let (volume, map) = rayon::join(|| isotherm_nifti::read_volume(ct, 0), || isotherm_nifti::read_label_map(mask));
        let (volume, map) = (volume.map_err(|e| e.to_string())?, map.map_err(|e| e.to_string())?);
        let read = start.elapsed().as_secs_f64();
        let lesions = imaging::lesions(&volume, &map, &settings)?;
        let total = start.elapsed().as_secs_f64();
        let features = lesions.first().map_or(0, |l| l.features.len());
        println!("  {total:.3} s wall (reading both images {read:.3} s, features {:.3} s), {} lesion(s), {features} features", total - read, lesions.len());
    }
    Ok(())
}
