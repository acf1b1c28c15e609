//! How much the recommendation narrows the spread of achieved margins between novice and
//! expert operators, on generated phantom tumours (the MWA-PS finding, simulated).
//!
//! Error model (an assumption: no published numbers were found; stated in the report):
//! - Execution, for everyone: the tip lands off the planned point by an isotropic
//!   Gaussian of [`EXECUTION_MM`] per axis (needle deflection under CT guidance).
//! - Planning by eye, without the recommendation: the operator aims at the tumour's centre
//!   with an error of `aim_mm` per axis, along a direction off the best path by `angle_deg`
//!   (Gaussian), and picks the chart setting whose short axis is at least the tumour's
//!   diameter plus 10 mm, the diameter misjudged by `size_error` (relative, Gaussian).
//!   Novice: 3.5 mm, 8°, 20 %; expert: 1.0 mm, 3°, 5 %.
//! - With the recommendation: its path and setting; only the execution error remains.
//!
//! Achieved margins are measured against the setting's zone in homogeneous liver (the
//! heat sink is left out so the spread shows the operators, not the vessels).

use isotherm_phantom::{Config, Size, generate, rng::Rng};

use crate::antenna::Antenna;
use crate::damage::Criterion;
use crate::recommend::{self, SettingShape, Target};
use crate::trajectory;
use crate::vec3::{along_across, sub, unit};

pub const EXECUTION_MM: f64 = 1.5;

#[derive(Debug, Clone, Copy)]
pub struct Operator {
    pub name: &'static str,
    pub aim_mm: f64,
    pub angle_deg: f64,
    pub size_error: f64,
}

pub const NOVICE: Operator = Operator { name: "novice", aim_mm: 3.5, angle_deg: 8.0, size_error: 0.20 };
pub const EXPERT: Operator = Operator { name: "expert", aim_mm: 1.0, angle_deg: 3.0, size_error: 0.05 };

/// Achieved margins of one arm over all tumours and trials, mm.
#[derive(Debug, Clone)]
pub struct Arm {
    pub operator: &'static str,
    pub recommended: bool,
    pub margins: Vec<f64>,
}

impl Arm {
    pub fn mean(&self) -> f64 {
        self.margins.iter().sum::<f64>() / self.margins.len().max(1) as f64
    }
    /// Standard deviation: the spread.
    pub fn spread(&self) -> f64 {
        let m = self.mean();
        (self.margins.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (self.margins.len().max(2) - 1) as f64).sqrt()
    }
    /// Share of trials reaching a 5 mm margin, %.
    pub fn reaching_5mm(&self) -> f64 {
        100.0 * self.margins.iter().filter(|&&m| m >= recommend::TARGET_MARGIN_MM).count() as f64 / self.margins.len().max(1) as f64
    }
}

pub struct Study {
    pub tumours: usize,
    pub trials: usize,
    pub seeds: std::ops::Range<u64>,
    pub arms: Vec<Arm>,
}

/// The smallest signed margin of the tumour's surface to `shape` placed with its tip at
/// `tip` and the shaft along `back`, mm.
fn margin(target: &Target, shape: &SettingShape, tip: [f64; 3], back: [f64; 3]) -> f64 {
    let c = [0, 1, 2].map(|a| tip[a] + shape.shape.centre_behind_tip_mm * back[a]);
    target
        .surface
        .iter()
        .map(|p| {
            let (z, r) = along_across(*p, c, back);
            shape.shape.depth(z, r) as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// `back` turned by a Gaussian angle of `sigma_deg` about a random perpendicular axis.
fn tilt(rng: &mut Rng, back: [f64; 3], sigma_deg: f64) -> [f64; 3] {
    let (e1, e2) = crate::zone::perpendiculars(back);
    let phi = 2.0 * std::f64::consts::PI * rng.unit();
    let theta = (sigma_deg * rng.normal()).to_radians();
    let side = [0, 1, 2].map(|a| phi.cos() * e1[a] + phi.sin() * e2[a]);
    unit([0, 1, 2].map(|a| theta.cos() * back[a] + theta.sin() * side[a]))
}

/// Runs the study on the tumours of phantoms `seeds` that one zone can cover with its
/// margin (at most `max_tumours`), `trials` placements per tumour and arm.
pub fn study(antenna: &Antenna, seeds: std::ops::Range<u64>, size: Size, max_tumours: usize, trials: usize) -> Result<Study, String> {
    let criterion = antenna.calibration.as_ref().map(|c| c.criterion).unwrap_or(Criterion::ArrheniusJacques);
    let shapes = recommend::setting_shapes(antenna, criterion)?;
    let largest_short = shapes.iter().map(|s| s.axes.short_mm).fold(0.0, f64::max);
    let mut arms: Vec<Arm> = [(NOVICE, false), (EXPERT, false), (NOVICE, true), (EXPERT, true)].iter().map(|(o, r)| Arm { operator: o.name, recommended: *r, margins: Vec::new() }).collect();
    let mut tumours = 0;
    for seed in seeds.clone() {
        if tumours >= max_tumours {
            break;
        }
        let case = generate(&Config::new(seed, size));
        let obstacles = trajectory::obstacles(&case.pre_ct, Some(&case.pre_labels), 3.0, 1.5);
        for t in &case.truth.tumours {
            if tumours >= max_tumours {
                break;
            }
            // One zone with its margin: diameter + 10 mm within the largest zone's short axis.
            if 2.0 * t.mean_radius_mm + 10.0 > largest_short {
                continue;
            }
            let Ok(target) = recommend::target_of(&case.pre_tumours, t.id as u16) else { continue };
            // The recommendation, as `recommend` ranks it (without the patient simulation).
            let best: Vec<Option<trajectory::Path>> = shapes.iter().map(|s| recommend::choose(&trajectory::search(&obstacles, target.centroid, &s.shape, &target.surface, &target.voxels, antenna.usable_length_mm, 4000).front)).collect();
            let Some(&rec_i) = recommend::ranked(&shapes, &best).first() else { continue };
            let rec_path = best[rec_i].expect("a ranked setting has a path");
            tumours += 1;
            let best_back = unit(sub(rec_path.entry, rec_path.tip));
            let mut rng = Rng::new(seed * 1000 + t.id as u64);
            for (arm, (op, recommended)) in arms.iter_mut().zip([(NOVICE, false), (EXPERT, false), (NOVICE, true), (EXPERT, true)]) {
                for _ in 0..trials {
                    let (shape, tip, back) = if recommended {
                        (&shapes[rec_i], rec_path.tip, best_back)
                    } else {
                        let judged = 2.0 * t.mean_radius_mm * (1.0 + op.size_error * rng.normal());
                        let s = shapes.iter().find(|s| s.setting.short_mm >= judged + 10.0).unwrap_or(shapes.iter().max_by(|a, b| a.setting.short_mm.total_cmp(&b.setting.short_mm)).unwrap());
                        let back = tilt(&mut rng, best_back, op.angle_deg);
                        let aim = [0, 1, 2].map(|a| target.centroid[a] + op.aim_mm * rng.normal());
                        let tip = [0, 1, 2].map(|a| aim[a] - s.shape.centre_behind_tip_mm * back[a]);
                        (s, tip, back)
                    };
                    let tip = [0, 1, 2].map(|a| tip[a] + EXECUTION_MM * rng.normal());
                    arm.margins.push(margin(&target, shape, tip, back));
                }
            }
        }
    }
    Ok(Study { tumours, trials, seeds, arms })
}
