//! Cohorts given as images: a cohort CSV whose rows name a CT and a lesion mask
//! (columns `ct` and `mask`, paths relative to the CSV) instead of feature columns.
//!
//! Each pair is read with the host's NIfTI reader and measured exactly as
//! `isotherm run radiomics` measures it (same extraction settings, same patient
//! covariates: `tumour_count`, `tumour_size_mm` and the largest lesion's features), so a
//! model fitted on such a cohort applies unchanged to plugin runs. The result is an
//! ordinary feature cohort (the image columns replaced by the chosen covariates), which
//! the tools also write out so the extraction need not be repeated.

use std::path::Path;

use isotherm_sdk::abi_stable::std_types::RStr;
use isotherm_sdk::abi::{HostServices, LogLevel, host_ref};
use isotherm_sdk::prelude::*;
use rayon::prelude::*;

use crate::extract::{self, Settings};
use crate::risk;

/// Covariates measured from the images unless the user names others: tumour burden plus
/// the radiomics features of the shipped demo model.
pub const DEFAULT_FEATURES: [&str; 5] = ["tumour_count", "tumour_size_mm", "morph_sphericity", "stat_mean", "cm_joint_entr_3D_comb"];

/// The plugin's default extraction settings (no resampling, bin width 25 HU from -500,
/// range [-500, 400]: IBSI configuration A's processing), every texture aggregation.
pub fn default_settings() -> Settings {
    let protocol = crate::presets::Protocol { texture: crate::features::Texture::All, ..crate::presets::preset("ibsi-ct-a").expect("a preset") };
    Settings { protocol, label: 0 }
}

/// True when the CSV's header names image columns.
pub fn has_images(text: &str) -> bool {
    header(text).is_some_and(|h| h.iter().any(|c| c == "ct" || c == "mask"))
}

fn header(text: &str) -> Option<Vec<String>> {
    text.lines().find(|l| !l.trim().is_empty() && !l.starts_with('#')).map(|h| h.split(',').map(|c| c.trim().to_string()).collect())
}

/// Replaces the `ct` and `mask` columns by `features` (IBSI tags or the patient-level
/// names above) measured on each row's images; other columns pass through unchanged.
/// Rows are measured in parallel; errors name the line and the file.
pub fn to_feature_cohort(text: &str, base: &Path, features: &[String], settings: &Settings) -> Result<String, String> {
    let columns = header(text).ok_or("empty file")?;
    let (ct_col, mask_col) = match (columns.iter().position(|c| c == "ct"), columns.iter().position(|c| c == "mask")) {
        (Some(c), Some(m)) => (c, m),
        _ => return Err("an image cohort needs both a 'ct' and a 'mask' column".into()),
    };
    if let Some(clash) = features.iter().find(|f| columns.contains(f)) {
        return Err(format!("column '{clash}' is both in the table and asked to be measured from the images"));
    }
    let rows: Vec<(usize, Vec<&str>)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .skip(1)
        .map(|(n, l)| (n + 1, l.split(',').collect()))
        .collect();
    let measured: Vec<Vec<f64>> = rows
        .par_iter()
        .map(|(line, cells)| {
            if cells.len() != columns.len() {
                return Err(format!("line {line}: {} cells, the header has {}", cells.len(), columns.len()));
            }
            measure(&base.join(cells[ct_col].trim()), &base.join(cells[mask_col].trim()), features, settings).map_err(|e| format!("line {line}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    let keep: Vec<usize> = (0..columns.len()).filter(|&c| c != ct_col && c != mask_col).collect();
    let names: Vec<String> = keep.iter().map(|&c| columns[c].clone()).chain(features.iter().cloned()).collect();
    let mut out = vec![names.join(",")];
    for ((_, cells), values) in rows.iter().zip(&measured) {
        let row: Vec<String> = keep.iter().map(|&c| cells[c].trim().to_string()).chain(values.iter().map(|v| format!("{v}"))).collect();
        out.push(row.join(","));
    }
    Ok(out.join("\n") + "\n")
}

/// One patient's covariates from a CT and its lesion mask.
pub fn measure(ct_path: &Path, mask_path: &Path, features: &[String], settings: &Settings) -> Result<Vec<f64>, String> {
    let (ct, mask) = rayon::join(|| isotherm_nifti::read_volume(ct_path, 0), || isotherm_nifti::read_label_map(mask_path));
    let (ct, mask) = (ct.map_err(|e| e.to_string())?, mask.map_err(|e| e.to_string())?);
    let lesions = lesions(&ct, &mask, settings).map_err(|e| format!("{}: {e}", mask_path.display()))?;
    let covariates = risk::patient_covariates(&risk::Clinical { values: vec![] }, &lesions);
    features
        .iter()
        .map(|name| {
            let v = covariates.get(name).copied().ok_or_else(|| format!("'{name}' is not a feature Isotherm measures (IBSI tags such as morph_sphericity, or tumour_count, tumour_size_mm)"))?;
            if v.is_finite() { Ok(v) } else { Err(format!("{}: {name} is not finite for this lesion", mask_path.display())) }
        })
        .collect()
}

/// Every lesion's features, outside any plugin run.
pub fn lesions(ct: &Volume, mask: &LabelMap, settings: &Settings) -> Result<Vec<extract::Lesion>, String> {
    extract::extract(ct, mask, settings, &Host::new(host_ref(&Quiet))).map_err(|e| e.message.to_string())
}

/// A host for command-line tools: no progress display, never cancelled.
struct Quiet;

impl HostServices for Quiet {
    fn progress(&self, _: f32, _: RStr<'_>) {}
    fn is_cancelled(&self) -> bool {
        false
    }
    fn log(&self, _: LogLevel, _: RStr<'_>) {}
}
