//! DICOM Segmentation out, and in ([`read_seg`], in `read`). Label maps out as BINARY
//! SEG: one segment per label with coded concepts, one frame per segment and slice that
//! holds any of it, bits packed back to back across frames (PS3.5 8.1.1: no padding between frames, only at the end), the
//! source CT referenced frame by frame when the label map is on the CT's own slices.
//!
//! The modules follow the Segmentation IOD (PS3.3 A.51): Patient, General Study, General
//! Series + Segmentation Series, Frame of Reference, General and Enhanced General
//! Equipment, General Image, Image Pixel, Segmentation Image, Multi-frame Functional
//! Groups, Multi-frame Dimension, Common Instance Reference, SOP Common.

mod read;

use std::path::Path;

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use isotherm_sdk::abi::LabelMap;

pub use crate::elements::{Code, PRIVATE_SCHEME};
pub use isotherm_sdk::terminology::{SegmentCode, segment_code};
pub use read::{SegRead, find_segs, is_seg, read_seg, srt_mapping, srt_to_sct};
use crate::elements::{Derived, code_item, derived_instance, ds_multi, patient_and_study, private_scheme_declaration, save, seq, text as el, us};
use crate::write::{slice_axes, uid};
use crate::{Identifiers, Result, err, lps_to_ras};


/// The CT a segmentation was made on: its identifiers and, when the label map lies on
/// its own slices, each slice's SOP Instance UID (for per-frame source references).
pub struct SourceSeries<'a> {
    pub identifiers: &'a Identifiers,
    pub slice_uids: Option<&'a [String]>,
}

/// Packs 0/1 values into bits, least significant bit first, with no padding between
/// frames; the whole is padded to an even length.
pub fn pack_bits(bits: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; bits.len().div_ceil(8)];
    for (n, &b) in bits.iter().enumerate() {
        if b {
            out[n / 8] |= 1 << (n % 8);
        }
    }
    if out.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// A SEG as written: what an SR needs to reference its segments.
#[derive(Debug, Clone)]
pub struct WrittenSeg {
    pub sop_instance_uid: String,
    pub series_instance_uid: String,
    /// Per segment, in segment-number order: the label value it holds and its codes.
    pub segments: Vec<(u16, SegmentCode)>,
}

impl WrittenSeg {
    /// The segment number holding label `value`.
    pub fn segment_of(&self, value: u16) -> Option<(u16, &SegmentCode)> {
        self.segments.iter().position(|(v, _)| *v == value).map(|n| (n as u16 + 1, &self.segments[n].1))
    }
}

/// Writes `labels` as a BINARY Segmentation of `source`. The label map's grid must be
/// orthogonal (a slice stack); empty segments are still declared, with one empty frame.
pub fn write_seg(path: &Path, labels: &LabelMap, source: &SourceSeries, series_description: &str) -> Result<WrittenSeg> {
    let g = &labels.geometry;
    let Some([r, c, _]) = slice_axes(g) else {
        return err(path, "the label map's axes are not orthogonal; a DICOM SEG's frames are parallel planes");
    };
    let [nx, ny, nz] = g.dims_usize();
    if nx > u16::MAX as usize || ny > u16::MAX as usize {
        return err(path, "slices larger than 65535 pixels a side");
    }
    if let Some(u) = source.slice_uids
        && u.len() != nz
    {
        return err(path, format!("{} source slices for {nz} label slices", u.len()));
    }
    let plane = nx * ny;
    let ids = source.identifiers;
    let seg_series = uid(&format!("{}/seg/{series_description}", ids.series_instance_uid));
    let sop_uid = uid(&format!("{seg_series}/instance"));
    let (rl, cl) = (lps_to_ras(r), lps_to_ras(c));
    let mut segments = Vec::new();
    let mut written = WrittenSeg { sop_instance_uid: sop_uid.clone(), series_instance_uid: seg_series.clone(), segments: Vec::new() };
    let mut frames_bits: Vec<bool> = Vec::new();
    let mut per_frame = Vec::new();
    for (s, entry) in labels.table.iter().enumerate() {
        let number = s as u16 + 1;
        let code = segment_code(&entry.name);
        let mut item = vec![
            us(tags::SEGMENT_NUMBER, number),
            el(tags::SEGMENT_LABEL, VR::LO, &code.label),
            seq(tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE, vec![code_item(&code.category)]),
            seq(tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE, vec![code_item(&code.kind)]),
            el(tags::SEGMENT_ALGORITHM_TYPE, VR::CS, "AUTOMATIC"),
            el(tags::SEGMENT_ALGORITHM_NAME, VR::LO, "Isotherm"),
            DataElement::new(tags::RECOMMENDED_DISPLAY_CIE_LAB_VALUE, VR::US, PrimitiveValue::U16(cielab(entry.colour).into_iter().collect())),
        ];
        if let Some(region) = &code.region {
            item.push(seq(tags::ANATOMIC_REGION_SEQUENCE, vec![code_item(region)]));
        }
        segments.push(InMemDicomObject::from_element_iter(item));
        written.segments.push((entry.value, code));
        // Slices without the segment get no frame; an empty segment gets one empty frame.
        // The first segment always has frames on the first and last slice, so that a
        // reader rebuilds the whole grid (not only the slices that hold labels).
        let empty = !labels.labels.contains(&entry.value);
        for k in 0..nz {
            let slice = &labels.labels[k * plane..(k + 1) * plane];
            let extent = s == 0 && (k == 0 || k == nz - 1);
            if !(slice.contains(&entry.value) || empty && k == 0 || extent) {
                continue;
            }
            frames_bits.extend(slice.iter().map(|&l| l == entry.value));
            let position = lps_to_ras(g.index_to_world([0.0, 0.0, k as f64]));
            let mut frame = vec![
                seq(
                    tags::FRAME_CONTENT_SEQUENCE,
                    vec![InMemDicomObject::from_element_iter([DataElement::new(
                        tags::DIMENSION_INDEX_VALUES,
                        VR::UL,
                        PrimitiveValue::U32([number as u32, k as u32 + 1].into_iter().collect()),
                    )])],
                ),
                seq(tags::PLANE_POSITION_SEQUENCE, vec![InMemDicomObject::from_element_iter([ds_multi(tags::IMAGE_POSITION_PATIENT, &position)])]),
                seq(tags::SEGMENT_IDENTIFICATION_SEQUENCE, vec![InMemDicomObject::from_element_iter([us(tags::REFERENCED_SEGMENT_NUMBER, number)])]),
            ];
            let derivation = match source.slice_uids {
                Some(u) => vec![InMemDicomObject::from_element_iter([
                    seq(tags::DERIVATION_CODE_SEQUENCE, vec![code_item(&Code::new("113076", "DCM", "Segmentation"))]),
                    seq(
                        tags::SOURCE_IMAGE_SEQUENCE,
                        vec![InMemDicomObject::from_element_iter([
                            el(tags::REFERENCED_SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
                            el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, &u[k]),
                            seq(
                                tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE,
                                vec![code_item(&Code::new("121322", "DCM", "Source image for image processing operation"))],
                            ),
                        ])],
                    ),
                ])],
                None => vec![],
            };
            frame.push(seq(tags::DERIVATION_IMAGE_SEQUENCE, derivation));
            per_frame.push(InMemDicomObject::from_element_iter(frame));
        }
    }
    let frames = per_frame.len();
    let shared = InMemDicomObject::from_element_iter([
        seq(
            tags::PLANE_ORIENTATION_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([ds_multi(tags::IMAGE_ORIENTATION_PATIENT, &[rl[0], rl[1], rl[2], cl[0], cl[1], cl[2]])])],
        ),
        seq(
            tags::PIXEL_MEASURES_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                ds_multi(tags::PIXEL_SPACING, &[g.spacing[1], g.spacing[0]]),
                ds_multi(tags::SLICE_THICKNESS, &[g.spacing[2]]),
                ds_multi(tags::SPACING_BETWEEN_SLICES, &[g.spacing[2]]),
            ])],
        ),
    ]);
    let dimension_uid = uid(&format!("{sop_uid}/dimensions"));
    let dimension = |pointer: Tag, group: Tag, label: &str| {
        InMemDicomObject::from_element_iter([
            el(tags::DIMENSION_ORGANIZATION_UID, VR::UI, &dimension_uid),
            DataElement::new(tags::DIMENSION_INDEX_POINTER, VR::AT, PrimitiveValue::Tags(std::iter::once(pointer).collect())),
            DataElement::new(tags::FUNCTIONAL_GROUP_POINTER, VR::AT, PrimitiveValue::Tags(std::iter::once(group).collect())),
            el(tags::DIMENSION_DESCRIPTION_LABEL, VR::LO, label),
        ])
    };
    let referenced = match source.slice_uids {
        Some(u) => vec![InMemDicomObject::from_element_iter([
            seq(
                tags::REFERENCED_INSTANCE_SEQUENCE,
                u.iter()
                    .map(|s| {
                        InMemDicomObject::from_element_iter([
                            el(tags::REFERENCED_SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
                            el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, s),
                        ])
                    })
                    .collect(),
            ),
            el(tags::SERIES_INSTANCE_UID, VR::UI, &ids.series_instance_uid),
        ])],
        None => vec![],
    };
    let mut obj = InMemDicomObject::from_element_iter(patient_and_study(ids));
    let me = Derived { sop_class_uid: uids::SEGMENTATION_STORAGE, sop_instance_uid: &sop_uid, modality: "SEG", series_instance_uid: &seg_series, series_number: "100", description: series_description };
    obj.extend(derived_instance(ids, &me));
    obj.extend([
        DataElement::new(tags::IMAGE_TYPE, VR::CS, PrimitiveValue::Strs(["DERIVED".to_string(), "PRIMARY".to_string()].into_iter().collect())),
        el(tags::MANUFACTURER_MODEL_NAME, VR::LO, "Isotherm"),
        el(tags::DEVICE_SERIAL_NUMBER, VR::LO, "0"),
        el(tags::FRAME_OF_REFERENCE_UID, VR::UI, &ids.frame_of_reference_uid),
        el(tags::POSITION_REFERENCE_INDICATOR, VR::LO, ""),
        us(tags::SAMPLES_PER_PIXEL, 1),
        el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        el(tags::NUMBER_OF_FRAMES, VR::IS, &frames.to_string()),
        us(tags::ROWS, ny as u16),
        us(tags::COLUMNS, nx as u16),
        us(tags::BITS_ALLOCATED, 1),
        us(tags::BITS_STORED, 1),
        us(tags::HIGH_BIT, 0),
        us(tags::PIXEL_REPRESENTATION, 0),
        el(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00"),
        el(tags::SEGMENTATION_TYPE, VR::CS, "BINARY"),
        el(tags::SEGMENTS_OVERLAP, VR::CS, "NO"),
        el(tags::CONTENT_LABEL, VR::CS, "ISOTHERM"),
        el(tags::CONTENT_DESCRIPTION, VR::LO, series_description),
        el(tags::CONTENT_CREATOR_NAME, VR::PN, "Isotherm^"),
        seq(tags::SEGMENT_SEQUENCE, segments),
        seq(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared]),
        seq(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, per_frame),
        seq(tags::DIMENSION_ORGANIZATION_SEQUENCE, vec![InMemDicomObject::from_element_iter([el(tags::DIMENSION_ORGANIZATION_UID, VR::UI, &dimension_uid)])]),
        seq(
            tags::DIMENSION_INDEX_SEQUENCE,
            vec![
                dimension(tags::REFERENCED_SEGMENT_NUMBER, tags::SEGMENT_IDENTIFICATION_SEQUENCE, "Segment"),
                dimension(tags::IMAGE_POSITION_PATIENT, tags::PLANE_POSITION_SEQUENCE, "Position"),
            ],
        ),
        seq(tags::REFERENCED_SERIES_SEQUENCE, referenced),
        DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(pack_bits(&frames_bits).into())),
    ]);
    obj.put(private_scheme_declaration());
    save(path, obj, uids::SEGMENTATION_STORAGE, &sop_uid)?;
    Ok(written)
}

/// sRGB 0-255 to DICOM's scaled CIELab (PS3.3 C.10.7.1.1: L* 0..100, a*, b* -128..127,
/// each mapped onto 0..65535).
pub fn cielab(rgb: [u8; 4]) -> [u16; 3] {
    let lin = |c: u8| {
        let c = c as f64 / 255.0;
        if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    let (r, g, b) = (lin(rgb[0]), lin(rgb[1]), lin(rgb[2]));
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f64| if t > 216.0 / 24389.0 { t.cbrt() } else { (24389.0 / 27.0 * t + 16.0) / 116.0 };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    let (l, a, bb) = (116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz));
    [
        (l / 100.0 * 65535.0).round() as u16,
        ((a + 128.0) / 255.0 * 65535.0).round().clamp(0.0, 65535.0) as u16,
        ((bb + 128.0) / 255.0 * 65535.0).round().clamp(0.0, 65535.0) as u16,
    ]
}
