//! A walk over a file's element headers before dicom-rs parses it: any declared value
//! length larger than what is left of the file is refused. dicom-rs reserves and zeroes
//! a value's declared length before reading it, so one flipped length byte (or
//! pydicom's own `UN_sequence.dcm`) would otherwise cost up to 4 GB of memory and
//! seconds of the viewer's time before the error comes.
//!
//! Only tags, VRs and lengths are read; values are skipped (sequences are entered, so
//! their items and elements are checked too). The walk stops at Pixel Data, whose own
//! length is checked when `pixel_data` says the caller will read it.

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::{Result, err};

const IMPLICIT_LITTLE: &str = "1.2.840.10008.1.2";
const EXPLICIT_BIG: &str = "1.2.840.10008.1.2.2";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";

fn long_vr(vr: [u8; 2]) -> bool {
    matches!(&vr, b"OB" | b"OD" | b"OF" | b"OL" | b"OV" | b"OW" | b"SQ" | b"SV" | b"UC" | b"UN" | b"UR" | b"UT" | b"UV")
}

/// Checks `path`'s element lengths against its size (see the module docs). Files
/// without a "DICM" preamble, deflated data sets and headers the walk cannot follow are
/// passed on: the parser gives their errors.
pub(crate) fn check_lengths(path: &Path, pixel_data: bool) -> Result<()> {
    let Ok(file) = std::fs::File::open(path) else { return Ok(()) };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut r = BufReader::with_capacity(8192, file);
    let mut head = [0u8; 132];
    if r.read_exact(&mut head).is_err() || &head[128..132] != b"DICM" {
        return Ok(());
    }
    let mut pos = 132u64;
    let mut ts = String::new();
    let (mut explicit, mut big) = (true, false);
    let mut in_meta = true;
    loop {
        let mut tag = [0u8; 4];
        if r.read_exact(&mut tag).is_err() {
            return Ok(());
        }
        let u16_of = |b: [u8; 2], big: bool| if big { u16::from_be_bytes(b) } else { u16::from_le_bytes(b) };
        let (group, element) = (u16_of([tag[0], tag[1]], false), u16_of([tag[2], tag[3]], false));
        if in_meta && group != 0x0002 {
            // The data set starts: its encoding is the transfer syntax's.
            in_meta = false;
            let ts = ts.trim_end_matches(['\0', ' ']);
            if ts == DEFLATED {
                return Ok(());
            }
            explicit = ts != IMPLICIT_LITTLE;
            big = ts == EXPLICIT_BIG;
        }
        let big_here = big && !in_meta;
        let (group, element) = if big_here { (u16_of([tag[0], tag[1]], true), u16_of([tag[2], tag[3]], true)) } else { (group, element) };
        let u32_of = |b: [u8; 4]| if big_here { u32::from_be_bytes(b) } else { u32::from_le_bytes(b) };
        pos += 4;
        let mut vr = None;
        let len = if group == 0xFFFE {
            let mut l = [0u8; 4];
            if r.read_exact(&mut l).is_err() {
                return Ok(());
            }
            pos += 4;
            u32_of(l)
        } else if explicit || in_meta {
            let mut v = [0u8; 2];
            if r.read_exact(&mut v).is_err() {
                return Ok(());
            }
            // dicom-rs reads an unknown VR as UN: 2 reserved bytes and a 4-byte length
            // (this is how it reads the implicit-VR contents of an undefined-length UN).
            let known = v.iter().all(u8::is_ascii_uppercase);
            vr = known.then_some(v);
            if !known || long_vr(v) {
                let mut l = [0u8; 6];
                if r.read_exact(&mut l).is_err() {
                    return Ok(());
                }
                pos += 8;
                u32_of([l[2], l[3], l[4], l[5]])
            } else {
                let mut l = [0u8; 2];
                if r.read_exact(&mut l).is_err() {
                    return Ok(());
                }
                pos += 4;
                u16_of(l, big_here) as u32
            }
        } else {
            let mut l = [0u8; 4];
            if r.read_exact(&mut l).is_err() {
                return Ok(());
            }
            pos += 4;
            u32_of(l)
        };
        let pixel = (group, element) == (0x7FE0, 0x0010);
        if pixel && !pixel_data {
            return Ok(());
        }
        if len == u32::MAX {
            if pixel {
                return Ok(());
            }
            // An undefined length: a sequence or item whose contents are walked.
            continue;
        }
        let left = size.saturating_sub(pos);
        if len as u64 > left {
            return err(path, format!("unreadable DICOM: element ({group:04X},{element:04X}) at byte {} declares {len} bytes of value; the file has {left} left (truncated or corrupt, or a sequence encoding the parser cannot follow)", pos - 8));
        }
        if pixel {
            return Ok(());
        }
        let enter = group == 0xFFFE || vr == Some(*b"SQ");
        if enter {
            continue;
        }
        if in_meta && (group, element) == (0x0002, 0x0010) && len <= 64 {
            let mut v = vec![0u8; len as usize];
            if r.read_exact(&mut v).is_err() {
                return Ok(());
            }
            ts = String::from_utf8_lossy(&v).into_owned();
        } else if r.seek(SeekFrom::Current(len as i64)).is_err() {
            return Ok(());
        }
        pos += len as u64;
    }
}
