//! One ablation, start to finish: the bioheat solver driven by the antenna's SAR (re-
//! evaluated as the tissue heats), damage accumulated every step, perfusion stopped
//! where tissue coagulates.

use crate::antenna::Antenna;
use crate::bioheat::{Bioheat, Medium};
use crate::damage::{Criterion, Damage};
use crate::sar::{Pose, Sar, SarParameters};
use crate::zone::{self, ZoneAxes};

/// Simulated seconds between SAR updates: the dielectric properties change on the
/// scale of tens of seconds.
pub const SAR_INTERVAL_S: f64 = 5.0;

pub struct Ablation {
    pub sim: Bioheat,
    pub damage: Damage,
    pub pose: Pose,
    pub power_w: f64,
    pub sar_parameters: SarParameters,
    sar: Sar,
    next_sar: f64,
    coagulated: Vec<usize>,
    /// Where tissue is warm enough to accumulate damage (grown by a voxel a step).
    warm: Option<crate::bioheat::ActiveBox>,
}

impl Ablation {
    /// An ablation with `antenna`'s calibrated SAR at `power_w`, the antenna placed at
    /// `pose` in the medium's grid.
    pub fn new(medium: Medium, antenna: &Antenna, pose: Pose, power_w: f64) -> Result<Self, String> {
        let params = antenna.sar()?;
        Ok(Self::with_parameters(medium, params, antenna.frequency_hz, pose, power_w))
    }

    pub fn with_parameters(medium: Medium, params: SarParameters, frequency_hz: f64, pose: Pose, power_w: f64) -> Self {
        let sar = Sar::new(params, frequency_hz, pose, medium.dims, medium.h);
        let n = medium.len();
        Ablation { sim: Bioheat::new(medium), damage: Damage::new(n), pose, power_w, sar_parameters: params, sar, next_sar: 0.0, coagulated: Vec::new(), warm: None }
    }

    pub fn time(&self) -> f64 {
        self.sim.time
    }

    /// Energy delivered by the generator so far, J.
    pub fn energy_j(&self) -> f64 {
        self.power_w * self.sim.time
    }

    /// One step: SAR when due, the heat equation, damage, perfusion shut-off.
    pub fn step(&mut self) {
        if self.sim.time + 1e-9 >= self.next_sar {
            let mut q = self.sim.take_source();
            self.sar.source_into(self.power_w, self.sim.temperature(), &mut q);
            self.sim.set_source_within(q, self.sar.support());
            self.next_sar += SAR_INTERVAL_S;
        }
        self.sim.step();
        let Some(active) = self.sim.active_box() else { return };
        // Only where it was warm, or heated, a step ago can it be warm now: an explicit step
        // moves heat by one voxel, and no voxel exceeds its warmest neighbour without a source.
        let d = self.sim.medium.dims;
        let s = self.sar.support();
        let region = match self.warm {
            Some(w) => crate::bioheat::ActiveBox { lo: [0, 1, 2].map(|a| w.lo[a].min(s.lo[a]).saturating_sub(1)), hi: [0, 1, 2].map(|a| (w.hi[a].max(s.hi[a]) + 1).min(d[a])) },
            None => s,
        };
        let region = crate::bioheat::ActiveBox { lo: [0, 1, 2].map(|a| region.lo[a].max(active.lo[a])), hi: [0, 1, 2].map(|a| region.hi[a].min(active.hi[a]).max(region.lo[a].max(active.lo[a]))) };
        self.coagulated.clear();
        self.warm = self.damage.accumulate(self.sim.temperature(), self.sim.dt, d, region, &mut self.coagulated);
        for &i in &self.coagulated {
            self.sim.stop_perfusion(i);
        }
    }

    /// Steps until `t_end` seconds (the last step may end up to half a step early).
    pub fn run_until(&mut self, t_end: f64) {
        while self.sim.time + 0.5 * self.sim.dt < t_end {
            self.step();
        }
    }

    /// The zone's axes under `criterion`.
    pub fn axes(&self, criterion: Criterion) -> ZoneAxes {
        let (field, threshold) = self.damage.field(criterion);
        zone::measure(field, threshold, self.sim.medium.dims, self.sim.medium.h, &self.pose, self.sar_parameters.feed_behind_tip_mm * 1e-3)
    }
}

/// A homogeneous liver block with the antenna along the grid's z axis, its tip where the
/// chart's zones fit with room for the perfusion tail: the calibration and chart-check
/// geometry. `h` in metres.
pub fn chart_block(h: f64) -> (Medium, Pose) {
    let (across, behind, ahead) = (0.042, 0.058, 0.030);
    let n_xy = (2.0 * across / h).round() as usize + 1;
    let n_z = ((behind + ahead) / h).round() as usize + 1;
    let medium = Medium::uniform([n_xy, n_xy, n_z], h, crate::tissue::Tissue::LIVER);
    let c = (n_xy / 2) as f64 * h;
    // Tip `ahead` from the distal face; the shaft runs towards +z.
    let pose = Pose { tip: [c, c, ahead], back: [0.0, 0.0, 1.0] };
    (medium, pose)
}
