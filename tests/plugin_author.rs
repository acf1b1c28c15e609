//! What a new plugin author meets, through the real `isotherm` binary: why a plugin is
//! not found, warnings for plugin folders that hold none, `plugins check` exit codes,
//! library-name and crate-type advice, `plugins manifest`, the run record's typed
//! parameters and errors, input warnings, and an SDK that builds outside the workspace.

use std::path::{Path, PathBuf};

use isotherm_sdk::manifest::Manifest;
use isotherm_tests::*;

/// A plugin folder with this manifest text (and nothing else) under a fresh temp dir.
fn plugin_folder(root: &Path, name: &str, manifest: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("plugin.toml"), manifest).unwrap();
    dir
}

fn manifest(id: &str, library: &str) -> String {
    format!(
        "id = \"{id}\"\nname = \"Test\"\ndescription = \"\"\nlicense = \"MIT\"\ncategory = \"Test\"\nsdk_version = \"0.1\"\ntier = \"research\"\nlibrary = \"{library}\"\n"
    )
}

fn args<'a>(dir: &'a Path, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["--plugin-dir", dir.to_str().unwrap()];
    v.extend_from_slice(rest);
    v
}

#[test]
fn a_plugin_that_cannot_run_says_why() {
    build();
    let root = temp_dir("author-why");
    // Manifest id differs from describe(): found by either id, with the reason.
    plugin_folder(&root, "sphere", &format!("{}[[inputs]]\nname = \"ct\"\nkind = \"volume\"\n", manifest("sphere-stats", "isotherm_template")));
    let o = isotherm(&args(&root, &["run", "sphere-stats", "--out", root.join("o").to_str().unwrap()]));
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("plugin 'sphere-stats' was refused") && err.contains("library reports id 'template' but the manifest says 'sphere-stats'"), "{err}");
    plugin_folder(&root, "reader", &manifest("reader-manifest", "isotherm_fixture_model_reader"));
    let o = isotherm(&args(&root, &["run", "model-reader", "--out", root.join("o").to_str().unwrap()]));
    let (_, err) = text(&o);
    assert!(err.contains("plugin 'model-reader' was refused") && err.contains("the manifest says 'reader-manifest'"), "{err}");

    // A garbled manifest: shown with its line and column when the id is not found.
    plugin_folder(&root, "garbled", "id = \"x\"\nname = \n");
    let o = isotherm(&args(&root, &["run", "lesion-counter", "--out", root.join("o").to_str().unwrap()]));
    let (_, err) = text(&o);
    assert!(err.contains("no plugin 'lesion-counter'") && err.contains("could not be read") && err.contains("garbled/plugin.toml") && err.contains("line 2"), "{err}");
    assert!(err.contains("searched:") && err.contains(root.to_str().unwrap()) && err.contains("--plugin-dir"), "{err}");
    // `plugins info` says the same.
    let o = isotherm(&args(&root, &["plugins", "info", "sphere-stats"]));
    assert!(text(&o).1.contains("library reports id 'template'"), "{:?}", text(&o));
}

#[test]
fn plugin_folders_that_hold_no_plugin_are_warned_about() {
    build();
    let missing = temp_dir("author-nodir").join("nonexistent");
    let o = isotherm(&["--plugin-dir", missing.to_str().unwrap(), "plugins", "list"]);
    assert!(text(&o).1.contains(&format!("warning: --plugin-dir {}: no such folder", missing.display())), "{:?}", text(&o));
    // target/debug has libraries but no plugin.toml.
    let o = isotherm(&["--plugin-dir", profile_dir().to_str().unwrap(), "plugins", "list"]);
    let err = text(&o).1;
    assert!(err.contains("no plugin.toml in it or in its sub-folders") && err.contains("not its target/ folder"), "{err}");
    // A real plugin folder: no warning.
    let o = isotherm(&["--plugin-dir", workspace_root().join("plugins/template").to_str().unwrap(), "plugins", "list"]);
    assert!(!text(&o).1.contains("warning"), "{:?}", text(&o));
}

#[test]
fn plugins_check_exits_non_zero_when_any_is_refused() {
    build();
    let o = isotherm(&["plugins", "check"]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert!(text(&o).0.contains("ok       segmentation"), "{:?}", text(&o));
    let o = isotherm(&["plugins", "check", "template", "margin"]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    // The fixture zoo holds refused plugins.
    let o = isotherm(&["--plugin-dir", fixtures_dir().to_str().unwrap(), "plugins", "check"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("refused  other-abi") && err.contains("plugin(s) refused or missing"), "{out}{err}");
    let o = isotherm(&["plugins", "check", "template", "no-such-plugin"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).0.contains("no plugin 'no-such-plugin'"), "{:?}", text(&o));
    // `plugins list` still lists (exit 0) and points to `check`.
    let o = isotherm(&["--plugin-dir", fixtures_dir().to_str().unwrap(), "plugins", "list"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).0.contains("`isotherm plugins check` exits non-zero"), "{:?}", text(&o));
}

#[test]
fn a_library_not_found_names_what_is_there_and_the_fix() {
    build();
    let root = temp_dir("author-library");
    // Hyphens where Cargo writes underscores.
    plugin_folder(&root, "hyphen", &manifest("hyphen", "isotherm-template"));
    let o = isotherm(&args(&root, &["plugins", "check", "hyphen"]));
    let out = text(&o).0;
    assert!(out.contains("libisotherm-template.so not found") && out.contains("libisotherm_template.so is there") && out.contains("library = \"isotherm_template\""), "{out}");
    // A crate without cdylib: an rlib is all it builds.
    let dir = plugin_folder(&root, "rlib-only", &manifest("rlib-only", "rlib_only"));
    std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"rlib-only\"\nversion = \"0.1.0\"\nedition = \"2024\"\n").unwrap();
    let o = isotherm(&args(&root, &["plugins", "check", "rlib-only"]));
    let out = text(&o).0;
    assert!(out.contains("the crate builds no shared library") && out.contains("crate-type = [\"cdylib\", \"rlib\"]"), "{out}");
    assert!(out.contains("libraries there:") && out.contains("libisotherm_template.so"), "{out}");
}

#[test]
fn plugins_manifest_writes_what_the_library_declares() {
    let lib = build().join(format!("{}isotherm_template{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX));
    let out_dir = temp_dir("author-manifest");
    let file = out_dir.join("plugin.toml");
    let o = isotherm(&["plugins", "manifest", lib.to_str().unwrap(), "--out", file.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let written = std::fs::read_to_string(&file).unwrap();
    let m = Manifest::from_toml(&written, &file).unwrap();
    assert_eq!((m.id.as_str(), m.library.as_str(), m.version.as_str()), ("template", "isotherm_template", ""));
    let ports = |p: &[isotherm_sdk::manifest::ManifestPort]| p.iter().map(|x| format!("{}:{}", x.name, x.kind)).collect::<Vec<_>>();
    assert_eq!(ports(&m.inputs), ["ct:volume", "mask:labelmap"]);
    assert_eq!(ports(&m.outputs), ["segment:labelmap", "surface:mesh", "summary:report"]);
    // It does not overwrite without --force; a file that is no plugin is refused.
    let again = isotherm(&["plugins", "manifest", lib.to_str().unwrap(), "--out", file.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again).1.contains("--force"));
    let o = isotherm(&["plugins", "manifest", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("cannot open library"), "{:?}", text(&o));
}

#[test]
fn the_run_record_keeps_typed_parameters_and_the_error() {
    build();
    let demo = workspace_root().join("assets/cases/demo");
    let ct = format!("ct={}", demo.join("pre_ct.nii.gz").display());
    let out = temp_dir("author-record");
    let o = isotherm(&["run", "template", "-i", &ct, "-p", "lower=30", "-p", "largest_only=false", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["params"]["lower"], serde_json::json!(30.0));
    assert_eq!(record["params"]["largest_only"], serde_json::json!(false));
    assert_eq!(record["params"]["mesh_smoothing"], serde_json::json!(10));
    assert_eq!(record["status"], "ok");
    assert!(record["error"].is_null());
    // A failed run records why.
    let failed = temp_dir("author-record-failed");
    let o = isotherm(&["run", "template", "-i", &ct, "-p", "lower=100", "-p", "upper=50", "-o", failed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(failed.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "failed");
    assert!(record["error"].as_str().unwrap().contains("lower threshold 100 HU is above upper 50 HU"), "{record}");
}

#[test]
fn a_label_map_given_as_a_ct_is_warned_about() {
    build();
    let demo = workspace_root().join("assets/cases/demo");
    let out = temp_dir("author-warning");
    let labels = demo.join("pre_labels.nii.gz");
    let o = isotherm(&["run", "template", "-i", &format!("ct={}", labels.display()), "-o", out.to_str().unwrap()]);
    let err = text(&o).1;
    assert!(err.contains("input 'ct'") && err.contains("pre_labels.nii.gz") && err.contains("looks like a label map"), "{err}");
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert!(record["warnings"][0].as_str().unwrap().contains("looks like a label map"), "{record}");
    // A real CT: no warning.
    let o = isotherm(&["run", "template", "-i", &format!("ct={}", demo.join("pre_ct.nii.gz").display()), "-o", out.to_str().unwrap()]);
    assert!(o.status.success() && !text(&o).1.contains("looks like"), "{:?}", text(&o));
}

#[test]
fn the_sdk_crate_stands_alone() {
    // Copied out of the workspace (to vendor or pin it), its Cargo.toml still reads.
    let copy = temp_dir("author-sdk").join("isotherm-sdk");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(workspace_root().join("sdk/Cargo.toml"), copy.join("Cargo.toml")).unwrap();
    std::fs::create_dir_all(copy.join("src")).unwrap();
    std::fs::write(copy.join("src/lib.rs"), "").unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let o = std::process::Command::new(cargo)
        .args(["metadata", "--no-deps", "--offline", "--format-version", "1", "--manifest-path"])
        .arg(copy.join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let package = &meta["packages"][0];
    assert_eq!(package["name"], "isotherm-sdk");
    // The Cargo version stays 0.1.x while the ABI only grows (abi_stable refuses types
    // from another 0.x minor); the API level is `SDK_VERSION`.
    assert!(package["version"].as_str().unwrap().starts_with("0.1."), "{}", package["version"]);
    assert_eq!(package["rust_version"], "1.95");
}
