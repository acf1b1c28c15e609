//! The faulty-plugin zoo, loaded through the real loader: every refusal and failure
//! is reported with its reason, and the host keeps going.

use std::sync::Arc;
use std::time::Duration;

use isotherm_host::jobs::{Job, JobError, JobEvent, JobRunner};
use isotherm_host::loader::{Registry, SearchPath};
use isotherm_sdk::abi::{ErrorKind, NodeChange, NodeData, RunRequest};
use isotherm_tests::*;

fn zoo() -> Registry {
    build();
    let search = SearchPath { plugin_dirs: vec![fixtures_dir(), workspace_root().join("plugins")], library_dirs: vec![profile_dir()] };
    Registry::discover(&search)
}

fn reason(registry: &Registry, id: &str) -> String {
    registry.refusal(id).unwrap_or_else(|| panic!("'{id}' was not refused; refused: {:?}", registry.refused)).reason.clone()
}

#[test]
fn refusals_name_the_problem_and_both_versions() {
    let r = zoo();
    let loaded: Vec<&str> = r.plugins.iter().map(|p| p.id()).collect();
    for id in ["template", "panicking", "nan-mesh", "slow", "model-reader"] {
        assert!(loaded.contains(&id), "{id} not loaded: {loaded:?}; refused: {:?}", r.refused);
    }
    let abi = reason(&r, "other-abi");
    assert!(abi.contains("built for Isotherm SDK ABI 0.3.0") && abi.contains("this host speaks SDK ABI 0.2.0"), "{abi}");
    let layout = reason(&r, "other-layout");
    assert!(layout.contains("ABI mismatch") && layout.contains("0.2.0"), "{layout}");
    // The cause is in the one line: which type, and how it differs.
    assert!(layout.contains("type `PluginMod`: from another crate (host isotherm-sdk, plugin isotherm-fixture-other-layout)"), "{layout}");
    // The long layout report is kept for --verbose, not put in the one-line reason.
    assert!(r.refusal("other-layout").unwrap().detail.as_deref().unwrap_or("").contains("Type Layout"));
    assert!(!layout.contains('\n'));
    let hash = reason(&r, "wrong-hash");
    assert!(hash.contains("fails its hash check") && hash.contains("0000000000"), "{hash}");
    let missing = reason(&r, "missing-library");
    assert!(missing.contains("libisotherm_fixture_does_not_exist") || missing.contains("isotherm_fixture_does_not_exist"), "{missing}");
    let no_export = reason(&r, "no-export");
    assert!(no_export.contains("is not an Isotherm plugin") && no_export.contains("export_plugin!"), "{no_export}");
    let garbled = r.refused.iter().find(|x| x.path.ends_with("garbled/plugin.toml")).expect("garbled refused");
    assert!(garbled.reason.starts_with("garbled manifest") && garbled.id.is_none(), "{}", garbled.reason);
    let dup = r.refused.iter().find(|x| x.reason.contains("duplicate id 'template'")).expect("duplicate refused");
    assert!(dup.reason.contains("already provided by"), "{}", dup.reason);
}

fn run(registry: &Registry, runner: &JobRunner, id: &str, params: &[(&str, &str)], timeout: Option<Duration>) -> Result<isotherm_sdk::abi::RunOutput, JobError> {
    let plugin = registry.get(id).unwrap().clone();
    let given: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let params = isotherm_sdk::params::resolve(&plugin.descriptor.params, &given).unwrap();
    let request = RunRequest { inputs: Default::default(), params, models: plugin.models.clone().into() };
    runner.submit(Job { plugin: Arc::clone(&plugin), request, timeout }).wait(|_| {})
}

#[test]
fn failing_plugins_become_errors_and_the_host_keeps_running() {
    let r = zoo();
    let runner = JobRunner::new(2);
    match run(&r, &runner, "panicking", &[], None) {
        Err(JobError::Plugin(e)) => {
            assert_eq!(e.kind, ErrorKind::Panic);
            assert!(e.message.contains("deliberate failure in the panicking fixture"), "{}", e.message);
        }
        other => panic!("expected a caught panic, got {other:?}"),
    }
    match run(&r, &runner, "nan-mesh", &[], None) {
        Err(JobError::InvalidOutput(m)) => assert!(m.contains("node 'broken'") && m.contains("vertex 2 is not finite"), "{m}"),
        other => panic!("expected an invalid-output error, got {other:?}"),
    }
    // The same runner and process still work.
    let out = run(&r, &runner, "model-reader", &[], None).expect("model-reader runs");
    let NodeChange::Upsert(node) = &out.changes[0] else { panic!() };
    let NodeData::Report(report) = &node.data else { panic!() };
    assert_eq!(report.text.as_str(), "weights v1");
}

#[test]
fn cancel_and_timeout_stop_a_running_job() {
    let r = zoo();
    let runner = JobRunner::new(1);
    let plugin = r.get("slow").unwrap().clone();
    let params = isotherm_sdk::params::resolve(&plugin.descriptor.params, &[]).unwrap();
    let handle = runner.submit(Job { plugin, request: RunRequest { params, ..Default::default() }, timeout: None });
    let mut progress = 0;
    let result = handle.wait(|e| {
        if let JobEvent::Progress { .. } = e {
            progress += 1;
            if progress == 3 {
                handle.cancel();
            }
        }
    });
    assert_eq!(result.err(), Some(JobError::Cancelled));
    let started = std::time::Instant::now();
    match run(&r, &runner, "slow", &[("seconds", "30")], Some(Duration::from_millis(300))) {
        Err(JobError::TimedOut(_)) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10), "the timeout took {:?}", started.elapsed());
}

#[test]
fn tampered_model_is_refused() {
    build();
    let dir = temp_dir("tamper");
    let src = fixtures_dir().join("model_reader");
    for f in ["plugin.toml", "weights.bin"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let search = SearchPath { plugin_dirs: vec![dir.clone()], library_dirs: vec![profile_dir()] };
    assert!(Registry::discover(&search).get("model-reader").is_some(), "untampered copy loads");
    std::fs::write(dir.join("weights.bin"), "weights v2\n").unwrap();
    let r = Registry::discover(&search);
    assert!(r.get("model-reader").is_none());
    assert!(reason(&r, "model-reader").contains("fails its hash check"));
    std::fs::remove_file(dir.join("weights.bin")).unwrap();
    assert!(reason(&Registry::discover(&search), "model-reader").contains("cannot be read"));
}

#[test]
fn cli_lists_refusals_and_reports_failures_with_exit_codes() {
    let fixtures = fixtures_dir();
    let dir = fixtures.to_str().unwrap();
    let o = isotherm(&["--plugin-dir", dir, "plugins", "list"]);
    let (out, _) = text(&o);
    assert!(o.status.success());
    assert!(out.contains("Loaded plugins:") && out.contains("Refused plugins ("), "{out}");
    assert!(out.contains("other-abi") && out.contains("built for Isotherm SDK ABI 0.3.0"), "{out}");
    let tmp = temp_dir("cli-fail");
    let o = isotherm(&["--plugin-dir", dir, "run", "panicking", "--out", tmp.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("plugin panicked: deliberate failure"), "{err}");
    assert!(!err.contains("RUST_BACKTRACE"), "the panic must not reach the terminal: {err}");
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tmp.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "failed");
    let o = isotherm(&["--plugin-dir", dir, "run", "slow", "--param", "seconds=60", "--timeout", "0.3", "--out", tmp.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("timed out"), "{}", text(&o).1);
    // Ctrl-C (SIGINT) cancels the running plugin cleanly: exit 130, run recorded.
    #[cfg(unix)]
    {
        let child = std::process::Command::new(isotherm_bin())
            .args(["--plugin-dir", dir, "run", "slow", "--param", "seconds=60", "--out", tmp.to_str().unwrap()])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(800));
        let status = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(130), "{}", String::from_utf8_lossy(&o.stderr));
        let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tmp.join("run.json")).unwrap()).unwrap();
        assert_eq!(record["status"], "cancelled");
    }
    let o = isotherm(&["--plugin-dir", dir, "run", "other-abi", "--out", tmp.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("was refused"), "{}", text(&o).1);
    let o = isotherm(&["--plugin-dir", dir, "run", "slow", "--param", "speed=3", "--out", tmp.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("unknown parameter 'speed'"), "{}", text(&o).1);
}
