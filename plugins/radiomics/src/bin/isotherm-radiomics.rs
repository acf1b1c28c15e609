//! Prognosis model tools (`isotherm radiomics ...` runs this binary):
//!
//!     isotherm radiomics synth-cohort --patients 600 --out cohort.csv
//!     isotherm radiomics fit --cohort cohort.csv --out model/
//!     isotherm radiomics predict --model model/ --cohort cohort.csv --out predictions/
//!     isotherm radiomics predict --model model/ --patient age=64,afp=120,child_pugh=B,... --out p/

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
    /// Fit on a cohort CSV (id, time in months, event 0/1, covariates).
    Fit {
        #[arg(long)]
        cohort: PathBuf,
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
        /// One patient as name=value pairs, e.g. age=64,afp=120,child_pugh=B.
        #[arg(long)]
        patient: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::SynthCohort { patients, seed, out } => {
            let (_, csv) = synth::cohort(patients, seed);
            std::fs::write(&out, csv).map_err(|e| format!("{}: {e}", out.display())).map(|_| println!("wrote {} synthetic patients to {}", patients, out.display()))
        }
        Command::Fit { cohort, out, alpha, folds, source } => fit(&cohort, &out, alpha, folds, &source),
        Command::Predict { model, cohort, patient, out } => predict(&model, cohort.as_deref(), patient.as_deref(), &out),
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

fn fit(cohort_path: &Path, out: &Path, alpha: f64, folds: usize, source: &str) -> Result<(), String> {
    if !(0.0..=1.0).contains(&alpha) || folds < 2 {
        return Err(format!("alpha {alpha} must be in [0, 1] and folds {folds} at least 2"));
    }
    let c = cohort::read(cohort_path, true)?;
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

fn predict(dir: &Path, cohort_path: Option<&Path>, patient: Option<&str>, out: &Path) -> Result<(), String> {
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
    let c = cohort::read(path, false)?;
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
