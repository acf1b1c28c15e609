//! Thermal damage, four criteria side by side from one temperature history
//! (`ablation-physics.md` §2.4): Arrhenius with the COMSOL liver set (A = 7.39e39 1/s,
//! Ea = 2.577e5 J/mol) and with Jacques' Eyring-form set (ΔH = 2.768e5 J/mol,
//! ΔS = 553.5 J/(mol K)); CEM43 (R = 0.5 above 43 °C, 0.25 below) with 240 min as
//! necrosis; and the 60 °C isotherm (the peak temperature reached).
//!
//! Rates are tabulated every 0.005 K, so a step costs a table read per voxel, not an
//! exponential. Only voxels warmer than blood by [`WARM_K`] accumulate: body temperature
//! alone does not coagulate tissue, though the COMSOL rate at 37 °C would add 0.17 per
//! 10 min to every voxel.

use serde::{Deserialize, Serialize};

use crate::bioheat::ActiveBox;
use crate::tissue::BLOOD_C;

/// The gas constant as COMSOL (and the reference times) use it.
const GAS_CONSTANT: f64 = 8.314;
const BOLTZMANN_OVER_PLANCK: f64 = 1.380_649e-23 / 6.626_070_15e-34;

/// Below blood temperature plus this (K) nothing accumulates.
pub const WARM_K: f32 = 0.5;
/// CEM43 minutes that count as necrosis.
pub const CEM43_NECROSIS_MIN: f64 = 240.0;
/// The fixed-isotherm criterion (°C).
pub const ISOTHERM_C: f64 = 60.0;

/// Which criterion makes a voxel part of the ablation zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Criterion {
    /// Ω ≥ 1, COMSOL liver set (the default, and the one perfusion stops at).
    ArrheniusComsol,
    /// Ω ≥ 1, Jacques' liver set.
    ArrheniusJacques,
    /// CEM43 ≥ 240 min.
    Cem43,
    /// Peak temperature ≥ 60 °C.
    Isotherm60,
}

impl Criterion {
    pub const ALL: [Criterion; 4] = [Criterion::ArrheniusComsol, Criterion::ArrheniusJacques, Criterion::Cem43, Criterion::Isotherm60];
    pub fn name(self) -> &'static str {
        match self {
            Criterion::ArrheniusComsol => "arrhenius-comsol",
            Criterion::ArrheniusJacques => "arrhenius-jacques",
            Criterion::Cem43 => "cem43",
            Criterion::Isotherm60 => "isotherm-60",
        }
    }
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }
    pub fn describe(self) -> &'static str {
        match self {
            Criterion::ArrheniusComsol => "Arrhenius, COMSOL liver set (Omega >= 1)",
            Criterion::ArrheniusJacques => "Arrhenius, Jacques liver set (Omega >= 1)",
            Criterion::Cem43 => "CEM43 >= 240 min",
            Criterion::Isotherm60 => "60 C isotherm (peak temperature)",
        }
    }
}

/// Damage rate dΩ/dt (1/s) of the COMSOL set at `t` °C.
pub fn rate_comsol(t: f64) -> f64 {
    7.39e39 * (-2.577e5 / (GAS_CONSTANT * (t + 273.15))).exp()
}

/// Damage rate dΩ/dt (1/s) of Jacques' Eyring-form set at `t` °C.
pub fn rate_jacques(t: f64) -> f64 {
    let tk = t + 273.15;
    BOLTZMANN_OVER_PLANCK * tk * (553.5 / GAS_CONSTANT).exp() * (-2.768e5 / (GAS_CONSTANT * tk)).exp()
}

/// CEM43 minutes gained per second at `t` °C.
pub fn rate_cem43(t: f64) -> f64 {
    let r: f64 = if t >= 43.0 { 0.5 } else { 0.25 };
    r.powf(43.0 - t) / 60.0
}

const LUT_STEP: f64 = 0.005;
const LUT_LOW: f64 = BLOOD_C;
const LUT_HIGH: f64 = 250.0;

/// Tabulated rates of the three dose-type criteria.
struct RateTable {
    rows: Vec<[f32; 3]>,
}

impl RateTable {
    fn new() -> Self {
        let n = ((LUT_HIGH - LUT_LOW) / LUT_STEP) as usize + 1;
        let rows = (0..n)
            .map(|i| {
                let t = LUT_LOW + i as f64 * LUT_STEP;
                [rate_comsol(t) as f32, rate_jacques(t) as f32, rate_cem43(t) as f32]
            })
            .collect();
        RateTable { rows }
    }
    #[inline]
    fn at(&self, t: f32) -> [f32; 3] {
        // Nearest entry (t is above LUT_LOW here, so the cast truncates a positive value).
        let i = (((t - LUT_LOW as f32) * (1.0 / LUT_STEP as f32) + 0.5).max(0.0) as usize).min(self.rows.len() - 1);
        self.rows[i]
    }
}

/// Accumulated damage per voxel.
pub struct Damage {
    pub omega_comsol: Vec<f32>,
    pub omega_jacques: Vec<f32>,
    /// CEM43, minutes.
    pub cem43: Vec<f32>,
    /// Peak temperature, °C.
    pub peak: Vec<f32>,
    table: RateTable,
}

impl Damage {
    pub fn new(len: usize) -> Self {
        Damage { omega_comsol: vec![0.0; len], omega_jacques: vec![0.0; len], cem43: vec![0.0; len], peak: vec![BLOOD_C as f32; len], table: RateTable::new() }
    }

    /// Adds `dt` seconds at the temperatures `t` (a grid of `dims`) inside `region`,
    /// z-planes side by side. Returns, in `coagulated`, the voxels whose Jacques Ω (liver
    /// coagulation) crossed 1 in this step, and the box of the voxels warm enough to count.
    pub fn accumulate(&mut self, t: &[f32], dt: f64, dims: [usize; 3], region: ActiveBox, coagulated: &mut Vec<usize>) -> Option<ActiveBox> {
        use rayon::prelude::*;
        let warm = BLOOD_C as f32 + WARM_K;
        let dt = dt as f32;
        let plane = dims[0] * dims[1];
        let r = region.lo[2] * plane..region.hi[2] * plane;
        let table = &self.table;
        let per_plane: Vec<(Vec<usize>, Option<ActiveBox>)> = (self.omega_comsol[r.clone()].par_chunks_mut(plane), self.omega_jacques[r.clone()].par_chunks_mut(plane), self.cem43[r.clone()].par_chunks_mut(plane), self.peak[r.clone()].par_chunks_mut(plane), t[r.clone()].par_chunks(plane))
            .into_par_iter()
            .enumerate()
            .map(|(p, (oc, oj, cem, peak, tp))| {
                let z = region.lo[2] + p;
                let base = z * plane;
                let mut crossed = Vec::new();
                let mut found: Option<ActiveBox> = None;
                for y in region.lo[1]..region.hi[1] {
                    for x in region.lo[0]..region.hi[0] {
                        let i = x + dims[0] * y;
                        let ti = tp[i];
                        if ti <= warm {
                            continue;
                        }
                        let b = found.get_or_insert(ActiveBox { lo: [x, y, z], hi: [x + 1, y + 1, z + 1] });
                        b.lo[0] = b.lo[0].min(x);
                        b.hi[0] = b.hi[0].max(x + 1);
                        b.lo[1] = b.lo[1].min(y);
                        b.hi[1] = b.hi[1].max(y + 1);
                        let [a, bb, c] = table.at(ti);
                        oc[i] += a * dt;
                        let before = oj[i];
                        oj[i] = before + bb * dt;
                        cem[i] += c * dt;
                        if ti > peak[i] {
                            peak[i] = ti;
                        }
                        if before < 1.0 && oj[i] >= 1.0 {
                            crossed.push(base + i);
                        }
                    }
                }
                (crossed, found)
            })
            .collect();
        let mut warm_box: Option<ActiveBox> = None;
        for (crossed, found) in per_plane {
            coagulated.extend(crossed);
            if let Some(f) = found {
                warm_box = Some(match warm_box {
                    None => f,
                    Some(w) => ActiveBox { lo: [0, 1, 2].map(|a| w.lo[a].min(f.lo[a])), hi: [0, 1, 2].map(|a| w.hi[a].max(f.hi[a])) },
                });
            }
        }
        warm_box
    }

    /// Whether voxel `i` is ablated under `criterion`.
    #[inline]
    pub fn ablated(&self, criterion: Criterion, i: usize) -> bool {
        match criterion {
            Criterion::ArrheniusComsol => self.omega_comsol[i] >= 1.0,
            Criterion::ArrheniusJacques => self.omega_jacques[i] >= 1.0,
            Criterion::Cem43 => self.cem43[i] as f64 >= CEM43_NECROSIS_MIN,
            Criterion::Isotherm60 => self.peak[i] as f64 >= ISOTHERM_C,
        }
    }

    /// The scalar field a criterion thresholds, and its threshold.
    pub fn field(&self, criterion: Criterion) -> (&[f32], f32) {
        match criterion {
            Criterion::ArrheniusComsol => (&self.omega_comsol, 1.0),
            Criterion::ArrheniusJacques => (&self.omega_jacques, 1.0),
            Criterion::Cem43 => (&self.cem43, CEM43_NECROSIS_MIN as f32),
            Criterion::Isotherm60 => (&self.peak, ISOTHERM_C as f32),
        }
    }

    pub fn zone(&self, criterion: Criterion) -> Vec<bool> {
        (0..self.peak.len()).map(|i| self.ablated(criterion, i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps a constant temperature through the accumulator until the criterion holds,
    /// interpolating the crossing within the last step.
    fn time_to(criterion: Criterion, t: f32, dt: f64) -> f64 {
        let mut d = Damage::new(1);
        let temps = [t];
        let mut time = 0.0;
        let value = |d: &Damage| match criterion {
            Criterion::ArrheniusComsol => d.omega_comsol[0] as f64,
            Criterion::ArrheniusJacques => d.omega_jacques[0] as f64,
            _ => d.cem43[0] as f64 / CEM43_NECROSIS_MIN,
        };
        loop {
            let before = value(&d);
            d.accumulate(&temps, dt, [1, 1, 1], ActiveBox { lo: [0; 3], hi: [1; 3] }, &mut Vec::new());
            let after = value(&d);
            if after >= 1.0 {
                return time + dt * (1.0 - before) / (after - before);
            }
            time += dt;
        }
    }

    #[test]
    fn omega_one_at_60_c_takes_3_45_s_with_the_comsol_set() {
        let t = time_to(Criterion::ArrheniusComsol, 60.0, 0.01);
        assert!((t - 3.45).abs() / 3.45 < 1e-3, "{t}");
    }

    #[test]
    fn criteria_agree_with_the_reference_table() {
        // ablation-physics.md §2.4, time to Ω = 1 or CEM43 = 240 min at constant T (the
        // table rounds the 70 °C CEM43 time to 1e-4 s; 240 min / 0.5^-27 is 1.07e-4 s).
        for (temp, comsol, jacques, cem) in [(50.0, 61.0, 1010.0, 112.0), (55.0, 14.0, 206.0, 3.5), (70.0, 0.23, 2.3, 1.07e-4)] {
            let close = |got: f64, want: f64| (got - want).abs() / want < 0.04;
            let c = time_to(Criterion::ArrheniusComsol, temp, comsol / 1e4);
            let j = time_to(Criterion::ArrheniusJacques, temp, jacques / 1e4);
            let m = time_to(Criterion::Cem43, temp, cem / 1e4);
            assert!(close(c, comsol) && close(j, jacques) && close(m, cem), "{temp}: {c} {j} {m}");
        }
    }

    #[test]
    fn body_temperature_alone_does_no_damage() {
        let mut d = Damage::new(2);
        d.accumulate(&[37.2, 80.0], 600.0, [2, 1, 1], ActiveBox { lo: [0; 3], hi: [2, 1, 1] }, &mut Vec::new());
        assert_eq!(d.omega_comsol[0], 0.0);
        assert!(d.ablated(Criterion::Isotherm60, 1) && !d.ablated(Criterion::Isotherm60, 0));
    }
}
