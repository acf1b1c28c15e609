//! Interactive sessions (SDK 0.2): a plugin kept open between calls, for work a user
//! steers while it runs — an ablation simulation whose antenna is dragged, played and
//! paused. The host opens a session with a run's inputs, then updates parameters (a
//! moved antenna is a new point parameter), advances it by steps of simulated time and
//! reads its node changes; dropping the box closes it.

// The `sabi_trait` expansion defines impls inside a const block; harmless here.
#![allow(non_local_definitions)]

use abi_stable::{
    StableAbi, sabi_trait,
    std_types::{RBox, RResult, RVec},
};

use super::{HostRef, NamedParam, PluginError, RunOutput, SinkRef};

/// Where a session stands on its timeline.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Default)]
pub struct SessionClock {
    /// Simulated time so far, s.
    pub time_s: f64,
    /// The end of the timeline (e.g. the planned ablation time), s; 0 for a session
    /// without one. `advance` never goes past it.
    pub horizon_s: f64,
}

/// One open session. `advance` may stream partial results through its sink; every call
/// should stop at `is_cancelled` (returning
/// `ErrorKind::Cancelled`, the session staying usable at the time it reached).
#[sabi_trait]
pub trait PluginSession: Send {
    /// New values for parameters (the host has resolved and range-checked them; ones
    /// not named keep theirs). A session on a timeline recomputes its state at the
    /// current time with them.
    fn update(&mut self, params: RVec<NamedParam>, host: HostRef<'_>) -> RResult<SessionClock, PluginError>;
    /// Advances simulated time by `seconds` (up to the horizon), streaming intermediate
    /// node changes to `sink`.
    fn advance<'a>(&mut self, seconds: f64, host: HostRef<'a>, sink: SinkRef<'a>) -> RResult<SessionClock, PluginError>;
    /// The node changes of the current state, as a run would return them.
    fn output(&mut self, host: HostRef<'_>) -> RResult<RunOutput, PluginError>;
    /// Back to time zero, keeping the parameters.
    #[sabi(last_prefix_field)]
    fn reset(&mut self, host: HostRef<'_>) -> RResult<SessionClock, PluginError>;
}

/// An open session owned by the host; dropping it closes the session (the plugin's
/// destructor runs inside the plugin's panic guard).
pub type SessionBox = PluginSession_TO<'static, RBox<()>>;
