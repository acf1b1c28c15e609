//! Antenna profiles: data files (TOML under `assets/antennas/`), one per antenna, with
//! the vendor's power/time chart and the SAR parameters calibrated against it. Adding an
//! antenna needs no code: write its chart, run `isotherm planning calibrate`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::damage::Criterion;
use crate::sar::SarParameters;

/// One row of a vendor chart: a setting and the zone it produces.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartEntry {
    pub power_w: f64,
    pub time_min: f64,
    /// Zone length along the antenna, mm.
    pub long_mm: f64,
    /// Zone diameter across the antenna, mm.
    pub short_mm: f64,
    /// How far the zone reaches past the tip, mm.
    pub distal_mm: f64,
}

impl ChartEntry {
    pub fn energy_kj(&self) -> f64 {
        self.power_w * self.time_min * 60.0 / 1e3
    }
    /// The chart zone as an ellipsoid, mL.
    pub fn volume_ml(&self) -> f64 {
        std::f64::consts::PI / 6.0 * self.long_mm * self.short_mm * self.short_mm / 1e3
    }
}

/// The fit stored with the profile by the calibration tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    #[serde(flatten)]
    pub sar: SarParameters,
    /// The damage criterion the chart's zones were fitted with.
    pub criterion: Criterion,
    /// Grid spacing of the fit, mm.
    pub grid_mm: f64,
    /// Date of the fit and the tool version that made it.
    pub fitted: String,
    /// Root-mean-square error over the chart's long and short axes and distal extents, mm.
    pub rms_mm: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Antenna {
    /// Short name used in `--param antenna=...` (the file's stem).
    pub id: String,
    pub name: String,
    pub frequency_hz: f64,
    /// Insertable length, mm: no trajectory may be longer.
    pub usable_length_mm: f64,
    pub diameter_mm: f64,
    /// Where the chart comes from, and what it does not say (tissue, in or ex vivo).
    pub source: String,
    pub chart: Vec<ChartEntry>,
    pub calibration: Option<Calibration>,
}

impl Antenna {
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self, String> {
        let a: Antenna = toml::from_str(text).map_err(|e| format!("{}: {}", origin.display(), e.message()))?;
        a.validate().map_err(|e| format!("{}: {e}", origin.display()))?;
        Ok(a)
    }

    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_toml(&text, path)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("antenna profiles serialise")
    }

    fn validate(&self) -> Result<(), String> {
        if self.chart.is_empty() {
            return Err("the chart has no entries".into());
        }
        if !(1e8..=1e11).contains(&self.frequency_hz) {
            return Err(format!("frequency_hz {} is not a microwave frequency", self.frequency_hz));
        }
        for (i, c) in self.chart.iter().enumerate() {
            let ok = [c.power_w, c.time_min, c.long_mm, c.short_mm].iter().all(|v| v.is_finite() && *v > 0.0) && c.distal_mm.is_finite();
            if !ok {
                return Err(format!("chart entry {} has a non-positive or non-finite value", i + 1));
            }
        }
        if let Some(c) = &self.calibration {
            let s = c.sar;
            if !(s.efficiency > 0.0 && s.efficiency <= 1.0 && s.feed_half_length_mm >= 0.0 && s.source_radius_mm > 0.0) {
                return Err("calibration: efficiency must be in (0, 1], half length >= 0, source radius > 0".into());
            }
        }
        Ok(())
    }

    /// The calibrated SAR parameters, or an error saying how to make them.
    pub fn sar(&self) -> Result<SarParameters, String> {
        self.calibration.as_ref().map(|c| c.sar).ok_or_else(|| format!("antenna '{}' is not calibrated: run `isotherm planning calibrate --antenna {}`", self.id, self.id))
    }

    /// The power range the chart covers, W.
    pub fn power_range(&self) -> (f64, f64) {
        self.chart.iter().fold((f64::MAX, f64::MIN), |(lo, hi), c| (lo.min(c.power_w), hi.max(c.power_w)))
    }

    /// The time range the chart covers, min.
    pub fn time_range(&self) -> (f64, f64) {
        self.chart.iter().fold((f64::MAX, f64::MIN), |(lo, hi), c| (lo.min(c.time_min), hi.max(c.time_min)))
    }

    /// The chart's zone for a setting: the listed entry, else interpolated linearly in
    /// time between the entries of the same power, then in power between the two nearest
    /// powers that bracket it. `None` outside what the chart brackets. What a vendor
    /// chart lookup shows beside the simulation.
    pub fn chart_zone(&self, power_w: f64, time_min: f64) -> Option<ChartEntry> {
        let at_power = |p: f64| -> Option<ChartEntry> {
            let mut row: Vec<&ChartEntry> = self.chart.iter().filter(|c| (c.power_w - p).abs() < 1e-9).collect();
            row.sort_by(|a, b| a.time_min.total_cmp(&b.time_min));
            let hi = row.iter().position(|c| c.time_min >= time_min - 1e-9)?;
            let b = row[hi];
            if (b.time_min - time_min).abs() < 1e-9 {
                return Some(*b);
            }
            let a = row[hi.checked_sub(1)?];
            Some(lerp(a, b, (time_min - a.time_min) / (b.time_min - a.time_min), p, time_min))
        };
        let mut powers: Vec<f64> = self.chart.iter().map(|c| c.power_w).collect();
        powers.sort_by(f64::total_cmp);
        powers.dedup();
        if let Some(&p) = powers.iter().find(|&&p| (p - power_w).abs() < 1e-9) {
            return at_power(p);
        }
        let hi = powers.iter().position(|&p| p > power_w)?;
        let (pa, pb) = (powers[hi.checked_sub(1)?], powers[hi]);
        let (a, b) = (at_power(pa)?, at_power(pb)?);
        Some(lerp(&a, &b, (power_w - pa) / (pb - pa), power_w, time_min))
    }

    /// A setting inside the chart's ranges, or an error naming the range.
    pub fn check_setting(&self, power_w: f64, time_min: f64) -> Result<(), String> {
        let (plo, phi) = self.power_range();
        let (tlo, thi) = self.time_range();
        if !(plo..=phi).contains(&power_w) {
            return Err(format!("power {power_w} W is outside the {} chart's range {plo}-{phi} W", self.name));
        }
        if !(tlo..=thi).contains(&time_min) {
            return Err(format!("time {time_min} min is outside the {} chart's range {tlo}-{thi} min", self.name));
        }
        Ok(())
    }
}

fn lerp(a: &ChartEntry, b: &ChartEntry, f: f64, power_w: f64, time_min: f64) -> ChartEntry {
    let mix = |x: f64, y: f64| x + f * (y - x);
    ChartEntry { power_w, time_min, long_mm: mix(a.long_mm, b.long_mm), short_mm: mix(a.short_mm, b.short_mm), distal_mm: mix(a.distal_mm, b.distal_mm) }
}

/// The antenna profiles in a folder, by id (file stem).
pub fn find(dir: &Path, id: &str) -> Result<Antenna, String> {
    let path = dir.join(format!("{id}.toml"));
    if !path.is_file() {
        let known = list(dir).into_iter().map(|p| p.file_stem().unwrap_or_default().to_string_lossy().into_owned()).collect::<Vec<_>>();
        return Err(format!("unknown antenna '{id}' (profiles in {}: {})", dir.display(), if known.is_empty() { "none".into() } else { known.join(", ") }));
    }
    let a = Antenna::load(&path)?;
    if a.id != id {
        return Err(format!("{}: id '{}' does not match the file name", path.display(), a.id));
    }
    Ok(a)
}

pub fn list(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "toml")).collect();
    v.sort();
    v
}
