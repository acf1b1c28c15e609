//! `isotherm dicom list|convert`: what a DICOM folder holds, and a series as NIfTI.

use std::path::PathBuf;

use clap::Subcommand;
use isotherm_dicom::{Policy, series, stack};

use super::{EXIT_FAILED, EXIT_USAGE};
use crate::io::nifti;

#[derive(Debug, Subcommand)]
pub enum DicomAction {
    /// The series in folders, DICOMDIRs or files: size, identifiers, and what would stop
    /// or change a volume (tilt, uneven spacing, missing slices, skipped files).
    List {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// One series as a NIfTI or NRRD volume.
    Convert {
        /// A folder, DICOMDIR or file; FOLDER#N picks series N of `isotherm dicom list`.
        path: String,
        /// The file to write: NIfTI (.nii, .nii.gz) or NRRD (.nrrd).
        #[arg(long, short = 'o')]
        out: PathBuf,
        /// What a tilted or unevenly spaced series becomes: resample, refuse or split.
        #[arg(long, default_value = "resample")]
        policy: Policy,
    },
}

pub fn dicom(action: &DicomAction) -> i32 {
    match action {
        DicomAction::List { paths } => list(paths),
        DicomAction::Convert { path, out, policy } => convert(path, out, *policy),
    }
}

fn list(paths: &[PathBuf]) -> i32 {
    let found = match series::find(paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    if found.series.is_empty() {
        println!("no image series");
    }
    for (n, s) in found.series.iter().enumerate() {
        println!("{}. {}", n + 1, s.summary());
        for note in &s.notes {
            println!("   note: {note}");
        }
        match stack::plan(s) {
            Ok(plan) => {
                let axes = &plan.axes;
                println!(
                    "   grid: {:.4} x {:.4} mm in plane, {:.4} mm between slices; normal (LPS) [{:.4}, {:.4}, {:.4}]",
                    plan.pixel_spacing[0], plan.pixel_spacing[1], plan.spacing, axes[2][0], axes[2][1], axes[2][2]
                );
                for note in &plan.notes {
                    println!("   note: {note}");
                }
                for u in &plan.uneven {
                    println!("   warning: uneven spacing: {u}");
                }
                for m in &plan.missing {
                    println!("   warning: {m}");
                }
                if plan.is_regular() {
                    println!("   a regular grid: read as it is");
                } else if plan.missing.is_empty() {
                    println!("   read by resampling onto a regular grid (policy \"resample\"; \"refuse\" and \"split\" also exist)");
                } else {
                    println!("   refused by the default policy (missing slices); the \"split\" policy reads the longest even part");
                }
            }
            Err(e) => println!("   cannot be read: {e}"),
        }
    }
    // Skipped files grouped by why (a folder of NIfTI beside the DICOM says it once).
    let mut reasons: Vec<(&str, Vec<&PathBuf>)> = Vec::new();
    for (path, why) in &found.skipped {
        let key = why.split(" (").next().unwrap_or(why);
        match reasons.iter_mut().find(|(k, _)| *k == key) {
            Some((_, files)) => files.push(path),
            None => reasons.push((key, vec![path])),
        }
    }
    for (why, files) in reasons {
        let shown: Vec<String> = files.iter().take(3).map(|p| p.display().to_string()).collect();
        let more = if files.len() > 3 { format!(", ... ({} more)", files.len() - 3) } else { String::new() };
        println!("skipped {} file(s), {why}: {}{more}", files.len(), shown.join(", "));
    }
    0
}

fn convert(spec: &str, out: &std::path::Path, policy: Policy) -> i32 {
    let (path, select) = isotherm_dicom::split_selector(spec);
    let read = match isotherm_dicom::read_volume(&path, select.as_deref(), policy) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    for note in &read.notes {
        eprintln!("note: {note}");
    }
    let written = if isotherm_nrrd::is_nrrd_path(out) {
        isotherm_nrrd::write_volume(out, &read.volume).map_err(|e| e.to_string())
    } else {
        nifti::write_volume(out, &read.volume).map_err(|e| e.to_string())
    };
    if let Err(e) = written {
        eprintln!("error: {e}");
        return EXIT_FAILED;
    }
    let g = &read.volume.geometry;
    println!(
        "{} file(s) -> {} ({} x {} x {}, {:.4} x {:.4} x {:.4} mm, {})",
        read.files.len(),
        out.display(),
        g.dims[0],
        g.dims[1],
        g.dims[2],
        g.spacing[0],
        g.spacing[1],
        g.spacing[2],
        read.volume.data.type_name()
    );
    0
}
