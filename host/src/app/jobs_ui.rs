//! Plugin runs from the viewer: the parameter form's state, submission to the shared
//! `JobRunner`, and a per-frame poll that turns finished results into scene nodes.
//! The frame loop never waits on a plugin.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use abi_stable::std_types::RVec;
use bevy::prelude::*;
use isotherm_sdk::abi::{InputData, InputKind, NamedInput, NodeData, RunRequest};

use super::state::Viewer;
use crate::jobs::{Job, JobEvent, JobHandle, JobRunner};
use crate::loader::LoadedPlugin;
use crate::scene::NodeId;

#[derive(Debug, Clone, PartialEq)]
pub enum JobStatus {
    Running,
    Done(String),
    Failed(String),
    Cancelled,
}

pub struct RunningJob {
    pub plugin: String,
    pub handle: JobHandle,
    pub progress: f32,
    pub message: String,
    pub status: JobStatus,
    pub started: Instant,
    /// Started by `--run` rather than from the panel.
    pub auto: bool,
}

/// Per-plugin form state: parameter texts (validated with `sdk::params::resolve`, the
/// same function the CLI uses) and the scene node chosen for each input.
#[derive(Default, Clone)]
pub struct PluginForm {
    pub params: HashMap<String, String>,
    pub inputs: HashMap<String, Option<NodeId>>,
    pub error: Option<String>,
}

#[derive(Resource)]
pub struct Jobs {
    pub runner: JobRunner,
    pub jobs: Vec<RunningJob>,
    pub forms: HashMap<String, PluginForm>,
    pub selected: Option<String>,
    /// `--run ID` with its parameters, submitted once data is loaded.
    pub auto_run: Option<(String, Vec<(String, String)>)>,
    /// Why `--run` could not start or failed (also in the Log panel): a `--screenshot`
    /// run then exits non-zero.
    pub auto_run_error: Option<String>,
}

impl Jobs {
    pub fn all_finished(&self) -> bool {
        self.auto_run.is_none() && self.jobs.iter().all(|j| j.status != JobStatus::Running)
    }
}

/// A fresh form: defaults filled in, each input matched to the first node of its kind
/// (the base volume first).
pub fn default_form(plugin: &LoadedPlugin, viewer: &Viewer) -> PluginForm {
    let mut form = PluginForm::default();
    for p in plugin.descriptor.params.iter() {
        if let abi_stable::std_types::ROption::RSome(v) = &p.default {
            form.params.insert(p.name.to_string(), isotherm_sdk::params::format_value(v));
        }
    }
    let mut used = Vec::new();
    for i in plugin.descriptor.inputs.iter() {
        let pick = pick_input(viewer, i.name.as_str(), i.kind, &used);
        used.extend(pick);
        form.inputs.insert(i.name.to_string(), pick);
    }
    form
}

/// The node for an input: of the right kind, preferring one whose name contains the
/// input's name ("zone" -> "ablation_zone_pre"), then the base volume, then the first
/// one not already taken by another input.
fn pick_input(viewer: &Viewer, name: &str, kind: InputKind, used: &[NodeId]) -> Option<NodeId> {
    let fits = |d: &NodeData| matches!((d, kind), (NodeData::Volume(_), InputKind::Volume) | (NodeData::LabelMap(_), InputKind::LabelMap));
    let candidates: Vec<_> = viewer.scene.nodes().iter().filter(|n| fits(&n.data)).collect();
    let wanted = name.to_lowercase();
    candidates
        .iter()
        .find(|n| n.name.to_lowercase().contains(&wanted))
        .map(|n| n.id)
        .or_else(|| if kind == InputKind::Volume { viewer.base.filter(|b| !used.contains(b)) } else { None })
        .or_else(|| candidates.iter().find(|n| !used.contains(&n.id)).map(|n| n.id))
        .or_else(|| candidates.first().map(|n| n.id))
}

/// The request a form makes: parameters validated as the CLI does, inputs from the
/// chosen scene nodes (warning in the log when one does not fit its declared range).
/// Shared by plugin runs and live sessions.
pub fn request_of(viewer: &mut Viewer, plugin: &LoadedPlugin, form: &PluginForm) -> Result<RunRequest, String> {
    let given: Vec<(String, String)> = form.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let params = isotherm_sdk::params::resolve(&plugin.descriptor.params, &given)?;
    let mut inputs = Vec::new();
    for spec in plugin.descriptor.inputs.iter() {
        let node = form.inputs.get(spec.name.as_str()).copied().flatten().and_then(|id| viewer.scene.get_by_id(id));
        let data = match (node.map(|n| &n.data), spec.kind) {
            (Some(NodeData::Volume(v)), InputKind::Volume) => InputData::Volume(v.clone()),
            (Some(NodeData::LabelMap(m)), InputKind::LabelMap) => InputData::LabelMap(m.clone()),
            (None, _) if !spec.required => continue,
            (None, _) => return Err(format!("choose a node for input '{}'", spec.label)),
            (Some(_), _) => return Err(format!("input '{}' needs a {:?}", spec.label, spec.kind)),
        };
        let node_name = node.map(|n| n.name.clone()).unwrap_or_default();
        if let Some(w) = crate::inputs::fit_warning(plugin, spec.name.as_str(), &data, std::path::Path::new(&node_name)) {
            viewer.log(format!("warning: {w}"));
        }
        inputs.push(NamedInput { name: spec.name.clone(), data });
    }
    Ok(RunRequest { inputs: RVec::from(inputs), params, models: RVec::from(plugin.models.clone()) })
}

/// Validates the form and submits the run; the error names what is wrong.
pub fn submit(jobs: &mut Jobs, viewer: &mut Viewer, plugin: &Arc<LoadedPlugin>, form: &PluginForm) -> Result<(), String> {
    let request = request_of(viewer, plugin, form)?;
    let handle = jobs.runner.submit(Job { plugin: plugin.clone(), request, timeout: Some(Duration::from_secs(3600)) });
    jobs.jobs.push(RunningJob { plugin: plugin.id().to_string(), handle, progress: 0.0, message: "queued".into(), status: JobStatus::Running, started: Instant::now(), auto: false });
    Ok(())
}

pub struct JobsUiPlugin;

impl Plugin for JobsUiPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, (auto_run, poll).chain().in_set(super::IsothermSet::Jobs));
    }
}

fn auto_run(mut jobs: ResMut<Jobs>, mut viewer: ResMut<Viewer>) {
    let Some((id, params)) = jobs.auto_run.take() else {
        return;
    };
    let fail = |jobs: &mut Jobs, viewer: &mut Viewer, reason: String| {
        let message = format!("--run {id}: {reason}");
        tracing::error!("{message}");
        viewer.log(message.clone());
        jobs.auto_run_error = Some(message);
    };
    let Some(plugin) = viewer.registry.get(&id).cloned() else {
        let reason = viewer.registry.explain_missing(&id, &viewer.search);
        fail(&mut jobs, &mut viewer, reason);
        return;
    };
    let mut form = default_form(&plugin, &viewer);
    for (k, v) in params {
        form.params.insert(k, v);
    }
    match submit(&mut jobs, &mut viewer, &plugin, &form) {
        Ok(()) => {
            if let Some(job) = jobs.jobs.last_mut() {
                job.auto = true;
            }
        }
        Err(e) => fail(&mut jobs, &mut viewer, e),
    }
    jobs.selected = Some(id.clone());
    jobs.forms.insert(id, form);
}

/// Puts a plugin's node changes into the scene (and the volumes' values into the
/// reslicing cache); returns the nodes' ids.
pub(crate) fn apply(viewer: &mut Viewer, plugin: &str, run: u64, output: &isotherm_sdk::abi::RunOutput) -> Vec<crate::scene::NodeId> {
    let ids = viewer.scene.apply(plugin, run, &output.changes);
    for id in &ids {
        if let Some(NodeData::Volume(v)) = viewer.scene.get_by_id(*id).map(|n| &n.data) {
            let values = Arc::new(v.to_f32());
            viewer.values.insert(*id, values);
        }
    }
    ids
}

/// Drains every running job's events; partial and finished results go into the scene.
fn poll(mut jobs: ResMut<Jobs>, mut viewer: ResMut<Viewer>) {
    let jobs = &mut *jobs;
    let jobs_error = &mut jobs.auto_run_error;
    for job in jobs.jobs.iter_mut().filter(|j| j.status == JobStatus::Running) {
        for event in job.handle.poll() {
            match event {
                JobEvent::Progress { fraction, message } => {
                    job.progress = fraction;
                    job.message = message;
                }
                JobEvent::Log { level, message } => viewer.log(format!("{} [{level:?}] {message}", job.plugin)),
                JobEvent::Partial(output) => {
                    apply(&mut viewer, &job.plugin, job.handle.id, &output);
                }
                JobEvent::Finished(Ok(output)) => {
                    let ids = apply(&mut viewer, &job.plugin, job.handle.id, &output);
                    // Jump the slices to where the plugin says to look (`RunOutput::focus`),
                    // else to the first measurement it returns (e.g. the closest point pair
                    // of a margin), as Slicer jumps to a markup.
                    let first_line = ids.iter().find_map(|id| match viewer.scene.get_by_id(*id).map(|n| &n.data) {
                        Some(NodeData::Markups(m)) => m.lines.first().map(|l| l.start),
                        _ => None,
                    });
                    if let (Some(p), Some(b)) = (output.focus_point().or(first_line), viewer.bounds()) {
                        viewer.crosshair = b.clamp(p);
                    }
                    let msg = format!("{} node(s) in {:.2} s", ids.len(), job.started.elapsed().as_secs_f64());
                    viewer.log(format!("{} finished: {msg}", job.plugin));
                    job.progress = 1.0;
                    job.status = JobStatus::Done(msg);
                }
                JobEvent::Finished(Err(crate::jobs::JobError::Cancelled)) => {
                    viewer.log(format!("{} cancelled", job.plugin));
                    job.status = JobStatus::Cancelled;
                }
                JobEvent::Finished(Err(e)) => {
                    viewer.log(format!("{} failed: {e}", job.plugin));
                    if job.auto && jobs_error.is_none() {
                        *jobs_error = Some(format!("--run {}: {e}", job.plugin));
                    }
                    job.status = JobStatus::Failed(e.to_string());
                }
            }
        }
    }
}

pub fn new_jobs(auto_run: Option<(String, Vec<(String, String)>)>, workers: usize) -> Jobs {
    Jobs { runner: JobRunner::new(workers), jobs: Vec::new(), forms: HashMap::new(), selected: None, auto_run, auto_run_error: None }
}
