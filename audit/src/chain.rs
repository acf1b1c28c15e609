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

    /// (seq, prev) read straight from the fixed start `{"seq":N,"time":"..","prev":"H",`
    /// that `to_line` writes, without parsing the event: what verification needs, fast.
    /// `None` for any other shape (then [`Record::parse`] says what is wrong).
    pub fn header(line: &[u8]) -> Option<(u64, &[u8])> {
        let rest = line.strip_prefix(br#"{"seq":"#)?;
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let seq = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
        let rest = rest[digits..].strip_prefix(br#","time":""#)?;
        let close = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
        let rest = rest[close..].strip_prefix(br#"","prev":""#)?;
        let (prev, rest) = (rest.get(..64)?, rest.get(64..)?);
        rest.starts_with(br#"","event":"#).then_some((seq, prev))
    }

    /// [`Record::header`], or what is wrong with the line.
    pub fn checked_header(line: &[u8]) -> Result<(u64, &[u8]), String> {
        Record::header(line).ok_or_else(|| match std::str::from_utf8(line) {
            Err(_) => "not UTF-8 text".to_string(),
            Ok(text) => Record::parse(text).err().unwrap_or_else(|| "not in the log's record layout".into()),
        })
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
    String::from_utf8(hash_hex_bytes(bytes).to_vec()).expect("hex digits")
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    String::from_utf8(bytes.iter().flat_map(|&b| hex_pair(b)).collect()).expect("hex digits")
}

/// The two lower-case hex digits of a byte.
pub(crate) fn hex_pair(b: u8) -> [u8; 2] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    [DIGITS[(b >> 4) as usize], DIGITS[(b & 15) as usize]]
}

/// SHA-256 as hex digits, without allocating (the verifier compares millions).
pub(crate) fn hash_hex_bytes(bytes: &[u8]) -> [u8; 64] {
    let digest = Sha256::digest(bytes);
    let mut out = [0u8; 64];
    for (pair, b) in out.chunks_exact_mut(2).zip(digest) {
        pair.copy_from_slice(&hex_pair(b));
    }
    out
}
