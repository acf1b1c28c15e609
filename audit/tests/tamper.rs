//! The log against what a hospital's reviewer would try: an edited byte, a removed,
//! inserted or reordered record, a cut-off tail, an interrupted write, writers at once.

use std::path::PathBuf;

use isotherm_audit::Log;
use serde_json::json;

fn fresh(name: &str) -> Log {
    let dir = std::env::temp_dir().join(format!("isotherm-audit-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Log::new(dir.join("audit.jsonl"))
}

fn five(name: &str) -> Log {
    let log = fresh(name);
    for i in 1..=5 {
        let a = log.append("2026-12-04T10:00:00Z", json!({"kind": "run", "plugin": "segmentation", "outcome": "success", "n": i})).unwrap();
        assert_eq!(a.seq, i);
    }
    log
}

fn lines(log: &Log) -> Vec<String> {
    std::fs::read_to_string(log.path()).unwrap().lines().map(String::from).collect()
}

fn write_lines(log: &Log, lines: &[String]) {
    std::fs::write(log.path(), lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

fn problem(log: &Log) -> String {
    let e = log.verify().expect_err("tampering must be found");
    assert_eq!(e.path, PathBuf::from(log.path()), "the error names the log");
    e.problem
}

#[test]
fn an_intact_log_verifies_with_every_record_under_a_checkpoint() {
    let log = five("intact");
    let v = log.verify().unwrap();
    // The latest checkpoint replaces the one before (counts that are not multiples of 1024).
    assert_eq!((v.records, v.checkpoints, v.unchecked, v.incomplete_tail), (5, 1, 0, false));
}

#[test]
fn an_edited_byte_is_named_by_the_record_after_it_or_by_the_checkpoint() {
    let log = five("edited");
    let mut l = lines(&log);
    l[1] = l[1].replace("\"n\":2", "\"n\":7");
    write_lines(&log, &l);
    let p = problem(&log);
    assert!(p.contains("record 3 does not follow record 2: record 2 was changed"), "{p}");
    // The newest record has no successor: its checkpoint catches it.
    let log = five("edited-last");
    let mut l = lines(&log);
    l[4] = l[4].replace("success", "failure");
    write_lines(&log, &l);
    let p = problem(&log);
    assert!(
        p.starts_with("record 5 was changed, or records 1 to 4 were rewritten along with their links: the records up to 5 no longer hash to their checkpoint"),
        "{p}"
    );
    // A byte that breaks the JSON.
    let log = five("garbled");
    let mut bytes = std::fs::read(log.path()).unwrap();
    let at = bytes.iter().position(|&b| b == b'{').unwrap();
    bytes[at] = b'[';
    std::fs::write(log.path(), bytes).unwrap();
    assert!(problem(&log).starts_with("line 1: not a JSON record"));
}

#[test]
fn removed_inserted_and_reordered_records_are_named() {
    let log = five("removed");
    let mut l = lines(&log);
    l.remove(2);
    write_lines(&log, &l);
    let p = problem(&log);
    assert!(p.contains("line 3 holds record 4"), "{p}");

    let log = five("reordered");
    let mut l = lines(&log);
    l.swap(1, 2);
    write_lines(&log, &l);
    assert!(problem(&log).contains("line 2 holds record 3"));

    let log = five("inserted");
    let mut l = lines(&log);
    let copy = l[3].clone();
    l.insert(3, copy);
    write_lines(&log, &l);
    assert!(problem(&log).contains("line 5 holds record 4"));
}

#[test]
fn a_cut_off_tail_is_found_and_nothing_is_appended_to_it() {
    let log = five("truncated");
    let mut l = lines(&log);
    l.truncate(3);
    write_lines(&log, &l);
    let p = problem(&log);
    assert!(p.starts_with("truncated: a checkpoint covers 5 records"), "{p}");
    let e = log.append("2026-12-04T10:00:00Z", json!({"kind": "run"})).unwrap_err();
    assert!(e.problem.contains("it was truncated; nothing appended"), "{}", e.problem);
    assert_eq!(lines(&log).len(), 3);
}

#[test]
fn an_interrupted_write_loses_only_its_own_record() {
    let log = five("interrupted");
    // A writer killed mid-record: half a line, no newline.
    let mut bytes = std::fs::read(log.path()).unwrap();
    bytes.extend_from_slice(br#"{"seq":6,"time":"2026-12-04T10:00:01Z","prev":"ab"#);
    std::fs::write(log.path(), bytes).unwrap();
    let v = log.verify().unwrap();
    assert_eq!((v.records, v.incomplete_tail), (5, true));
    let a = log.append("2026-12-04T10:00:02Z", json!({"kind": "run", "n": 6})).unwrap();
    assert!(a.removed_incomplete);
    assert_eq!(a.seq, 6);
    let v = log.verify().unwrap();
    assert_eq!((v.records, v.unchecked, v.incomplete_tail), (6, 0, false));
    // Killed between the record and its checkpoint (and mid-checkpoint): the record is
    // vouched for by the chain until the next append checkpoints it.
    let cp = log.checkpoint_path();
    std::fs::write(&cp, r#"{"size":6,"by"#).unwrap();
    let v = log.verify().unwrap();
    assert_eq!((v.records, v.unchecked), (6, 6));
    log.append("2026-12-04T10:00:03Z", json!({"kind": "run", "n": 7})).unwrap();
    let v = log.verify().unwrap();
    assert_eq!((v.records, v.unchecked), (7, 0));
}

#[test]
fn writers_at_once_keep_one_chain() {
    let log = fresh("concurrent");
    let path = log.path().to_path_buf();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                // Each writer opens the log itself, as separate processes would.
                let log = Log::new(path);
                for i in 0..40 {
                    log.append("2026-12-04T10:00:00Z", json!({"kind": "run", "writer": t, "i": i})).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let v = log.verify().unwrap();
    assert_eq!((v.records, v.unchecked), (320, 0));
}

#[test]
fn every_1024th_checkpoint_is_kept_and_each_one_is_checked() {
    let log = fresh("long");
    for i in 0..2100 {
        log.append("2026-12-04T10:00:00Z", json!({"kind": "run", "i": i})).unwrap();
    }
    let v = log.verify().unwrap();
    assert_eq!((v.records, v.checkpoints, v.unchecked), (2100, 3, 0));
    // An edit under the first kept checkpoint, with the chain rewritten after it, is
    // still found by that checkpoint.
    let mut l = lines(&log);
    l[99] = l[99].replace("\"i\":99", "\"i\":-1");
    let mut prev = isotherm_audit::hash_hex(l[98].as_bytes());
    for line in l.iter_mut().skip(99) {
        let mut r = isotherm_audit::Record::parse(line).unwrap();
        r.prev = prev;
        *line = r.to_line();
        prev = isotherm_audit::hash_hex(line.as_bytes());
    }
    write_lines(&log, &l);
    let p = problem(&log);
    assert!(p.starts_with("record 1024 was changed, or records 1 to 1023 were rewritten"), "{p}");
}

/// Not a test on its own: the writer process `killed_writers_never_break_the_chain`
/// starts and kills (appends until killed).
#[test]
#[ignore = "a child process of killed_writers_never_break_the_chain"]
fn writer_until_killed() {
    let path = std::env::var_os("ISOTHERM_AUDIT_TEST_WRITER").expect("run by killed_writers_never_break_the_chain");
    let log = Log::new(PathBuf::from(path));
    for i in 0.. {
        log.append("2026-12-04T10:00:00Z", json!({"kind": "run", "i": i, "padding": "x".repeat(2000)})).unwrap();
    }
}

#[test]
fn killed_writers_never_break_the_chain() {
    let log = fresh("killed");
    let exe = std::env::current_exe().unwrap();
    for round in 0..6u64 {
        // Two writer processes at once, killed (SIGKILL) at an arbitrary moment.
        let mut children: Vec<_> = (0..2)
            .map(|_| {
                std::process::Command::new(&exe)
                    .args(["--ignored", "--exact", "writer_until_killed", "--test-threads", "1"])
                    .env("ISOTHERM_AUDIT_TEST_WRITER", log.path())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(150 + 37 * round));
        for c in &mut children {
            c.kill().unwrap();
            c.wait().unwrap();
        }
        // Whatever the moment: the chain holds; at most one record is incomplete.
        let v = log.verify().unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(v.records > 0, "round {round}: the writers appended nothing");
    }
    let before = log.verify().unwrap().records;
    let a = log.append("2026-12-04T10:00:00Z", json!({"kind": "run", "after": "kills"})).unwrap();
    assert_eq!(a.seq, before + 1);
    let v = log.verify().unwrap();
    assert_eq!((v.records, v.unchecked, v.incomplete_tail), (before + 1, 0, false));
}
