//! Plugin runs off the calling thread. Callers [`JobRunner::submit`] a [`Job`] and get
//! a [`JobHandle`]: a `crossbeam` channel of [`JobEvent`]s (progress, log lines, the
//! result), a cancel switch and a deadline.
//!
//! The executor is in-process worker threads today. Everything a caller touches
//! (Job, JobHandle, JobEvent) is plain data and channels, so a supervised child
//! process can replace the executor later without changing callers.
//!
//! A plugin's output is validated here, before anyone sees it: a NaN vertex, a
//! triangle index out of range or a voxel count that does not match its geometry
//! fails the job with a message naming the node, and the scene is never touched.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use abi_stable::std_types::{ROption, RStr};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use isotherm_sdk::abi::{ErrorKind, HostServices, LogLevel, NodeChange, NodeData, PartialSink, PluginError, RunOutput, RunRequest, host_ref};

use crate::loader::LoadedPlugin;

pub mod session;

/// One plugin run to do.
pub struct Job {
    pub plugin: Arc<LoadedPlugin>,
    pub request: RunRequest,
    /// Cooperative deadline: `is_cancelled()` turns true when it passes.
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
pub enum JobEvent {
    Progress { fraction: f32, message: String },
    Log { level: LogLevel, message: String },
    /// Intermediate node changes (already validated); the final result follows.
    Partial(RunOutput),
    Finished(Result<RunOutput, JobError>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum JobError {
    /// The plugin returned an error (including a caught panic).
    Plugin(PluginError),
    Cancelled,
    TimedOut(Duration),
    /// The plugin returned something the host refuses to put in the scene.
    InvalidOutput(String),
    /// The worker vanished without a result.
    Lost,
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Plugin(e) if e.kind == ErrorKind::Panic => write!(f, "{}", e.message),
            JobError::Plugin(e) => write!(f, "{}", e.message),
            JobError::Cancelled => write!(f, "cancelled"),
            JobError::TimedOut(d) => write!(f, "timed out after {:.1} s", d.as_secs_f64()),
            JobError::InvalidOutput(m) => write!(f, "invalid output: {m}"),
            JobError::Lost => write!(f, "the job's worker stopped without a result"),
        }
    }
}

/// The caller's side of a running job.
pub struct JobHandle {
    pub id: u64,
    pub events: Receiver<JobEvent>,
    cancel: Arc<AtomicBool>,
    deadline: Option<(Instant, Duration)>,
}

impl JobHandle {
    /// Asks the plugin to stop; it sees `is_cancelled() == true` at its next check.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// Blocks until the job finishes, passing progress and log events to `on_event`.
    /// A plugin that ignores its deadline is abandoned after a grace period (its
    /// thread cannot be killed in-process; the child-process executor will).
    pub fn wait(&self, mut on_event: impl FnMut(&JobEvent)) -> Result<RunOutput, JobError> {
        const GRACE: Duration = Duration::from_secs(5);
        loop {
            let timeout = match self.deadline {
                Some((at, _)) => at.saturating_duration_since(Instant::now()) + GRACE,
                None => Duration::from_secs(3600),
            };
            match self.events.recv_timeout(timeout) {
                Ok(JobEvent::Finished(result)) => return result,
                Ok(event) => on_event(&event),
                Err(RecvTimeoutError::Timeout) => {
                    if let Some((at, limit)) = self.deadline {
                        if Instant::now() >= at + GRACE {
                            self.cancel();
                            return Err(JobError::TimedOut(limit));
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return Err(JobError::Lost),
            }
        }
    }

    /// Non-blocking: the events that arrived so far (for a frame loop).
    pub fn poll(&self) -> Vec<JobEvent> {
        self.events.try_iter().collect()
    }
}

/// Host services given to one running plugin: forwards to the job's channel.
pub(crate) struct JobHost {
    events: Sender<JobEvent>,
    cancel: Arc<AtomicBool>,
    deadline: Option<Instant>,
}

impl JobHost {
    fn timed_out(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

impl HostServices for JobHost {
    fn progress(&self, fraction: f32, message: RStr<'_>) {
        let fraction = if fraction.is_finite() { fraction.clamp(0.0, 1.0) } else { 0.0 };
        let _ = self.events.send(JobEvent::Progress { fraction, message: message.to_string() });
    }
    fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst) || self.timed_out()
    }
    fn log(&self, level: LogLevel, message: RStr<'_>) {
        let _ = self.events.send(JobEvent::Log { level, message: message.to_string() });
    }
}

/// A session's partial results go to the same channel, validated like a result.
impl PartialSink for JobHost {
    fn partial(&self, output: RunOutput) {
        if validate_output(&output).is_ok() {
            let _ = self.events.send(JobEvent::Partial(output));
        }
    }
}

struct Queued {
    job: Job,
    host: JobHost,
}

/// A pool of worker threads fed through a `crossbeam` channel.
pub struct JobRunner {
    queue: Sender<Queued>,
    next_id: std::sync::atomic::AtomicU64,
}

impl JobRunner {
    pub fn new(workers: usize) -> JobRunner {
        let (queue, jobs) = unbounded::<Queued>();
        for n in 0..workers.max(1) {
            let jobs = jobs.clone();
            thread::Builder::new()
                .name(format!("isotherm-job-{n}"))
                .spawn(move || {
                    for Queued { job, host } in jobs.iter() {
                        let result = execute(&job, &host);
                        let _ = host.events.send(JobEvent::Finished(result));
                    }
                })
                .expect("cannot spawn a job worker thread");
        }
        JobRunner { queue, next_id: 1.into() }
    }

    pub fn submit(&self, job: Job) -> JobHandle {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (events, receiver) = unbounded();
        let cancel = Arc::new(AtomicBool::new(false));
        let deadline = job.timeout.map(|t| (Instant::now() + t, t));
        let host = JobHost { events, cancel: cancel.clone(), deadline: deadline.map(|d| d.0) };
        if let Err(e) = self.queue.send(Queued { job, host }) {
            let _ = e.0.host.events.send(JobEvent::Finished(Err(JobError::Lost)));
        }
        JobHandle { id, events: receiver, cancel, deadline }
    }
}

fn execute(job: &Job, host: &JobHost) -> Result<RunOutput, JobError> {
    let started = Instant::now();
    let result = job.plugin.call_run(&job.request, host_ref(host));
    match result {
        Ok(output) => {
            validate_output(&output).map_err(JobError::InvalidOutput)?;
            Ok(output)
        }
        Err(e) if e.kind == ErrorKind::Cancelled => {
            if host.timed_out() { Err(JobError::TimedOut(started.elapsed())) } else { Err(JobError::Cancelled) }
        }
        Err(e) => Err(JobError::Plugin(e)),
    }
}

/// Checks everything a plugin returned before it may enter the scene.
pub fn validate_output(output: &RunOutput) -> Result<(), String> {
    let mut names = std::collections::HashSet::new();
    for change in output.changes.iter() {
        let NodeChange::Upsert(node) = change else { continue };
        let name = node.name.as_str();
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(format!("node name '{name}' is empty or not a plain file name"));
        }
        if !names.insert(name.to_string()) {
            return Err(format!("node '{name}' appears twice in one output"));
        }
        let problem = match &node.data {
            NodeData::Volume(v) => v.validate().err(),
            NodeData::LabelMap(m) => m.validate().err(),
            NodeData::Mesh(m) => validate_mesh(m).err(),
            NodeData::Markups(m) => {
                let bad = m.points.iter().any(|p| p.position.iter().any(|c| !c.is_finite()))
                    || m.lines.iter().any(|l| l.start.iter().chain(l.end.iter()).any(|c| !c.is_finite()));
                bad.then(|| "a markup has a non-finite coordinate".to_string())
            }
            NodeData::Report(r) => r.tables.iter().find(|t| t.units.len() != t.columns.len() || t.rows.iter().any(|row| row.len() != t.columns.len())).map(|t| format!("table '{}' has rows or units that do not match its columns", t.name)),
        };
        if let Some(p) = problem {
            return Err(format!("node '{name}': {p}"));
        }
    }
    Ok(())
}

fn validate_mesh(m: &isotherm_sdk::abi::Mesh) -> Result<(), String> {
    if let Some((i, p)) = isotherm_sdk::volume::mesh::first_non_finite(m) {
        return Err(format!("vertex {i} is not finite ({}, {}, {})", p[0], p[1], p[2]));
    }
    let n = m.positions.len() as u32;
    if let Some(t) = m.triangles.iter().find(|t| t.iter().any(|&v| v >= n)) {
        return Err(format!("triangle {:?} refers to a vertex beyond the {n} given", t));
    }
    if !m.normals.is_empty() && m.normals.len() != m.positions.len() {
        return Err(format!("{} normals for {} vertices", m.normals.len(), m.positions.len()));
    }
    if m.colour.iter().any(|c| !c.is_finite()) {
        return Err("colour is not finite".into());
    }
    if let ROption::RSome(s) = &m.scalars {
        if s.values.len() != m.positions.len() {
            return Err(format!("{} scalar values for {} vertices", s.values.len(), m.positions.len()));
        }
        if let Some(i) = s.values.iter().position(|v| !v.is_finite()) {
            return Err(format!("scalar '{}' at vertex {i} is not finite", s.name));
        }
    }
    Ok(())
}
