//! One record of the log and the hash that links the next one to it.

use sha2::{Digest, Sha256};

/// `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A record: its place in the log, when, the hash of the record before it, and the
/// event itself (who, what, on what, with what outcome).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub seq: u64,
    pub time: String,
    pub prev: String,
    pub event: serde_json::Value,
}

impl Record {
    /// The record as one line of JSON, keys in a fixed order (the line's bytes are what
    /// is hashed).
    pub fn to_line(&self) -> String {
        format!(r#"{{"seq":{},"time":{},"prev":"{}","event":{}}}"#, self.seq, serde_json::Value::from(self.time.as_str()), self.prev, self.event)
    }

    pub fn parse(line: &str) -> Result<Record, String> {
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("not a JSON record ({e})"))?;
        let seq = v["seq"].as_u64().ok_or("no record number")?;
        let time = v["time"].as_str().ok_or("no time")?.to_string();
        let prev = v["prev"].as_str().filter(|p| p.len() == 64).ok_or("no link to the record before")?.to_string();
        Ok(Record { seq, time, prev, event: v["event"].clone() })
    }
}

/// SHA-256 as lower-case hex.
pub fn hash_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
