//! The prognosis model: standardisation, elastic-net Cox coefficients, the Breslow
//! baseline hazard and risk-group cut points, fitted with cross-validation and saved as
//! `prognosis.toml` (metadata) + `prognosis.safetensors` (numbers).

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::cohort::Cohort;
use super::cox::{self, Penalty};
use super::survival::{c_index, kaplan_meier, step_at};

/// Months at which survival is reported.
pub const HORIZONS: [f64; 3] = [12.0, 24.0, 36.0];
pub const GROUPS: [&str; 3] = ["low", "intermediate", "high"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelInfo {
    pub model: String,
    pub time_unit: String,
    pub covariates: Vec<String>,
    pub alpha: f64,
    pub lambda: f64,
    pub folds: usize,
    pub cv_c_index: f64,
    pub apparent_c_index: f64,
    pub patients: usize,
    pub events: usize,
    /// Linear-predictor tertiles of the training cohort: low | intermediate | high.
    pub risk_cuts: [f64; 2],
}

#[derive(Debug, Clone)]
pub struct PrognosisModel {
    pub info: ModelInfo,
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    /// Coefficients on the standardised scale.
    pub beta: Vec<f64>,
    /// Baseline cumulative hazard: (time, H0) at event times.
    pub baseline: Vec<(f64, f64)>,
}

/// One calibration row: a predicted-risk group, its mean predicted survival at a horizon
/// (out-of-fold) and the Kaplan-Meier survival observed in it.
#[derive(Debug, Clone)]
pub struct CalibrationRow {
    pub group: &'static str,
    pub horizon: f64,
    pub patients: usize,
    pub predicted: f64,
    pub observed: f64,
}

pub struct FitReport {
    pub model: PrognosisModel,
    pub lambda_path: Vec<(f64, f64)>,
    pub calibration: Vec<CalibrationRow>,
}

#[derive(Debug, Clone)]
pub struct Prediction {
    pub linear_predictor: f64,
    pub group: &'static str,
    pub survival: Vec<(f64, f64)>,
    /// Each covariate's share of the linear predictor (beta * standardised value).
    pub contributions: Vec<(String, f64)>,
}

fn standardise(x: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let (n, p) = (x.len() as f64, x[0].len());
    let mean: Vec<f64> = (0..p).map(|k| x.iter().map(|r| r[k]).sum::<f64>() / n).collect();
    let scale = (0..p)
        .map(|k| {
            let v = x.iter().map(|r| (r[k] - mean[k]).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
            if v > 0.0 { v.sqrt() } else { 1.0 }
        })
        .collect();
    (mean, scale)
}

fn apply(x: &[Vec<f64>], mean: &[f64], scale: &[f64]) -> Vec<Vec<f64>> {
    x.iter().map(|r| r.iter().enumerate().map(|(k, v)| (v - mean[k]) / scale[k]).collect()).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn group_of(lp: f64, cuts: [f64; 2]) -> usize {
    if lp <= cuts[0] { 0 } else if lp <= cuts[1] { 1 } else { 2 }
}

/// Deterministic fold of each patient (round-robin over a seeded shuffle).
fn folds(n: usize, k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let mut fold = vec![0; n];
    for (r, &i) in order.iter().enumerate() {
        fold[i] = r % k;
    }
    fold
}

fn fit_once(x: &[Vec<f64>], time: &[f64], event: &[bool], pen: Penalty) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>), String> {
    let (mean, scale) = standardise(x);
    let z = apply(x, &mean, &scale);
    let prepared = cox::prepare(&z, time, event).map_err(|e| e.to_string())?;
    let beta = cox::fit(&prepared, pen, 2000).map_err(|e| e.to_string())?;
    Ok((mean, scale, beta))
}

/// Out-of-fold linear predictors and survival at the horizons for one penalty.
fn cross_validate(c: &Cohort, pen: Penalty, k: usize) -> Result<(Vec<f64>, Vec<[f64; 3]>), String> {
    let fold = folds(c.x.len(), k);
    let mut lp = vec![0.0; c.x.len()];
    let mut surv = vec![[0.0; 3]; c.x.len()];
    for f in 0..k {
        let train: Vec<usize> = (0..c.x.len()).filter(|&i| fold[i] != f).collect();
        let pick = |v: &dyn Fn(usize) -> f64| train.iter().map(|&i| v(i)).collect::<Vec<f64>>();
        let x: Vec<Vec<f64>> = train.iter().map(|&i| c.x[i].clone()).collect();
        let time = pick(&|i| c.time[i]);
        let event: Vec<bool> = train.iter().map(|&i| c.event[i]).collect();
        let (mean, scale, beta) = fit_once(&x, &time, &event, pen)?;
        let eta: Vec<f64> = apply(&x, &mean, &scale).iter().map(|r| dot(r, &beta)).collect();
        let base = cox::breslow(&time, &event, &eta);
        for i in (0..c.x.len()).filter(|&i| fold[i] == f) {
            let z: Vec<f64> = c.x[i].iter().enumerate().map(|(k, v)| (v - mean[k]) / scale[k]).collect();
            lp[i] = dot(&z, &beta);
            for (h, &t) in HORIZONS.iter().enumerate() {
                surv[i][h] = (-step_at(&base, t, 0.0) * lp[i].exp()).exp();
            }
        }
    }
    Ok((lp, surv))
}

/// Fits the model: the penalty weight is chosen by `k`-fold cross-validated C-index over
/// a fixed grid, then the model is refitted on everyone.
pub fn fit(c: &Cohort, alpha: f64, k: usize) -> Result<FitReport, String> {
    let n = c.x.len();
    let events = c.event.iter().filter(|&&e| e).count();
    if events < 10 || n < 2 * k {
        return Err(format!("{n} patients with {events} events are too few to fit and cross-validate (need >= 10 events, >= {} patients)", 2 * k));
    }
    let grid = [0.001, 0.003, 0.01, 0.03, 0.1];
    let mut path = Vec::new();
    let mut best: Option<(f64, f64, Vec<[f64; 3]>, Vec<f64>)> = None;
    for &lambda in &grid {
        let (lp, surv) = cross_validate(c, Penalty { lambda, alpha }, k)?;
        let ci = c_index(&c.time, &c.event, &lp);
        path.push((lambda, ci));
        if best.as_ref().is_none_or(|b| ci > b.1 + 1e-4) {
            best = Some((lambda, ci, surv, lp));
        }
    }
    let (lambda, cv_c, oof_surv, oof_lp) = best.expect("grid is not empty");
    let (mean, scale, beta) = fit_once(&c.x, &c.time, &c.event, Penalty { lambda, alpha })?;
    let eta: Vec<f64> = apply(&c.x, &mean, &scale).iter().map(|r| dot(r, &beta)).collect();
    let baseline = cox::breslow(&c.time, &c.event, &eta);
    let mut sorted = eta.clone();
    sorted.sort_by(f64::total_cmp);
    let risk_cuts = [quantile(&sorted, 1.0 / 3.0), quantile(&sorted, 2.0 / 3.0)];

    // Calibration: out-of-fold predictions grouped by out-of-fold tertiles.
    let mut oof_sorted = oof_lp.clone();
    oof_sorted.sort_by(f64::total_cmp);
    let oof_cuts = [quantile(&oof_sorted, 1.0 / 3.0), quantile(&oof_sorted, 2.0 / 3.0)];
    let mut calibration = Vec::new();
    for (g, name) in GROUPS.iter().enumerate() {
        let members: Vec<usize> = (0..n).filter(|&i| group_of(oof_lp[i], oof_cuts) == g).collect();
        let km = kaplan_meier(&members.iter().map(|&i| c.time[i]).collect::<Vec<_>>(), &members.iter().map(|&i| c.event[i]).collect::<Vec<_>>());
        for (h, &t) in HORIZONS.iter().enumerate() {
            let predicted = members.iter().map(|&i| oof_surv[i][h]).sum::<f64>() / members.len().max(1) as f64;
            calibration.push(CalibrationRow { group: name, horizon: t, patients: members.len(), predicted, observed: step_at(&km, t, 1.0) });
        }
    }
    let info = ModelInfo {
        model: "cox-elastic-net".into(),
        time_unit: "months".into(),
        covariates: c.names.clone(),
        alpha,
        lambda,
        folds: k,
        cv_c_index: cv_c,
        apparent_c_index: c_index(&c.time, &c.event, &eta),
        patients: n,
        events,
        risk_cuts,
    };
    Ok(FitReport { model: PrognosisModel { info, mean, scale, beta, baseline }, lambda_path: path, calibration })
}

impl PrognosisModel {
    /// Coefficients per unit of each (encoded) covariate.
    pub fn raw_coefficients(&self) -> Vec<f64> {
        self.beta.iter().zip(&self.scale).map(|(b, s)| b / s).collect()
    }

    /// Prediction for one patient, covariates by encoded name; missing ones are refused.
    pub fn predict(&self, covariates: &HashMap<String, f64>) -> Result<Prediction, String> {
        let mut contributions = Vec::new();
        let mut lp = 0.0;
        for (k, name) in self.info.covariates.iter().enumerate() {
            let v = *covariates.get(name).ok_or_else(|| format!("the model needs covariate '{name}', which was not given"))?;
            let c = self.beta[k] * (v - self.mean[k]) / self.scale[k];
            lp += c;
            contributions.push((name.clone(), c));
        }
        let mut survival = vec![(0.0, 1.0)];
        survival.extend(self.baseline.iter().map(|&(t, h)| (t, (-h * lp.exp()).exp())));
        Ok(Prediction { linear_predictor: lp, group: GROUPS[group_of(lp, self.info.risk_cuts)], survival, contributions })
    }

    pub fn save(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let toml_path = dir.join("prognosis.toml");
        std::fs::write(&toml_path, toml::to_string(&self.info).map_err(|e| e.to_string())?).map_err(|e| format!("{}: {e}", toml_path.display()))?;
        let dev = Device::Cpu;
        let t = |v: Vec<f64>| Tensor::from_vec(v.clone(), v.len(), &dev).map_err(|e| e.to_string());
        let tensors = HashMap::from([
            ("beta".to_string(), t(self.beta.clone())?),
            ("mean".to_string(), t(self.mean.clone())?),
            ("scale".to_string(), t(self.scale.clone())?),
            ("baseline_time".to_string(), t(self.baseline.iter().map(|b| b.0).collect())?),
            ("baseline_cumulative_hazard".to_string(), t(self.baseline.iter().map(|b| b.1).collect())?),
        ]);
        let path = dir.join("prognosis.safetensors");
        candle_core::safetensors::save(&tensors, &path).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Loads from the two files' bytes (already read, and checked against their pins).
    pub fn from_bytes(info_text: &str, info_path: &Path, tensors: &[u8], tensors_path: &Path) -> Result<Self, String> {
        let info: ModelInfo = toml::from_str(info_text).map_err(|e| format!("{}: {e}", info_path.display()))?;
        let map = candle_core::safetensors::load_buffer(tensors, &Device::Cpu).map_err(|e| format!("{}: not a readable safetensors file: {e}", tensors_path.display()))?;
        let get = |name: &str| -> Result<Vec<f64>, String> {
            let t = map.get(name).ok_or_else(|| format!("{}: tensor '{name}' is missing", tensors_path.display()))?;
            t.to_dtype(candle_core::DType::F64).and_then(|t| t.to_vec1()).map_err(|e| format!("{}: tensor '{name}': {e}", tensors_path.display()))
        };
        let (beta, mean, scale) = (get("beta")?, get("mean")?, get("scale")?);
        let p = info.covariates.len();
        if beta.len() != p || mean.len() != p || scale.len() != p {
            return Err(format!("{}: {} coefficients for {} covariates in {}", tensors_path.display(), beta.len(), p, info_path.display()));
        }
        let (bt, bh) = (get("baseline_time")?, get("baseline_cumulative_hazard")?);
        if bt.len() != bh.len() || beta.iter().chain(&scale).chain(&bh).any(|v| !v.is_finite()) {
            return Err(format!("{}: baseline or coefficients are malformed", tensors_path.display()));
        }
        Ok(PrognosisModel { info, mean, scale, beta, baseline: bt.into_iter().zip(bh).collect() })
    }

    pub fn load(dir: &Path) -> Result<Self, String> {
        let (ip, tp) = (dir.join("prognosis.toml"), dir.join("prognosis.safetensors"));
        let info = std::fs::read_to_string(&ip).map_err(|e| format!("{}: {e}", ip.display()))?;
        let tensors = std::fs::read(&tp).map_err(|e| format!("{}: {e}", tp.display()))?;
        Self::from_bytes(&info, &ip, &tensors, &tp)
    }
}
