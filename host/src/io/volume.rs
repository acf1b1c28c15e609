//! An image for a volume or label-map input, whatever it is stored as: NIfTI or NRRD
//! (`.nrrd`, `.nhdr`, Slicer's `.seg.nrrd`) by its name, DICOM for a folder, a DICOMDIR
//! or a `.dcm` file (`FOLDER#N` picks one of several series). Shared by `isotherm run`,
//! `isotherm session` and the viewer, so every door reads the same.

use std::path::Path;

use isotherm_dicom::{Identifiers, Policy};
use isotherm_sdk::abi::Volume;

/// Where a DICOM volume came from: who, which series, and what the reader did.
#[derive(Debug, Clone)]
pub struct DicomSource {
    pub identifiers: Identifiers,
    pub files: usize,
    pub notes: Vec<String>,
    /// The volume's grid, and its slices' SOP Instance UIDs when they are the files'
    /// own (not resampled): what a SEG written on that grid references frame by frame.
    pub geometry: isotherm_sdk::abi::Geometry,
    pub slice_uids: Option<Vec<String>>,
}

impl DicomSource {
    /// Provenance for run records (`run.json`): identifiers and the reader's notes.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"identifiers": self.identifiers, "files": self.files, "notes": self.notes})
    }

    /// One line for titles and logs: patient, study date, series.
    pub fn label(&self) -> String {
        let id = &self.identifiers;
        let or = |s: &str| if s.is_empty() { "-".to_string() } else { s.to_string() };
        format!("patient {} | study {} | {} series {} {}", or(&id.patient_id), or(&id.study_date), or(&id.modality), or(&id.series_number), id.series_description)
    }
}

pub struct OpenedVolume {
    pub volume: Volume,
    pub dicom: Option<DicomSource>,
}

/// Is this input DICOM (as opposed to NIfTI)? Also true for `FOLDER#N`.
pub fn is_dicom(spec: &Path) -> bool {
    let (path, _) = isotherm_dicom::split_selector(&spec.to_string_lossy());
    isotherm_dicom::is_dicom_path(&path)
}

/// Reads a volume input: `frame` picks a 4D NIfTI's volume; `policy` decides what a
/// tilted or unevenly spaced DICOM series becomes.
pub fn read(spec: &Path, frame: u64, policy: Policy) -> Result<OpenedVolume, String> {
    if isotherm_nrrd::is_nrrd_path(spec) {
        return isotherm_nrrd::read_volume(spec).map(|volume| OpenedVolume { volume, dicom: None }).map_err(|e| e.to_string());
    }
    if !is_dicom(spec) {
        return isotherm_nifti::read_volume(spec, frame).map(|volume| OpenedVolume { volume, dicom: None }).map_err(|e| e.to_string());
    }
    let (path, select) = isotherm_dicom::split_selector(&spec.to_string_lossy());
    let read = isotherm_dicom::read_volume(&path, select.as_deref(), policy).map_err(|e| e.to_string())?;
    let slice_uids = (!read.resampled).then_some(read.sop_instance_uids);
    let source = DicomSource { identifiers: read.identifiers, files: read.files.len(), notes: read.notes, geometry: read.volume.geometry, slice_uids };
    Ok(OpenedVolume { volume: read.volume, dicom: Some(source) })
}

/// Reads a label-map input: NIfTI, NRRD / `.seg.nrrd` (one layer: Slicer's overlapping
/// segments in several layers are refused, naming the count), or a DICOM SEG (a file, or
/// a folder holding one; segment n becomes label n).
pub fn read_label_map(path: &Path) -> Result<isotherm_sdk::abi::LabelMap, String> {
    if isotherm_nrrd::is_nrrd_path(path) {
        let mut maps = isotherm_nrrd::read_label_maps(path).map_err(|e| e.to_string())?;
        if maps.len() > 1 {
            return Err(format!("{}: a segmentation of {} overlapping layers; Isotherm's label maps hold one (export the segments without overlap)", path.display(), maps.len()));
        }
        return Ok(maps.remove(0));
    }
    if is_dicom(path) {
        let file = if path.is_dir() {
            match isotherm_dicom::seg::find_segs(path).as_slice() {
                [one] => one.clone(),
                [] => return Err(format!("{}: no DICOM Segmentation in this folder (a label map input from DICOM is a SEG file)", path.display())),
                many => return Err(format!("{}: {} DICOM Segmentations in this folder; name one: {}", path.display(), many.len(), many.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))),
            }
        } else {
            path.to_path_buf()
        };
        let read = isotherm_dicom::seg::read_seg(&file).map_err(|e| e.to_string())?;
        for note in &read.notes {
            tracing::info!("{}: {note}", file.display());
        }
        return Ok(read.labels);
    }
    isotherm_nifti::read_label_map(path).map_err(|e| e.to_string())
}

/// Is this label-map input a DICOM RT Structure Set (`FILE` or `FILE#ROI`)? Its contours
/// are filled onto the CT they were drawn on, so it is read after the volume inputs.
pub fn is_rtstruct(spec: &Path) -> bool {
    let (path, _) = isotherm_dicom::split_selector(&spec.to_string_lossy());
    path.is_file() && isotherm_dicom::rtstruct::is_rtstruct(&path)
}

/// Fills an RT Structure Set (`FILE`, or `FILE#ROI` for one ROI by name or number) onto
/// the grid of the DICOM volume input it was drawn on (by Series Instance UID; the only
/// DICOM input when the file names no series).
pub fn read_structures(spec: &Path, sources: &[&DicomSource]) -> Result<isotherm_sdk::abi::LabelMap, String> {
    let (path, only) = isotherm_dicom::split_selector(&spec.to_string_lossy());
    let wanted = isotherm_dicom::rtstruct::referenced_series(&path);
    let on = match &wanted {
        Some(uid) => sources.iter().find(|s| &s.identifiers.series_instance_uid == uid),
        None if sources.len() == 1 => sources.first(),
        None => None,
    };
    let Some(source) = on else {
        return Err(format!(
            "{}: an RT Structure Set is filled onto the CT it was drawn on ({}); give that series as a DICOM volume input of the same run",
            path.display(),
            wanted.as_deref().map(|u| format!("series {u}")).unwrap_or_else(|| "the file names none".into())
        ));
    };
    let read = isotherm_dicom::rtstruct::read_rtstruct(&path, &source.geometry, only.as_deref()).map_err(|e| e.to_string())?;
    for note in &read.notes {
        tracing::warn!("{}: {note}", path.display());
    }
    Ok(read.labels)
}
