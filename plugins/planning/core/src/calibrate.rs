//! Fitting an antenna's SAR parameters to its vendor chart: simulate every chart
//! setting in a homogeneous liver block (one run per power, measured at each of the
//! chart's times), and minimise the squared error of the long axis, short axis and
//! distal extent over all settings with Nelder–Mead. The source radius stays fixed.

use rayon::prelude::*;

use crate::ablation::{Ablation, chart_block};
use crate::antenna::ChartEntry;
use crate::damage::Criterion;
use crate::sar::SarParameters;
use crate::zone::ZoneAxes;

/// The chart's settings simulated with `params`: one zone per entry, in order.
pub fn simulate_chart(params: SarParameters, frequency_hz: f64, chart: &[ChartEntry], criterion: Criterion, h: f64) -> Vec<ZoneAxes> {
    let mut powers: Vec<f64> = chart.iter().map(|c| c.power_w).collect();
    powers.sort_by(f64::total_cmp);
    powers.dedup();
    let per_power: Vec<Vec<(usize, ZoneAxes)>> = powers
        .par_iter()
        .map(|&p| {
            let (medium, pose) = chart_block(h);
            let mut ablation = Ablation::with_parameters(medium, params, frequency_hz, pose, p);
            let mut entries: Vec<(usize, &ChartEntry)> = chart.iter().enumerate().filter(|(_, c)| c.power_w == p).collect();
            entries.sort_by(|a, b| a.1.time_min.total_cmp(&b.1.time_min));
            entries
                .into_iter()
                .map(|(i, c)| {
                    ablation.run_until(c.time_min * 60.0);
                    (i, ablation.axes(criterion))
                })
                .collect()
        })
        .collect();
    let mut out = vec![ZoneAxes::default(); chart.len()];
    for (i, z) in per_power.into_iter().flatten() {
        out[i] = z;
    }
    out
}

/// Per-entry errors (simulated − chart), mm: long, short, distal.
pub fn residuals(sim: &[ZoneAxes], chart: &[ChartEntry]) -> Vec<[f64; 3]> {
    sim.iter().zip(chart).map(|(s, c)| [s.long_mm - c.long_mm, s.short_mm - c.short_mm, s.distal_mm - c.distal_mm]).collect()
}

pub fn rms(res: &[[f64; 3]]) -> f64 {
    (res.iter().flatten().map(|e| e * e).sum::<f64>() / (3 * res.len()).max(1) as f64).sqrt()
}

/// The fitted parameters: feed position, half-length, efficiency, mismatch and stretch direction, through
/// transforms that keep them in range (half-length and mismatch ≥ 0, efficiency in (0, 1)).
fn to_params(x: &[f64; N], source_radius_mm: f64) -> SarParameters {
    let logistic = |v: f64| 1.0 / (1.0 + (-v).exp());
    SarParameters { feed_behind_tip_mm: x[0], feed_half_length_mm: x[1].abs(), efficiency: logistic(x[2]), source_radius_mm, mismatch: x[3].abs(), stretch_back: logistic(x[4]) }
}

fn from_params(p: &SarParameters) -> [f64; N] {
    let logit = |v: f64| (v.clamp(1e-4, 1.0 - 1e-4) / (1.0 - v.clamp(1e-4, 1.0 - 1e-4))).ln();
    [p.feed_behind_tip_mm, p.feed_half_length_mm, logit(p.efficiency), p.mismatch, logit(p.stretch_back)]
}

/// Fitted parameters.
const N: usize = 5;

pub struct Fit {
    pub params: SarParameters,
    pub zones: Vec<ZoneAxes>,
    pub rms_mm: f64,
    pub evaluations: usize,
}

/// Nelder–Mead from `start` for at most `evaluations` simulations of the chart.
pub fn fit(start: SarParameters, frequency_hz: f64, chart: &[ChartEntry], criterion: Criterion, h: f64, evaluations: usize, mut progress: impl FnMut(usize, f64, &SarParameters)) -> Fit {
    let d0 = start.source_radius_mm;
    let count = std::cell::Cell::new(0usize);
    let mut best: Option<(f64, [f64; N], Vec<ZoneAxes>)> = None;
    let mut cost = |x: &[f64; N]| -> f64 {
        let p = to_params(x, d0);
        let zones = simulate_chart(p, frequency_hz, chart, criterion, h);
        let c = rms(&residuals(&zones, chart));
        count.set(count.get() + 1);
        if best.as_ref().is_none_or(|b| c < b.0) {
            best = Some((c, *x, zones));
        }
        progress(count.get(), c, &p);
        c
    };
    let x0 = from_params(&start);
    let steps = [2.0, 1.5, 0.4, 0.6, 1.0];
    let mut simplex: Vec<([f64; N], f64)> = Vec::new();
    simplex.push((x0, cost(&x0)));
    for i in 0..N {
        let mut x = x0;
        x[i] += steps[i];
        simplex.push((x, cost(&x)));
    }
    while count.get() + 2 <= evaluations {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        if simplex[N].1 - simplex[0].1 < 1e-3 {
            break;
        }
        let centroid: [f64; N] = std::array::from_fn(|i| simplex[..N].iter().map(|s| s.0[i]).sum::<f64>() / N as f64);
        let along = |t: f64| -> [f64; N] { std::array::from_fn(|i| centroid[i] + t * (simplex[N].0[i] - centroid[i])) };
        let reflected = along(-1.0);
        let fr = cost(&reflected);
        if fr < simplex[0].1 {
            let expanded = along(-2.0);
            let fe = cost(&expanded);
            simplex[N] = if fe < fr { (expanded, fe) } else { (reflected, fr) };
        } else if fr < simplex[N - 1].1 {
            simplex[N] = (reflected, fr);
        } else {
            let contracted = if fr < simplex[N].1 { along(-0.5) } else { along(0.5) };
            let fc = cost(&contracted);
            if fc < simplex[N].1.min(fr) {
                simplex[N] = (contracted, fc);
            } else {
                let b = simplex[0].0;
                for s in simplex.iter_mut().skip(1) {
                    let x: [f64; N] = std::array::from_fn(|i| b[i] + 0.5 * (s.0[i] - b[i]));
                    *s = (x, cost(&x));
                }
            }
        }
    }
    drop(cost);
    let (rms_mm, x, zones) = best.expect("at least one evaluation");
    Fit { params: to_params(&x, d0), zones, rms_mm, evaluations: count.get() }
}

/// Leave-one-setting-out: for each chart entry, refit on the others (from `start`, at most
/// `evaluations` simulations) and predict it. Returns the held-out predictions in chart order.
pub fn leave_one_out(start: SarParameters, frequency_hz: f64, chart: &[ChartEntry], criterion: Criterion, h: f64, evaluations: usize, mut progress: impl FnMut(usize, f64)) -> Vec<ZoneAxes> {
    (0..chart.len())
        .map(|held| {
            let rest: Vec<ChartEntry> = chart.iter().enumerate().filter(|(i, _)| *i != held).map(|(_, c)| *c).collect();
            let f = fit(start, frequency_hz, &rest, criterion, h, evaluations, |_, _, _| {});
            progress(held, f.rms_mm);
            simulate_chart(f.params, frequency_hz, &chart[held..=held], criterion, h)[0]
        })
        .collect()
}

/// The baseline a planner that scales zones with energy would use: each of long axis,
/// short axis and distal extent a straight line in P·t, fitted without the held-out
/// entry, predicting it.
pub fn energy_regression_leave_one_out(chart: &[ChartEntry]) -> Vec<[f64; 3]> {
    (0..chart.len())
        .map(|held| {
            let rest: Vec<&ChartEntry> = chart.iter().enumerate().filter(|(i, _)| *i != held).map(|(_, c)| c).collect();
            let x: Vec<f64> = rest.iter().map(|c| c.energy_kj()).collect();
            let line = |y: Vec<f64>| {
                let n = x.len() as f64;
                let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
                let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
                let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
                let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
                my + b * (chart[held].energy_kj() - mx)
            };
            [line(rest.iter().map(|c| c.long_mm).collect()), line(rest.iter().map(|c| c.short_mm).collect()), line(rest.iter().map(|c| c.distal_mm).collect())]
        })
        .collect()
}

/// Mean absolute error over long, short and distal, mm.
pub fn mean_absolute_error(predicted: &[[f64; 3]], chart: &[ChartEntry]) -> f64 {
    let e: Vec<f64> = predicted.iter().zip(chart).flat_map(|(p, c)| [p[0] - c.long_mm, p[1] - c.short_mm, p[2] - c.distal_mm]).map(f64::abs).collect();
    e.iter().sum::<f64>() / e.len().max(1) as f64
}
