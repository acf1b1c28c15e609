//! The safe side of the boundary: the [`Plugin`] trait a plugin author implements, and
//! the [`Request`] and [`Host`] handles it is given. Plain Rust; `export_plugin!`
//! wraps it into the ABI.

use abi_stable::std_types::{RStr, RString};

use crate::abi::{
    ErrorKind, HostRef, InputData, LabelMap, LogLevel, ModelFile, ParamValue, PluginDescriptor, PluginError, RunOutput, RunRequest, SessionClock, SinkRef,
    Volume,
};

/// A plugin's logic. Implement it on a unit struct and call `export_plugin!(MyPlugin)`.
///
/// The host guarantees on `run`: every declared parameter is present with the declared
/// kind and within range; every required input is present with the declared kind;
/// every model file listed in `plugin.toml` exists and matches its SHA-256.
pub trait Plugin {
    /// Self-description; must agree with `plugin.toml` (the host checks id and version).
    fn describe() -> PluginDescriptor;

    /// Computes node changes from inputs. Long loops should call
    /// [`Host::checkpoint`] so the user can cancel.
    fn run(request: &Request<'_>, host: &Host<'_>) -> Result<RunOutput, PluginError>;
}

/// A plugin that also offers interactive sessions (SDK 0.2). Export it with
/// `export_plugin!(MyPlugin, sessions)`; hosts older than SDK 0.2 refuse it at load.
pub trait SessionPlugin: Plugin {
    type Session: Session + 'static;

    /// Opens a session on a run's inputs, parameters and models (checked by the host as
    /// for `run`). Keep what later steps need: the request is not kept for you.
    fn open_session(request: &Request<'_>, host: &Host<'_>) -> Result<Self::Session, PluginError>;
}

/// One open session: the state a user steers. `advance` may stream partial results with
/// [`Host::partial`]; every call should stop at [`Host::checkpoint`]. A panic in any call
/// ends the session (later calls answer with an error); the host keeps running.
pub trait Session: Send {
    /// New values for the parameters in `changed` (only those; read them with its
    /// getters and [`Request::has_param`]). Recompute the state at the current time.
    fn update(&mut self, changed: &Request<'_>, host: &Host<'_>) -> Result<SessionClock, PluginError>;
    /// Advances simulated time by `seconds`, never past the horizon.
    fn advance(&mut self, seconds: f64, host: &Host<'_>) -> Result<SessionClock, PluginError>;
    /// The node changes of the current state, as `run` would return them.
    fn output(&mut self, host: &Host<'_>) -> Result<RunOutput, PluginError>;
    /// Back to time zero with the current parameters.
    fn reset(&mut self, host: &Host<'_>) -> Result<SessionClock, PluginError>;
}

impl PluginError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PluginError { kind, message: RString::from(message.into()) }
    }
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    pub fn cancelled() -> Self {
        Self::new(ErrorKind::Cancelled, "cancelled")
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for PluginError {}

/// Read access to one run's inputs, parameters and model files.
pub struct Request<'a> {
    raw: &'a RunRequest,
}

impl<'a> Request<'a> {
    pub fn new(raw: &'a RunRequest) -> Self {
        Request { raw }
    }

    pub fn raw(&self) -> &'a RunRequest {
        self.raw
    }

    fn input(&self, name: &str) -> Option<&'a InputData> {
        self.raw.inputs.iter().find(|i| i.name.as_str() == name).map(|i| &i.data)
    }

    /// The scalar volume given as input `name`: an error when it is missing (so use
    /// this for required inputs) or is a label map.
    pub fn volume(&self, name: &str) -> Result<&'a Volume, PluginError> {
        match self.input(name) {
            Some(InputData::Volume(v)) => Ok(v),
            Some(InputData::LabelMap(_)) => {
                Err(PluginError::invalid_input(format!("input '{name}' is a label map, expected a volume")))
            }
            None => Err(PluginError::invalid_input(format!("input '{name}' is missing"))),
        }
    }

    /// The volume given as optional input `name`: `None` when not given, an error when
    /// it is a label map.
    pub fn optional_volume(&self, name: &str) -> Result<Option<&'a Volume>, PluginError> {
        match self.input(name) {
            None => Ok(None),
            Some(_) => self.volume(name).map(Some),
        }
    }

    /// The label map given as input `name`: an error when it is missing (so use this for
    /// required inputs) or is a volume. Like [`Request::volume`].
    pub fn label_map(&self, name: &str) -> Result<&'a LabelMap, PluginError> {
        match self.input(name) {
            Some(InputData::LabelMap(m)) => Ok(m),
            Some(InputData::Volume(_)) => {
                Err(PluginError::invalid_input(format!("input '{name}' is a volume, expected a label map")))
            }
            None => Err(PluginError::invalid_input(format!("input '{name}' is missing"))),
        }
    }

    /// The label map given as optional input `name`: `None` when not given, an error
    /// when it is a volume. Like [`Request::optional_volume`].
    pub fn optional_label_map(&self, name: &str) -> Result<Option<&'a LabelMap>, PluginError> {
        match self.input(name) {
            None => Ok(None),
            Some(_) => self.label_map(name).map(Some),
        }
    }

    /// Whether parameter `name` is in this request (always, in a run; in a session's
    /// update, only when it changed).
    pub fn has_param(&self, name: &str) -> bool {
        self.raw.params.iter().any(|p| p.name.as_str() == name)
    }

    fn param(&self, name: &str) -> Result<&'a ParamValue, PluginError> {
        self.raw
            .params
            .iter()
            .find(|p| p.name.as_str() == name)
            .map(|p| &p.value)
            .ok_or_else(|| PluginError::invalid_input(format!("parameter '{name}' is missing")))
    }

    /// A `Number` parameter (an `Integer` one is widened). The host has checked its range.
    pub fn number(&self, name: &str) -> Result<f64, PluginError> {
        match self.param(name)? {
            ParamValue::Number(x) => Ok(*x),
            ParamValue::Integer(x) => Ok(*x as f64),
            other => Err(kind_error(name, "a number", other)),
        }
    }

    /// An `Integer` parameter. The host has checked its range.
    pub fn integer(&self, name: &str) -> Result<i64, PluginError> {
        match self.param(name)? {
            ParamValue::Integer(x) => Ok(*x),
            other => Err(kind_error(name, "an integer", other)),
        }
    }

    /// A `Bool` parameter (`true`/`false`, `yes`/`no`, `1`/`0` on the command line).
    pub fn bool(&self, name: &str) -> Result<bool, PluginError> {
        match self.param(name)? {
            ParamValue::Bool(x) => Ok(*x),
            other => Err(kind_error(name, "a bool", other)),
        }
    }

    /// A `Choice` parameter: one of its declared choices (or the input name of a
    /// `VolumeRef`).
    pub fn choice(&self, name: &str) -> Result<&'a str, PluginError> {
        match self.param(name)? {
            ParamValue::Choice(x) | ParamValue::VolumeRef(x) => Ok(x.as_str()),
            other => Err(kind_error(name, "a choice", other)),
        }
    }

    /// A `Point` parameter: world millimetres, RAS+ (`x,y,z` on the command line).
    pub fn point(&self, name: &str) -> Result<[f64; 3], PluginError> {
        match self.param(name)? {
            ParamValue::Point(p) => Ok(*p),
            other => Err(kind_error(name, "a point", other)),
        }
    }

    /// A point declared with [`ParamSpec::optional_point`]: `None` while unset.
    ///
    /// [`ParamSpec::optional_point`]: crate::abi::ParamSpec::optional_point
    pub fn optional_point(&self, name: &str) -> Result<Option<[f64; 3]>, PluginError> {
        let p = self.point(name)?;
        Ok((!crate::params::is_unset(&p)).then_some(p))
    }

    /// The verified model file declared as `name` in `plugin.toml`.
    pub fn model(&self, name: &str) -> Result<&'a ModelFile, PluginError> {
        self.raw.models.iter().find(|m| m.name.as_str() == name).ok_or_else(|| {
            PluginError::new(ErrorKind::Model, format!("model file '{name}' was not provided by the host"))
        })
    }
}

fn kind_error(name: &str, expected: &str, got: &ParamValue) -> PluginError {
    PluginError::invalid_input(format!("parameter '{name}' should be {expected}, got {got:?}"))
}

/// The host, as a running plugin sees it.
pub struct Host<'a> {
    raw: HostRef<'a>,
    /// Where a session's step streams partial results; `None` elsewhere.
    sink: Option<SinkRef<'a>>,
}

impl<'a> Host<'a> {
    pub fn new(raw: HostRef<'a>) -> Self {
        Host { raw, sink: None }
    }

    /// A host whose [`Host::partial`] streams to `sink` (a session's `advance`).
    pub fn with_sink(raw: HostRef<'a>, sink: SinkRef<'a>) -> Self {
        Host { raw, sink: Some(sink) }
    }

    /// Reports progress in 0..1 with a short message.
    pub fn progress(&self, fraction: f32, message: &str) {
        self.raw.progress(fraction.clamp(0.0, 1.0), RStr::from(message));
    }

    pub fn is_cancelled(&self) -> bool {
        self.raw.is_cancelled()
    }

    /// `Err(Cancelled)` once the run should stop: use with `?` in long loops.
    pub fn checkpoint(&self) -> Result<(), PluginError> {
        if self.is_cancelled() { Err(PluginError::cancelled()) } else { Ok(()) }
    }

    pub fn log(&self, level: LogLevel, message: &str) {
        self.raw.log(level, RStr::from(message));
    }

    pub fn info(&self, message: &str) {
        self.log(LogLevel::Info, message);
    }

    pub fn warn(&self, message: &str) {
        self.log(LogLevel::Warn, message);
    }

    /// Intermediate node changes while a session's `advance` still works (the host shows
    /// them as they come); dropped in other calls, whose result is what they return.
    pub fn partial(&self, output: RunOutput) {
        if let Some(sink) = &self.sink {
            sink.partial(output);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{Geometry, NamedInput};

    fn request() -> RunRequest {
        let g = Geometry::axis_aligned([2, 1, 1], [1.0; 3], [0.0; 3]);
        RunRequest {
            inputs: vec![
                NamedInput { name: "ct".into(), data: InputData::Volume(Volume::from_i16(g, vec![0, 1])) },
                NamedInput { name: "mask".into(), data: InputData::LabelMap(LabelMap::new(g, vec![0, 1], vec![])) },
            ]
            .into(),
            ..Default::default()
        }
    }

    #[test]
    fn volumes_and_label_maps_are_got_alike() {
        let raw = request();
        let r = Request::new(&raw);
        assert!(r.volume("ct").is_ok() && r.label_map("mask").is_ok());
        assert!(r.optional_volume("ct").unwrap().is_some() && r.optional_label_map("mask").unwrap().is_some());
        // Missing: an error from the required getters, None from the optional ones.
        assert_eq!(r.volume("pre").unwrap_err().message.as_str(), "input 'pre' is missing");
        assert_eq!(r.label_map("zone").unwrap_err().message.as_str(), "input 'zone' is missing");
        assert!(r.optional_volume("pre").unwrap().is_none() && r.optional_label_map("zone").unwrap().is_none());
        // The wrong kind is an error either way.
        assert!(r.label_map("ct").unwrap_err().message.contains("is a volume, expected a label map"));
        assert!(r.optional_label_map("ct").is_err() && r.optional_volume("mask").is_err());
    }
}
