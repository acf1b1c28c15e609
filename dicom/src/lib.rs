//! DICOM CT series in (and out) for Isotherm: a folder, a DICOMDIR or a list of files
//! becomes one SDK [`Volume`] per series, with what silently breaks other readers said
//! in words that name the files.
//!
//! The pipeline, one module each:
//! - [`scan`]: headers only (pixel data is not read), in parallel; files that are not
//!   DICOM, or not images, are noted and skipped. Every file's declared element lengths
//!   are checked against its size first (`guard`), so a corrupt length is an error,
//!   not a 4 GB allocation.
//! - [`series`]: instances grouped by Series Instance UID, orientation and matrix size;
//!   localizers and (in an original series) derived images skipped; duplicate SOP
//!   Instance UIDs dropped.
//! - [`stack`]: slices sorted along the slice normal; spacing from positions (never
//!   from Slice Thickness); gantry tilt, uneven spacing and missing slices measured; the
//!   [`Policy`] decides what happens to them.
//! - [`pixels`]: stored values decoded (native, deflate, RLE, JPEG, JPEG 2000) and
//!   Rescale Slope/Intercept applied per slice.
//! - [`regular`]: a tilted or unevenly spaced stack resampled onto a regular
//!   orthogonal grid, when the policy says so.
//! - [`write`]: a volume written back as a CT series (`isotherm phantom --format dicom`).
//! - [`seg`]: label maps written as DICOM Segmentation objects.
//! - [`rtstruct`]: RT Structure Set contours filled onto their CT's grid.
//! - [`sr`]: measurement tables written as DICOM SR (TID 1500) over a SEG's segments.
//!
//! World coordinates: DICOM's patient space is LPS; Isotherm's `Geometry` is RAS+, so
//! every position and direction is multiplied by diag(-1, -1, 1) here and nowhere else.
//! Index order is i along the row direction (columns), j along the column direction
//! (rows), k along `row x column`: always a right-handed grid, sorted along +normal.

mod elements;
mod guard;
pub mod pixels;
pub mod regular;
pub mod rtstruct;
pub mod scan;
pub mod seg;
pub mod series;
pub mod sr;
pub mod stack;
pub mod write;

use std::path::{Path, PathBuf};

pub use scan::Instance;
pub use series::Series;
pub use stack::{Plan, Policy};

use isotherm_sdk::abi::Volume;

/// A DICOM problem, tied to the file (or folder) it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct DicomError {
    pub path: PathBuf,
    pub problem: String,
}

impl std::fmt::Display for DicomError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for DicomError {}

pub type Result<T> = std::result::Result<T, DicomError>;

pub(crate) fn err<T>(path: &Path, problem: impl Into<String>) -> Result<T> {
    Err(DicomError { path: path.to_path_buf(), problem: problem.into() })
}

/// LPS (DICOM) <-> RAS (Isotherm): the same flip both ways.
pub fn lps_to_ras(p: [f64; 3]) -> [f64; 3] {
    [-p[0], -p[1], p[2]]
}

/// Who and what a series is: travels with the volume into reports, the audit trail
/// and the objects written back (SEG, SR).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Identifiers {
    pub patient_id: String,
    pub patient_name: String,
    pub study_instance_uid: String,
    pub study_date: String,
    pub study_description: String,
    pub series_instance_uid: String,
    pub series_number: String,
    pub series_description: String,
    pub modality: String,
    pub frame_of_reference_uid: String,
    pub manufacturer: String,
}

/// A series read into a volume.
#[derive(Debug, Clone)]
pub struct DicomVolume {
    pub volume: Volume,
    pub identifiers: Identifiers,
    /// The files in slice order (a multi-frame file appears once per frame).
    pub files: Vec<PathBuf>,
    /// SOP Instance UIDs in slice order, for references from SEG and SR.
    pub sop_instance_uids: Vec<String>,
    /// Everything the reader noticed and did (skipped files, tilt corrected, ...).
    pub notes: Vec<String>,
    /// Resampled onto a new grid: slice k is then not `files[k]`.
    pub resampled: bool,
}

/// Is this path DICOM input? A folder, a DICOMDIR, or a file ending in `.dcm`/`.dicom`
/// or carrying the `DICM` magic at byte 128.
pub fn is_dicom_path(path: &Path) -> bool {
    if path.is_dir() {
        return true;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    if name == "dicomdir" || name.ends_with(".dcm") || name.ends_with(".dicom") {
        return true;
    }
    scan::has_dicm_magic(path)
}

/// Reads the one series at `path` (a folder, DICOMDIR or file). A folder holding several
/// series is refused with their list unless `select` picks one (1-based number in that
/// list, or a Series Instance UID).
pub fn read_volume(path: &Path, select: Option<&str>, policy: Policy) -> Result<DicomVolume> {
    let found = series::find(&[path.to_path_buf()])?;
    let chosen = series::choose(path, &found, select)?;
    stack::read(chosen, policy)
}

/// Splits `FOLDER#2` or `FOLDER#<uid>` (a series) or `RTSTRUCT.dcm#GTV-1` (an ROI) into a
/// path and a selector, when the whole string is not itself an existing path and the
/// part before `#` is.
pub fn split_selector(spec: &str) -> (PathBuf, Option<String>) {
    if Path::new(spec).exists() {
        return (PathBuf::from(spec), None);
    }
    match spec.rsplit_once('#') {
        Some((p, sel)) if !sel.is_empty() && Path::new(p).exists() => (PathBuf::from(p), Some(sel.to_string())),
        _ => (PathBuf::from(spec), None),
    }
}
