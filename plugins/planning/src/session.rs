//! The planning plugin's interactive session: the educator's live ablation. Opened on
//! the CT (and structures); the antenna, power, time, criterion and grid change by
//! updates; `advance` plays simulated time up to the planned time, streaming the
//! growing zone; `output` is what a run at the current time returns.
//!
//! Any update rebuilds the anatomy around the antenna and replays the simulation to
//! the current time, so the state is always the plain run's for the current settings
//! (a coarse `grid` while the antenna is dragged keeps that fast).

use std::time::{Duration, Instant};

use isotherm_planning_core::antenna::Antenna;
use isotherm_planning_core::plan::{self, Planned, Setting};
use isotherm_planning_core::trajectory::{self, Obstacles};
use isotherm_planning_core::vec3::dist;
use isotherm_sdk::abi::{ModelFile, RunRequest};
use isotherm_sdk::prelude::*;

use crate::{Planning, criterion, output, read_antenna};

/// Wall-clock time between streamed zones while a step runs.
const PARTIAL_EVERY: Duration = Duration::from_millis(200);
/// Simulated seconds between checks of that clock.
const CHUNK_S: f64 = 2.0;
/// Grid of the live trajectory check, mm: built once per session over the whole CT.
const OBSTACLE_GRID_MM: f64 = 2.0;

pub struct LiveAblation {
    ct: Volume,
    labels: Option<LabelMap>,
    tumours: Option<LabelMap>,
    models: RVec<ModelFile>,
    antenna: Antenna,
    /// Power, planned time (the horizon), criterion, grid; tip and entry once placed.
    setting: Setting,
    placed: bool,
    /// The simulation at the current time; `None` until the antenna is placed.
    planned: Option<Planned>,
    time_s: f64,
    /// What the antenna may not cross, built when it is first placed.
    obstacles: Option<Obstacles>,
    vessel_margin_mm: f64,
    /// The current path's check (red stretches, verdict), with the antenna placed.
    trajectory: Option<(Markups, String)>,
}

/// What a streamed zone carries besides the zone: the antenna and its path's check.
#[derive(Clone, Copy)]
struct Stream<'a> {
    antenna: &'a Antenna,
    trajectory: &'a (Markups, String),
}

impl SessionPlugin for Planning {
    type Session = LiveAblation;

    fn open_session(request: &Request<'_>, host: &Host<'_>) -> Result<LiveAblation, PluginError> {
        if request.choice("mode")? != "simulate" {
            return Err(PluginError::invalid_input("a session simulates one antenna (mode=simulate); recommend with `isotherm run`"));
        }
        let tip = request.optional_point("tip")?;
        let entry = request.optional_point("entry")?;
        let mut live = LiveAblation {
            ct: request.volume("ct")?.clone(),
            labels: request.optional_label_map("labels")?.cloned(),
            tumours: request.optional_label_map("tumour")?.cloned(),
            models: request.raw().models.clone(),
            antenna: read_antenna(request, request.choice("antenna")?)?,
            setting: Setting {
                power_w: request.number("power")?,
                time_min: request.number("time")?,
                criterion: criterion(request)?,
                tip: tip.unwrap_or([0.0; 3]),
                entry: entry.unwrap_or([0.0; 3]),
                grid_mm: request.number("grid")?,
            },
            placed: tip.is_some() && entry.is_some(),
            planned: None,
            time_s: 0.0,
            obstacles: None,
            vessel_margin_mm: request.number("vessel_margin")?,
            trajectory: None,
        };
        live.rebuild(host)?;
        Ok(live)
    }
}

impl LiveAblation {
    fn clock(&self) -> SessionClock {
        SessionClock { time_s: self.time_s, horizon_s: self.setting.time_min * 60.0 }
    }

    /// The anatomy and simulation for the current settings, replayed to the current time.
    /// Built aside and swapped in only when complete: on an error (a refused setting, a
    /// cancelled replay) the session keeps the simulation it had.
    fn rebuild(&mut self, host: &Host<'_>) -> Result<(), PluginError> {
        if !self.placed {
            self.planned = None;
            self.trajectory = None;
            return Ok(());
        }
        if self.obstacles.is_none() {
            host.progress(0.0, "structures the antenna must avoid");
            self.obstacles = Some(trajectory::obstacles(&self.ct, self.labels.as_ref(), self.vessel_margin_mm, OBSTACLE_GRID_MM));
        }
        let checked = trajectory_check(self.obstacles.as_ref().expect("built above"), &self.setting, &self.antenna);
        let mut planned =
            plan::prepare(&self.ct, self.labels.as_ref(), self.tumours.as_ref(), &self.antenna, self.setting.clone()).map_err(PluginError::invalid_input)?;
        play_to(&mut planned, self.time_s.min(self.clock().horizon_s), host, None)?;
        self.time_s = planned.ablation.time();
        self.planned = Some(planned);
        self.trajectory = Some(checked);
        Ok(())
    }
}

/// The antenna's path checked against what it may not cross: the stretches that cross a
/// forbidden structure (or lie beyond the antenna's usable length) as red lines, and a
/// one-line verdict for the report.
fn trajectory_check(obstacles: &Obstacles, setting: &Setting, antenna: &Antenna) -> (Markups, String) {
    let (entry, tip) = (setting.entry, setting.tip);
    let mut lines: Vec<LineMarkup> = obstacles
        .crossings(entry, tip)
        .into_iter()
        .map(|c| LineMarkup { label: format!("crosses {}", c.what.name()).into(), kind: LineKind::Generic, start: c.from, end: c.to })
        .collect();
    let length = dist(entry, tip);
    if length > antenna.usable_length_mm {
        let f = (length - antenna.usable_length_mm) / length;
        let short = [0, 1, 2].map(|a| entry[a] + f * (tip[a] - entry[a]));
        lines.push(LineMarkup {
            label: format!("beyond the antenna's {:.0} mm", antenna.usable_length_mm).into(),
            kind: LineKind::Generic,
            start: entry,
            end: short,
        });
    }
    let verdict = if lines.is_empty() {
        match obstacles.walk(entry, tip) {
            Ok(c) if c.is_finite() => format!("clear ({length:.0} mm, {c:.1} mm from large vessels)"),
            _ => format!("clear ({length:.0} mm)"),
        }
    } else {
        let mut what: Vec<String> = lines.iter().map(|l| l.label.to_string()).collect();
        what.dedup();
        format!("not safe: {}", what.join(", "))
    };
    (Markups { points: RVec::new(), lines: lines.into(), colour: [0.95, 0.15, 0.12, 1.0] }, verdict)
}

/// Steps `p` to `t_end`, streaming the zone every [`PARTIAL_EVERY`] and at the end when
/// `stream` is given. In chunks of simulated time, which take the same steps as one call
/// would.
fn play_to(p: &mut Planned, t_end: f64, host: &Host<'_>, stream: Option<Stream<'_>>) -> Result<(), PluginError> {
    let start = p.ablation.time();
    let chunk = (2.0 * p.ablation.sim.dt).max(CHUNK_S);
    let mut last = Instant::now();
    let mut cancelled = false;
    while !cancelled && p.ablation.time() + 0.5 * p.ablation.sim.dt < t_end {
        let chunk_end = (p.ablation.time() + chunk).min(t_end);
        p.advance_until(chunk_end, |t| {
            let f = if t_end > start { (t - start) / (t_end - start) } else { 1.0 };
            host.progress(f as f32, "simulating");
            cancelled = host.is_cancelled();
            !cancelled
        });
        if let Some(with) = stream.filter(|_| last.elapsed() >= PARTIAL_EVERY) {
            last = Instant::now();
            host.partial(zone_now(p, with));
        }
    }
    if let Some(with) = stream {
        // The step's last zone, however fast it ran.
        host.partial(zone_now(p, with));
    }
    if cancelled { Err(PluginError::cancelled()) } else { Ok(()) }
}

/// Adds the path's check to an output: the red stretches as `trajectory-conflicts`, the
/// verdict as the planning report's `trajectory`.
fn with_trajectory(out: RunOutput, (conflicts, verdict): &(Markups, String)) -> RunOutput {
    let mut out = out.markups("trajectory-conflicts", conflicts.clone());
    for c in out.changes.iter_mut() {
        if let NodeChange::Upsert(SceneNode { name, data: NodeData::Report(r) }) = c {
            if name.as_str() == "planning" {
                r.values.push(KeyValue { key: "trajectory".into(), value: Cell::Text(verdict.as_str().into()), unit: "".into() });
            }
        }
    }
    out
}

/// The zone, the clock, the antenna and its path's check: what streams while a step
/// runs (no meshes or margins, which `output` computes).
fn zone_now(p: &Planned, with: Stream<'_>) -> RunOutput {
    let zone = p.zone_mask();
    let map = LabelMap::new(
        *p.geometry(),
        zone.iter().map(|&z| z as u16).collect(),
        vec![LabelEntry::new(1, &format!("ablation zone ({})", p.setting.criterion.name()), [60, 200, 90, 255])],
    );
    let axes = p.ablation.axes(p.setting.criterion);
    let report = Report::new("Ablation so far")
        .number("time", p.ablation.time() / 60.0, "min")
        .number("energy", p.ablation.energy_j() / 1000.0, "kJ")
        .number("zone_long_axis", axes.long_mm, "mm")
        .number("zone_short_axis", axes.short_mm, "mm");
    let out = RunOutput::new().report("planning", report).label_map("predicted-zone", map).markups("antenna", output::needle(&p.setting, with.antenna));
    with_trajectory(out, with.trajectory)
}

impl Session for LiveAblation {
    fn update(&mut self, changed: &Request<'_>, host: &Host<'_>) -> Result<SessionClock, PluginError> {
        let before = (self.setting.clone(), self.antenna.clone(), self.placed);
        let result = (|| {
            if changed.has_param("mode") && changed.choice("mode")? != "simulate" {
                return Err(PluginError::invalid_input("a session simulates one antenna (mode=simulate)"));
            }
            if changed.has_param("antenna") {
                let id = changed.choice("antenna")?;
                let raw = RunRequest { models: self.models.clone(), ..Default::default() };
                self.antenna = read_antenna(&Request::new(&raw), id)?;
            }
            let s = &mut self.setting;
            if changed.has_param("power") {
                s.power_w = changed.number("power")?;
            }
            if changed.has_param("time") {
                s.time_min = changed.number("time")?;
            }
            if changed.has_param("criterion") {
                s.criterion = criterion(changed)?;
            }
            if changed.has_param("grid") {
                s.grid_mm = changed.number("grid")?;
            }
            let (mut tip, mut entry) = (self.placed.then_some(s.tip), self.placed.then_some(s.entry));
            if changed.has_param("tip") {
                tip = changed.optional_point("tip")?;
            }
            if changed.has_param("entry") {
                entry = changed.optional_point("entry")?;
            }
            s.tip = tip.unwrap_or([0.0; 3]);
            s.entry = entry.unwrap_or([0.0; 3]);
            self.placed = tip.is_some() && entry.is_some();
            self.rebuild(host)
        })();
        if let Err(e) = result {
            // A refused (or cancelled) update leaves the session as it was, simulation
            // included, so the trainee can try again.
            (self.setting, self.antenna, self.placed) = before;
            return Err(e);
        }
        Ok(self.clock())
    }

    fn advance(&mut self, seconds: f64, host: &Host<'_>) -> Result<SessionClock, PluginError> {
        let target = (self.time_s + seconds).min(self.clock().horizon_s);
        let (Some(p), Some(trajectory)) = (self.planned.as_mut(), self.trajectory.as_ref()) else {
            return Err(PluginError::invalid_input("place the antenna first: set 'tip' and 'entry'"));
        };
        let played = play_to(p, target, host, Some(Stream { antenna: &self.antenna, trajectory }));
        // Cancelled or not, the clock is where the simulation got to.
        self.time_s = p.ablation.time();
        played.map(|_| self.clock())
    }

    fn output(&mut self, host: &Host<'_>) -> Result<RunOutput, PluginError> {
        let time_s = self.time_s;
        let Some(p) = self.planned.as_mut() else {
            let report = Report::new("Microwave-ablation simulation").text("Place the antenna: click the target (tip), then the skin entry.");
            return Ok(RunOutput::new().report("planning", report));
        };
        p.measure();
        // The report speaks of the ablation so far: time and energy at the current time.
        let planned_min = p.setting.time_min;
        p.setting.time_min = time_s / 60.0;
        let out = output::to_output(p, &self.antenna, host);
        p.setting.time_min = planned_min;
        let mut out = with_trajectory(out?, self.trajectory.as_ref().expect("placed with the simulation"));
        // The chart's zone is the planned setting's, the one to compare with at the end.
        if let Some(chart) = output::chart_zone(&p.setting, &self.antenna) {
            out = out.mesh("chart-zone", chart);
        }
        Ok(out)
    }

    fn reset(&mut self, host: &Host<'_>) -> Result<SessionClock, PluginError> {
        self.time_s = 0.0;
        self.rebuild(host)?;
        Ok(self.clock())
    }
}
