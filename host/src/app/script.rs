//! `isotherm view --script STEPS.toml`: drives the viewer as a trainee would, one step
//! at a time, each waiting until the live ablation has settled: start it, place the
//! antenna, change the setting, play to a time, drag an end, score an exercise, take
//! a screenshot. For tests, teaching material and the frame benchmark. The steps call
//! the same functions as the panel's buttons and the slice views' pointer.
//!
//! ```toml
//! [[step]]
//! simulate = true                       # open the live ablation
//! [[step]]
//! tip = [12.0, -40.0, 25.0]             # world mm (RAS+)
//! entry = [60.0, -95.0, 40.0]
//! set = { power = 100, time = 10 }
//! [[step]]
//! speed = 60                            # x real time
//! play_to = 1.0                         # minutes
//! [[step]]
//! screenshot = "zone-1min.png"
//! [[step]]
//! drag = { end = "tip", by = [10.0, 0.0, 0.0], frames = 60 }
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use bevy::app::AppExit;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};
use serde::Deserialize;

use super::ablation::Educator;
use super::jobs_ui::Jobs;
use super::readiness::Readiness;
use super::state::Viewer;
use crate::view::ablation::End;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    #[serde(default)]
    pub step: Vec<ScriptStep>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ScriptStep {
    #[serde(default)]
    simulate: bool,
    tip: Option<[f64; 3]>,
    entry: Option<[f64; 3]>,
    #[serde(default)]
    set: toml::Table,
    speed: Option<f64>,
    /// Minutes of simulated time to play to.
    play_to: Option<f64>,
    drag: Option<Drag>,
    #[serde(default)]
    score: bool,
    screenshot: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Drag {
    end: String,
    /// World mm the end moves by, spread over `frames` frames.
    by: [f64; 3],
    frames: u32,
}

impl Script {
    /// Reads and checks a script; the error names the file.
    pub fn load(path: &Path) -> Result<Script, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let script: Script = toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?;
        for (i, s) in script.step.iter().enumerate() {
            if let Some(d) = &s.drag {
                if !matches!(d.end.as_str(), "tip" | "entry") || d.frames == 0 {
                    return Err(format!("{}: step {}: drag needs end = \"tip\" or \"entry\" and frames > 0", path.display(), i + 1));
                }
            }
            for (k, v) in &s.set {
                if !matches!(v, toml::Value::String(_) | toml::Value::Integer(_) | toml::Value::Float(_)) {
                    return Err(format!("{}: step {}: set.{k} must be a number or text", path.display(), i + 1));
                }
            }
        }
        Ok(script)
    }
}

pub struct ScriptPlugin {
    pub steps: Vec<ScriptStep>,
}

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    /// Do the step's actions.
    Act,
    /// Wait for the ablation to settle (and the picture to be complete).
    Settle,
    Dragging { frame: u32 },
    /// Screenshot asked for; wait for it to be written.
    Shooting,
}

#[derive(Resource)]
struct Runner {
    steps: Vec<ScriptStep>,
    at: usize,
    phase: Phase,
    /// Frames the ablation has been settled in a row.
    quiet: u32,
    shot_done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    drag_from: [f64; 3],
    /// Frame times (ms) and the simulated time at the start of a timed step (a drag or
    /// a play), for the line it prints.
    frames_ms: Vec<f64>,
    last_frame: Option<Instant>,
    step_started: Option<(Instant, f64)>,
    failed: Option<String>,
}

impl Plugin for ScriptPlugin {
    fn build(&self, app: &mut App) {
        let steps = self.steps.clone();
        app.insert_resource(Runner { steps, at: 0, phase: Phase::Act, quiet: 0, shot_done: Default::default(),
            drag_from: [0.0; 3],
            frames_ms: Vec::new(),
            last_frame: None,
            step_started: None,
            failed: None,
        }).add_systems(Last, run);
    }
}

fn text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Frames in a row the ablation must be settled before the next step (slices resliced
/// and the egui textures uploaded).
const QUIET_FRAMES: u32 = 4;

#[allow(clippy::too_many_arguments)]
fn run(
    mut commands: Commands,
    mut runner: ResMut<Runner>,
    mut edu: ResMut<Educator>,
    mut viewer: ResMut<Viewer>,
    jobs: Res<Jobs>,
    readiness: Res<Readiness>,
    mut exit: MessageWriter<AppExit>,
) {
    let runner = &mut *runner;
    if runner.at >= runner.steps.len() {
        return;
    }
    if let Some(e) = edu.error.clone().filter(|_| runner.phase == Phase::Settle) {
        runner.failed.get_or_insert(format!("step {}: {e}", runner.at + 1));
    }
    if let Some(e) = &runner.failed {
        eprintln!("error: --script {e}");
        exit.write(AppExit::Error(std::num::NonZeroU8::new(crate::cli::EXIT_FAILED as u8).unwrap()));
        runner.at = runner.steps.len();
        return;
    }
    let step = &runner.steps[runner.at];
    let frame_now = Instant::now();
    if let Some(last) = runner.last_frame.replace(frame_now) {
        if runner.step_started.is_some() {
            runner.frames_ms.push((frame_now - last).as_secs_f64() * 1000.0);
        }
    }
    match runner.phase {
        Phase::Act => {
            match act(step, &mut edu, &mut viewer) {
                Ok(true) => {}
                // Not yet (an exercise's recommendation still computing): next frame.
                Ok(false) => return,
                Err(e) => {
                    runner.failed = Some(format!("step {}: {e}", runner.at + 1));
                    return;
                }
            }
            runner.phase = if step.drag.is_some() { Phase::Dragging { frame: 0 } } else { Phase::Settle };
            runner.quiet = 0;
            if step.drag.is_some() || step.play_to.is_some() {
                runner.frames_ms.clear();
                runner.step_started = Some((Instant::now(), edu.live.as_ref().map(|l| l.controls.time_s).unwrap_or(0.0)));
            }
        }
        Phase::Dragging { frame } => {
            let d = step.drag.as_ref().expect("a drag step");
            let end = if d.end == "tip" { End::Tip } else { End::Entry };
            let now = edu.now();
            let Some(live) = edu.live.as_mut() else { return };
            let c = &mut live.controls;
            let Some(start) = (if end == End::Tip { c.tip } else { c.entry }) else {
                runner.failed = Some(format!("step {}: place the antenna before dragging it", runner.at + 1));
                return;
            };
            if frame == 0 {
                c.begin_drag(end, now);
                runner.drag_from = start;
            }
            if frame < d.frames {
                let f = (frame + 1) as f64 / d.frames as f64;
                let from = runner.drag_from;
                c.set_end(end, [0, 1, 2].map(|a| from[a] + f * d.by[a]));
                runner.phase = Phase::Dragging { frame: frame + 1 };
            } else {
                let wall = runner.step_started.map(|(t, _)| t.elapsed().as_secs_f64()).unwrap_or(0.0);
                println!(
                    "drag: {} zone updates in {wall:.2} s over {} frames ({:.1} updates/s) on a {} mm grid at {:.1} min; {}",
                    c.drag_updates(),
                    d.frames,
                    c.drag_updates() as f64 / wall.max(1e-9),
                    c.drag_grid_mm,
                    c.time_s / 60.0,
                    frame_summary(&runner.frames_ms)
                );
                runner.step_started = None;
                c.end_drag();
                runner.phase = Phase::Settle;
                runner.quiet = 0;
            }
        }
        Phase::Settle => {
            let settled = edu.live.as_ref().is_none_or(|l| l.controls.settled()) && jobs.all_finished();
            runner.quiet = if settled { runner.quiet + 1 } else { 0 };
            if runner.quiet < QUIET_FRAMES || !readiness.ready() {
                return;
            }
            if let (Some((started, from_s)), Some(_)) = (runner.step_started.take(), step.play_to) {
                let wall = started.elapsed().as_secs_f64();
                let to_s = edu.live.as_ref().map(|l| l.controls.time_s).unwrap_or(0.0);
                println!(
                    "play: {:.1} to {:.1} min in {wall:.2} s ({:.1}x real time, speed set {:.0}x); {}",
                    from_s / 60.0,
                    to_s / 60.0,
                    (to_s - from_s) / wall.max(1e-9),
                    edu.live.as_ref().map(|l| l.controls.speed).unwrap_or(0.0),
                    frame_summary(&runner.frames_ms)
                );
            }
            if let Some(path) = step.screenshot.clone() {
                runner.shot_done.store(false, std::sync::atomic::Ordering::SeqCst);
                let done = runner.shot_done.clone();
                commands.spawn(Screenshot::primary_window()).observe(save_to_disk(path)).observe(move |_: On<ScreenshotCaptured>| {
                    done.store(true, std::sync::atomic::Ordering::SeqCst);
                });
                runner.phase = Phase::Shooting;
            } else {
                next_step(runner, &mut exit);
            }
        }
        Phase::Shooting => {
            let path = step.screenshot.clone().expect("a screenshot step");
            // `save_to_disk` writes after the capture; wait for the file as well.
            if runner.shot_done.load(std::sync::atomic::Ordering::SeqCst) && path.is_file() {
                viewer.log(format!("screenshot {}", path.display()));
                next_step(runner, &mut exit);
            }
        }
    }
}

/// Mean and 95th-percentile frame time.
fn frame_summary(ms: &[f64]) -> String {
    if ms.is_empty() {
        return "no frames timed".into();
    }
    let mut t = ms.to_vec();
    t.sort_by(f64::total_cmp);
    let mean = t.iter().sum::<f64>() / t.len() as f64;
    format!("frame time mean {mean:.1} ms, p95 {:.1} ms over {} frames", t[((t.len() as f64 * 0.95) as usize).min(t.len() - 1)], t.len())
}

fn next_step(runner: &mut Runner, exit: &mut MessageWriter<AppExit>) {
    runner.at += 1;
    runner.phase = Phase::Act;
    if runner.at >= runner.steps.len() {
        exit.write(AppExit::Success);
    }
}

/// A step's actions, as the panel's controls would do them; `false` to try again next
/// frame.
fn act(step: &ScriptStep, edu: &mut Educator, viewer: &mut Viewer) -> Result<bool, String> {
    if step.score && edu.exercise.as_ref().is_some_and(|e| e.recommended.is_none()) {
        return Ok(false);
    }
    if step.simulate && edu.live.is_none() {
        edu.start(viewer)?;
    }
    let needs_live = step.tip.is_some() || step.entry.is_some() || !step.set.is_empty() || step.speed.is_some() || step.play_to.is_some() || step.drag.is_some();
    if needs_live && edu.live.is_none() {
        return Err("start the live ablation first (simulate = true)".into());
    }
    if let Some(live) = edu.live.as_mut() {
        let c = &mut live.controls;
        for (k, v) in &step.set {
            live.values.insert(k.clone(), text(v));
            c.set_param(k, text(v));
        }
        if let Some(p) = step.tip {
            c.set_end(End::Tip, p);
        }
        if let Some(p) = step.entry {
            c.set_end(End::Entry, p);
        }
        if let Some(s) = step.speed {
            c.speed = s;
        }
        if c.placed() {
            edu.placing = false;
        }
        if let Some(m) = step.play_to {
            c.play_to(m * 60.0);
        }
    }
    if step.score {
        edu.score(viewer)?;
        if let Some((s, _, _)) = edu.exercise.as_ref().and_then(|e| e.score.as_ref()) {
            let parts: Vec<String> = s.parts.iter().map(|p| format!("{} {} (recommended {}) {:.1}/{:.0}", p.name, p.attempt, p.recommended, p.points, p.max)).collect();
            println!("score: {:.1}/100, goal {:.1} mm {}; {}", s.total, s.goal_mm, if s.goal_met { "met" } else { "not met" }, parts.join("; "));
        }
    }
    Ok(true)
}
