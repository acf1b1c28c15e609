//! Writing a plugin's output to a folder: label maps and float maps as NIfTI in the
//! geometry the plugin gave them, meshes as PLY or OBJ, markups as JSON, reports as
//! one `report.json` plus a CSV per table.

use std::path::{Path, PathBuf};

use isotherm_sdk::abi::{NodeChange, NodeData, RunOutput};
use serde_json::json;

use crate::io::{mesh, nifti, report};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MeshFormat {
    Ply,
    Obj,
}

/// Writes every upserted node; returns the files written.
pub fn write_outputs(dir: &Path, output: &RunOutput, mesh_format: MeshFormat) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    let mut reports = Vec::new();
    for change in output.changes.iter() {
        let NodeChange::Upsert(node) = change else { continue };
        let name = node.name.as_str();
        match &node.data {
            NodeData::Volume(v) => {
                let p = dir.join(format!("{name}.nii.gz"));
                nifti::write_volume(&p, v).map_err(|e| e.to_string())?;
                written.push(p);
            }
            NodeData::LabelMap(m) => {
                let p = dir.join(format!("{name}.nii.gz"));
                nifti::write_label_map(&p, m).map_err(|e| e.to_string())?;
                written.push(p);
                written.push(nifti::label_table_path(&dir.join(format!("{name}.nii.gz"))));
            }
            NodeData::Mesh(m) => {
                let p = match mesh_format {
                    MeshFormat::Ply => dir.join(format!("{name}.ply")),
                    MeshFormat::Obj => dir.join(format!("{name}.obj")),
                };
                match mesh_format {
                    MeshFormat::Ply => mesh::write_ply(&p, m)?,
                    MeshFormat::Obj => mesh::write_obj(&p, m)?,
                }
                written.push(p);
            }
            NodeData::Markups(m) => {
                let p = dir.join(format!("{name}.json"));
                report::write_json(&p, &report::markups_json(m))?;
                written.push(p);
            }
            NodeData::Report(r) => {
                for t in r.tables.iter() {
                    let p = dir.join(format!("{name}-{}.csv", slug(t.name.as_str())));
                    std::fs::write(&p, report::table_csv(t)).map_err(|e| format!("{}: cannot write: {e}", p.display()))?;
                    written.push(p);
                }
                reports.push(json!({"name": name, "report": report::report_json(r)}));
            }
        }
    }
    if !reports.is_empty() {
        let p = dir.join("report.json");
        report::write_json(&p, &json!({"reports": reports}))?;
        written.push(p);
    }
    Ok(written)
}

fn slug(s: &str) -> String {
    let s: String = s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    s.trim_matches('-').to_string()
}

/// Writes every upserted label map again as a DICOM SEG (`NAME.seg.dcm`) of the DICOM
/// input it lies on: same grid as a DICOM input, its identifiers and (when that input
/// was read as acquired) its slices referenced frame by frame; on another grid, the
/// first DICOM input's patient and study without slice references. With no DICOM input
/// there is no patient to attach the SEG to, and it is refused.
///
/// Then every report table whose rows are the segments of one of those SEGs (the
/// margins over the tumours, the lesion table over the lesions) as a DICOM SR
/// (`NODE-TABLE.sr.dcm`, TID 1500) referencing them.
pub fn write_dicom(dir: &Path, output: &RunOutput, sources: &[&crate::io::volume::DicomSource]) -> Result<Vec<PathBuf>, String> {
    use isotherm_dicom::seg::{SourceSeries, write_seg};
    use isotherm_dicom::sr::{groups_from_table, write_measurement_report};
    let mut written = Vec::new();
    let mut segs = Vec::new();
    for change in output.changes.iter() {
        let NodeChange::Upsert(node) = change else { continue };
        let NodeData::LabelMap(m) = &node.data else { continue };
        let on_grid = sources.iter().find(|s| s.geometry.same_grid(&m.geometry, 1e-4));
        let Some(source) = on_grid.or(sources.first()) else {
            return Err(format!("{}: --output-format dicom needs a DICOM input (the SEG refers to its patient, study and series); the inputs were NIfTI", node.name));
        };
        let slice_uids = on_grid.and_then(|s| s.slice_uids.as_deref());
        let p = dir.join(format!("{}.seg.dcm", node.name));
        let seg = write_seg(&p, m, &SourceSeries { identifiers: &source.identifiers, slice_uids }, &format!("Isotherm {}", node.name)).map_err(|e| e.to_string())?;
        written.push(p);
        segs.push((m, seg, *source, slice_uids));
    }
    for change in output.changes.iter() {
        let NodeChange::Upsert(node) = change else { continue };
        let NodeData::Report(r) = &node.data else { continue };
        for table in r.tables.iter() {
            let Some((groups, (_, seg, source, slice_uids))) = segs.iter().find_map(|s| groups_from_table(table, s.0).map(|g| (g, s))) else { continue };
            let p = dir.join(format!("{}-{}.sr.dcm", node.name, slug(table.name.as_str())));
            let title = format!("Isotherm {} {}", node.name, table.name);
            write_measurement_report(&p, &SourceSeries { identifiers: &source.identifiers, slice_uids: *slice_uids }, seg, &groups, &title).map_err(|e| e.to_string())?;
            written.push(p);
        }
    }
    Ok(written)
}

/// Writes every upserted volume as `NAME.nrrd` and label map as `NAME.seg.nrrd` (3D
/// Slicer's formats, segment names and colours from the label table).
pub fn write_nrrd(dir: &Path, output: &RunOutput) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    for change in output.changes.iter() {
        let NodeChange::Upsert(node) = change else { continue };
        match &node.data {
            NodeData::Volume(v) => {
                let p = dir.join(format!("{}.nrrd", node.name));
                isotherm_nrrd::write_volume(&p, v).map_err(|e| e.to_string())?;
                written.push(p);
            }
            NodeData::LabelMap(m) => {
                let p = dir.join(format!("{}.seg.nrrd", node.name));
                isotherm_nrrd::write_segmentation(&p, m).map_err(|e| e.to_string())?;
                written.push(p);
            }
            _ => {}
        }
    }
    Ok(written)
}
