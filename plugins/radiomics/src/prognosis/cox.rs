//! Cox proportional hazards with an elastic-net penalty, fitted by proximal gradient
//! descent: Candle autograd gives the gradient of the negative log partial likelihood
//! (Breslow's handling of ties); the L2 part joins the gradient and the L1 part is the
//! proximal (soft-threshold) step, with backtracking on the step size. Covariates are
//! standardised first, so one penalty weight means the same for every covariate.

use candle_core::{DType, Device, Tensor, Var};

/// Penalty: `lambda * (alpha * |b|_1 + (1 - alpha) / 2 * |b|_2^2)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Penalty {
    pub lambda: f64,
    pub alpha: f64,
}

/// Survival data with standardised covariates, ordered by decreasing time so that every
/// risk set is a prefix.
pub struct Prepared {
    x: Tensor,
    events: Tensor,
    /// Index of the last member of each subject's tie group (the end of its risk set).
    risk_end: Tensor,
    n_events: f64,
}

pub fn prepare(x: &[Vec<f64>], time: &[f64], event: &[bool]) -> candle_core::Result<Prepared> {
    let n = time.len();
    let p = x.first().map(|r| r.len()).unwrap_or(0);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| time[b].total_cmp(&time[a]));
    let mut flat = Vec::with_capacity(n * p);
    for &i in &order {
        flat.extend_from_slice(&x[i]);
    }
    let mut risk_end = vec![0u32; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && time[order[j + 1]] == time[order[i]] {
            j += 1;
        }
        for r in risk_end.iter_mut().take(j + 1).skip(i) {
            *r = j as u32;
        }
        i = j + 1;
    }
    let ev: Vec<f64> = order.iter().map(|&i| event[i] as u8 as f64).collect();
    let dev = Device::Cpu;
    Ok(Prepared {
        x: Tensor::from_vec(flat, (n, p), &dev)?,
        n_events: ev.iter().sum::<f64>().max(1.0),
        events: Tensor::from_vec(ev, n, &dev)?,
        risk_end: Tensor::from_vec(risk_end, n, &dev)?,
    })
}

/// Negative log partial likelihood per event, as a Candle graph of `beta`.
fn neg_log_likelihood(d: &Prepared, beta: &Tensor) -> candle_core::Result<Tensor> {
    let eta = d.x.matmul(&beta.unsqueeze(1)?)?.squeeze(1)?;
    // Shift by the maximum for stability; it cancels between the two terms.
    let shift = eta.max(0)?.detach();
    let eta_s = eta.broadcast_sub(&shift)?;
    let cumulative = eta_s.exp()?.cumsum(0)?;
    let log_risk = cumulative.index_select(&d.risk_end, 0)?.log()?;
    let per = (eta_s - log_risk)?.mul(&d.events)?;
    per.sum_all()?.affine(-1.0 / d.n_events, 0.0)
}

fn penalised(d: &Prepared, beta: &Tensor, pen: Penalty) -> candle_core::Result<f64> {
    let nll = neg_log_likelihood(d, beta)?.to_scalar::<f64>()?;
    let b: Vec<f64> = beta.to_vec1()?;
    let l1: f64 = b.iter().map(|v| v.abs()).sum();
    let l2: f64 = b.iter().map(|v| v * v).sum();
    Ok(nll + pen.lambda * (pen.alpha * l1 + (1.0 - pen.alpha) / 2.0 * l2))
}

fn soft_threshold(v: f64, t: f64) -> f64 {
    v.signum() * (v.abs() - t).max(0.0)
}

/// Fits the coefficients (on the standardised scale). Converges when the penalised
/// objective changes by less than 1e-10 or after `max_iter` steps.
pub fn fit(d: &Prepared, pen: Penalty, max_iter: usize) -> candle_core::Result<Vec<f64>> {
    let p = d.x.dim(1)?;
    let beta = Var::zeros(p, DType::F64, &Device::Cpu)?;
    let mut step = 1.0;
    let mut objective = penalised(d, beta.as_tensor(), pen)?;
    for _ in 0..max_iter {
        let nll = neg_log_likelihood(d, beta.as_tensor())?;
        let grads = nll.backward()?;
        let g: Vec<f64> = grads.get(beta.as_tensor()).expect("beta takes part in the loss").to_vec1()?;
        let b: Vec<f64> = beta.as_tensor().to_vec1()?;
        let nll0 = nll.to_scalar::<f64>()?;
        // Backtracking: shrink the step until the quadratic bound holds for the smooth part.
        let next = loop {
            let cand: Vec<f64> = b
                .iter()
                .zip(&g)
                .map(|(&bi, &gi)| {
                    let smooth = gi + pen.lambda * (1.0 - pen.alpha) * bi;
                    soft_threshold(bi - step * smooth, step * pen.lambda * pen.alpha)
                })
                .collect();
            let t = Tensor::from_vec(cand.clone(), p, &Device::Cpu)?;
            let lhs = neg_log_likelihood(d, &t)?.to_scalar::<f64>()?;
            let diff: Vec<f64> = cand.iter().zip(&b).map(|(c, bi)| c - bi).collect();
            let rhs = nll0 + diff.iter().zip(&g).map(|(dv, gv)| dv * gv).sum::<f64>() + diff.iter().map(|v| v * v).sum::<f64>() / (2.0 * step);
            if lhs <= rhs + 1e-12 || step < 1e-8 {
                break cand;
            }
            step *= 0.5;
        };
        beta.set(&Tensor::from_vec(next, p, &Device::Cpu)?)?;
        let new_objective = penalised(d, beta.as_tensor(), pen)?;
        let converged = (objective - new_objective).abs() < 1e-10;
        objective = new_objective;
        step *= 1.5; // let the step grow back
        if converged {
            break;
        }
    }
    beta.as_tensor().to_vec1()
}

/// Breslow's baseline cumulative hazard at each distinct event time, given linear
/// predictors `eta` (on the fitted scale).
pub fn breslow(time: &[f64], event: &[bool], eta: &[f64]) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..time.len()).collect();
    order.sort_by(|&a, &b| time[a].total_cmp(&time[b]));
    let mut at_risk: f64 = eta.iter().map(|e| e.exp()).sum();
    let mut out = Vec::new();
    let mut cumulative = 0.0;
    let mut i = 0;
    while i < order.len() {
        let t = time[order[i]];
        let mut j = i;
        let (mut deaths, mut leaving) = (0.0, 0.0);
        while j < order.len() && time[order[j]] == t {
            deaths += event[order[j]] as u8 as f64;
            leaving += eta[order[j]].exp();
            j += 1;
        }
        if deaths > 0.0 {
            cumulative += deaths / at_risk;
            out.push((t, cumulative));
        }
        at_risk -= leaving;
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let x = vec![vec![0.5, -1.0], vec![1.5, 0.2], vec![-0.3, 0.7], vec![0.0, 1.1], vec![2.0, -0.4]];
        let time = [5.0, 3.0, 3.0, 8.0, 1.0];
        let event = [true, true, false, true, true];
        let d = prepare(&x, &time, &event).unwrap();
        let beta = Var::from_vec(vec![0.3, -0.2], 2, &Device::Cpu).unwrap();
        let g: Vec<f64> = neg_log_likelihood(&d, beta.as_tensor()).unwrap().backward().unwrap().get(beta.as_tensor()).unwrap().to_vec1().unwrap();
        for k in 0..2 {
            let mut up = vec![0.3, -0.2];
            let mut down = up.clone();
            up[k] += 1e-6;
            down[k] -= 1e-6;
            let f = |b: Vec<f64>| neg_log_likelihood(&d, &Tensor::from_vec(b, 2, &Device::Cpu).unwrap()).unwrap().to_scalar::<f64>().unwrap();
            let numeric = (f(up) - f(down)) / 2e-6;
            assert!((numeric - g[k]).abs() < 1e-6, "{numeric} vs {}", g[k]);
        }
    }

    #[test]
    fn strong_lasso_zeroes_every_coefficient() {
        let x = vec![vec![0.5, -1.0], vec![1.5, 0.2], vec![-0.3, 0.7], vec![0.0, 1.1], vec![2.0, -0.4]];
        let d = prepare(&x, &[5.0, 3.0, 4.0, 8.0, 1.0], &[true; 5]).unwrap();
        let b = fit(&d, Penalty { lambda: 10.0, alpha: 1.0 }, 200).unwrap();
        assert_eq!(b, vec![0.0, 0.0]);
    }

    #[test]
    fn breslow_without_covariates_is_nelson_aalen() {
        // Times 1, 2, 2, 3 (3 censored): H(1) = 1/4, H(2) = 1/4 + 2/3.
        let h = breslow(&[1.0, 2.0, 2.0, 3.0], &[true, true, true, false], &[0.0; 4]);
        assert_eq!(h.len(), 2);
        assert!((h[0].1 - 0.25).abs() < 1e-12 && (h[1].1 - (0.25 + 2.0 / 3.0)).abs() < 1e-12);
    }
}
