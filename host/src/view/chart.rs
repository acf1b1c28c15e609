//! Report tables drawn as charts: a table whose name ends in "curve" and whose first two
//! columns are numbers (x, then y in 0..1, e.g. months and survival probability) is shown
//! as a step curve under the table. This module turns rows into points in a unit square
//! (y up); the panel scales them to its rectangle.

use isotherm_sdk::abi::{Cell, Table};

fn number(c: &Cell) -> Option<f64> {
    match c {
        Cell::Number(x) if x.is_finite() => Some(*x),
        Cell::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

/// Whether a table should be drawn as a curve.
pub fn is_curve(t: &Table) -> bool {
    t.name.as_str().ends_with("curve") && t.columns.len() >= 2 && t.rows.len() >= 2
}

/// The step curve through the rows as polyline vertices in [0, 1]^2 (x scaled by the
/// largest x; y clamped to 0..1), plus the largest x for the axis label.
pub fn step_polyline(t: &Table) -> (Vec<[f32; 2]>, f64) {
    let points: Vec<(f64, f64)> = t.rows.iter().filter_map(|r| Some((number(r.first()?)?, number(r.get(1)?)?))).collect();
    let max_x = points.iter().map(|p| p.0).fold(0.0f64, f64::max);
    if points.is_empty() || max_x <= 0.0 {
        return (Vec::new(), 0.0);
    }
    let mut out = Vec::with_capacity(points.len() * 2);
    let mut prev_y: Option<f64> = None;
    for (x, y) in points {
        let (xs, ys) = ((x / max_x) as f32, y.clamp(0.0, 1.0) as f32);
        if let Some(py) = prev_y {
            out.push([xs, py as f32]);
        }
        out.push([xs, ys]);
        prev_y = Some(ys as f64);
    }
    (out, max_x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::RVec;

    #[test]
    fn steps_hold_each_value_until_the_next_time() {
        let row = |x: f64, y: f64| -> RVec<Cell> { vec![Cell::Number(x), Cell::Number(y)].into() };
        let t = Table {
            name: "survival curve".into(),
            columns: vec!["months".into(), "survival".into()].into(),
            units: vec!["".into(), "".into()].into(),
            rows: vec![row(0.0, 1.0), row(10.0, 0.8), row(20.0, 0.5)].into(),
        };
        assert!(is_curve(&t));
        let (p, max_x) = step_polyline(&t);
        assert_eq!(max_x, 20.0);
        assert_eq!(p, vec![[0.0, 1.0], [0.5, 1.0], [0.5, 0.8], [1.0, 0.8], [1.0, 0.5]]);
    }
}
