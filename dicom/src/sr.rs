//! Measurement tables out as DICOM Structured Reports: a Comprehensive 3D SR holding an
//! Imaging Measurement Report (TID 1500), one Measurement Group (TID 1411, volumetric
//! ROI) per row, each referencing its segment in the SEG written in the same run and the
//! CT series that segment was made on. The tree is the one highdicom and dcmqi write,
//! so dcmqi's `tid1500reader` and highdicom read the numbers back.
//!
//! Modules (PS3.3 A.35.13): Patient, General Study, SR Document Series, General
//! Equipment, SR Document General, SR Document Content, SOP Common.

use std::path::Path;

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use isotherm_sdk::abi::{Cell, LabelMap, Table};

use crate::elements::{Code, Derived, PRIVATE_SCHEME, code_item, derived_instance, ds, patient_and_study, private_scheme_declaration, save, seq, text, us};
use crate::seg::{SourceSeries, WrittenSeg};
use crate::write::uid;
use crate::{Result, err};

/// One number of a measurement group: what it is, how it was derived, its unit (UCUM).
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    pub concept: Code,
    pub derivation: Option<Code>,
    pub unit: Code,
    pub value: f64,
}

/// One row of a table: a finding (a tumour, the ablation zone) with its measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasurementGroup {
    /// Human-readable and stable within the report ("tumour 2").
    pub tracking_id: String,
    /// The label value in the SEG's label map this row is about.
    pub label_value: u16,
    pub measurements: Vec<Measurement>,
}

/// A UCUM unit for a table's unit text; `None` when it is not one we can name.
pub fn ucum(unit: &str) -> Option<Code> {
    let (code, meaning) = match unit {
        "mm" => ("mm", "millimeter"),
        "ml" | "mL" => ("ml", "milliliter"),
        "%" => ("%", "percent"),
        "HU" => ("[hnsf'U]", "Hounsfield unit"),
        "mm2" | "mm²" => ("mm2", "square millimeter"),
        "mm3" | "mm³" => ("mm3", "cubic millimeter"),
        "W" => ("W", "watt"),
        "min" => ("min", "minute"),
        "s" => ("s", "second"),
        "kJ" => ("kJ", "kilojoule"),
        "C" | "°C" => ("Cel", "degree Celsius"),
        "" | "1" => ("1", "no units"),
        _ => return None,
    };
    Some(Code::new(code, "UCUM", meaning))
}

/// The coded concept (and derivation) for a table column, by its name: the margin and
/// lesion tables' columns get standard codes where DICOM has them, the rest a private
/// code named after the column. `None` for columns that are not measurements (ids,
/// text, positions, which the referenced segment already carries).
pub fn measurement_concept(column: &str) -> Option<(Code, Option<Code>)> {
    let c = column.to_ascii_lowercase();
    let minimum = Code::new("255605001", "SCT", "Minimum");
    let concept = match c.as_str() {
        _ if c.starts_with("centroid") || c == "tumour" || c == "lesion" || c == "class" || c == "covered" => return None,
        // The minimal ablative margin: the smallest signed tumour-to-zone distance.
        "signed mam" | "minimal margin" => (Code::new("121206", "DCM", "Distance"), Some(minimum)),
        "volume" | "tumour volume" | "zone volume" => (Code::new("118565006", "SCT", "Volume"), None),
        "long axis" => (Code::new("103339001", "SCT", "Long axis"), None),
        "short axis" => (Code::new("103340004", "SCT", "Short axis"), None),
        "mean hu" => (Code::new("112031", "DCM", "Attenuation Coefficient"), Some(Code::new("373098007", "SCT", "Mean"))),
        "uncovered tumour" => (Code::new("UNCOVERED", PRIVATE_SCHEME, "Tumour volume outside the ablation zone"), None),
        "shell ablated" => (Code::new("SHELLABLATED", PRIVATE_SCHEME, "Ablated fraction of the 5 mm shell around the tumour"), None),
        _ => {
            // Code values are SH: at most 16 characters.
            let value: String = c.chars().filter(|ch| ch.is_ascii_alphanumeric()).map(|ch| ch.to_ascii_uppercase()).take(16).collect();
            if value.is_empty() {
                return None;
            }
            (Code::new(&value, PRIVATE_SCHEME, column), None)
        }
    };
    Some(concept)
}

/// A report table as measurement groups over `labels`: the table's first column numbers
/// the rows ("tumour" 1, 2, ...) and `labels` must name each row's label "<column> <n>"
/// (as the margin's tumour map and the segmentation's lesion map do). Each numeric cell
/// of a measurement column with a UCUM unit becomes one measurement. `None` when the
/// table is not about `labels`.
pub fn groups_from_table(table: &Table, labels: &LabelMap) -> Option<Vec<MeasurementGroup>> {
    let subject = table.columns.first()?.as_str();
    let columns: Vec<(usize, Code, Option<Code>, Code)> = table
        .columns
        .iter()
        .zip(table.units.iter())
        .enumerate()
        .skip(1)
        .filter_map(|(n, (c, u))| {
            let (concept, derivation) = measurement_concept(c)?;
            Some((n, concept, derivation, ucum(u)?))
        })
        .collect();
    let mut groups = Vec::new();
    for row in table.rows.iter() {
        let Some(Cell::Integer(id)) = row.first() else { return None };
        let tracking_id = format!("{subject} {id}");
        let entry = labels.table.iter().find(|e| e.name.as_str() == tracking_id)?;
        let measurements = columns
            .iter()
            .filter_map(|(n, concept, derivation, unit)| {
                let value = match row.get(*n)? {
                    Cell::Number(v) => *v,
                    Cell::Integer(v) => *v as f64,
                    _ => return None,
                };
                Some(Measurement { concept: concept.clone(), derivation: derivation.clone(), unit: unit.clone(), value })
            })
            .collect();
        groups.push(MeasurementGroup { tracking_id, label_value: entry.value, measurements });
    }
    (!groups.is_empty()).then_some(groups)
}

/// One content item: its relationship, value type, concept name and value element.
fn item(relationship: &str, value_type: &str, name: &Code, value: DataElement<InMemDicomObject>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        text(tags::RELATIONSHIP_TYPE, VR::CS, relationship),
        text(tags::VALUE_TYPE, VR::CS, value_type),
        seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![code_item(name)]),
        value,
    ])
}

fn code_value(relationship: &str, name: &Code, value: &Code) -> InMemDicomObject {
    item(relationship, "CODE", name, seq(tags::CONCEPT_CODE_SEQUENCE, vec![code_item(value)]))
}

fn text_value(relationship: &str, name: &Code, value: &str) -> InMemDicomObject {
    item(relationship, "TEXT", name, text(tags::TEXT_VALUE, VR::UT, value))
}

fn uid_value(relationship: &str, name: &Code, value: &str) -> InMemDicomObject {
    item(relationship, "UIDREF", name, text(tags::UID, VR::UI, value))
}

fn container(relationship: Option<&str>, name: &Code, template: Option<&str>, children: Vec<InMemDicomObject>) -> Vec<DataElement<InMemDicomObject>> {
    let mut e = Vec::new();
    if let Some(r) = relationship {
        e.push(text(tags::RELATIONSHIP_TYPE, VR::CS, r));
    }
    e.push(text(tags::VALUE_TYPE, VR::CS, "CONTAINER"));
    e.push(seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![code_item(name)]));
    e.push(text(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"));
    if let Some(t) = template {
        e.push(seq(
            tags::CONTENT_TEMPLATE_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([text(tags::MAPPING_RESOURCE, VR::CS, "DCMR"), text(tags::TEMPLATE_IDENTIFIER, VR::CS, t)])],
        ));
    }
    e.push(seq(tags::CONTENT_SEQUENCE, children));
    e
}

fn num(m: &Measurement) -> InMemDicomObject {
    let mut e = vec![
        text(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
        text(tags::VALUE_TYPE, VR::CS, "NUM"),
        seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![code_item(&m.concept)]),
        seq(
            tags::MEASURED_VALUE_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                seq(tags::MEASUREMENT_UNITS_CODE_SEQUENCE, vec![code_item(&m.unit)]),
                text(tags::NUMERIC_VALUE, VR::DS, &ds(m.value)),
                DataElement::new(tags::FLOATING_POINT_VALUE, VR::FD, PrimitiveValue::from(m.value)),
            ])],
        ),
    ];
    if let Some(d) = &m.derivation {
        e.push(seq(tags::CONTENT_SEQUENCE, vec![code_value("HAS CONCEPT MOD", &Code::new("121401", "DCM", "Derivation"), d)]));
    }
    InMemDicomObject::from_element_iter(e)
}

/// Writes `groups` as an Imaging Measurement Report over the segments of `seg` (written
/// on `source`). Returns the SR's SOP Instance UID. Every group's label value must be a
/// segment of `seg`, and every value finite: a report that says NaN helps no one.
pub fn write_measurement_report(path: &Path, source: &SourceSeries, seg: &WrittenSeg, groups: &[MeasurementGroup], title: &str) -> Result<String> {
    let ids = source.identifiers;
    let series = uid(&format!("{}/sr/{title}", seg.series_instance_uid));
    let sop_uid = uid(&format!("{series}/instance"));
    let dcm = |v: &str, m: &str| Code::new(v, "DCM", m);
    let mut measurement_groups = Vec::new();
    for g in groups {
        let Some((number, code)) = seg.segment_of(g.label_value) else {
            return err(path, format!("{}: label {} is not a segment of the SEG", g.tracking_id, g.label_value));
        };
        if let Some(m) = g.measurements.iter().find(|m| !m.value.is_finite()) {
            return err(path, format!("{}: {} is {} (not a number)", g.tracking_id, m.concept.meaning, m.value));
        }
        let mut items = vec![
            text_value("HAS OBS CONTEXT", &dcm("112039", "Tracking Identifier"), &g.tracking_id),
            uid_value("HAS OBS CONTEXT", &dcm("112040", "Tracking Unique Identifier"), &uid(&format!("{sop_uid}/{}", g.tracking_id))),
            code_value("CONTAINS", &dcm("121071", "Finding"), &code.kind),
        ];
        if let Some(site) = &code.region {
            items.push(code_value("HAS CONCEPT MOD", &Code::new("363698007", "SCT", "Finding Site"), site));
        }
        items.push(InMemDicomObject::from_element_iter([
            text(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
            text(tags::VALUE_TYPE, VR::CS, "IMAGE"),
            seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![code_item(&dcm("121191", "Referenced Segment"))]),
            seq(
                tags::REFERENCED_SOP_SEQUENCE,
                vec![InMemDicomObject::from_element_iter([
                    text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, uids::SEGMENTATION_STORAGE),
                    text(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, &seg.sop_instance_uid),
                    us(tags::REFERENCED_SEGMENT_NUMBER, number),
                ])],
            ),
        ]));
        items.push(uid_value("CONTAINS", &dcm("121232", "Source series for segmentation"), &ids.series_instance_uid));
        items.extend(g.measurements.iter().map(num));
        measurement_groups.push(InMemDicomObject::from_element_iter(container(Some("CONTAINS"), &dcm("125007", "Measurement Group"), Some("1411"), items)));
    }
    let content = vec![
        code_value("HAS CONCEPT MOD", &dcm("121049", "Language of Content Item and Descendants"), &Code::new("en-US", "RFC5646", "English (United States)")),
        code_value("HAS OBS CONTEXT", &dcm("121005", "Observer Type"), &dcm("121007", "Device")),
        uid_value("HAS OBS CONTEXT", &dcm("121012", "Device Observer UID"), &uid("isotherm device observer")),
        text_value("HAS OBS CONTEXT", &dcm("121013", "Device Observer Name"), "Isotherm"),
        code_value("HAS CONCEPT MOD", &dcm("121058", "Procedure reported"), &Code::new("25045-6", "LN", "CT unspecified body region")),
        InMemDicomObject::from_element_iter(container(Some("CONTAINS"), &dcm("126010", "Imaging Measurements"), None, measurement_groups)),
    ];
    // The evidence: the SEG and, when known, the CT slices it was made on.
    let referenced_sop = |class: &str, instance: &str| {
        InMemDicomObject::from_element_iter([text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, class), text(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, instance)])
    };
    let mut evidence_series = vec![InMemDicomObject::from_element_iter([
        seq(tags::REFERENCED_SOP_SEQUENCE, vec![referenced_sop(uids::SEGMENTATION_STORAGE, &seg.sop_instance_uid)]),
        text(tags::SERIES_INSTANCE_UID, VR::UI, &seg.series_instance_uid),
    ])];
    if let Some(slices) = source.slice_uids {
        evidence_series.insert(
            0,
            InMemDicomObject::from_element_iter([
                seq(tags::REFERENCED_SOP_SEQUENCE, slices.iter().map(|s| referenced_sop(uids::CT_IMAGE_STORAGE, s)).collect()),
                text(tags::SERIES_INSTANCE_UID, VR::UI, &ids.series_instance_uid),
            ]),
        );
    }
    let me = Derived { sop_class_uid: uids::COMPREHENSIVE3_DSR_STORAGE, sop_instance_uid: &sop_uid, modality: "SR", series_instance_uid: &series, series_number: "101", description: title };
    let mut elements = derived_instance(ids, &me);
    elements.extend([
        seq(tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE, vec![]),
        seq(
            tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                seq(tags::REFERENCED_SERIES_SEQUENCE, evidence_series),
                text(tags::STUDY_INSTANCE_UID, VR::UI, &ids.study_instance_uid),
            ])],
        ),
        // An automatic result nobody has signed: partial and unverified, as highdicom's.
        text(tags::COMPLETION_FLAG, VR::CS, "PARTIAL"),
        text(tags::VERIFICATION_FLAG, VR::CS, "UNVERIFIED"),
        seq(tags::PERFORMED_PROCEDURE_CODE_SEQUENCE, vec![]),
    ]);
    elements.extend(patient_and_study(ids));
    elements.extend(container(None, &dcm("126000", "Imaging Measurement Report"), Some("1500"), content));
    let mut obj = InMemDicomObject::from_element_iter(elements);
    obj.put(private_scheme_declaration());
    save(path, obj, uids::COMPREHENSIVE3_DSR_STORAGE, &sop_uid)?;
    Ok(sop_uid)
}
