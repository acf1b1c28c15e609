//! A volume written as a DICOM CT series: one CT Image Storage file per slice, Explicit
//! VR Little Endian, signed 16-bit HU (slope 1, intercept 0). `isotherm phantom --format
//! dicom` uses it so that the demo runs from DICOM too; tests use [`write_slice`] to
//! build the series real scanners make (tilted, uneven, duplicated).
//!
//! UIDs are `2.25.` plus 128 bits of a SHA-256 of what they name (PS3.5 B.2), so the same
//! case written twice gets the same UIDs.

use std::path::{Path, PathBuf};

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use isotherm_sdk::abi::{Volume, VoxelData};
use sha2::{Digest, Sha256};

use crate::elements::{ds, patient_and_study, save, text};
use crate::{DicomError, Identifiers, Result, err, lps_to_ras};

/// A UID derived from `seed`: `2.25.<128-bit decimal>`, at most 44 characters.
pub fn uid(seed: &str) -> String {
    let h = Sha256::digest(seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    format!("2.25.{}", u128::from_be_bytes(b))
}

/// One CT slice to write.
pub struct CtSlice<'a> {
    /// Image Position (Patient), LPS mm.
    pub position: [f64; 3],
    /// Row cosines then column cosines, LPS.
    pub orientation: [f64; 6],
    /// Between rows, then between columns (DICOM's order), mm.
    pub pixel_spacing: [f64; 2],
    pub slice_thickness: f64,
    pub rows: u16,
    pub columns: u16,
    /// HU, row by row.
    pub pixels: &'a [i16],
    pub instance_number: u32,
    pub sop_instance_uid: String,
    pub image_type: &'a str,
    pub gantry_tilt: Option<f64>,
}

fn strs(values: impl IntoIterator<Item = String>) -> PrimitiveValue {
    PrimitiveValue::Strs(values.into_iter().collect())
}

/// Writes one CT Image Storage file.
pub fn write_slice(path: &Path, ids: &Identifiers, s: &CtSlice) -> Result<()> {
    let n = s.rows as usize * s.columns as usize;
    if s.pixels.len() != n {
        return err(path, format!("{} pixels for a {} x {} slice", s.pixels.len(), s.columns, s.rows));
    }
    let mut obj = InMemDicomObject::from_element_iter(patient_and_study(ids));
    obj.extend([
        DataElement::new(tags::IMAGE_TYPE, VR::CS, strs(s.image_type.split('\\').map(str::to_string))),
        text(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
        text(tags::SOP_INSTANCE_UID, VR::UI, &s.sop_instance_uid),
        text(tags::MODALITY, VR::CS, "CT"),
        text(tags::MANUFACTURER, VR::LO, &ids.manufacturer),
        text(tags::SERIES_DESCRIPTION, VR::LO, &ids.series_description),
        text(tags::SLICE_THICKNESS, VR::DS, &ds(s.slice_thickness)),
        text(tags::KVP, VR::DS, ""),
        text(tags::PATIENT_POSITION, VR::CS, "HFS"),
        text(tags::SERIES_INSTANCE_UID, VR::UI, &ids.series_instance_uid),
        // An unpaired body part: Laterality absent (dciodvfy judges it by the body part).
        text(tags::BODY_PART_EXAMINED, VR::CS, "ABDOMEN"),
        text(tags::SERIES_NUMBER, VR::IS, if ids.series_number.is_empty() { "1" } else { &ids.series_number }),
        text(tags::ACQUISITION_NUMBER, VR::IS, "1"),
        text(tags::INSTANCE_NUMBER, VR::IS, &s.instance_number.to_string()),
        DataElement::new(tags::IMAGE_POSITION_PATIENT, VR::DS, strs(s.position.iter().map(|&v| ds(v)))),
        DataElement::new(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, strs(s.orientation.iter().map(|&v| ds(v)))),
        text(tags::FRAME_OF_REFERENCE_UID, VR::UI, &ids.frame_of_reference_uid),
        text(tags::POSITION_REFERENCE_INDICATOR, VR::LO, ""),
        DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16)),
        text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(s.rows)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(s.columns)),
        DataElement::new(tags::PIXEL_SPACING, VR::DS, strs(s.pixel_spacing.iter().map(|&v| ds(v)))),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16)),
        DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(16u16)),
        DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(15u16)),
        DataElement::new(tags::PIXEL_REPRESENTATION, VR::US, PrimitiveValue::from(1u16)),
        text(tags::RESCALE_INTERCEPT, VR::DS, "0"),
        text(tags::RESCALE_SLOPE, VR::DS, "1"),
        text(tags::RESCALE_TYPE, VR::LO, "HU"),
        DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(s.pixels.iter().map(|&v| v as u16).collect())),
    ]);
    if let Some(t) = s.gantry_tilt {
        obj.put(text(tags::GANTRY_DETECTOR_TILT, VR::DS, &ds(t)));
    }
    save(path, obj, uids::CT_IMAGE_STORAGE, &s.sop_instance_uid)
}

/// A grid's i, j, k directions (RAS+) when they are orthogonal, as a slice stack's are.
pub(crate) fn slice_axes(g: &isotherm_sdk::abi::Geometry) -> Option<[[f64; 3]; 3]> {
    let d = g.direction;
    let col = |c: usize| [d[c], d[3 + c], d[6 + c]];
    let axes = [col(0), col(1), col(2)];
    let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let orthogonal = dot(axes[0], axes[1]).abs() <= 1e-6 && dot(axes[0], axes[2]).abs() <= 1e-6 && dot(axes[1], axes[2]).abs() <= 1e-6;
    orthogonal.then_some(axes)
}

/// Identifiers for a new series written from `seed` (a case name): study, series and
/// frame of reference UIDs derived from it.
pub fn new_identifiers(seed: &str, patient_id: &str, description: &str) -> Identifiers {
    Identifiers {
        patient_id: patient_id.to_string(),
        patient_name: format!("{}^", patient_id.replace(' ', "^")),
        study_instance_uid: uid(&format!("{seed}/study")),
        study_date: "20260101".to_string(),
        study_description: description.to_string(),
        series_instance_uid: uid(&format!("{seed}/series")),
        series_number: "1".to_string(),
        series_description: description.to_string(),
        modality: "CT".to_string(),
        frame_of_reference_uid: uid(&format!("{seed}/frame")),
        manufacturer: "Isotherm".to_string(),
    }
}

/// Writes `volume` as a series `slice-0001.dcm`... into `dir`. Its direction must be
/// orthonormal (a CT slice stack); values become whole HU in i16.
pub fn write_series(volume: &Volume, dir: &Path, ids: &Identifiers) -> Result<Vec<PathBuf>> {
    let g = &volume.geometry;
    let Some([r, c, _]) = slice_axes(g) else {
        return err(dir, "the volume's axes are not orthogonal; a CT series cannot hold it");
    };
    if g.dims[0] > u16::MAX as u32 || g.dims[1] > u16::MAX as u32 {
        return err(dir, format!("a slice of {} x {} is larger than DICOM's 65535 x 65535", g.dims[0], g.dims[1]));
    }
    std::fs::create_dir_all(dir).map_err(|e| DicomError { path: dir.to_path_buf(), problem: format!("cannot create the folder: {e}") })?;
    let (rl, cl) = (lps_to_ras(r), lps_to_ras(c));
    let plane = g.dims[0] as usize * g.dims[1] as usize;
    let hu: Vec<i16> = match &volume.data {
        VoxelData::I16(v) => v.to_vec(),
        VoxelData::U8(v) => v.iter().map(|&x| x as i16).collect(),
        VoxelData::F32(v) => v.iter().map(|&x| x.round().clamp(i16::MIN as f32, i16::MAX as f32) as i16).collect(),
    };
    let mut paths = Vec::with_capacity(g.dims[2] as usize);
    for k in 0..g.dims[2] as usize {
        let path = dir.join(format!("slice-{:04}.dcm", k + 1));
        let slice = CtSlice {
            position: lps_to_ras(g.index_to_world([0.0, 0.0, k as f64])),
            orientation: [rl[0], rl[1], rl[2], cl[0], cl[1], cl[2]],
            pixel_spacing: [g.spacing[1], g.spacing[0]],
            slice_thickness: g.spacing[2],
            rows: g.dims[1] as u16,
            columns: g.dims[0] as u16,
            pixels: &hu[k * plane..(k + 1) * plane],
            instance_number: k as u32 + 1,
            sop_instance_uid: uid(&format!("{}/{}", ids.series_instance_uid, k)),
            image_type: "ORIGINAL\\PRIMARY\\AXIAL",
            gantry_tilt: None,
        };
        write_slice(&path, ids, &slice)?;
        paths.push(path);
    }
    Ok(paths)
}
