//! Run a plugin's logic without the host: the same parameter resolution, the same
//! panic-catching entry point, and a host that records progress and logs.
//!
//! ```ignore
//! let out = TestRun::new().volume("ct", ct).param("threshold", "100").run::<MyPlugin>()?;
//! let mesh = out.mesh("surface").unwrap();
//! ```

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use abi_stable::std_types::{RStr, RVec};

use crate::abi::{
    HostServices, InputData, LabelMap, LogLevel, Mesh, ModelFile, NamedInput, NodeChange, NodeData, PartialSink, PluginError, Report, RunOutput, RunRequest,
    SessionBox, SessionClock, Volume, host_ref, sink_ref,
};
use crate::plugin::{Plugin, SessionPlugin};

/// A host that records what the plugin reports, and can ask it to stop.
#[derive(Default)]
pub struct RecordingHost {
    pub progress: Mutex<Vec<(f32, String)>>,
    pub logs: Mutex<Vec<(LogLevel, String)>>,
    /// Partial results a session streamed, in order.
    pub partials: Mutex<Vec<RunOutput>>,
    cancel: AtomicBool,
    /// Cancel once this many progress reports have arrived (0 = never).
    cancel_after_progress: AtomicUsize,
}

impl RecordingHost {
    pub fn cancel_after(reports: usize) -> Self {
        let h = RecordingHost::default();
        h.cancel_after_progress.store(reports, Ordering::SeqCst);
        h
    }
}

impl HostServices for RecordingHost {
    fn progress(&self, fraction: f32, message: RStr<'_>) {
        let mut p = self.progress.lock().unwrap();
        p.push((fraction, message.to_string()));
        let limit = self.cancel_after_progress.load(Ordering::SeqCst);
        if limit > 0 && p.len() >= limit {
            self.cancel.store(true, Ordering::SeqCst);
        }
    }
    fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
    fn log(&self, level: LogLevel, message: RStr<'_>) {
        self.logs.lock().unwrap().push((level, message.to_string()));
    }
}

impl PartialSink for RecordingHost {
    fn partial(&self, output: RunOutput) {
        self.partials.lock().unwrap().push(output);
    }
}

impl RecordingHost {
    /// Asks the plugin to stop after `reports` more progress reports (0 = lift the request).
    pub fn cancel_after_more(&self, reports: usize) {
        let now = self.progress.lock().unwrap().len();
        self.cancel.store(false, Ordering::SeqCst);
        self.cancel_after_progress.store(if reports == 0 { 0 } else { now + reports }, Ordering::SeqCst);
    }
}

/// Builds one run of a plugin.
#[derive(Default)]
pub struct TestRun {
    inputs: Vec<NamedInput>,
    params: Vec<(String, String)>,
    models: Vec<ModelFile>,
    host: Option<RecordingHost>,
}

impl TestRun {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn volume(mut self, name: &str, volume: Volume) -> Self {
        self.inputs.push(NamedInput { name: name.into(), data: InputData::Volume(volume) });
        self
    }
    pub fn label_map(mut self, name: &str, map: LabelMap) -> Self {
        self.inputs.push(NamedInput { name: name.into(), data: InputData::LabelMap(map) });
        self
    }
    /// A parameter as text, exactly as on the command line.
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }
    /// A model file as the host would pass it. `sha256` is what the host verified against
    /// the manifest; pass "" to leave the file unpinned.
    pub fn model(mut self, name: &str, path: &std::path::Path, sha256: &str) -> Self {
        self.models.push(ModelFile { name: name.into(), path: path.to_string_lossy().as_ref().into(), sha256: sha256.into() });
        self
    }
    pub fn host(mut self, host: RecordingHost) -> Self {
        self.host = Some(host);
        self
    }

    /// Resolves parameters against the plugin's declaration and runs it through the
    /// exported entry point (panics come back as errors, as in the host).
    pub fn run<P: Plugin>(self) -> Result<Outputs, PluginError> {
        let host = self.host.unwrap_or_default();
        let descriptor = P::describe();
        let params = crate::params::resolve(&descriptor.params, &self.params).map_err(PluginError::invalid_input)?;
        for spec in descriptor.inputs.iter().filter(|i| i.required) {
            if !self.inputs.iter().any(|i| i.name == spec.name) {
                return Err(PluginError::invalid_input(format!("required input '{}' is missing", spec.name)));
            }
        }
        let request = RunRequest { inputs: RVec::from(self.inputs), params, models: RVec::from(self.models) };
        let result = crate::export::run_entry::<P>(&request, host_ref(&host)).into_result();
        result.map(|output| Outputs { output, host })
    }

    /// Opens a session of the plugin through the exported session entry point, with the
    /// same checks as [`TestRun::run`].
    pub fn open<P: SessionPlugin>(self) -> Result<TestSession, PluginError> {
        let host = self.host.unwrap_or_default();
        let descriptor = P::describe();
        let params = crate::params::resolve(&descriptor.params, &self.params).map_err(PluginError::invalid_input)?;
        let request = RunRequest { inputs: RVec::from(self.inputs), params, models: RVec::from(self.models) };
        let session = crate::export::open_session_entry::<P>(&request, host_ref(&host)).into_result()?;
        Ok(TestSession { session, descriptor, host })
    }
}

/// An open session, driven as the host drives one (parameters as text, resolved
/// against the declaration).
pub struct TestSession {
    session: SessionBox,
    descriptor: crate::abi::PluginDescriptor,
    pub host: RecordingHost,
}

impl TestSession {
    pub fn update(&mut self, params: &[(&str, &str)]) -> Result<SessionClock, PluginError> {
        let given: Vec<(String, String)> = params.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        let changed = crate::params::resolve_changes(&self.descriptor.params, &given).map_err(PluginError::invalid_input)?;
        self.session.update(changed, host_ref(&self.host)).into_result()
    }
    pub fn advance(&mut self, seconds: f64) -> Result<SessionClock, PluginError> {
        self.session.advance(seconds, host_ref(&self.host), sink_ref(&self.host)).into_result()
    }
    pub fn reset(&mut self) -> Result<SessionClock, PluginError> {
        self.session.reset(host_ref(&self.host)).into_result()
    }
    /// The current node changes, with the lookups of a run's [`Outputs`].
    pub fn output(&mut self) -> Result<Outputs, PluginError> {
        let output = self.session.output(host_ref(&self.host)).into_result()?;
        Ok(Outputs { output, host: RecordingHost::default() })
    }
}

/// What a test run returned, with lookups by node name.
pub struct Outputs {
    pub output: RunOutput,
    pub host: RecordingHost,
}

impl Outputs {
    pub fn node(&self, name: &str) -> Option<&NodeData> {
        self.output.changes.iter().find_map(|c| match c {
            NodeChange::Upsert(n) if n.name.as_str() == name => Some(&n.data),
            _ => None,
        })
    }
    pub fn mesh(&self, name: &str) -> Option<&Mesh> {
        match self.node(name)? {
            NodeData::Mesh(m) => Some(m),
            _ => None,
        }
    }
    pub fn label_map(&self, name: &str) -> Option<&LabelMap> {
        match self.node(name)? {
            NodeData::LabelMap(m) => Some(m),
            _ => None,
        }
    }
    pub fn report(&self, name: &str) -> Option<&Report> {
        match self.node(name)? {
            NodeData::Report(r) => Some(r),
            _ => None,
        }
    }
}

impl Report {
    /// A key figure's numeric value.
    pub fn number_of(&self, key: &str) -> Option<f64> {
        self.values.iter().find(|v| v.key.as_str() == key).and_then(|v| match v.value {
            crate::abi::Cell::Number(x) => Some(x),
            crate::abi::Cell::Integer(x) => Some(x as f64),
            _ => None,
        })
    }
}

/// Checks a plugin's `plugin.toml` against its `describe()` exactly as the host does at
/// load (id, version when given, SDK, inputs and outputs), so a test fails where the two
/// drift apart instead of the host refusing the plugin later:
///
/// ```ignore
/// #[test]
/// fn manifest_matches() {
///     isotherm_sdk::testing::check_manifest::<MyPlugin>(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml")).unwrap();
/// }
/// ```
pub fn check_manifest<P: Plugin>(manifest_path: impl AsRef<std::path::Path>) -> Result<(), String> {
    let path = manifest_path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let manifest = crate::manifest::Manifest::from_toml(&text, path)?;
    let descriptor = crate::export::describe_entry::<P>().into_result().map_err(|e| format!("describe() failed: {}", e.message))?;
    manifest.check_against(&descriptor).map_err(|e| format!("{}: {e}", path.display()))
}

/// A CT-like volume of `background` HU with a sphere of `inside` HU: the smallest
/// phantom with a known answer (volume 4/3 pi r^3, surface at radius r).
pub fn sphere_ct(dims: [u32; 3], spacing: [f64; 3], radius_mm: f64, background: i16, inside: i16) -> Volume {
    let g = crate::abi::Geometry::axis_aligned(dims, spacing, [0.0; 3]);
    let centre = g.index_to_world([(dims[0] - 1) as f64 / 2.0, (dims[1] - 1) as f64 / 2.0, (dims[2] - 1) as f64 / 2.0]);
    let data = (0..g.len())
        .map(|n| {
            let [i, j, k] = g.ijk(n);
            let d = crate::volume::dist(g.index_to_world([i as f64, j as f64, k as f64]), centre);
            if d <= radius_mm { inside } else { background }
        })
        .collect();
    Volume::from_i16(g, data)
}
