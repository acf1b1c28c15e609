//! The root module as SDK 0.1 laid it out, kept so a newer host can check and load a
//! 0.1 library. abi_stable lets a library's prefix type have more fields than the host
//! expects, never fewer: a host checks each library against the root module of the
//! library's own SDK level, then calls the entry points both have.

use abi_stable::{StableAbi, declare_root_module_statics, library::RootModule, sabi_types::VersionStrings, std_types::RResult};

use super::{HostRef, PluginDescriptor, PluginError, RunOutput, RunRequest};

/// [`super::PluginMod`] up to its 0.1 `last_prefix_field`. Same name, same fields.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
#[sabi(missing_field(panic))]
pub struct PluginMod {
    pub describe: extern "C" fn() -> RResult<PluginDescriptor, PluginError>,
    #[sabi(last_prefix_field)]
    pub run: extern "C" fn(&RunRequest, HostRef<'_>) -> RResult<RunOutput, PluginError>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "isotherm_plugin";
    const NAME: &'static str = "isotherm_plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("0.1.0");
}
