//! Interactive plugin sessions through the real loader and the real binary: a session
//! played by script ends where a plain run ends; a panicking session leaves the host
//! running; a plugin built on SDK 0.1 (a frozen copy, `tests/fixtures/sdk-0.1`) loads
//! and runs on this host, and the 0.1 host refuses a plugin that declares sessions,
//! naming both versions.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::OnceLock;

use isotherm_host::io::nifti;
use isotherm_host::jobs::JobError;
use isotherm_host::jobs::session::{Command, Reply, SessionHandle};
use isotherm_host::loader::{Registry, SearchPath};
use isotherm_sdk::abi::{ErrorKind, NodeChange, NodeData, RunRequest};
use isotherm_tests::*;

fn registry() -> Registry {
    build();
    Registry::discover(&SearchPath { plugin_dirs: vec![fixtures_dir(), workspace_root().join("plugins")], library_dirs: vec![profile_dir()] })
}

fn report_number(output: &isotherm_sdk::abi::RunOutput, node: &str, key: &str) -> Option<f64> {
    output.changes.iter().find_map(|c| match c {
        NodeChange::Upsert(n) if n.name.as_str() == node => match &n.data {
            NodeData::Report(r) => r.number_of(key),
            _ => None,
        },
        _ => None,
    })
}

#[test]
fn a_panicking_session_leaves_the_host_running() {
    let r = registry();
    let plugin = r.get("panicking").expect("panicking fixture").clone();
    assert!(plugin.offers_sessions());
    let s = SessionHandle::open(plugin, RunRequest::default()).expect("open");
    for n in 1..=2 {
        let Ok(Reply::Clock(c)) = s.call(Command::Advance(1.0), |_| {}) else { panic!("advance {n}") };
        assert_eq!(c.time_s, n as f64);
    }
    let Err(JobError::Plugin(e)) = s.call(Command::Advance(1.0), |_| {}) else { panic!("the third advance panics") };
    assert!(e.kind == ErrorKind::Panic && e.message.contains("deliberate failure in the panicking fixture's session"), "{}", e.message);
    let Err(JobError::Plugin(e)) = s.call(Command::Output, |_| {}) else { panic!("the session is over") };
    assert!(e.message.contains("ended after a panic"), "{}", e.message);
    drop(s);
    // The host goes on: another session of another plugin runs.
    let template = r.get("template").unwrap().clone();
    let ct = isotherm_sdk::testing::sphere_ct([32, 32, 32], [1.0; 3], 8.0, 110, 60);
    let request = RunRequest {
        inputs: vec![isotherm_sdk::abi::NamedInput { name: "ct".into(), data: isotherm_sdk::abi::InputData::Volume(ct) }].into(),
        params: isotherm_sdk::params::resolve(
            &template.descriptor.params,
            &[("lower".into(), "50".into()), ("upper".into(), "70".into()), ("smoothing".into(), "0".into())],
        )
        .unwrap(),
        models: Default::default(),
    };
    let s = SessionHandle::open(template.clone(), request).expect("template session");
    let Ok(Reply::Output(o)) = s.call(Command::Output, |_| {}) else { panic!("output") };
    let ml = report_number(&o, "summary", "volume").unwrap();
    let exact = 4.0 / 3.0 * std::f64::consts::PI * 512.0 / 1000.0;
    assert!((ml - exact).abs() / exact < 0.08, "{ml} ml vs {exact} ml");
    // An update through the host: the same resolution the CLI uses.
    let changed =
        isotherm_sdk::params::resolve_changes(&template.descriptor.params, &[("lower".into(), "200".into()), ("upper".into(), "300".into())]).unwrap();
    assert!(matches!(s.call(Command::Update(changed), |_| {}), Ok(Reply::Clock(_))));
    let Ok(Reply::Output(o)) = s.call(Command::Output, |_| {}) else { panic!("output") };
    assert_eq!(report_number(&o, "summary", "volume").unwrap_or(0.0), 0.0, "nothing between 200 and 300 HU");
}

fn demo(name: &str) -> String {
    workspace_root().join("assets/cases/demo").join(name).display().to_string()
}

fn point(v: &serde_json::Value) -> String {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap().to_string()).collect::<Vec<_>>().join(",")
}

#[test]
fn a_scripted_session_ends_where_a_plain_run_ends() {
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(demo("truth.json")).unwrap()).unwrap();
    let (tip, entry) = (point(&truth["needle_pre"]["tip"]), point(&truth["needle_pre"]["entry"]));
    let ct = format!("ct={}", demo("pre_ct.nii.gz"));
    let labels = format!("labels={}", demo("pre_labels.nii.gz"));
    let run_out = temp_dir("session-run");
    let o = isotherm(&[
        "run",
        "planning",
        "-i",
        &ct,
        "-i",
        &labels,
        "-p",
        "power=100",
        "-p",
        "time=5",
        "-p",
        "grid=2",
        "-p",
        &format!("tip={tip}"),
        "-p",
        &format!("entry={entry}"),
        "-o",
        run_out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));

    // The antenna placed by the script, played to 1, 3 and 5 minutes.
    let dir = temp_dir("session-script");
    let script = dir.join("steps.toml");
    let entry_array = format!("[{entry}]");
    std::fs::write(&script, format!("[[step]]\nset = {{ tip = \"{tip}\", entry = {entry_array} }}\nadvance = 60\nsave = \"1min\"\n\n[[step]]\nadvance = 120\nsave = \"3min\"\n\n[[step]]\nadvance = 600\nsave = \"end\"\n")).unwrap();
    let out = dir.join("out");
    let o = isotherm(&[
        "session",
        "planning",
        "-i",
        &ct,
        "-i",
        &labels,
        "-p",
        "power=100",
        "-p",
        "time=5",
        "-p",
        "grid=2",
        "--script",
        script.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("step 3: t = 299") && stdout.contains("of 300.0 s"), "{stdout}");
    let zone = |d: &Path| nifti::read_label_map(&d.join("predicted-zone.nii.gz")).unwrap();
    let voxels = |d: &Path| zone(d).labels.iter().filter(|&&l| l != 0).count();
    let (one, three, end) = (voxels(&out.join("1min")), voxels(&out.join("3min")), voxels(&out.join("end")));
    assert!(0 < one && one < three && three < end, "{one} < {three} < {end}");
    assert_eq!(zone(&out.join("end")).labels, zone(&run_out).labels, "the played session's zone is the plain run's");
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("session.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "ok");
    assert_eq!(record["steps"].as_array().unwrap().len(), 3);
    assert!((record["steps"][0]["time_s"].as_f64().unwrap() - 60.0).abs() < 1.0);

    // A script step the plugin refuses fails the session with the plugin's reason.
    std::fs::write(&script, "[[step]]\nset = { tip = \"0,0,-900\", entry = \"0,0,-800\" }\n").unwrap();
    let o = isotherm(&["session", "planning", "-i", &ct, "--script", script.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("outside the CT"), "{:?}", text(&o));
    // A garbled script is a usage error naming the file.
    std::fs::write(&script, "[[step]]\nadvanse = 3\n").unwrap();
    let o = isotherm(&["session", "planning", "-i", &ct, "--script", script.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("steps.toml") && text(&o).1.contains("advanse"), "{:?}", text(&o));
    // A plugin without sessions says so.
    std::fs::write(&script, "[[step]]\nadvance = 1\n").unwrap();
    let o =
        isotherm(&["session", "nan-mesh", "--plugin-dir", fixtures_dir().to_str().unwrap(), "--script", script.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(text(&o).1.contains("offers no interactive sessions"), "{:?}", text(&o));
}

/// Builds the frozen SDK 0.1 workspace (its plugin and its host's library gate) once.
fn sdk01() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target = profile_dir().parent().unwrap().join("sdk-0.1");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Process::new(cargo)
            .args(["build", "--quiet", "--locked", "--manifest-path"])
            .arg(workspace_root().join("tests/fixtures/sdk-0.1/Cargo.toml"))
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("cannot run cargo build");
        assert!(status.success(), "building the SDK 0.1 fixture failed");
        target.join("debug")
    })
}

#[test]
fn a_plugin_built_on_sdk_0_1_runs_on_this_host() {
    build();
    let built = sdk01();
    // The old plugin's folder: its manifest and library side by side.
    let dir = temp_dir("sdk01-plugin");
    std::fs::copy(workspace_root().join("tests/fixtures/sdk-0.1/plugin/plugin.toml"), dir.join("plugin.toml")).unwrap();
    let lib = isotherm_host::loader::library_file_name("sdk01_counter");
    std::fs::copy(built.join(&lib), dir.join(&lib)).unwrap();
    // Three separate blobs of label 2.
    let g = isotherm_sdk::abi::Geometry::axis_aligned([20, 10, 10], [1.0, 1.0, 2.0], [0.0; 3]);
    let mut labels = vec![0u16; g.len()];
    for (x, y, z) in [(2, 2, 2), (10, 5, 5), (17, 8, 8)] {
        for dx in 0..2 {
            labels[g.index(x + dx, y, z)] = 2;
        }
    }
    let map = isotherm_sdk::abi::LabelMap::new(g, labels, vec![]);
    let input = dir.join("labels.nii.gz");
    nifti::write_label_map(&input, &map).unwrap();
    let out = dir.join("out");
    let o =
        isotherm(&["run", "sdk01-counter", "--plugin-dir", dir.to_str().unwrap(), "-i", &format!("labels={}", input.display()), "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let report = std::fs::read_to_string(out.join("report.json")).unwrap();
    assert!(report.contains("3 region(s) of label 2"), "{report}");
    let info = isotherm(&["plugins", "info", "sdk01-counter", "--plugin-dir", dir.to_str().unwrap()]);
    let (stdout, _) = text(&info);
    assert!(stdout.contains("SDK: 0.1.0") && !stdout.contains("sessions: yes"), "{stdout}");
}

#[test]
fn the_sdk_0_1_host_refuses_a_session_plugin_naming_both_versions() {
    build();
    let old_host = sdk01().join(format!("isotherm-sdk01-host{}", std::env::consts::EXE_SUFFIX));
    // The old host's gate works: it loads its own plugin...
    let own = Process::new(&old_host).arg(sdk01().join(isotherm_host::loader::library_file_name("sdk01_counter"))).output().unwrap();
    assert!(own.status.success() && String::from_utf8_lossy(&own.stdout).contains("loaded sdk01-counter (SDK 0.1.0)"), "{own:?}");
    // ...and refuses the planning plugin, which declares sessions.
    let planning = profile_dir().join(isotherm_host::loader::library_file_name("isotherm_planning"));
    let o = Process::new(&old_host).arg(&planning).output().unwrap();
    let said = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{said}");
    assert!(said.contains("built for Isotherm SDK ABI 0.2.0") && said.contains("this host speaks SDK ABI 0.1.0"), "{said}");
}
