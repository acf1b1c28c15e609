//! RT Structure Sets in: each ROI's closed planar contours filled onto the grid of the
//! CT they were drawn on. A voxel is inside when its centre is inside the slice's
//! contours by the even-odd rule (a contour inside another is a hole), the convention
//! that reproduces the IBSI phantom's NIfTI mask from its RTSTRUCT voxel for voxel.
//! Contours must lie on the grid's slices (within a tenth of the slice spacing).

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use isotherm_sdk::abi::{Geometry, LabelEntry, LabelMap};

use crate::scan::{int, text};
use crate::{Result, err, lps_to_ras};

pub const RT_STRUCTURE_SET_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.481.3";

/// A structure set filled onto a grid.
#[derive(Debug, Clone)]
pub struct StructuresRead {
    /// ROI n of the file (in Structure Set ROI order) as label value n, named by ROI Name.
    pub labels: LabelMap,
    /// The series the contours were drawn on, when the file names it.
    pub referenced_series_uid: Option<String>,
    pub notes: Vec<String>,
}

/// Is this file an RT Structure Set (by its header's SOP class)?
pub fn is_rtstruct(path: &Path) -> bool {
    crate::scan::open_header(path).is_ok_and(|h| text(&h, tags::SOP_CLASS_UID) == RT_STRUCTURE_SET_STORAGE)
}

/// The series an RT Structure Set was drawn on, read from its header.
pub fn referenced_series(path: &Path) -> Option<String> {
    let obj = crate::scan::open_header(path).ok()?;
    referenced_series_of(&obj)
}

fn items(obj: &InMemDicomObject, tag: dicom_core::Tag) -> &[InMemDicomObject] {
    obj.get(tag).and_then(|e| e.items()).unwrap_or(&[])
}

fn referenced_series_of(obj: &InMemDicomObject) -> Option<String> {
    let frame = items(obj, tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE).first()?;
    let study = items(frame, tags::RT_REFERENCED_STUDY_SEQUENCE).first()?;
    let series = items(study, tags::RT_REFERENCED_SERIES_SEQUENCE).first()?;
    Some(text(series, tags::SERIES_INSTANCE_UID)).filter(|s| !s.is_empty())
}

/// Fills the ROIs of `path` onto `grid`; `only` picks one ROI by name or number (then it
/// is label 1). Overlapping ROIs are refused unless one is picked: a label map holds one
/// label per voxel.
pub fn read_rtstruct(path: &Path, grid: &Geometry, only: Option<&str>) -> Result<StructuresRead> {
    let obj = match std::panic::catch_unwind(|| crate::scan::open_through_pixel_data(path)) {
        Ok(r) => r?,
        Err(_) => return err(path, "unreadable DICOM: the parser failed on malformed data"),
    };
    if text(&obj, tags::SOP_CLASS_UID) != RT_STRUCTURE_SET_STORAGE {
        return err(path, format!("not an RT Structure Set: {}", crate::scan::sop_class_name(&text(&obj, tags::SOP_CLASS_UID))));
    }
    let mut notes = Vec::new();
    let rois: Vec<(i64, String)> = items(&obj, tags::STRUCTURE_SET_ROI_SEQUENCE).iter().map(|r| (int(r, tags::ROI_NUMBER).unwrap_or(-1), text(r, tags::ROI_NAME))).collect();
    if rois.is_empty() {
        return err(path, "the structure set has no ROI");
    }
    let picked: Vec<(i64, String)> = match only {
        None => rois.clone(),
        Some(want) => match rois.iter().find(|(n, name)| name == want || n.to_string() == want) {
            Some(r) => vec![r.clone()],
            None => return err(path, format!("no ROI {want:?}; it has {}", rois.iter().map(|(n, name)| format!("{n} {name:?}")).collect::<Vec<_>>().join(", "))),
        },
    };
    let [nx, ny, nz] = grid.dims_usize();
    let plane = nx * ny;
    let mut labels = vec![0u16; grid.len()];
    let mut table = Vec::new();
    for (value, (number, name)) in picked.iter().enumerate() {
        let value = value as u16 + 1;
        let Some(contours) = items(&obj, tags::ROI_CONTOUR_SEQUENCE).iter().find(|c| int(c, tags::REFERENCED_ROI_NUMBER) == Some(*number)) else {
            notes.push(format!("ROI {number} {name:?} has no contours"));
            continue;
        };
        let colour = contours.get(tags::ROI_DISPLAY_COLOR).and_then(|e| e.to_multi_int::<u16>().ok()).filter(|c| c.len() == 3).map(|c| [c[0].min(255) as u8, c[1].min(255) as u8, c[2].min(255) as u8, 255]);
        table.push(LabelEntry::new(value, if name.is_empty() { "structure" } else { name }, colour.unwrap_or_else(|| isotherm_sdk::volume::lesion_colour(value as usize))));
        let mut inside = vec![false; grid.len()];
        let (mut off_grid, mut skipped) = (0, 0);
        for c in items(contours, tags::CONTOUR_SEQUENCE) {
            if text(c, tags::CONTOUR_GEOMETRIC_TYPE) != "CLOSED_PLANAR" {
                skipped += 1;
                continue;
            }
            let Some(points) = c.get(tags::CONTOUR_DATA).and_then(|e| e.to_multi_float64().ok()) else {
                skipped += 1;
                continue;
            };
            let polygon: Vec<[f64; 3]> = points.chunks_exact(3).map(|p| grid.world_to_index(lps_to_ras([p[0], p[1], p[2]]))).collect();
            if polygon.len() < 3 {
                skipped += 1;
                continue;
            }
            let k = polygon[0][2].round();
            if polygon.iter().any(|p| (p[2] - k).abs() > 0.1) || k < 0.0 || k >= nz as f64 {
                off_grid += 1;
                continue;
            }
            let slice = &mut inside[k as usize * plane..(k as usize + 1) * plane];
            fill_even_odd(slice, nx, ny, &polygon);
        }
        if skipped > 0 {
            notes.push(format!("ROI {name:?}: {skipped} contour(s) that are not closed planar polygons skipped"));
        }
        if off_grid > 0 {
            notes.push(format!("ROI {name:?}: {off_grid} contour(s) off the grid's slices (or outside it) skipped"));
        }
        let mut shared = 0usize;
        for (l, &i) in labels.iter_mut().zip(&inside) {
            if i {
                shared += (*l != 0) as usize;
                *l = value;
            }
        }
        if shared > 0 {
            return err(path, format!("ROI {name:?} overlaps an earlier ROI in {shared} voxels; a label map holds one label per voxel: pick one ROI (FILE#NAME)"));
        }
    }
    Ok(StructuresRead { labels: LabelMap::new(*grid, labels, table), referenced_series_uid: referenced_series_of(&obj), notes })
}

/// XORs into `slice` every voxel whose centre (i, j) lies inside `polygon` (index
/// coordinates; z ignored): scanline crossings, so nested contours make holes.
fn fill_even_odd(slice: &mut [bool], nx: usize, ny: usize, polygon: &[[f64; 3]]) {
    let mut crossings = Vec::new();
    for j in 0..ny {
        let y = j as f64;
        crossings.clear();
        for e in 0..polygon.len() {
            let (a, b) = (polygon[e], polygon[(e + 1) % polygon.len()]);
            if (a[1] > y) != (b[1] > y) {
                crossings.push(a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]));
            }
        }
        crossings.sort_by(f64::total_cmp);
        for pair in crossings.chunks_exact(2) {
            // Centres strictly left of a crossing are inside it: x < crossing.
            let from = pair[0].ceil().max(0.0) as usize;
            let to = (pair[1].ceil().min(nx as f64)).max(0.0) as usize;
            for i in from.min(nx)..to {
                if (i as f64) >= pair[0] {
                    slice[j * nx + i] ^= true;
                }
            }
        }
    }
}
