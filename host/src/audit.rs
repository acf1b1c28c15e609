//! The host's audit trail: where the log lives, and the record of each run.
//!
//! The log is `$ISOTHERM_AUDIT_LOG`, else `$XDG_STATE_HOME/isotherm/audit.jsonl`
//! (`~/.local/state/isotherm/audit.jsonl`); the format, chain and checkpoints are
//! `isotherm_audit`'s.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

pub use isotherm_audit::Log;

/// The audit log of this user.
pub fn log() -> Log {
    if let Some(p) = std::env::var_os("ISOTHERM_AUDIT_LOG") {
        return Log::new(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."));
    Log::new(base.join("isotherm/audit.jsonl"))
}

/// Now as RFC 3339 UTC, to the millisecond.
pub fn now() -> String {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let (days, secs) = ((d.as_secs() / 86_400) as i64, d.as_secs() % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z", secs / 3600, secs / 60 % 60, secs % 60, d.subsec_millis())
}

/// This machine's name.
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_string()))
        .unwrap_or_default()
}

/// The audit event (`kind`: run, session) from a run's record (`run.json`'s or
/// `session.json`'s content): who, where, the plugin with its library and model hashes,
/// the inputs with theirs (and DICOM identifiers), the parameters' hash, each output
/// file's hash, and the outcome.
pub fn run_event(kind: &str, record: &Value, outputs: &[PathBuf]) -> Value {
    let params = record.get("params").cloned().unwrap_or(Value::Null);
    let outcome = match record["status"].as_str() {
        Some("ok") => "success",
        Some(other) => other,
        None => "failed",
    };
    json!({
        "kind": kind,
        "user": record["user"].as_str().map(String::from).unwrap_or_else(|| std::env::var("USER").unwrap_or_default()),
        "host": host_name(),
        "plugin": record["plugin"],
        "models": record["models"],
        "inputs": record["inputs"],
        "params_sha256": isotherm_audit::hash_hex(params.to_string().as_bytes()),
        "outputs": outputs.iter().map(|p| json!({"path": p, "sha256": crate::loader::sha256_file(p).ok()})).collect::<Vec<_>>(),
        "outcome": outcome,
        "error": record["error"],
    })
}

/// A plugin that was asked for and did not run: missing, or refused by the loader
/// (another ABI, a changed model, a garbled manifest), with the reason.
pub fn refusal(plugin: &str, reason: &str) -> Value {
    json!({
        "kind": "refusal",
        "user": std::env::var("USER").unwrap_or_default(),
        "host": host_name(),
        "plugin": {"id": plugin},
        "outcome": "refused",
        "error": reason,
    })
}

/// Appends `event`; a log that cannot be written is reported on standard error (the
/// run's own outcome stands).
pub fn append(event: Value) {
    let log = log();
    if let Err(e) = log.append(&now(), event) {
        eprintln!("warning: audit: {e}");
    }
}

/// Writes a run's record to `file` (`run.json`, `session.json`) and appends it to the
/// audit log as a `kind` event with the outputs' hashes.
pub fn write_and_append(file: &Path, kind: &str, record: &Value, outputs: &[PathBuf]) {
    let _ = crate::io::report::write_json(file, record);
    append(run_event(kind, record, outputs));
}
