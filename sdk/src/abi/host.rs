//! What the host offers a running plugin: progress, cancellation and logging; and (SDK
//! 0.2) a sink for a session's partial results.

// The `sabi_trait` expansion defines impls inside a const block; harmless here.
#![allow(non_local_definitions)]

use abi_stable::{StableAbi, sabi_trait, sabi_trait::prelude::TD_Opaque, sabi_types::RRef, std_types::RStr};

use super::RunOutput;

#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

/// Host callbacks, as a trait object that crosses the boundary. Implemented by the
/// host's job runner and by `sdk::testing`. `Sync` so a plugin may report from
/// worker threads (e.g. inside rayon).
#[sabi_trait]
pub trait HostServices: Send + Sync {
    /// Reports progress: `fraction` in 0..1, and what the plugin is doing.
    fn progress(&self, fraction: f32, message: RStr<'_>);
    /// True once the user (or a timeout) asked the run to stop.
    fn is_cancelled(&self) -> bool;
    #[sabi(last_prefix_field)]
    fn log(&self, level: LogLevel, message: RStr<'_>);
}

/// Where a session's step streams intermediate node changes (SDK 0.2): a zone that grows
/// while the step runs. A separate trait, so `HostServices` keeps its 0.1 layout and
/// 0.1 plugins still load.
#[sabi_trait]
pub trait PartialSink: Send + Sync {
    #[sabi(last_prefix_field)]
    fn partial(&self, output: RunOutput);
}

/// A borrowed sink, as passed to `PluginSession::advance`.
pub type SinkRef<'a> = PartialSink_TO<'a, RRef<'a, ()>>;

/// Borrows any sink implementation as a [`SinkRef`].
pub fn sink_ref<T: PartialSink>(sink: &T) -> SinkRef<'_> {
    PartialSink_TO::from_ptr(RRef::new(sink), TD_Opaque)
}

/// A borrowed host handle, as passed to `PluginMod::run`.
pub type HostRef<'a> = HostServices_TO<'a, RRef<'a, ()>>;

/// Borrows any host implementation as a [`HostRef`].
pub fn host_ref<T: HostServices>(host: &T) -> HostRef<'_> {
    HostServices_TO::from_ptr(RRef::new(host), TD_Opaque)
}
