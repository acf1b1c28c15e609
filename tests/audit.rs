//! The audit trail through the real CLI: every run is one record with a true outcome,
//! the plugin's and the files' hashes; `isotherm audit verify` finds an edited record
//! and a cut-off tail, naming them.

use isotherm_tests::*;

#[test]
fn runs_are_audited_with_their_outcome_and_hashes_and_tampering_is_named() {
    let dir = temp_dir("audit");
    let log = dir.join("audit.jsonl");
    let demo = workspace_root().join("assets/cases/demo");
    let out = dir.join("ok");
    let o = isotherm_audited(
        &log,
        &[
            "run",
            "template",
            "--input",
            &format!("ct={}", demo.join("pre_ct.nii.gz").display()),
            "--input",
            &format!("mask={}", demo.join("pre_labels.nii.gz").display()),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(!stderr.contains("audit"), "{stderr}");
    // A failed run is recorded as a failure.
    let fixtures = fixtures_dir();
    let failed = dir.join("failed");
    let o = isotherm_audited(&log, &["--plugin-dir", fixtures.to_str().unwrap(), "run", "panicking", "--out", failed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    // A plugin the loader refuses (built for another ABI) is recorded as refused.
    let o = isotherm_audited(&log, &["--plugin-dir", fixtures.to_str().unwrap(), "run", "other-abi", "--out", failed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));

    let records: Vec<serde_json::Value> = std::fs::read_to_string(&log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 3);
    let refused = &records[2]["event"];
    assert_eq!(
        (refused["kind"].as_str(), refused["outcome"].as_str(), refused["plugin"]["id"].as_str()),
        (Some("refusal"), Some("refused"), Some("other-abi"))
    );
    assert!(refused["error"].as_str().unwrap().contains("0.3.0"), "{refused}");
    let (run, fail) = (&records[0]["event"], &records[1]["event"]);
    assert_eq!((records[0]["seq"].as_u64(), records[1]["seq"].as_u64()), (Some(1), Some(2)));
    assert_eq!((run["kind"].as_str(), run["outcome"].as_str()), (Some("run"), Some("success")));
    assert_eq!((fail["plugin"]["id"].as_str(), fail["outcome"].as_str()), (Some("panicking"), Some("failed")));
    assert!(fail["error"].as_str().unwrap().contains("deliberate failure"));
    // The same hashes as the run record, and each output file's own.
    let run_json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["plugin"]["library_sha256"], run_json["plugin"]["library_sha256"]);
    assert_eq!(run["inputs"][0]["sha256"], run_json["inputs"][0]["sha256"]);
    assert_eq!(run["params_sha256"].as_str().map(str::len), Some(64));
    let outputs = run["outputs"].as_array().unwrap();
    assert!(!outputs.is_empty());
    for f in outputs {
        let path = std::path::Path::new(f["path"].as_str().unwrap());
        assert_eq!(f["sha256"].as_str().unwrap(), isotherm_host::loader::sha256_file(path).unwrap(), "{}", path.display());
    }

    let verify = |log: &std::path::Path| {
        let o = isotherm(&["audit", "verify", log.to_str().unwrap()]);
        let (stdout, stderr) = text(&o);
        (o.status.code(), stdout + &stderr)
    };
    let (code, said) = verify(&log);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("3 record(s) intact, 1 checkpoint(s) hold"), "{said}");

    // One byte of the first record changed: named.
    let original = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, original.replacen("\"success\"", "\"failurE\"", 1)).unwrap();
    let (code, said) = verify(&log);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("record 1 was changed"), "{said}");
    // The last record cut off: named.
    let first_line = original.lines().next().unwrap();
    std::fs::write(&log, format!("{first_line}\n")).unwrap();
    let (code, said) = verify(&log);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("truncated: a checkpoint covers 3 records"), "{said}");
    // A log that is not there.
    let (code, said) = verify(&dir.join("none.jsonl"));
    assert_eq!(code, Some(1));
    assert!(said.contains("none.jsonl: cannot open the audit log"), "{said}");
}
