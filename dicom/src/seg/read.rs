//! DICOM Segmentation in: a BINARY (or FRACTIONAL) SEG becomes one label map, segment n
//! as label value n, on the grid its frames lie on. Frames are placed by their Image
//! Position along the slice normal, never by their order; slices a writer skipped
//! because they were empty (dcmqi and highdicom do) come back as zeros. Bits are
//! unpacked from the whole Pixel Data, back to back across frames, because 1-bit frames
//! are not byte-aligned when rows x columns is not a multiple of 8.
//!
//! Retired SNOMED RT codes (scheme `SRT`, as older dcmqi and Slicer files carry) are read
//! as their SNOMED CT equivalents, with a note.

use std::path::Path;

use dicom_core::value::Value;
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;
use isotherm_sdk::abi::{Geometry, LabelEntry, LabelMap};

use super::{Code, SegmentCode};
use crate::scan::{floats, int, text};
use crate::{Result, err, lps_to_ras};

/// A SEG read as a label map, with each segment's codes and what was noticed.
#[derive(Debug, Clone)]
pub struct SegRead {
    pub labels: LabelMap,
    /// Per segment, in label-value order.
    pub segments: Vec<(u16, SegmentCode)>,
    pub notes: Vec<String>,
    /// The series the segmentation was made on, when the SEG names one.
    pub source_series_uid: Option<String>,
}

/// Retired SNOMED RT code values and their SNOMED CT equivalents (PS3.16 Annex O's
/// mapping, as pydicom ships it), for the structures a liver workflow meets.
const SRT_TO_SCT: &[(&str, &str, &str)] = &[
    ("T-62000", "10200004", "Liver"),
    ("T-D0050", "85756007", "Tissue"),
    ("T-D000A", "123037004", "Anatomical Structure"),
    ("M-01000", "49755003", "Morphologically Altered Structure"),
    ("M-80003", "86049000", "Neoplasm, Primary"),
    ("M-80006", "14799000", "Neoplasm, Secondary"),
    ("M-03000", "4147007", "Mass"),
    ("M-54000", "6574001", "Necrosis"),
    ("T-32000", "80891009", "Heart"),
    ("T-28000", "39607008", "Lung"),
    ("T-71000", "64033007", "Kidney"),
    ("T-C3000", "78961009", "Spleen"),
    ("T-63000", "28231008", "Gallbladder"),
    ("T-65000", "15776009", "Pancreas"),
    ("T-42000", "15825003", "Aorta"),
    ("T-48810", "32764006", "Portal vein"),
    ("T-48720", "8993003", "Hepatic vein"),
    ("T-48710", "64131007", "Inferior vena cava"),
    ("T-D016E", "272673000", "Bone"),
    ("T-D0010", "38266002", "Entire body"),
];

/// The SNOMED CT code for a retired SNOMED RT one, when we know it.
pub fn srt_to_sct(value: &str) -> Option<Code> {
    SRT_TO_SCT.iter().find(|(srt, _, _)| *srt == value).map(|(_, sct, meaning)| Code::new(sct, "SCT", meaning))
}

/// Every SRT code value the reader maps (for tests against the published mapping).
pub fn srt_mapping() -> impl Iterator<Item = (&'static str, &'static str)> {
    SRT_TO_SCT.iter().map(|(srt, sct, _)| (*srt, *sct))
}

/// Is this file a DICOM Segmentation (by its header's SOP class)?
pub fn is_seg(path: &Path) -> bool {
    crate::scan::open_header(path).is_ok_and(|h| text(&h, tags::SOP_CLASS_UID) == uids::SEGMENTATION_STORAGE)
}

/// The DICOM Segmentation files in a folder (and its subfolders), by their SOP class.
pub fn find_segs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if is_seg(&p) {
                found.push(p);
            }
        }
    }
    found.sort();
    found
}

fn first_item(obj: &InMemDicomObject, seq: dicom_core::Tag) -> Option<&InMemDicomObject> {
    obj.get(seq).and_then(|e| e.items()).and_then(|i| i.first())
}

fn code_in(item: &InMemDicomObject, seq: dicom_core::Tag, notes: &mut Vec<String>, segment: &str) -> Option<Code> {
    let c = first_item(item, seq)?;
    let code = Code::new(&text(c, tags::CODE_VALUE), &text(c, tags::CODING_SCHEME_DESIGNATOR), &text(c, tags::CODE_MEANING));
    if code.scheme == "SRT"
        && let Some(sct) = srt_to_sct(&code.value)
    {
        notes.push(format!("segment {segment}: retired SNOMED RT code {} ({}) read as SNOMED CT {} ({})", code.value, code.meaning, sct.value, sct.meaning));
        return Some(Code { meaning: code.meaning, ..sct });
    }
    Some(code)
}

/// Scaled CIELab (PS3.3 C.10.7.1.1) back to sRGB 0-255: the inverse of `cielab`.
fn srgb(lab: [u16; 3]) -> [u8; 4] {
    let l = lab[0] as f64 / 65535.0 * 100.0;
    let a = lab[1] as f64 / 65535.0 * 255.0 - 128.0;
    let b = lab[2] as f64 / 65535.0 * 255.0 - 128.0;
    let fy = (l + 16.0) / 116.0;
    let (fx, fz) = (fy + a / 500.0, fy - b / 200.0);
    let inv = |f: f64| if f.powi(3) > 216.0 / 24389.0 { f.powi(3) } else { (116.0 * f - 16.0) * 27.0 / 24389.0 };
    let (x, y, z) = (inv(fx) * 0.95047, inv(fy), inv(fz) * 1.08883);
    let lin = [3.2406 * x - 1.5372 * y - 0.4986 * z, -0.9689 * x + 1.8758 * y + 0.0415 * z, 0.0557 * x - 0.2040 * y + 1.0570 * z];
    let gamma = |c: f64| {
        let c = c.clamp(0.0, 1.0);
        let v = if c <= 0.0031308 { 12.92 * c } else { 1.055 * c.powf(1.0 / 2.4) - 0.055 };
        (v * 255.0).round() as u8
    };
    [gamma(lin[0]), gamma(lin[1]), gamma(lin[2]), 255]
}

/// Reads a DICOM SEG file as one label map. Overlapping segments are refused (a label
/// map holds one label per voxel), naming the segments and how many voxels they share.
pub fn read_seg(path: &Path) -> Result<SegRead> {
    // The header first: a CT slice or a report is refused without reading its pixels.
    let header = crate::scan::open_header(path)?;
    let class = text(&header, tags::SOP_CLASS_UID);
    if class == "1.2.840.10008.5.1.4.1.1.66.7" {
        return err(path, "a Label Map Segmentation (SOP class 1.2.840.10008.5.1.4.1.1.66.7) is not supported yet; write it as a BINARY SEG (e.g. highdicom's SegmentationTypeValues.BINARY)");
    }
    if class != uids::SEGMENTATION_STORAGE {
        return err(path, format!("not a DICOM Segmentation: {}", crate::scan::sop_class_name(&class)));
    }
    let obj = match std::panic::catch_unwind(|| crate::scan::open_through_pixel_data(path)) {
        Ok(r) => r?,
        Err(_) => return err(path, "unreadable DICOM: the parser failed on malformed data"),
    };
    let result = std::panic::catch_unwind(|| decode(path, &obj));
    match result {
        Ok(r) => r,
        Err(_) => err(path, "the SEG reader failed on malformed data"),
    }
}

fn decode(path: &Path, obj: &InMemDicomObject) -> Result<SegRead> {
    let mut notes = Vec::new();
    let kind = text(obj, tags::SEGMENTATION_TYPE);
    let bits = int(obj, tags::BITS_ALLOCATED).unwrap_or(0);
    let max_fraction = int(obj, tags::MAXIMUM_FRACTIONAL_VALUE).unwrap_or(255).max(1);
    match (kind.as_str(), bits) {
        ("BINARY", 1) => {}
        ("FRACTIONAL", 8) => notes.push(format!("FRACTIONAL segmentation: voxels at or above half of {max_fraction} are inside")),
        _ => return err(path, format!("Segmentation Type {kind:?} with Bits Allocated {bits} is not readable (BINARY 1-bit and FRACTIONAL 8-bit are)")),
    }
    let rows = int(obj, tags::ROWS).filter(|&r| r > 0).ok_or_else(|| crate::DicomError { path: path.to_path_buf(), problem: "no Rows".into() })? as usize;
    let cols = int(obj, tags::COLUMNS).filter(|&c| c > 0).ok_or_else(|| crate::DicomError { path: path.to_path_buf(), problem: "no Columns".into() })? as usize;
    let frames = int(obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(0) as usize;
    let pixel = obj.get(tags::PIXEL_DATA).ok_or_else(|| crate::DicomError { path: path.to_path_buf(), problem: "no Pixel Data (a header-only or truncated file)".into() })?;
    let data: Vec<u8> = match pixel.value() {
        Value::Primitive(p) => p.to_bytes().into_owned(),
        _ => return err(path, "compressed (encapsulated) SEG pixel data is not supported; write it uncompressed"),
    };
    let plane = rows * cols;
    let need = if bits == 1 { (frames * plane).div_ceil(8) } else { frames * plane };
    if data.len() < need {
        return err(path, format!("Pixel Data holds {} bytes; {frames} frames of {cols} x {rows} need {need} (truncated?)", data.len()));
    }

    // Segments: number, label, codes, colour.
    let mut segments = Vec::new();
    let mut table = Vec::new();
    for item in obj.get(tags::SEGMENT_SEQUENCE).and_then(|e| e.items()).map(|i| i.to_vec()).unwrap_or_default() {
        let Some(number) = int(&item, tags::SEGMENT_NUMBER).filter(|&n| (1..=u16::MAX as i64).contains(&n)) else {
            return err(path, "a segment without a valid Segment Number");
        };
        let number = number as u16;
        let label = text(&item, tags::SEGMENT_LABEL);
        let name = if label.is_empty() { format!("segment {number}") } else { label.clone() };
        let unknown = || Code::new("85756007", "SCT", "Tissue");
        let category = code_in(&item, tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE, &mut notes, &name).unwrap_or_else(unknown);
        let kind = code_in(&item, tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE, &mut notes, &name).unwrap_or_else(unknown);
        let region = code_in(&item, tags::ANATOMIC_REGION_SEQUENCE, &mut notes, &name);
        let colour = item
            .get(tags::RECOMMENDED_DISPLAY_CIE_LAB_VALUE)
            .and_then(|e| e.to_multi_int::<u16>().ok())
            .filter(|v| v.len() == 3)
            .map(|v| srgb([v[0], v[1], v[2]]))
            .unwrap_or_else(|| isotherm_sdk::volume::lesion_colour(number as usize));
        table.push(LabelEntry::new(number, &name, colour));
        segments.push((number, SegmentCode { label: name, category, kind, region }));
    }
    if segments.is_empty() {
        return err(path, "the SEG declares no segment");
    }
    segments.sort_by_key(|(n, _)| *n);
    table.sort_by_key(|e| e.value);

    // Per frame: its segment, position and (shared or per-frame) orientation and spacing.
    let shared = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let per_frame = obj.get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).and_then(|e| e.items()).unwrap_or(&[]);
    if per_frame.len() < frames {
        return err(path, format!("{} per-frame functional groups for {frames} frames", per_frame.len()));
    }
    if per_frame.len() > frames {
        notes.push(format!("{} per-frame functional groups for {frames} frames: the first {frames} used", per_frame.len()));
    }
    let group = |f: usize, seq| per_frame.get(f).and_then(|p| first_item(p, seq)).or_else(|| shared.and_then(|s| first_item(s, seq)));
    let orientation = group(0, tags::PLANE_ORIENTATION_SEQUENCE).and_then(|g| floats::<6>(g, tags::IMAGE_ORIENTATION_PATIENT));
    let pixel_spacing = group(0, tags::PIXEL_MEASURES_SEQUENCE).and_then(|g| floats::<2>(g, tags::PIXEL_SPACING));
    let (Some(o), Some(ps)) = (orientation, pixel_spacing) else {
        return err(path, "no Plane Orientation or Pixel Spacing in the functional groups: the segmentation has no geometry");
    };
    let (r, c) = ([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
    let n = [r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]];
    let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    if (dot(n, n).sqrt() - 1.0).abs() > 1e-3 {
        return err(path, format!("Image Orientation {o:?} is not two orthonormal directions"));
    }
    let mut placed = Vec::with_capacity(frames);
    for f in 0..frames {
        let Some(p) = group(f, tags::PLANE_POSITION_SEQUENCE).and_then(|g| floats::<3>(g, tags::IMAGE_POSITION_PATIENT)) else {
            return err(path, format!("frame {} has no Image Position", f + 1));
        };
        if let Some(fo) = group(f, tags::PLANE_ORIENTATION_SEQUENCE).and_then(|g| floats::<6>(g, tags::IMAGE_ORIENTATION_PATIENT))
            && fo.iter().zip(&o).any(|(a, b)| (a - b).abs() > 1e-4)
        {
            return err(path, format!("frame {} is oriented {fo:?}, frame 1 {o:?}: frames of one label map share an orientation", f + 1));
        }
        let segment = group(f, tags::SEGMENT_IDENTIFICATION_SEQUENCE).and_then(|g| int(g, tags::REFERENCED_SEGMENT_NUMBER));
        let Some(segment) = segment.filter(|s| segments.iter().any(|(n, _)| *n as i64 == *s)) else {
            return err(path, format!("frame {} names no declared segment", f + 1));
        };
        placed.push((p, segment as u16));
    }

    // The slice grid: distinct positions along the normal, a common spacing, and every
    // frame on a whole slice of it.
    let along: Vec<f64> = placed.iter().map(|(p, _)| dot(*p, n)).collect();
    let mut distinct: Vec<f64> = along.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup_by(|a, b| (*a - *b).abs() < 1e-3);
    let declared = group(0, tags::PIXEL_MEASURES_SEQUENCE).and_then(|g| floats::<1>(g, tags::SPACING_BETWEEN_SLICES)).map(|v| v[0]).filter(|&s| s > 0.0);
    let smallest_gap = distinct.windows(2).map(|w| w[1] - w[0]).fold(f64::INFINITY, f64::min);
    let spacing = declared.or(smallest_gap.is_finite().then_some(smallest_gap)).or_else(|| group(0, tags::PIXEL_MEASURES_SEQUENCE).and_then(|g| floats::<1>(g, tags::SLICE_THICKNESS)).map(|v| v[0])).unwrap_or(1.0);
    let start = distinct[0];
    let slices = ((distinct[distinct.len() - 1] - start) / spacing).round() as usize + 1;
    let first = placed[along.iter().position(|&a| (a - start).abs() < 1e-3).unwrap()].0;
    for (f, (p, _)) in placed.iter().enumerate() {
        let k = (along[f] - start) / spacing;
        if (k - k.round()).abs() > 0.05 {
            return err(path, format!("frame {} lies {:.3} mm along the normal, between slices of the {spacing} mm grid", f + 1, along[f] - start));
        }
        let offset = [p[0] - first[0], p[1] - first[1], p[2] - first[2]];
        if dot(offset, r).abs() > 0.1 * ps[1] || dot(offset, c).abs() > 0.1 * ps[0] {
            return err(path, format!("frame {} is shifted in-plane against frame 1 (cropped frames are not supported)", f + 1));
        }
    }
    if slices > 100_000 || slices.saturating_mul(plane) > 2_000_000_000 {
        return err(path, format!("{slices} slices of {cols} x {rows}: too large"));
    }
    if slices > distinct.len() {
        notes.push(format!("{} of {slices} slices have no frame (empty, skipped by the writer): read as 0", slices - distinct.len()));
    }

    let mut labels = vec![0u16; slices * plane];
    let mut overlaps: Vec<((u16, u16), usize)> = Vec::new();
    for (f, (_, segment)) in placed.iter().enumerate() {
        let k = ((along[f] - start) / spacing).round() as usize;
        let out = &mut labels[k * plane..(k + 1) * plane];
        for (px, l) in out.iter_mut().enumerate() {
            let inside = if bits == 1 {
                let bit = f * plane + px;
                data[bit / 8] >> (bit % 8) & 1 == 1
            } else {
                data[f * plane + px] as i64 * 2 >= max_fraction
            };
            if !inside {
                continue;
            }
            if *l != 0 && *l != *segment {
                let pair = ((*l).min(*segment), (*l).max(*segment));
                match overlaps.iter_mut().find(|(p, _)| *p == pair) {
                    Some((_, count)) => *count += 1,
                    None => overlaps.push((pair, 1)),
                }
            }
            *l = *segment;
        }
    }
    if let Some(((a, b), count)) = overlaps.first() {
        let name = |v: u16| table.iter().find(|e| e.value == v).map(|e| e.name.to_string()).unwrap_or_default();
        return err(path, format!("segments {a} ({}) and {b} ({}) overlap in {count} voxels; a label map holds one label per voxel", name(*a), name(*b)));
    }
    let geometry = Geometry {
        dims: [cols as u32, rows as u32, slices as u32],
        spacing: [ps[1], ps[0], spacing],
        origin: lps_to_ras(first),
        direction: {
            let (rr, cr, nr) = (lps_to_ras(r), lps_to_ras(c), lps_to_ras(n));
            [rr[0], cr[0], nr[0], rr[1], cr[1], nr[1], rr[2], cr[2], nr[2]]
        },
    };
    let source_series_uid = first_item(obj, tags::REFERENCED_SERIES_SEQUENCE).map(|s| text(s, tags::SERIES_INSTANCE_UID)).filter(|s| !s.is_empty());
    Ok(SegRead { labels: LabelMap::new(geometry, labels, table), segments, notes, source_series_uid })
}
