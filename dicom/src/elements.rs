//! Element builders and the file writer shared by the objects Isotherm writes (CT
//! slices, SEG, SR): one place for the DS format, coded-concept items and file meta.

use std::path::Path;

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

use crate::write::uid;
use crate::{DicomError, Result};

pub use isotherm_sdk::terminology::{Code, PRIVATE_SCHEME};

/// A decimal string (DS) of at most 16 characters.
pub(crate) fn ds(v: f64) -> String {
    for decimals in (0..=8).rev() {
        let s = format!("{:.*}", decimals, v + 0.0);
        let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{:.6e}", v)
}

pub(crate) fn text(tag: Tag, vr: VR, s: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(s.to_string()))
}

pub(crate) fn us(tag: Tag, v: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(v))
}

pub(crate) fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::new(items, Length::UNDEFINED))
}

pub(crate) fn ds_multi(tag: Tag, values: &[f64]) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::DS, PrimitiveValue::Strs(values.iter().map(|&v| ds(v)).collect()))
}

pub(crate) fn code_item(c: &Code) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        text(tags::CODE_VALUE, VR::SH, &c.value),
        text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, &c.scheme),
        text(tags::CODE_MEANING, VR::LO, &c.meaning),
    ])
}

/// The Coding Scheme Identification Sequence declaring [`PRIVATE_SCHEME`] (dciodvfy
/// warns of an unrecognised designator otherwise).
pub(crate) fn private_scheme_declaration() -> DataElement<InMemDicomObject> {
    seq(
        tags::CODING_SCHEME_IDENTIFICATION_SEQUENCE,
        vec![InMemDicomObject::from_element_iter([
            text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, PRIVATE_SCHEME),
            text(tags::CODING_SCHEME_NAME, VR::ST, "Isotherm private concepts"),
            text(tags::CODING_SCHEME_RESPONSIBLE_ORGANIZATION, VR::ST, "Isotherm"),
        ])],
    )
}

/// The Patient and General Study modules (and the character set) every object Isotherm
/// writes carries: the patient and study of the series it was made from.
pub(crate) fn patient_and_study(ids: &crate::Identifiers) -> Vec<DataElement<InMemDicomObject>> {
    vec![
        text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"),
        text(tags::PATIENT_NAME, VR::PN, &ids.patient_name),
        text(tags::PATIENT_ID, VR::LO, &ids.patient_id),
        text(tags::PATIENT_BIRTH_DATE, VR::DA, ""),
        text(tags::PATIENT_SEX, VR::CS, ""),
        text(tags::STUDY_INSTANCE_UID, VR::UI, &ids.study_instance_uid),
        text(tags::STUDY_DATE, VR::DA, &ids.study_date),
        text(tags::STUDY_TIME, VR::TM, "120000"),
        text(tags::STUDY_DESCRIPTION, VR::LO, &ids.study_description),
        text(tags::STUDY_ID, VR::SH, "1"),
        text(tags::ACCESSION_NUMBER, VR::SH, ""),
        text(tags::REFERRING_PHYSICIAN_NAME, VR::PN, ""),
    ]
}

/// What an object Isotherm derives from a series (SEG, SR) says of itself: its SOP
/// class and instance, its own series, Isotherm as the maker, content date and time.
pub(crate) struct Derived<'a> {
    pub sop_class_uid: &'a str,
    pub sop_instance_uid: &'a str,
    pub modality: &'a str,
    pub series_instance_uid: &'a str,
    pub series_number: &'a str,
    pub description: &'a str,
}

pub(crate) fn derived_instance(ids: &crate::Identifiers, d: &Derived) -> Vec<DataElement<InMemDicomObject>> {
    vec![
        text(tags::SOP_CLASS_UID, VR::UI, d.sop_class_uid),
        text(tags::SOP_INSTANCE_UID, VR::UI, d.sop_instance_uid),
        text(tags::CONTENT_DATE, VR::DA, &ids.study_date),
        text(tags::CONTENT_TIME, VR::TM, "120000"),
        text(tags::MODALITY, VR::CS, d.modality),
        text(tags::MANUFACTURER, VR::LO, "Isotherm"),
        text(tags::SERIES_DESCRIPTION, VR::LO, d.description),
        text(tags::SOFTWARE_VERSIONS, VR::LO, env!("CARGO_PKG_VERSION")),
        text(tags::SERIES_INSTANCE_UID, VR::UI, d.series_instance_uid),
        text(tags::SERIES_NUMBER, VR::IS, d.series_number),
        text(tags::INSTANCE_NUMBER, VR::IS, "1"),
    ]
}

/// Writes `obj` as a Part 10 file, Explicit VR Little Endian.
pub(crate) fn save(path: &Path, obj: InMemDicomObject, sop_class_uid: &str, sop_instance_uid: &str) -> Result<()> {
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .media_storage_sop_class_uid(sop_class_uid)
        .media_storage_sop_instance_uid(sop_instance_uid)
        .implementation_class_uid(uid("isotherm implementation"))
        .implementation_version_name("ISOTHERM");
    let file = obj.with_meta(meta).map_err(|e| DicomError { path: path.to_path_buf(), problem: format!("cannot build the file meta: {e}") })?;
    file.write_to_file(path).map_err(|e| DicomError { path: path.to_path_buf(), problem: format!("cannot write: {e}") })
}
