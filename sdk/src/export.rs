//! `export_plugin!`: turns a [`Plugin`] into the library's root module.
//!
//! Every entry point (and every call into an open session) runs inside `catch_unwind`:
//! a panic in plugin code comes back to the host as an `ErrorKind::Panic` error carrying
//! the panic message and location, and never unwinds across `extern "C"` (which would
//! abort the host).

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use abi_stable::sabi_trait::prelude::TD_Opaque;
use abi_stable::std_types::{RResult, RString, RVec};

use crate::abi::{
    ErrorKind, HostRef, NamedParam, PluginDescriptor, PluginError, PluginSession, PluginSession_TO, RunOutput, RunRequest, SDK_VERSION, SessionBox,
    SessionClock, SinkRef,
};
use crate::plugin::{Host, Plugin, Request, Session, SessionPlugin};

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

#[doc(hidden)]
pub fn open_session_entry<P: SessionPlugin>(request: &RunRequest, host: HostRef<'_>) -> RResult<SessionBox, PluginError> {
    guarded(|| {
        let session = P::open_session(&Request::new(request), &Host::new(host))?;
        Ok(PluginSession_TO::from_value(Guarded { inner: Some(session), broken: false }, TD_Opaque))
    })
}

/// A plugin's session behind the boundary: each call inside the panic guard; after a
/// panic the state may be half-changed, so the session answers every later call with an
/// error instead of computing on it.
struct Guarded<S: Session> {
    inner: Option<S>,
    broken: bool,
}

impl<S: Session> Guarded<S> {
    fn call<T>(&mut self, f: impl FnOnce(&mut S) -> Result<T, PluginError>) -> RResult<T, PluginError> {
        let Some(session) = self.inner.as_mut().filter(|_| !self.broken) else {
            return RResult::RErr(PluginError::internal("this session ended after a panic in the plugin; open a new one"));
        };
        let result = guarded(|| f(session));
        if matches!(&result, RResult::RErr(e) if e.kind == ErrorKind::Panic) {
            self.broken = true;
        }
        result
    }
}

impl<S: Session> PluginSession for Guarded<S> {
    fn update(&mut self, params: RVec<NamedParam>, host: HostRef<'_>) -> RResult<SessionClock, PluginError> {
        let changed = RunRequest { params, ..Default::default() };
        self.call(|s| s.update(&Request::new(&changed), &Host::new(host)))
    }
    fn advance<'a>(&mut self, seconds: f64, host: HostRef<'a>, sink: SinkRef<'a>) -> RResult<SessionClock, PluginError> {
        if !seconds.is_finite() || seconds < 0.0 {
            return RResult::RErr(PluginError::invalid_input(format!("cannot advance a session by {seconds} s")));
        }
        self.call(|s| s.advance(seconds, &Host::with_sink(host, sink)))
    }
    fn output(&mut self, host: HostRef<'_>) -> RResult<RunOutput, PluginError> {
        self.call(|s| s.output(&Host::new(host)))
    }
    fn reset(&mut self, host: HostRef<'_>) -> RResult<SessionClock, PluginError> {
        self.call(|s| s.reset(&Host::new(host)))
    }
}

impl<S: Session> Drop for Guarded<S> {
    // Closing runs the plugin's destructors: a panic there must not unwind into the host.
    fn drop(&mut self) {
        let inner = self.inner.take();
        let _ = guarded(move || {
            drop(inner);
            Ok(())
        });
    }
}

/// Exports a [`Plugin`] implementation as this library's Isotherm root module.
///
/// ```ignore
/// struct Threshold;
/// impl isotherm_sdk::Plugin for Threshold { /* describe, run */ }
/// isotherm_sdk::export_plugin!(Threshold);
/// ```
///
/// A plugin that implements [`SessionPlugin`] too is exported with
/// `export_plugin!(Threshold, sessions)`.
#[macro_export]
macro_rules! export_plugin {
    (@root $plugin:ty, $open_session:block) => {
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
                PluginMod { describe, run, open_session: $open_session }.leak_into_prefix()
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
    ($plugin:ty) => {
        $crate::export_plugin!(@root $plugin, { ::core::option::Option::None });
    };
    ($plugin:ty, sessions) => {
        $crate::export_plugin!(@root $plugin, {
            extern "C" fn open_session(
                request: &$crate::abi::RunRequest,
                host: $crate::abi::HostRef<'_>,
            ) -> $crate::abi_stable::std_types::RResult<$crate::abi::SessionBox, $crate::abi::PluginError> {
                $crate::export::open_session_entry::<$plugin>(request, host)
            }
            ::core::option::Option::Some(open_session)
        });
    };
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;
    use crate::testing::TestRun;

    /// A session on a timeline of 10 s that panics when asked to go past 5 s.
    struct Clock;
    struct Ticking(f64);

    impl Plugin for Clock {
        fn describe() -> PluginDescriptor {
            PluginDescriptor::new("clock", "Clock", "1.0.0").param(ParamSpec::number("rate", "Rate", 1.0))
        }
        fn run(_: &Request<'_>, _: &Host<'_>) -> Result<RunOutput, PluginError> {
            Ok(RunOutput::new())
        }
    }
    impl SessionPlugin for Clock {
        type Session = Ticking;
        fn open_session(_: &Request<'_>, _: &Host<'_>) -> Result<Ticking, PluginError> {
            Ok(Ticking(0.0))
        }
    }
    impl Session for Ticking {
        fn update(&mut self, _: &Request<'_>, _: &Host<'_>) -> Result<SessionClock, PluginError> {
            Ok(SessionClock { time_s: self.0, horizon_s: 10.0 })
        }
        fn advance(&mut self, seconds: f64, host: &Host<'_>) -> Result<SessionClock, PluginError> {
            for _ in 0..(seconds.round() as usize) {
                host.checkpoint()?;
                self.0 = (self.0 + 1.0).min(10.0);
                assert!(self.0 <= 5.0, "the clock broke at {} s", self.0);
                host.partial(RunOutput::new().report("clock", Report::new("Clock").number("time", self.0, "s")));
                host.progress(0.5, "ticking");
            }
            Ok(SessionClock { time_s: self.0, horizon_s: 10.0 })
        }
        fn output(&mut self, _: &Host<'_>) -> Result<RunOutput, PluginError> {
            Ok(RunOutput::new().report("clock", Report::new("Clock").number("time", self.0, "s")))
        }
        fn reset(&mut self, _: &Host<'_>) -> Result<SessionClock, PluginError> {
            self.0 = 0.0;
            Ok(SessionClock { time_s: 0.0, horizon_s: 10.0 })
        }
    }

    #[test]
    fn sessions_stream_cancel_and_survive_a_panic() {
        let mut s = TestRun::new().open::<Clock>().unwrap();
        assert_eq!(s.advance(3.0).unwrap().time_s, 3.0);
        assert_eq!(s.host.partials.lock().unwrap().len(), 3, "one partial result per tick");
        // Cancelled after one more tick: the session stays usable where it stopped.
        s.host.cancel_after_more(1);
        assert_eq!(s.advance(5.0).unwrap_err().kind, ErrorKind::Cancelled);
        s.host.cancel_after_more(0);
        assert_eq!(s.output().unwrap().report("clock").unwrap().number_of("time"), Some(4.0));
        assert!(s.advance(f64::NAN).unwrap_err().message.contains("cannot advance"));
        // Past 5 s it panics: an error naming the panic, then the session refuses to go on.
        let e = s.advance(3.0).unwrap_err();
        assert!(e.kind == ErrorKind::Panic && e.message.contains("the clock broke at 6 s"), "{e}");
        assert!(s.reset().unwrap_err().message.contains("ended after a panic"));
        // A fresh session works.
        let mut again = TestRun::new().open::<Clock>().unwrap();
        assert_eq!(again.advance(2.0).unwrap(), SessionClock { time_s: 2.0, horizon_s: 10.0 });
    }
}
