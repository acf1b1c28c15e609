//! **API Boundary.** Every type that crosses between the host and a plugin library.
//!
//! All of it is `#[repr(C)]` and `StableAbi`: `abi_stable` compares the layout of
//! everything reachable from [`PluginModRef`] when the host loads a library, before
//! any plugin code runs, and refuses a library whose layout differs.
//!
//! Rules for changing this module (see ARCHITECTURE.md, "ABI evolution"):
//! - new entry points are appended to [`PluginMod`] *below* the `last_prefix_field`,
//!   and [`SDK_VERSION`]'s minor goes up; the root module as it was is kept in
//!   `v0_N.rs`, because abi_stable checks a library against a host's prefix type only
//!   when the library has at least the host's fields: the loader checks each library
//!   against the root module of its own level, and loads every level from
//!   `manifest::OLDEST_LOADABLE_SDK` up to its own. A host refuses newer levels, naming
//!   both versions;
//! - existing types never change (a `sabi_trait` gets no new methods: a new trait, like
//!   `PartialSink`, is passed where it is needed), and the crate's Cargo version stays
//!   0.1.x, since abi_stable refuses types from another 0.x minor of their crate.

mod data;
mod host;
mod scene;
mod schema;
mod session;
pub mod v0_1;

pub use data::*;
pub use host::*;
pub use scene::*;
pub use schema::*;
pub use session::*;

use abi_stable::{
    StableAbi, declare_root_module_statics,
    library::RootModule,
    sabi_types::VersionStrings,
    std_types::{RResult, RString},
};

/// The SDK API level this crate speaks: what the loader compares and names in refusals,
/// what a plugin's descriptor and library header carry. 0.2 appended sessions.
pub const SDK_VERSION: &str = "0.2.0";

/// Name of the symbol every plugin library exports (abi_stable's mangled loader name).
/// Kept as a literal so that `export_plugin!` needs no proc macro; a unit test checks it
/// against `abi_stable::library::ROOT_MODULE_LOADER_NAME`.
pub const ROOT_MODULE_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

/// Why a plugin call failed. `kind` lets the host react (e.g. a cancellation is not an
/// error to alarm the user with); `message` is for people.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct PluginError {
    pub kind: ErrorKind,
    pub message: RString,
}

#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// An input or parameter does not fit what the plugin declared.
    InvalidInput,
    /// The host asked the plugin to stop and it did.
    Cancelled,
    /// A model file could not be read or does not match its configuration.
    Model,
    /// The plugin panicked; the message is the panic's.
    Panic,
    /// Anything else the plugin reports.
    Internal,
}

/// The root module of a plugin library: a prefix type, so later SDK versions can
/// append entry points and still load libraries built against this one.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
#[sabi(missing_field(panic))]
pub struct PluginMod {
    /// What the plugin is and what it takes: checked against its `plugin.toml`.
    pub describe: extern "C" fn() -> RResult<PluginDescriptor, PluginError>,

    /// Runs the plugin on resolved inputs and parameters.
    ///
    /// The `last_prefix_field` of SDK 0.1: fields added in later versions go below it.
    #[sabi(last_prefix_field)]
    pub run: extern "C" fn(&RunRequest, HostRef<'_>) -> RResult<RunOutput, PluginError>,

    /// SDK 0.2: opens an interactive session on a run's inputs and parameters; `None`
    /// when the plugin offers none. Absent from 0.1 libraries (the accessor says `None`).
    #[sabi(missing_field(option))]
    pub open_session: Option<extern "C" fn(&RunRequest, HostRef<'_>) -> RResult<SessionBox, PluginError>>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "isotherm_plugin";
    const NAME: &'static str = "isotherm_plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new(SDK_VERSION);
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_module_symbol_matches_abi_stable() {
        assert_eq!(super::ROOT_MODULE_SYMBOL, abi_stable::library::ROOT_MODULE_LOADER_NAME);
    }
}
