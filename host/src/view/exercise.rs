//! The teaching exercise's score: a trainee's ablation against the planning plugin's
//! own recommendation for the same case, from the two planning reports. The margin goal
//! is the case's (hidden from the trainee until the score is shown).
//!
//! Points out of 100: coverage 40 (share of the tumour inside the zone), margin 30
//! (the minimal margin as a share of the goal, nothing while any tumour is outside),
//! healthy liver 15 and energy 15 (full marks at or below the recommendation's, falling
//! in proportion above it). The goal is met with the whole tumour covered and the
//! margin at or above the goal.

use isotherm_sdk::abi::{Cell, Report};

/// What a planning report says about one ablation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attempt {
    pub covered_percent: f64,
    /// Minimal ablative margin, mm (negative: tumour outside the zone); `None` when the
    /// report has no tumour at the antenna.
    pub mam_mm: Option<f64>,
    pub healthy_liver_ml: f64,
    pub energy_kj: f64,
}

impl Attempt {
    /// From a planning report (`tumour_covered`, `predicted_mam`, `healthy_liver_ablated`,
    /// `energy`). `None` without the energy or the healthy liver: not a planning report.
    pub fn from_report(r: &Report) -> Option<Attempt> {
        let number = |key: &str| {
            r.values.iter().find(|v| v.key.as_str() == key).and_then(|v| match v.value {
                Cell::Number(x) => Some(x),
                Cell::Integer(i) => Some(i as f64),
                _ => None,
            })
        };
        Some(Attempt {
            covered_percent: number("tumour_covered").unwrap_or(0.0),
            mam_mm: number("predicted_mam"),
            healthy_liver_ml: number("healthy_liver_ablated")?,
            energy_kj: number("energy")?,
        })
    }
}

/// One line of the score: what, points earned, points possible, and the two values.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub name: &'static str,
    pub points: f64,
    pub max: f64,
    pub attempt: String,
    pub recommended: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub total: f64,
    pub goal_met: bool,
    pub goal_mm: f64,
    pub parts: Vec<Part>,
}

/// Full marks at or below `reference`, falling in proportion above it.
fn at_most(value: f64, reference: f64) -> f64 {
    if value <= reference || value <= 0.0 { 1.0 } else { (reference / value).clamp(0.0, 1.0) }
}

/// A part worth 15 points, full at or below the recommendation's value.
fn at_most_part(name: &'static str, value: f64, reference: f64, unit: &str) -> Part {
    Part { name, points: 15.0 * at_most(value, reference), max: 15.0, attempt: format!("{value:.1} {unit}"), recommended: format!("{reference:.1} {unit}") }
}

pub fn score(attempt: &Attempt, recommended: &Attempt, goal_mm: f64) -> Score {
    let fully_covered = attempt.covered_percent >= 99.9;
    let mam = attempt.mam_mm.unwrap_or(f64::NEG_INFINITY);
    let margin_share = if fully_covered && mam.is_finite() { (mam / goal_mm).clamp(0.0, 1.0) } else { 0.0 };
    let mm = |m: Option<f64>| m.map(|v| format!("{v:.1} mm")).unwrap_or_else(|| "no tumour at the antenna".into());
    let parts = vec![
        Part {
            name: "tumour covered",
            points: 40.0 * (attempt.covered_percent / 100.0).clamp(0.0, 1.0),
            max: 40.0,
            attempt: format!("{:.1} %", attempt.covered_percent),
            recommended: format!("{:.1} %", recommended.covered_percent),
        },
        Part { name: "minimal margin", points: 30.0 * margin_share, max: 30.0, attempt: mm(attempt.mam_mm), recommended: mm(recommended.mam_mm) },
        at_most_part("healthy liver ablated", attempt.healthy_liver_ml, recommended.healthy_liver_ml, "ml"),
        at_most_part("energy", attempt.energy_kj, recommended.energy_kj, "kJ"),
    ];
    Score { total: parts.iter().map(|p| p.points).sum(), goal_met: fully_covered && mam >= goal_mm, goal_mm, parts }
}

/// The margin goal of an exercise case: `margin_goal_mm` in its `exercise.toml`, else
/// the clinical target of 5 mm.
pub fn goal_of(case_dir: &std::path::Path) -> Result<f64, String> {
    let path = case_dir.join("exercise.toml");
    if !path.is_file() {
        return Ok(5.0);
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Exercise {
        margin_goal_mm: f64,
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let e: Exercise = toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?;
    if !(e.margin_goal_mm.is_finite() && (0.0..=20.0).contains(&e.margin_goal_mm)) {
        return Err(format!("{}: margin_goal_mm must be between 0 and 20 mm", path.display()));
    }
    Ok(e.margin_goal_mm)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECOMMENDED: Attempt = Attempt { covered_percent: 100.0, mam_mm: Some(5.4), healthy_liver_ml: 20.0, energy_kj: 45.0 };

    #[test]
    fn the_recommendation_itself_scores_full_marks_and_meets_the_goal() {
        let s = score(&RECOMMENDED, &RECOMMENDED, 5.0);
        assert!((s.total - 100.0).abs() < 1e-9 && s.goal_met, "{s:?}");
        // A stricter hidden goal: the same ablation falls short on the margin.
        let strict = score(&RECOMMENDED, &RECOMMENDED, 10.0);
        assert!(!strict.goal_met && (strict.total - (70.0 + 30.0 * 0.54)).abs() < 1e-9, "{strict:?}");
    }

    #[test]
    fn a_missed_tumour_loses_the_margin_and_overtreatment_costs_in_proportion() {
        let missed = Attempt { covered_percent: 80.0, mam_mm: Some(-3.0), healthy_liver_ml: 10.0, energy_kj: 30.0 };
        let s = score(&missed, &RECOMMENDED, 5.0);
        assert_eq!(s.parts[0].points, 32.0);
        assert_eq!(s.parts[1].points, 0.0);
        assert_eq!((s.parts[2].points, s.parts[3].points), (15.0, 15.0));
        assert!(!s.goal_met);
        let big = Attempt { covered_percent: 100.0, mam_mm: Some(9.0), healthy_liver_ml: 40.0, energy_kj: 90.0 };
        let s = score(&big, &RECOMMENDED, 5.0);
        assert!(s.goal_met);
        assert_eq!((s.parts[2].points, s.parts[3].points), (7.5, 7.5));
        assert_eq!(s.total, 85.0);
    }

    #[test]
    fn attempts_are_read_from_planning_reports_and_goals_from_the_case() {
        let r = Report::new("plan")
            .number("energy", 30.0, "kJ")
            .number("healthy_liver_ablated", 12.5, "ml")
            .number("predicted_mam", 3.2, "mm")
            .number("tumour_covered", 100.0, "%");
        assert_eq!(Attempt::from_report(&r), Some(Attempt { covered_percent: 100.0, mam_mm: Some(3.2), healthy_liver_ml: 12.5, energy_kj: 30.0 }));
        assert_eq!(Attempt::from_report(&Report::new("other")), None);
        let dir = std::env::temp_dir().join(format!("isotherm-exercise-goal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(goal_of(&dir), Ok(5.0));
        std::fs::write(dir.join("exercise.toml"), "margin_goal_mm = 10.0\n").unwrap();
        assert_eq!(goal_of(&dir), Ok(10.0));
        std::fs::write(dir.join("exercise.toml"), "margin_goal_mm = -1\n").unwrap();
        assert!(goal_of(&dir).unwrap_err().contains("exercise.toml: margin_goal_mm"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
