//! Benchmark: verify a log of a million run records (about 230 bytes each).
//! `cargo run --release -p isotherm-audit --example verify_million [N]`

use std::io::Write;
use std::time::Instant;

use isotherm_audit::{Log, Record, hash_hex};
use serde_json::json;

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("isotherm-audit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = Log::new(dir.join("audit.jsonl"));
    // Written as a chain directly (a million synced appends would time the disk), then
    // one append checkpoints them all.
    let mut out = std::io::BufWriter::new(std::fs::File::create(log.path()).unwrap());
    let mut prev = "0".repeat(64);
    for seq in 1..n {
        let event =
            json!({"kind": "run", "user": "radiologist", "plugin": {"id": "segmentation", "version": "0.1.0"}, "params_sha256": prev, "outcome": "success"});
        let line = Record { seq, time: "2026-12-04T10:00:00.000Z".into(), prev: prev.clone(), event }.to_line();
        prev = hash_hex(line.as_bytes());
        writeln!(out, "{line}").unwrap();
    }
    drop(out);
    let t = Instant::now();
    log.append("2026-12-04T10:00:00.000Z", json!({"kind": "run"})).unwrap();
    let append = t.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(log.path()).unwrap().len();
    let t = Instant::now();
    let v = log.verify().unwrap();
    let verify = t.elapsed().as_secs_f64();
    println!(
        "{} records ({:.0} MB): verify {verify:.3} s; the first append after them (catching the checkpoint up) {append:.3} s",
        v.records,
        bytes as f64 / 1e6
    );
    let _ = std::fs::remove_dir_all(&dir);
}
