//! Survival statistics the model is judged by: Kaplan-Meier curves and Harrell's
//! concordance index.

/// Kaplan-Meier estimate: (time, survival just after it) at each distinct event time,
/// starting from (0, 1).
pub fn kaplan_meier(time: &[f64], event: &[bool]) -> Vec<(f64, f64)> {
    let mut order: Vec<usize> = (0..time.len()).collect();
    order.sort_by(|&a, &b| time[a].total_cmp(&time[b]));
    let mut at_risk = time.len() as f64;
    let mut s = 1.0;
    let mut out = vec![(0.0, 1.0)];
    let mut i = 0;
    while i < order.len() {
        let t = time[order[i]];
        let (mut deaths, mut leaving) = (0.0, 0.0);
        while i < order.len() && time[order[i]] == t {
            deaths += event[order[i]] as u8 as f64;
            leaving += 1.0;
            i += 1;
        }
        if deaths > 0.0 {
            s *= 1.0 - deaths / at_risk;
            out.push((t, s));
        }
        at_risk -= leaving;
    }
    out
}

/// A step function's value at `t` (last step at or before `t`).
pub fn step_at(curve: &[(f64, f64)], t: f64, before_first: f64) -> f64 {
    curve.iter().take_while(|(u, _)| *u <= t).last().map(|(_, v)| *v).unwrap_or(before_first)
}

/// Harrell's C: among comparable pairs (the shorter time is an event), the share where
/// the higher risk has the shorter time; ties in risk count one half.
pub fn c_index(time: &[f64], event: &[bool], risk: &[f64]) -> f64 {
    let (mut concordant, mut comparable) = (0.0, 0.0);
    for i in 0..time.len() {
        if !event[i] {
            continue;
        }
        for j in 0..time.len() {
            if time[j] > time[i] {
                comparable += 1.0;
                if risk[i] > risk[j] {
                    concordant += 1.0;
                } else if risk[i] == risk[j] {
                    concordant += 0.5;
                }
            }
        }
    }
    if comparable == 0.0 { 0.5 } else { concordant / comparable }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kaplan_meier_by_hand() {
        // 5 subjects: deaths at 2 and 4, censored at 3, 5, 6.
        let km = kaplan_meier(&[2.0, 3.0, 4.0, 5.0, 6.0], &[true, false, true, false, false]);
        assert_eq!(km.len(), 3);
        assert!((km[1].1 - 0.8).abs() < 1e-12);
        assert!((km[2].1 - 0.8 * (1.0 - 1.0 / 3.0)).abs() < 1e-12);
        assert_eq!(step_at(&km, 3.5, 1.0), km[1].1);
    }

    #[test]
    fn c_index_extremes() {
        let time = [1.0, 2.0, 3.0, 4.0];
        let event = [true; 4];
        assert_eq!(c_index(&time, &event, &[4.0, 3.0, 2.0, 1.0]), 1.0);
        assert_eq!(c_index(&time, &event, &[1.0, 2.0, 3.0, 4.0]), 0.0);
        assert_eq!(c_index(&time, &event, &[1.0; 4]), 0.5);
    }
}
