//! Prognosis after ablation or TACE: a Cox proportional-hazards model with an
//! elastic-net penalty over standardised radiomics features and clinical covariates,
//! fitted with Candle autograd (`cox`), cross-validated and calibrated (`model`), with
//! Kaplan-Meier and concordance (`survival`), cohort tables (`cohort`), PNG curves
//! (`plot`) and a synthetic cohort with a known hazard (`synth`).

pub mod cohort;
pub mod cox;
pub mod model;
pub mod plot;
pub mod survival;
pub mod synth;

use model::FitReport;

/// A Markdown model card for a fitted model: what it is, what it was fitted on, how
/// well it did out of fold, and what it must not be used for.
pub fn model_card(fit: &FitReport, cohort_source: &str) -> String {
    let m = &fit.model;
    let i = &m.info;
    let mut s = format!(
        "# Prognosis model card\n\n\
         - Model: Cox proportional hazards, elastic-net penalty (alpha = {}, lambda = {} chosen by {}-fold cross-validated C-index), fitted by proximal gradient descent with Candle autograd; Breslow baseline hazard.\n\
         - Training data: {cohort_source}; {} patients, {} events; time in {}.\n\
         - Cross-validated C-index: {:.3} (apparent: {:.3}).\n\
         - Risk groups: tertiles of the training cohort's linear predictor (cuts {:.3}, {:.3}).\n\
         - Intended use: research and teaching in Isotherm. Not for clinical use.\n\n\
         ## Coefficients\n\n| covariate | per standard deviation | per unit | mean | sd |\n|---|---|---|---|---|\n",
        i.alpha, i.lambda, i.folds, i.patients, i.events, i.time_unit, i.cv_c_index, i.apparent_c_index, i.risk_cuts[0], i.risk_cuts[1]
    );
    for (k, name) in i.covariates.iter().enumerate() {
        s += &format!("| {name} | {:.4} | {:.5} | {:.3} | {:.3} |\n", m.beta[k], m.beta[k] / m.scale[k], m.mean[k], m.scale[k]);
    }
    s += "\n## Penalty path (cross-validated C-index)\n\n| lambda | C-index |\n|---|---|\n";
    for (l, c) in &fit.lambda_path {
        s += &format!("| {l} | {c:.3} |\n");
    }
    s += "\n## Calibration (out of fold)\n\n| risk group | months | patients | predicted survival | observed (Kaplan-Meier) |\n|---|---|---|---|---|\n";
    for r in &fit.calibration {
        s += &format!("| {} | {} | {} | {:.3} | {:.3} |\n", r.group, r.horizon, r.patients, r.predicted, r.observed);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::fit;
    use survival::c_index;

    #[test]
    fn recovers_a_known_hazard_from_a_synthetic_cohort() {
        let (cohort, _) = synth::cohort(1500, 11);
        let report = fit(&cohort, 0.5, 5).unwrap();
        let m = &report.model;
        let raw = m.raw_coefficients();
        for (k, (name, truth)) in synth::TRUE_COEFFICIENTS.iter().enumerate() {
            // Per-SD tolerance: 0.12 on the standardised scale.
            let err = (raw[k] - truth) * m.scale[k];
            assert!(err.abs() < 0.12, "{name}: fitted {:.4} vs true {truth} (per-SD error {err:.3})", raw[k]);
        }
        // The fitted model ranks about as well as the true hazard does.
        let mean: Vec<f64> = (0..cohort.names.len()).map(|k| cohort.x.iter().map(|r| r[k]).sum::<f64>() / cohort.x.len() as f64).collect();
        let oracle: Vec<f64> = cohort.x.iter().map(|r| synth::TRUE_COEFFICIENTS.iter().enumerate().map(|(k, c)| c.1 * (r[k] - mean[k])).sum()).collect();
        let oracle_c = c_index(&cohort.time, &cohort.event, &oracle);
        assert!(m.info.cv_c_index > oracle_c - 0.02, "cv C {} vs oracle {oracle_c}", m.info.cv_c_index);
        assert!(oracle_c > 0.65, "the synthetic signal is real: {oracle_c}");
        // Calibration: predicted and observed survival agree within 0.08 in every group.
        for r in &report.calibration {
            assert!((r.predicted - r.observed).abs() < 0.08, "{r:?}");
        }
    }

    #[test]
    fn save_load_predict_round_trip() {
        let (cohort, _) = synth::cohort(300, 5);
        let report = fit(&cohort, 0.5, 5).unwrap();
        let dir = std::env::temp_dir().join(format!("isotherm-prognosis-{}", std::process::id()));
        report.model.save(&dir).unwrap();
        let loaded = model::PrognosisModel::load(&dir).unwrap();
        assert_eq!(loaded.info, report.model.info);
        assert_eq!(loaded.beta, report.model.beta);
        let patient: std::collections::HashMap<String, f64> = cohort.names.iter().cloned().zip(cohort.x[0].iter().copied()).collect();
        let a = report.model.predict(&patient).unwrap();
        let b = loaded.predict(&patient).unwrap();
        assert_eq!(a.linear_predictor, b.linear_predictor);
        assert!(a.survival.windows(2).all(|w| w[1].1 <= w[0].1 && w[1].0 >= w[0].0), "survival decreases");
        let sum: f64 = a.contributions.iter().map(|c| c.1).sum();
        assert!((sum - a.linear_predictor).abs() < 1e-9);
        let mut missing = patient.clone();
        missing.remove("bclc");
        assert!(loaded.predict(&missing).unwrap_err().contains("'bclc'"));
        // A tampered coefficient file is refused with the file named.
        std::fs::write(dir.join("prognosis.safetensors"), b"garbage").unwrap();
        assert!(model::PrognosisModel::load(&dir).unwrap_err().contains("prognosis.safetensors"));
        let png = dir.join("curve.png");
        plot::survival_png(&[a.survival.clone()], 60.0, &png).unwrap();
        assert!(std::fs::metadata(&png).unwrap().len() > 1000);
        std::fs::remove_dir_all(dir).ok();
    }
}
