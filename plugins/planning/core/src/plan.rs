//! A planned ablation on the patient's CT: the anatomy around the antenna, the
//! simulation, and what the plugin reports (zone, temperatures, heat sink, margins).

use isotherm_sdk::abi::{Geometry, LabelMap, Volume};
use isotherm_sdk::volume::edt;

use crate::ablation::Ablation;
use crate::anatomy::{self, Anatomy, Structure};
use crate::antenna::{Antenna, ChartEntry};
use crate::bioheat::Medium;
use crate::damage::Criterion;
use crate::sar::Pose;
use crate::tissue::{BLOOD_RHO_C, Tissue};
use crate::vec3::{self, dot, sub};
use crate::zone::ZoneAxes;

/// Room around the chart's longest zone for the perfusion tail (mm, each side).
pub const BLOCK_MARGIN_MM: f64 = 25.0;
/// Vessels of the heat sink this close to the zone are flagged (PLoS One 2015: effect within 15 mm).
pub const SINK_FLAG_MM: f64 = 15.0;

#[derive(Debug, Clone)]
pub struct Setting {
    pub power_w: f64,
    pub time_min: f64,
    pub criterion: Criterion,
    /// Antenna tip and skin entry, world mm (RAS+).
    pub tip: [f64; 3],
    pub entry: [f64; 3],
    /// Simulation grid spacing, mm.
    pub grid_mm: f64,
}

/// A vessel of the heat sink near the zone.
#[derive(Debug, Clone)]
pub struct SinkFlag {
    pub vessel: u32,
    pub diameter_mm: f64,
    /// Closest distance from the vessel lumen to the zone, mm (0 = touching).
    pub distance_mm: f64,
}

pub struct Planned {
    pub anatomy: Anatomy,
    pub ablation: Ablation,
    pub setting: Setting,
    pub zone_axes: ZoneAxes,
    /// Axes and volume per criterion, for the spread between damage models.
    pub per_criterion: Vec<(Criterion, ZoneAxes, f64)>,
    pub sink_flags: Vec<SinkFlag>,
    /// The chart's zone for the same setting, when the chart lists it.
    pub chart: Option<ChartEntry>,
}

impl Planned {
    pub fn geometry(&self) -> &Geometry {
        &self.anatomy.geometry
    }
    /// The zone under the chosen criterion, on the simulation grid.
    pub fn zone_mask(&self) -> Vec<bool> {
        self.ablation.damage.zone(self.setting.criterion)
    }
    pub fn voxel_ml(&self) -> f64 {
        self.geometry().voxel_volume_mm3() / 1000.0
    }
    /// Ablated liver outside tumours, mL.
    pub fn healthy_liver_ablated_ml(&self) -> f64 {
        let zone = self.zone_mask();
        zone.iter().zip(&self.anatomy.structure).filter(|(z, s)| **z && **s == Structure::Liver).count() as f64 * self.voxel_ml()
    }
    /// Spread of the zone between damage criteria: largest minus smallest radius of the
    /// sphere of the same volume, mm.
    pub fn criterion_spread_mm(&self) -> f64 {
        let radii: Vec<f64> = self.per_criterion.iter().map(|(_, _, ml)| (3.0 * ml * 1000.0 / (4.0 * std::f64::consts::PI)).cbrt()).collect();
        radii.iter().cloned().fold(f64::MIN, f64::max) - radii.iter().cloned().fold(f64::MAX, f64::min)
    }
}

/// The antenna in a grid's coordinates (metres from voxel 0).
pub fn pose_on(grid: &Geometry, tip: [f64; 3], entry: [f64; 3]) -> Result<Pose, String> {
    let h = grid.spacing[0] * 1e-3;
    let (t, e) = (grid.world_to_index(tip), grid.world_to_index(entry));
    let d = [e[0] - t[0], e[1] - t[1], e[2] - t[2]];
    let len = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
    if len < 1e-6 {
        return Err("the antenna's tip and entry are the same point".into());
    }
    Ok(Pose { tip: t.map(|v| v * h), back: d.map(|v| v / len) })
}

/// The medium of an anatomy: every structure has the liver's heat capacity and
/// conductivity (no tumour- or organ-specific sets were found), perfusion from its tissue,
/// heat-sink lumen held at blood temperature.
pub fn medium_of(anatomy: &Anatomy) -> Medium {
    let g = &anatomy.geometry;
    let mut m = Medium::uniform(g.dims_usize(), g.spacing[0] * 1e-3, Tissue::LIVER);
    for (i, s) in anatomy.structure.iter().enumerate() {
        let tissue = match s {
            Structure::Tumour => Tissue::TUMOUR,
            Structure::Other => Tissue::OTHER,
            _ => Tissue::LIVER,
        };
        m.perfusion[i] = (BLOOD_RHO_C * tissue.perfusion) as f32;
    }
    m.fixed = anatomy.sink.iter().enumerate().filter(|(_, v)| **v != 0).map(|(i, _)| i).collect();
    m
}

/// Simulates `setting` with `antenna` on the patient. `progress(fraction)` is called as
/// simulated time passes; returning `false` stops the run (cancelled).
pub fn simulate(
    ct: &Volume,
    labels: Option<&LabelMap>,
    tumours: Option<&LabelMap>,
    antenna: &Antenna,
    setting: Setting,
    mut progress: impl FnMut(f64) -> bool,
) -> Result<Option<Planned>, String> {
    let mut planned = prepare(ct, labels, tumours, antenna, setting)?;
    let end = planned.setting.time_min * 60.0;
    if !planned.advance_until(end, |t| progress(t / end)) {
        return Ok(None);
    }
    planned.measure();
    Ok(Some(planned))
}

/// The anatomy around the antenna and the simulation at time zero (nothing measured
/// yet): what [`simulate`] runs, and what an interactive session steps.
pub fn prepare(ct: &Volume, labels: Option<&LabelMap>, tumours: Option<&LabelMap>, antenna: &Antenna, setting: Setting) -> Result<Planned, String> {
    antenna.check_setting(setting.power_w, setting.time_min)?;
    let sar = antenna.sar()?;
    if !(0.5..=4.0).contains(&setting.grid_mm) {
        return Err(format!("grid {} mm is outside 0.5-4 mm", setting.grid_mm));
    }
    let depth = crate::sar::Pose { tip: setting.tip, back: unit(sub(setting.entry, setting.tip))? };
    let feed_mm = sar.feed_behind_tip_mm;
    let centre = [0, 1, 2].map(|a| depth.tip[a] + feed_mm * depth.back[a]);
    let longest = antenna.chart.iter().map(|c| c.long_mm.max(c.short_mm)).fold(0.0, f64::max);
    let size = ((longest + 2.0 * BLOCK_MARGIN_MM) / setting.grid_mm).ceil() as usize + 1;
    let grid = anatomy::grid_around(&ct.geometry, centre, size, setting.grid_mm);
    let inside_ct = {
        let c = ct.geometry.world_to_index(setting.tip);
        let d = ct.geometry.dims;
        (0..3).all(|a| c[a] >= -0.5 && c[a] <= d[a] as f64 - 0.5)
    };
    if !inside_ct {
        return Err(format!("the antenna tip ({:.1}, {:.1}, {:.1}) mm lies outside the CT", setting.tip[0], setting.tip[1], setting.tip[2]));
    }
    let anatomy = anatomy::build(grid, ct, labels, tumours)?;
    let tip_structure = {
        let i = grid.world_to_index(setting.tip).map(|v| v.round() as usize);
        anatomy.structure[grid.index(i[0], i[1], i[2])]
    };
    if tip_structure == Structure::Other {
        return Err(format!("the antenna tip ({:.1}, {:.1}, {:.1}) mm is not in the liver or a tumour", setting.tip[0], setting.tip[1], setting.tip[2]));
    }
    let pose = pose_on(&grid, setting.tip, setting.entry)?;
    let ablation = Ablation::with_parameters(medium_of(&anatomy), sar, antenna.frequency_hz, pose, setting.power_w);
    let chart = antenna.chart.iter().find(|c| (c.power_w - setting.power_w).abs() < 1e-6 && (c.time_min - setting.time_min).abs() < 1e-6).copied();
    let zone_axes = ZoneAxes::default();
    Ok(Planned { anatomy, ablation, setting, zone_axes, per_criterion: Vec::new(), sink_flags: Vec::new(), chart })
}

impl Planned {
    /// Steps the ablation until `t_end_s` (the last step may end up to half a step
    /// early). `progress(t)` sees the simulated time after each step; `false` stops
    /// (returns `false`, the state kept where it stopped).
    pub fn advance_until(&mut self, t_end_s: f64, mut progress: impl FnMut(f64) -> bool) -> bool {
        while self.ablation.time() + 0.5 * self.ablation.sim.dt < t_end_s {
            self.ablation.step();
            if !progress(self.ablation.time()) {
                return false;
            }
        }
        true
    }

    /// The zone's axes, per-criterion volumes and heat-sink flags at the current time.
    pub fn measure(&mut self) {
        self.zone_axes = self.ablation.axes(self.setting.criterion);
        let voxel_ml = self.voxel_ml();
        self.per_criterion =
            Criterion::ALL.iter().map(|&c| (c, self.ablation.axes(c), self.ablation.damage.zone(c).iter().filter(|&&z| z).count() as f64 * voxel_ml)).collect();
        self.sink_flags = flag_sinks(&self.anatomy, &self.ablation.damage.zone(self.setting.criterion));
    }
}

/// Every heat-sink vessel within [`SINK_FLAG_MM`] of the zone, closest first.
fn flag_sinks(anatomy: &Anatomy, zone: &[bool]) -> Vec<SinkFlag> {
    if !zone.iter().any(|&z| z) {
        return Vec::new();
    }
    let g = &anatomy.geometry;
    let to_zone = edt::distance_to(zone, g.dims_usize(), g.spacing);
    let mut closest = vec![f64::INFINITY; anatomy.sink_vessels.len()];
    for (i, &v) in anatomy.sink.iter().enumerate() {
        if v != 0 {
            let d = &mut closest[v as usize - 1];
            *d = d.min(to_zone[i] as f64);
        }
    }
    let mut flags: Vec<SinkFlag> = anatomy
        .sink_vessels
        .iter()
        .zip(closest)
        .filter(|(_, d)| *d <= SINK_FLAG_MM)
        .map(|(v, d)| SinkFlag { vessel: v.id, diameter_mm: v.diameter_mm, distance_mm: (d - g.spacing[0]).max(0.0) })
        .collect();
    flags.sort_by(|a, b| a.distance_mm.total_cmp(&b.distance_mm));
    flags
}

fn unit(v: [f64; 3]) -> Result<[f64; 3], String> {
    if dot(v, v).sqrt() < 1e-6 {
        return Err("the antenna's tip and entry are the same point".into());
    }
    Ok(vec3::unit(v))
}
