//! The audit trail: one JSON record per line, append-only, tamper-evident.
//!
//! Every record carries its sequence number (from 1) and `prev`, the SHA-256 of the
//! previous record's line (64 zeros for the first), so editing, removing, inserting or
//! moving a record breaks the chain at the record after it. A chain cannot show that
//! its newest records were cut off, so each append also writes a checkpoint to a file
//! beside the log (`LOG.checkpoints`; the latest one replaces the one before unless that
//! one's count is a multiple of 1024, so appends cost the same however long the log and
//! the file stays small): the record count, the byte length they fill and
//! the RFC 6962 Merkle tree head of their lines (leaf = SHA-256(0x00 || line), node =
//! SHA-256(0x01 || left || right)), with the compact range (one hash per perfect
//! subtree) that lets the next append extend it without reading the log. A log shorter
//! than a checkpoint, or whose records no longer hash to it, is named as such.
//!
//! Writers take an exclusive lock on the log for one append (concurrent processes are
//! safe) and sync the record before the checkpoint. A writer killed mid-record leaves a
//! line without its newline: `verify` reports it as incomplete, the next append removes
//! it, and the chain before it is intact.

mod chain;
mod merkle;

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub use chain::{Record, hash_hex};
use merkle::Frontier;

/// An audit problem: the file, and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditError {
    pub path: PathBuf,
    pub problem: String,
}

impl std::fmt::Display for AuditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for AuditError {}

fn err<T>(path: &Path, problem: impl Into<String>) -> Result<T, AuditError> {
    Err(AuditError { path: path.to_path_buf(), problem: problem.into() })
}

fn io<'a>(path: &'a Path, what: &'a str) -> impl FnOnce(std::io::Error) -> AuditError + 'a {
    move |e| AuditError { path: path.to_path_buf(), problem: format!("{what}: {e}") }
}

/// An append-only audit log at a path (created on first append).
#[derive(Debug, Clone)]
pub struct Log {
    path: PathBuf,
}

/// What an append wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Appended {
    pub seq: u64,
    pub hash: String,
    /// An incomplete last record (a writer interrupted mid-line) was removed first.
    pub removed_incomplete: bool,
}

/// What a verification found in a log that holds together.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub records: u64,
    /// The Merkle tree head of all records.
    pub root: String,
    /// Checkpoints checked against the records.
    pub checkpoints: u64,
    /// Records after the last checkpoint (only the chain vouches for them).
    pub unchecked: u64,
    /// A last line without its newline (an interrupted write), not counted.
    pub incomplete_tail: bool,
}

/// One line of the checkpoint file.
#[derive(Debug, Clone, PartialEq)]
struct Checkpoint {
    size: u64,
    bytes: u64,
    root: String,
    frontier: Frontier,
}

impl Log {
    pub fn new(path: impl Into<PathBuf>) -> Log {
        Log { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The checkpoint file beside the log.
    pub fn checkpoint_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".checkpoints");
        self.path.with_file_name(name)
    }

    /// Appends one record holding `event` (any JSON object: who, what, outcome), stamped
    /// with `time` (RFC 3339). Locked against other writers, synced to disk.
    pub fn append(&self, time: &str, event: serde_json::Value) -> Result<Appended, AuditError> {
        let path = &self.path;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io(dir, "cannot create the audit folder"))?;
        }
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io(path, "cannot open the audit log"))?;
        file.lock().map_err(io(path, "cannot lock the audit log"))?;
        let result = self.append_locked(&mut file, time, event);
        let _ = file.unlock();
        result
    }

    fn append_locked(&self, file: &mut File, time: &str, event: serde_json::Value) -> Result<Appended, AuditError> {
        let path = &self.path;
        let len = file.metadata().map_err(io(path, "cannot read the audit log"))?.len();
        let (complete, last) = last_line(file, len).map_err(io(path, "cannot read the audit log"))?;
        let removed_incomplete = complete < len;
        if removed_incomplete {
            // A writer was killed mid-record: that record was never complete, drop it.
            file.set_len(complete).map_err(io(path, "cannot remove an incomplete record"))?;
        }
        let (seq, prev) = match &last {
            None => (1, chain::GENESIS.to_string()),
            Some(line) => {
                let (seq, _) =
                    Record::checked_header(line.as_bytes()).map_err(|e| AuditError { path: path.clone(), problem: format!("the last record: {e}") })?;
                (seq + 1, hash_hex(line.as_bytes()))
            }
        };
        // The checkpoint to extend: the last one, caught up with any records written
        // after it (a writer killed between record and checkpoint).
        let cp_path = self.checkpoint_path();
        let mut cp = last_checkpoint(&cp_path)?.unwrap_or(Checkpoint { size: 0, bytes: 0, root: String::new(), frontier: Frontier::default() });
        if cp.size > seq - 1 || cp.bytes > complete {
            return err(
                path,
                format!(
                    "the log holds {} records ({complete} bytes) but its last checkpoint covers {} ({} bytes): it was truncated; nothing appended",
                    seq - 1,
                    cp.size,
                    cp.bytes
                ),
            );
        }
        if cp.size < seq - 1 {
            file.seek(SeekFrom::Start(cp.bytes)).map_err(io(path, "cannot read the audit log"))?;
            for line in BufReader::new(&mut *file).lines() {
                let line = line.map_err(io(path, "cannot read the audit log"))?;
                cp.frontier.push(merkle::leaf(line.as_bytes()));
                cp.size += 1;
                cp.bytes += line.len() as u64 + 1;
            }
        }
        let line = Record { seq, time: time.to_string(), prev, event }.to_line();
        file.seek(SeekFrom::End(0)).map_err(io(path, "cannot write the audit log"))?;
        file.write_all(format!("{line}\n").as_bytes()).map_err(io(path, "cannot write the audit log"))?;
        file.sync_data().map_err(io(path, "cannot sync the audit log"))?;
        cp.frontier.push(merkle::leaf(line.as_bytes()));
        cp.size = seq;
        cp.bytes = complete + line.len() as u64 + 1;
        cp.root = cp.frontier.root_hex();
        append_checkpoint(&cp_path, &cp)?;
        Ok(Appended { seq, hash: hash_hex(line.as_bytes()), removed_incomplete })
    }

    /// Reads the whole log and its checkpoints; the first problem found is the error,
    /// naming the record (by line) and what does not hold.
    pub fn verify(&self) -> Result<Verified, AuditError> {
        let path = &self.path;
        let mut bytes = Vec::new();
        File::open(path).map_err(io(path, "cannot open the audit log"))?.read_to_end(&mut bytes).map_err(io(path, "cannot read the audit log"))?;
        let checkpoints = read_checkpoints(&self.checkpoint_path())?;
        let mut frontier = Frontier::default();
        let mut prev: [u8; 64] = chain::GENESIS.as_bytes().try_into().expect("64 digits");
        let (mut n, mut offset, mut next_cp, mut checked) = (0u64, 0u64, 0usize, 0u64);
        let mut incomplete_tail = false;
        let mut rest = &bytes[..];
        let mut block: Vec<&[u8]> = Vec::with_capacity(BLOCK);
        loop {
            // A block of lines is hashed side by side, then checked in order.
            block.clear();
            while block.len() < BLOCK && !rest.is_empty() {
                let Some(end) = rest.iter().position(|&b| b == b'\n') else {
                    incomplete_tail = true;
                    rest = &[];
                    break;
                };
                block.push(&rest[..end]);
                rest = &rest[end + 1..];
            }
            if block.is_empty() {
                break;
            }
            for (&line, (hash, leaf)) in block.iter().zip(hash_lines(&block)) {
                n += 1;
                offset += line.len() as u64 + 1;
                // The event itself need not be parsed: any change to it changes the line's hash.
                let (seq, link) = Record::checked_header(line)
                    .map_err(|problem| AuditError { path: path.clone(), problem: format!("line {n}: {problem} (the record's bytes were changed)") })?;
                if seq != n {
                    return err(path, format!("line {n} holds record {seq}: records were removed, inserted or reordered before it"));
                }
                if link != prev {
                    return err(
                        path,
                        format!("record {n} does not follow record {}: record {} was changed, or records between them were removed or reordered", n - 1, n - 1),
                    );
                }
                prev = hash;
                frontier.push(leaf);
                while next_cp < checkpoints.len() && checkpoints[next_cp].size == n {
                    let cp = &checkpoints[next_cp];
                    if cp.bytes != offset || cp.root != frontier.root_hex() {
                        // The checkpoint before held and the chain holds up to here: the last
                        // record changed, or the ones before it were rewritten with their links.
                        let which = if checked + 1 == n {
                            format!("record {n} was changed")
                        } else {
                            format!("record {n} was changed, or records {} to {} were rewritten along with their links", checked + 1, n - 1)
                        };
                        return err(
                            path,
                            format!("{which}: the records up to {n} no longer hash to their checkpoint ({} of {})", next_cp + 1, checkpoints.len()),
                        );
                    }
                    next_cp += 1;
                    checked = n;
                }
            }
        }
        if let Some(cp) = checkpoints.get(next_cp) {
            return err(
                path,
                format!("truncated: a checkpoint covers {} records ({} bytes), the log holds {n} complete records ({offset} bytes)", cp.size, cp.bytes),
            );
        }
        Ok(Verified { records: n, root: frontier.root_hex(), checkpoints: checkpoints.len() as u64, unchecked: n - checked, incomplete_tail })
    }
}

/// Lines hashed per block when verifying.
const BLOCK: usize = 1 << 16;

/// Each line's chain hash (hex) and Merkle leaf, on all cores: the two SHA-256 passes are
/// nearly all of a verification's work, and lines hash independently.
fn hash_lines(lines: &[&[u8]]) -> Vec<([u8; 64], merkle::Hash)> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let per = lines.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> =
            lines.chunks(per).map(|part| s.spawn(move || part.iter().map(|l| (chain::hash_hex_bytes(l), merkle::leaf(l))).collect::<Vec<_>>())).collect();
        parts.into_iter().flat_map(|p| p.join().expect("hashing does not panic")).collect()
    })
}

/// (byte length of the complete lines, the last complete line) of a file of `len` bytes:
/// read backwards in blocks until the newline before the last one.
fn last_line(file: &mut File, len: u64) -> std::io::Result<(u64, Option<String>)> {
    let mut tail: Vec<u8> = Vec::new();
    let mut start = len;
    let mut block = 4096u64;
    loop {
        let from = start.saturating_sub(block);
        let mut buf = vec![0u8; (start - from) as usize];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut buf)?;
        buf.extend_from_slice(&tail);
        tail = buf;
        start = from;
        // The complete part ends at the last newline; the last line starts after the
        // newline before that (or at the file's start).
        if let Some(end) = tail.iter().rposition(|&b| b == b'\n') {
            if let Some(begin) = tail[..end].iter().rposition(|&b| b == b'\n') {
                let line = String::from_utf8_lossy(&tail[begin + 1..end]).into_owned();
                return Ok((start + end as u64 + 1, Some(line)));
            }
            if start == 0 {
                let line = String::from_utf8_lossy(&tail[..end]).into_owned();
                return Ok((end as u64 + 1, Some(line)));
            }
        } else if start == 0 {
            return Ok((0, None));
        }
        block *= 2;
    }
}

/// Checkpoints kept for good (the latest one is replaced unless its count is one of these).
const KEEP_EVERY: u64 = 1024;

fn parse_checkpoint(line: &str) -> Result<Checkpoint, String> {
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("not a checkpoint ({e})"))?;
    let size = v["size"].as_u64().ok_or("no size")?;
    let bytes = v["bytes"].as_u64().ok_or("no bytes")?;
    let root = v["root"].as_str().ok_or("no root")?.to_string();
    let frontier = Frontier::from_json(&v["frontier"], size).ok_or("a frontier that does not fit its size")?;
    Ok(Checkpoint { size, bytes, root, frontier })
}

/// The newest complete checkpoint, read from the file's end.
fn last_checkpoint(path: &Path) -> Result<Option<Checkpoint>, AuditError> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return err(path, format!("cannot read the checkpoints: {e}")),
    };
    let len = f.metadata().map_err(io(path, "cannot read the checkpoints"))?.len();
    match last_line(&mut f, len).map_err(io(path, "cannot read the checkpoints"))?.1 {
        None => Ok(None),
        Some(line) => parse_checkpoint(&line).map(Some).map_err(|e| AuditError { path: path.to_path_buf(), problem: format!("the last checkpoint: {e}") }),
    }
}

fn read_checkpoints(path: &Path) -> Result<Vec<Checkpoint>, AuditError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return err(path, format!("cannot read the checkpoints: {e}")),
    };
    let mut out: Vec<Checkpoint> = Vec::new();
    // A last line without its newline is a checkpoint whose write was interrupted.
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    for (n, line) in complete.lines().enumerate() {
        let bad = |why: &str| AuditError { path: path.to_path_buf(), problem: format!("line {}: {why}", n + 1) };
        let cp = parse_checkpoint(line).map_err(|e| bad(&e))?;
        if out.last().is_some_and(|p| p.size > cp.size) {
            return Err(bad("checkpoints out of order"));
        }
        out.push(cp);
    }
    Ok(out)
}

fn append_checkpoint(path: &Path, cp: &Checkpoint) -> Result<(), AuditError> {
    let line = serde_json::json!({"size": cp.size, "bytes": cp.bytes, "root": cp.root, "frontier": cp.frontier.to_json()});
    let mut f = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path).map_err(io(path, "cannot open the checkpoints"))?;
    let len = f.metadata().map_err(io(path, "cannot read the checkpoints"))?.len();
    let (complete, last) = last_line(&mut f, len).map_err(io(path, "cannot read the checkpoints"))?;
    // Drop an interrupted checkpoint, and the latest one unless it is kept for good.
    let mut keep = complete;
    if let Some(line) = last
        && parse_checkpoint(&line).is_ok_and(|p| p.size % KEEP_EVERY != 0)
    {
        keep = complete - line.len() as u64 - 1;
    }
    if keep < len {
        f.set_len(keep).map_err(io(path, "cannot replace the last checkpoint"))?;
    }
    f.seek(SeekFrom::End(0)).map_err(io(path, "cannot write the checkpoints"))?;
    f.write_all(format!("{line}\n").as_bytes()).map_err(io(path, "cannot write the checkpoints"))?;
    f.sync_data().map_err(io(path, "cannot sync the checkpoints"))
}
