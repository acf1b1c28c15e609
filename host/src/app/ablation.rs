//! Educator mode (Widget): the live ablation of the planning plugin's session in the
//! viewer. The trainee places the antenna in the slice views (tip on the target, then
//! the entry on the skin; either end dragged later), picks the antenna, power and time,
//! and plays, steps or scrubs the ablation while the zone grows. The logic (what to send
//! the session, the play clock, the drag policy) is `crate::view::ablation`; the score of
//! an exercise is `crate::view::exercise`. Here: the session handle, the panel, and the
//! pointer in the slice views.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_egui::egui;
use isotherm_sdk::abi::{Cell, NodeData, ParamKind, Report};

use super::jobs_ui::{self, Jobs};
use super::state::Viewer;
use crate::jobs::session::{Command, Reply, SessionHandle};
use crate::jobs::{Job, JobError, JobEvent, JobHandle};
use crate::loader::LoadedPlugin;
use crate::view::ablation::{End, LiveAblation, Replied, Step};
use crate::view::exercise::{self, Attempt, Score};

/// The plugin whose session drives the live ablation.
pub const PLUGIN: &str = "planning";
/// Scene namespace of the plugin's recommendation in an exercise (kept apart from the
/// trainee's own nodes, hidden until the score is shown).
pub const RECOMMENDATION: &str = "recommendation";
/// Parameters the panel offers, in this order.
const CONTROLS: [&str; 4] = ["antenna", "power", "time", "criterion"];
/// Report values of the live table, with their labels.
const TABLE: [(&str, &str); 9] = [
    ("time", "time"),
    ("energy", "energy"),
    ("zone_long_axis", "zone long axis"),
    ("zone_short_axis", "zone short axis"),
    ("predicted_mam", "minimal margin"),
    ("tumour_covered", "tumour covered"),
    ("healthy_liver_ablated", "healthy liver ablated"),
    ("chart_long_axis", "chart long axis"),
    ("trajectory", "path"),
];

pub struct Live {
    pub controls: LiveAblation,
    handle: SessionHandle,
    plugin: Arc<LoadedPlugin>,
    /// The panel's texts for the controls' parameters.
    pub values: HashMap<String, String>,
    /// The latest value of each report entry (partial results carry only some).
    pub table: BTreeMap<String, (Cell, String)>,
    /// The tip the slices were last centred on.
    followed: Option<[f64; 3]>,
}

/// An exercise: a case with a hidden margin goal, the plugin's recommendation computed
/// in the background, and the score once asked for.
pub struct Exercise {
    pub case: PathBuf,
    pub goal_mm: f64,
    recommendation: Option<JobHandle>,
    pub recommended: Option<Result<Attempt, String>>,
    pub progress: f32,
    pub score: Option<(Score, Attempt, Attempt)>,
}

#[derive(Resource)]
pub struct Educator {
    pub live: Option<Live>,
    /// Clicks in the slice views place the antenna.
    pub placing: bool,
    pub exercise: Option<Exercise>,
    pub error: Option<String>,
    /// The view whose pointer started the drag under way (a script's drag has none, and
    /// the views leave it alone).
    pointer_drag: Option<egui::Id>,
    started: Instant,
    last_tick: f64,
}

impl Educator {
    /// Seconds since the viewer started (the controls' wall clock).
    pub fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Opens the planning plugin's session on the scene's CT and structures.
    pub fn start(&mut self, viewer: &mut Viewer) -> Result<(), String> {
        let plugin = viewer.registry.get(PLUGIN).cloned().ok_or_else(|| viewer.registry.explain_missing(PLUGIN, &viewer.search))?;
        if !plugin.offers_sessions() {
            return Err(format!("plugin '{PLUGIN}' {} offers no interactive session", plugin.manifest.version));
        }
        let form = jobs_ui::default_form(&plugin, viewer);
        let request = jobs_ui::request_of(viewer, &plugin, &form)?;
        let handle = SessionHandle::open(plugin.clone(), request).map_err(|e| format!("{PLUGIN}: {e}"))?;
        let number = |k: &str| form.params.get(k).and_then(|v| v.parse::<f64>().ok());
        let controls = LiveAblation::new(number("time").unwrap_or(5.0), number("grid").unwrap_or(1.0));
        let values = CONTROLS.iter().filter_map(|k| form.params.get(*k).map(|v| (k.to_string(), v.clone()))).collect();
        self.live = Some(Live { controls, handle, plugin, values, table: BTreeMap::new(), followed: None });
        self.placing = true;
        self.error = None;
        viewer.log("live ablation: click the target in a slice view to place the antenna tip, then the skin entry");
        Ok(())
    }

    /// Starts an exercise on the loaded case: the session, and the recommendation in the
    /// background (the trainee sees neither it nor the goal until the score).
    pub fn start_exercise(&mut self, viewer: &mut Viewer, jobs: &Jobs, case: PathBuf) -> Result<(), String> {
        let goal_mm = exercise::goal_of(&case)?;
        self.start(viewer)?;
        let plugin = self.live.as_ref().expect("started").plugin.clone();
        let mut form = jobs_ui::default_form(&plugin, viewer);
        form.params.insert("mode".into(), "recommend".into());
        let request = jobs_ui::request_of(viewer, &plugin, &form)?;
        let handle = jobs.runner.submit(Job { plugin, request, timeout: Some(Duration::from_secs(3600)) });
        self.exercise = Some(Exercise { case, goal_mm, recommendation: Some(handle), recommended: None, progress: 0.0, score: None });
        viewer.log("exercise: plan and ablate the tumour, then press Score");
        Ok(())
    }

    /// Scores the current ablation against the recommendation (once it is ready).
    pub fn score(&mut self, viewer: &mut Viewer) -> Result<(), String> {
        let Some(ex) = self.exercise.as_mut() else { return Err("no exercise is running".into()) };
        let recommended = match &ex.recommended {
            Some(Ok(a)) => *a,
            Some(Err(e)) => return Err(format!("the recommendation failed: {e}")),
            None => return Err("the recommendation is still being computed".into()),
        };
        let attempt = report_of(viewer, PLUGIN).and_then(Attempt::from_report).ok_or("place the antenna and ablate first")?;
        let s = exercise::score(&attempt, &recommended, ex.goal_mm);
        viewer.log(format!("exercise score {:.0}/100 (goal: minimal margin {:.0} mm, {})", s.total, s.goal_mm, if s.goal_met { "met" } else { "not met" }));
        ex.score = Some((s, attempt, recommended));
        // Now the recommendation may be seen beside the attempt.
        let ids: Vec<_> = viewer.scene.nodes().iter().filter(|n| n.name.starts_with(&format!("{RECOMMENDATION}/"))).map(|n| n.id).collect();
        for id in ids {
            let opacity = viewer.scene.get_by_id(id).map(|n| n.opacity).unwrap_or(1.0);
            viewer.scene.set_display(id, true, opacity);
        }
        Ok(())
    }
}

fn report_of<'a>(viewer: &'a Viewer, namespace: &str) -> Option<&'a Report> {
    match viewer.scene.get(&format!("{namespace}/planning")).map(|n| &n.data) {
        Some(NodeData::Report(r)) => Some(r),
        _ => None,
    }
}

pub struct AblationPlugin {
    /// Start the live ablation at once (`--simulate`), or an exercise on this case.
    pub simulate: bool,
    pub exercise: Option<PathBuf>,
}

#[derive(Resource)]
struct StartWith {
    simulate: bool,
    exercise: Option<PathBuf>,
}

impl Plugin for AblationPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(Educator { live: None, placing: false, exercise: None, error: None, pointer_drag: None, started: Instant::now(), last_tick: 0.0 })
            .insert_resource(StartWith { simulate: self.simulate, exercise: self.exercise.clone() })
            .add_systems(Update, (start_with, drive, recommendation).chain().in_set(super::IsothermSet::Jobs));
    }
}

/// `--simulate` / `--exercise`: started on the first frame, once the files are loaded.
fn start_with(mut with: ResMut<StartWith>, mut edu: ResMut<Educator>, mut viewer: ResMut<Viewer>, jobs: Res<Jobs>) {
    let (simulate, exercise) = (std::mem::take(&mut with.simulate), with.exercise.take());
    let result = match exercise {
        Some(case) => edu.start_exercise(&mut viewer, &jobs, case),
        None if simulate => edu.start(&mut viewer),
        None => return,
    };
    if let Err(e) = result {
        viewer.log(format!("error: live ablation: {e}"));
        edu.error = Some(e);
    }
}

/// Keeps a partial or full output's report values for the live table.
fn remember(table: &mut BTreeMap<String, (Cell, String)>, output: &isotherm_sdk::abi::RunOutput) {
    for c in output.changes.iter() {
        if let isotherm_sdk::abi::NodeChange::Upsert(n) = c {
            if let (NodeData::Report(r), "planning") = (&n.data, n.name.as_str()) {
                for v in r.values.iter() {
                    table.insert(v.key.to_string(), (v.value.clone(), v.unit.to_string()));
                }
            }
        }
    }
}

/// Field of the slice views, mm, when they jump to a newly placed antenna: the zone, its
/// margin and the tumour fill the view.
const FIELD_MM: f64 = 110.0;

/// Each frame: streamed zones and replies into the scene, then the next command.
fn drive(mut edu: ResMut<Educator>, mut viewer: ResMut<Viewer>, mut slices: ResMut<super::slices::SliceImages>, mut three: ResMut<super::view3d::ThreeD>) {
    let now = edu.now();
    let dt = now - edu.last_tick;
    edu.last_tick = now;
    let edu = &mut *edu;
    let Some(live) = edu.live.as_mut() else { return };
    // The slices follow the tip, as they jump to a run's focus: the zone grows there.
    if live.controls.tip != live.followed {
        if let (Some(tip), Some(b)) = (live.controls.tip, viewer.bounds()) {
            viewer.crosshair = b.clamp(tip);
            if live.followed.is_none() {
                // First placed: close in on it, in the slices and in 3D.
                for view in slices.0.iter_mut() {
                    view.look_at = Some((tip, FIELD_MM));
                }
                three.orbit.target = tip;
                three.orbit.distance = 2.0 * FIELD_MM;
                // The planes through the tip would hide the zone and the tumour.
                three.show_planes = false;
            }
        }
        live.followed = live.controls.tip;
    }
    for event in live.handle.events.try_iter() {
        match event {
            JobEvent::Partial(output) => {
                remember(&mut live.table, &output);
                jobs_ui::apply(&mut viewer, PLUGIN, 0, &output);
            }
            JobEvent::Log { level, message } => viewer.log(format!("{PLUGIN} [{level:?}] {message}")),
            _ => {}
        }
    }
    while let Ok(reply) = live.handle.replies.try_recv() {
        tracing::debug!("live ablation: reply {:?}", reply.as_ref().map(|r| matches!(r, Reply::Output(_))));
        match reply {
            Ok(Reply::Clock(c)) => live.controls.replied(Replied::Clock { time_s: c.time_s, horizon_s: c.horizon_s }, now),
            Ok(Reply::Output(output)) => {
                remember(&mut live.table, &output);
                jobs_ui::apply(&mut viewer, PLUGIN, 0, &output);
                live.controls.replied(Replied::Output, now);
                edu.error = None;
            }
            Err(e) => {
                let message = match &e {
                    JobError::Plugin(p) => p.message.to_string(),
                    other => other.to_string(),
                };
                viewer.log(format!("live ablation: {message}"));
                edu.error = Some(message);
                live.controls.replied(Replied::Failed, now);
            }
        }
    }
    for step in live.controls.next(now, dt) {
        tracing::debug!("live ablation: {step:?} at {:.1} s", live.controls.time_s);
        let command = match step {
            Step::Update(changed) => match isotherm_sdk::params::resolve_changes(&live.plugin.descriptor.params, &changed) {
                Ok(params) => Command::Update(params),
                Err(e) => {
                    // Answered here: the plugin never sees it.
                    viewer.log(format!("live ablation: {e}"));
                    edu.error = Some(e);
                    live.controls.replied(Replied::Failed, now);
                    continue;
                }
            },
            Step::Advance(s) => Command::Advance(s),
            Step::Output => Command::Output,
            Step::Reset => Command::Reset,
        };
        if live.handle.send(command).is_err() {
            viewer.log("live ablation: the session has ended");
            edu.live = None;
            return;
        }
    }
}

/// An exercise's recommendation, computed in the background, kept apart and hidden.
fn recommendation(mut edu: ResMut<Educator>, mut viewer: ResMut<Viewer>) {
    let Some(ex) = edu.exercise.as_mut() else { return };
    let Some(handle) = &ex.recommendation else { return };
    for event in handle.poll() {
        match event {
            JobEvent::Progress { fraction, .. } => ex.progress = fraction,
            JobEvent::Finished(Ok(output)) => {
                let ids = jobs_ui::apply(&mut viewer, RECOMMENDATION, handle.id, &output);
                for id in ids {
                    let opacity = viewer.scene.get_by_id(id).map(|n| n.opacity).unwrap_or(1.0);
                    viewer.scene.set_display(id, false, opacity);
                }
                ex.recommended = Some(report_of(&viewer, RECOMMENDATION).and_then(Attempt::from_report).ok_or_else(|| "the recommendation has no planning report".to_string()));
            }
            JobEvent::Finished(Err(e)) => ex.recommended = Some(Err(e.to_string())),
            _ => {}
        }
    }
    if ex.recommended.is_some() {
        ex.recommendation = None;
    }
}

fn mmss(s: f64) -> String {
    let s = s.max(0.0).round() as i64;
    format!("{}:{:02}", s / 60, s % 60)
}

fn cell_text(c: &Cell, unit: &str) -> String {
    match c {
        Cell::Number(x) => format!("{x:.1} {unit}"),
        Cell::Integer(i) => format!("{i} {unit}"),
        Cell::Text(t) => t.to_string(),
        Cell::Empty => String::new(),
    }
}

const WARN: egui::Color32 = egui::Color32::from_rgb(230, 120, 90);

/// The panel section: start, controls, clock, live table, legend, exercise.
pub fn panel(ui: &mut egui::Ui, edu: &mut Educator, viewer: &mut Viewer) {
    ui.heading("Live ablation");
    let Some(live) = edu.live.as_mut() else {
        ui.weak("Place an antenna on the CT and watch the zone grow.");
        if ui.add_enabled(viewer.base.is_some(), egui::Button::new("Start live ablation")).clicked() {
            if let Err(e) = edu.start(viewer) {
                edu.error = Some(e);
            }
        }
        if let Some(e) = &edu.error {
            ui.add(egui::Label::new(egui::RichText::new(e).color(WARN)).wrap());
        }
        return;
    };
    let c = &mut live.controls;
    ui.horizontal(|ui| {
        let label = if !c.placed() { "Placing: click the tip, then the entry" } else { "Move an end: click near it" };
        ui.toggle_value(&mut edu.placing, "Place antenna").on_hover_text(label);
        if let (Some(t), Some(e)) = (c.tip, c.entry) {
            let len = (0..3).map(|a| (t[a] - e[a]).powi(2)).sum::<f64>().sqrt();
            ui.weak(format!("{len:.0} mm"));
        }
    });
    egui::Grid::new("live-controls").num_columns(2).show(ui, |ui| {
        for name in CONTROLS {
            let Some(spec) = live.plugin.descriptor.params.iter().find(|p| p.name.as_str() == name) else { continue };
            let text = live.values.entry(name.to_string()).or_default();
            let before = text.clone();
            ui.label(spec.label.as_str());
            ui.horizontal(|ui| {
                match spec.kind {
                    ParamKind::Choice => {
                        egui::ComboBox::from_id_salt(format!("live-{name}")).selected_text(text.clone()).show_ui(ui, |ui| {
                            for choice in spec.choices.iter() {
                                ui.selectable_value(text, choice.to_string(), choice.as_str());
                            }
                        });
                    }
                    _ => {
                        let mut x: f64 = text.parse().unwrap_or(0.0);
                        let mut drag = egui::DragValue::new(&mut x).speed(if name == "time" { 0.1 } else { 1.0 });
                        if let (abi_stable::std_types::ROption::RSome(lo), abi_stable::std_types::ROption::RSome(hi)) = (spec.min, spec.max) {
                            drag = drag.range(lo..=hi);
                        }
                        ui.add(drag);
                        *text = format!("{x}");
                    }
                }
                if !spec.unit.is_empty() {
                    ui.weak(spec.unit.as_str());
                }
            });
            ui.end_row();
            if *text != before {
                c.set_param(name, text.clone());
            }
        }
        ui.label("Speed");
        ui.add(egui::Slider::new(&mut c.speed, 1.0..=120.0).logarithmic(true).suffix(" x real time"));
        ui.end_row();
    });
    ui.horizontal(|ui| {
        let can_play = c.placed();
        if c.playing {
            if ui.button("Pause").clicked() {
                c.pause();
            }
        } else if ui.add_enabled(can_play, egui::Button::new("Play")).clicked() {
            c.play();
        }
        if ui.add_enabled(can_play && !c.playing, egui::Button::new("+30 s")).clicked() {
            c.step(30.0);
        }
        if ui.add_enabled(can_play, egui::Button::new("Reset")).clicked() {
            c.reset();
        }
        ui.label(format!("{} / {}", mmss(c.time_s), mmss(c.horizon_s)));
    });
    let mut t = c.time_s;
    let horizon = c.horizon_s.max(1.0);
    if ui.add_enabled(c.placed(), egui::Slider::new(&mut t, 0.0..=horizon).show_value(false).text("timeline")).changed() {
        c.scrub(t);
    }
    if c.dragging.is_some() {
        if let Some(rate) = c.drag_rate() {
            ui.weak(format!("zone updates while dragging: {rate:.0}/s ({:.1} mm grid)", c.drag_grid_mm));
        }
    } else if c.busy() {
        ui.weak("simulating…");
    }
    if let Some(e) = &edu.error {
        ui.add(egui::Label::new(egui::RichText::new(e).color(WARN)).wrap());
    }
    ui.separator();
    egui::Grid::new("live-table").num_columns(2).striped(true).show(ui, |ui| {
        for (key, label) in TABLE {
            if let Some((cell, unit)) = live.table.get(key) {
                ui.label(label);
                let text = cell_text(cell, unit);
                if key == "trajectory" && text.starts_with("not safe") {
                    ui.add(egui::Label::new(egui::RichText::new(text).color(WARN)).wrap());
                } else {
                    ui.label(text);
                }
                ui.end_row();
            }
        }
    });
    legend(ui);
    if let Some(ex) = edu.exercise.as_mut() {
        ui.separator();
        ui.strong(format!("Exercise: {}", ex.case.display()));
        match &ex.recommended {
            None => {
                ui.add(egui::ProgressBar::new(ex.progress).desired_width(200.0).text("the plugin's own plan…"));
            }
            Some(Err(e)) => {
                ui.colored_label(WARN, format!("recommendation failed: {e}"));
            }
            Some(Ok(_)) => {}
        }
        let ready = matches!(ex.recommended, Some(Ok(_)));
        let clicked = ui.add_enabled(ready, egui::Button::new("Score my ablation")).clicked();
        if let Some((s, _, _)) = &ex.score {
            scorecard(ui, s);
        }
        if clicked {
            if let Err(e) = edu.score(viewer) {
                edu.error = Some(e);
            }
        }
    }
}

fn scorecard(ui: &mut egui::Ui, s: &Score) {
    let verdict = if s.goal_met { "goal met" } else { "goal not met" };
    ui.strong(format!("Score {:.0} / 100: {verdict} (minimal margin goal {:.0} mm)", s.total, s.goal_mm));
    egui::Grid::new("score").num_columns(4).striped(true).show(ui, |ui| {
        ui.strong("");
        ui.strong("yours");
        ui.strong("recommended");
        ui.strong("points");
        ui.end_row();
        for p in &s.parts {
            ui.label(p.name);
            ui.label(&p.attempt);
            ui.label(&p.recommended);
            ui.label(format!("{:.0} / {:.0}", p.points, p.max));
            ui.end_row();
        }
    });
}

/// What the colours mean.
fn legend(ui: &mut egui::Ui) {
    let rgb = |c: [f32; 3]| egui::Color32::from_rgb((c[0] * 255.0) as u8, (c[1] * 255.0) as u8, (c[2] * 255.0) as u8);
    let margin = |mm: f32| rgb(crate::view::colormap::colour(isotherm_sdk::abi::Colormap::Margin, mm, [-10.0, 10.0]));
    let rows = [
        (margin(-2.0), "tumour surface: outside the zone (margin < 0)"),
        (margin(2.5), "margin 0-5 mm"),
        (margin(8.0), "margin 5 mm or more"),
        (egui::Color32::from_rgb(60, 200, 90), "ablation zone"),
        (rgb([1.0, 0.8, 0.2]), "50 C isotherm"),
        (rgb([1.0, 0.35, 0.1]), "60 C isotherm"),
        (rgb([0.92, 0.92, 1.0]), "vendor chart zone (outline)"),
        (rgb([0.95, 0.15, 0.12]), "path through a forbidden structure"),
    ];
    ui.collapsing("Legend", |ui| {
        for (colour, text) in rows {
            ui.horizontal(|ui| {
                let (rect, _) = ui.allocate_exact_size(egui::vec2(14.0, 10.0), egui::Sense::hover());
                ui.painter().rect_filled(rect, 2.0, colour);
                ui.small(text);
            });
        }
    });
}

/// The antenna in a view (a slice view or the 3D view): its ends as handles, clicks that
/// place it, drags that move an end. Returns true when the pointer was the antenna's
/// (the view's own use of it, crosshair or orbit, then waits). `to_screen` maps world mm
/// to the view (`None` where not shown); `to_world(pos, Some(old))` is where a dragged
/// end moves (within the slice plane, or the plane facing the camera), and
/// `to_world(pos, None)` where a click places one (`None` in 3D: no surface to click on).
pub fn pointer(
    edu: &mut Educator,
    response: &egui::Response,
    painter: &egui::Painter,
    to_screen: &dyn Fn([f64; 3]) -> Option<egui::Pos2>,
    to_world: &dyn Fn(egui::Pos2, Option<[f64; 3]>) -> Option<[f64; 3]>,
) -> bool {
    let now = edu.now();
    let placing = edu.placing;
    let pointer_drag = &mut edu.pointer_drag;
    let Some(live) = edu.live.as_mut() else { return false };
    let c = &mut live.controls;
    let ends: Vec<(End, egui::Pos2)> =
        [(End::Tip, c.tip), (End::Entry, c.entry)].into_iter().filter_map(|(e, p)| p.and_then(|p| to_screen(p)).map(|s| (e, s))).collect();
    for (end, at) in &ends {
        let colour = if *end == End::Tip { egui::Color32::from_rgb(255, 150, 40) } else { egui::Color32::from_rgb(90, 200, 255) };
        let dragged = c.dragging == Some(*end);
        painter.circle_stroke(*at, if dragged { 8.0 } else { 6.0 }, egui::Stroke::new(2.0, colour));
    }
    let grab = |pos: egui::Pos2| ends.iter().filter(|(_, s)| s.distance(pos) <= 10.0).min_by(|a, b| a.1.distance(pos).total_cmp(&b.1.distance(pos))).map(|(e, _)| *e);
    let pointer = response.interact_pointer_pos().or(response.hover_pos());
    if response.drag_started_by(egui::PointerButton::Primary) {
        if let Some(end) = pointer.and_then(grab) {
            c.begin_drag(end, now);
            *pointer_drag = Some(response.id);
            return true;
        }
    }
    if let Some(end) = c.dragging.filter(|_| *pointer_drag == Some(response.id)) {
        if response.dragged_by(egui::PointerButton::Primary) {
            let old = if end == End::Tip { c.tip } else { c.entry };
            if let Some(p) = pointer.and_then(|pos| to_world(pos, old)) {
                if Some(p) != old {
                    c.set_end(end, p);
                }
            }
            return true;
        }
        if response.drag_stopped() || !response.dragged() {
            c.end_drag();
            *pointer_drag = None;
            return true;
        }
    }
    if placing && response.clicked() {
        if let Some(p) = pointer.and_then(|pos| to_world(pos, None)) {
            if c.click(p) == End::Entry {
                edu.placing = false;
            }
            return true;
        }
    }
    false
}
