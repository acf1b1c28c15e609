//! Shared helpers for the workspace integration tests: build the plugin libraries and
//! the `isotherm` binary once (the same `cargo build` a user runs), locate them, and
//! run the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The crates whose libraries the tests load.
pub const PLUGIN_PACKAGES: &[&str] = &[
    "isotherm-host",
    "isotherm-template",
    "isotherm-margin",
    "isotherm-radiomics",
    "isotherm-segmentation",
    "isotherm-planning",
    "isotherm-fixture-panicking",
    "isotherm-fixture-nan-mesh",
    "isotherm-fixture-slow",
    "isotherm-fixture-model-reader",
    "isotherm-fixture-other-abi",
    "isotherm-fixture-other-layout",
    "isotherm-fixture-no-export",
];

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `target/<profile>` of the running test binary (`target/<profile>/deps/<test>`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// Builds the plugin libraries and the binary once per test process.
pub fn build() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = profile_dir();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace_root()).arg("build").arg("--quiet");
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        for p in PLUGIN_PACKAGES {
            cmd.args(["-p", p]);
        }
        let status = cmd.status().expect("cannot run cargo build");
        assert!(status.success(), "cargo build of the plugin libraries failed");
        dir
    })
}

pub fn isotherm_bin() -> PathBuf {
    build().join(format!("isotherm{}", std::env::consts::EXE_SUFFIX))
}

pub fn fixtures_dir() -> PathBuf {
    workspace_root().join("tests/fixtures/plugins")
}

/// Runs `isotherm` with arguments, a private HOME (so no user plugins or config
/// leak in; the runs' audit log is the private home's), and returns its output.
pub fn isotherm(args: &[&str]) -> Output {
    command(args).output().expect("cannot run isotherm")
}

/// As [`isotherm`], with the audit log at `log`.
pub fn isotherm_audited(log: &Path, args: &[&str]) -> Output {
    command(args).env("ISOTHERM_AUDIT_LOG", log).output().expect("cannot run isotherm")
}

fn command(args: &[&str]) -> Command {
    let home = std::env::temp_dir().join("isotherm-test-home");
    std::fs::create_dir_all(&home).unwrap();
    let mut c = Command::new(isotherm_bin());
    c.args(args)
        .env("HOME", &home)
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_STATE_HOME")
        .env_remove("ISOTHERM_AUDIT_LOG")
        .env_remove("ISOTHERM_PLUGIN_PATH")
        .env_remove("ISOTHERM_CONFIG");
    c
}

pub fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// A fresh, empty folder under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("isotherm-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Dice overlap of two masks.
pub fn dice(a: &[bool], b: &[bool]) -> f64 {
    let inter = a.iter().zip(b).filter(|(x, y)| **x && **y).count() as f64;
    let total = (a.iter().filter(|x| **x).count() + b.iter().filter(|x| **x).count()) as f64;
    if total == 0.0 { 1.0 } else { 2.0 * inter / total }
}
