//! `export_plugin!`: turns a [`Plugin`] into the library's root module.
//!
//! Every entry point runs inside `catch_unwind`: a panic in plugin code comes back to
//! the host as an `ErrorKind::Panic` error carrying the panic message and location,
//! and never unwinds across `extern "C"` (which would abort the host).

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use abi_stable::std_types::{RResult, RString};

use crate::abi::{ErrorKind, HostRef, PluginDescriptor, PluginError, RunOutput, RunRequest, SDK_VERSION};
use crate::plugin::{Host, Plugin, Request};

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    static IN_ENTRY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Wraps the panic hook so that a panic inside an entry point is recorded for the entry
/// point to return instead of printed to stderr. Panics elsewhere (e.g. a failing test
/// assertion when a plugin is linked as an rlib) still go to the previous hook. In a
/// loaded library this is the library's own copy of std, so the host's hook is untouched.
fn install_quiet_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !IN_ENTRY.with(|e| e.get()) {
                return previous(info);
            }
            let message = if let Some(s) = info.payload().downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = info.payload().downcast_ref::<String>() {
                s.clone()
            } else {
                "panic with a non-string payload".to_string()
            };
            let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message}{at}")));
        }));
    });
}

fn guarded<T>(f: impl FnOnce() -> Result<T, PluginError>) -> RResult<T, PluginError> {
    install_quiet_panic_hook();
    let outer = IN_ENTRY.with(|e| e.replace(true));
    let caught = panic::catch_unwind(AssertUnwindSafe(f));
    IN_ENTRY.with(|e| e.set(outer));
    match caught {
        Ok(result) => result.into(),
        Err(payload) => {
            // A panic on another thread (e.g. a rayon worker) is re-raised here without
            // passing our hook on this thread: fall back to the payload itself.
            let message = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic with a non-string payload".into());
            RResult::RErr(PluginError::new(ErrorKind::Panic, format!("plugin panicked: {message}")))
        }
    }
}

#[doc(hidden)]
pub fn describe_entry<P: Plugin>() -> RResult<PluginDescriptor, PluginError> {
    guarded(|| {
        let mut d = P::describe();
        d.sdk_version = RString::from(SDK_VERSION);
        Ok(d)
    })
}

#[doc(hidden)]
pub fn run_entry<P: Plugin>(request: &RunRequest, host: HostRef<'_>) -> RResult<RunOutput, PluginError> {
    guarded(|| P::run(&Request::new(request), &Host::new(host)))
}

/// Exports a [`Plugin`] implementation as this library's Isotherm root module.
///
/// ```ignore
/// struct Threshold;
/// impl isotherm_sdk::Plugin for Threshold { /* describe, run */ }
/// isotherm_sdk::export_plugin!(Threshold);
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: () = {
            use $crate::abi_stable::library::{LibHeader, RootModuleResult, CheckTypeLayout, __call_root_module_loader};
            use $crate::abi_stable::prefix_type::PrefixTypeTrait;
            use $crate::abi_stable::std_types::RResult;
            use $crate::abi::{PluginMod, PluginModRef, PluginDescriptor, PluginError, RunOutput, RunRequest, HostRef};

            extern "C" fn describe() -> RResult<PluginDescriptor, PluginError> {
                $crate::export::describe_entry::<$plugin>()
            }
            extern "C" fn run(request: &RunRequest, host: HostRef<'_>) -> RResult<RunOutput, PluginError> {
                $crate::export::run_entry::<$plugin>(request, host)
            }
            fn root_module() -> PluginModRef {
                PluginMod { describe, run }.leak_into_prefix()
            }
            extern "C" fn erased_root_module() -> RootModuleResult {
                __call_root_module_loader(root_module)
            }

            // The same static that `#[abi_stable::export_root_module]` emits; the name is
            // `abi::ROOT_MODULE_SYMBOL` (checked by a test in the SDK).
            #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
            pub static ISOTHERM_ROOT_MODULE: LibHeader = unsafe {
                LibHeader::from_constructor::<PluginModRef>(erased_root_module, CheckTypeLayout::Yes)
            };
        };
    };
}
