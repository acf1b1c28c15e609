//! Cohorts given as images: every row's CT and mask measured as the plugin measures
//! them, a model fitted on the result, and the errors a user meets (missing file, mask
//! on another grid) naming the line and the file.

use std::path::{Path, PathBuf};
use std::process::Command;

use isotherm_radiomics::imaging::{self, default_settings};
use isotherm_radiomics::prognosis::{cohort, model, survival};
use isotherm_sdk::abi::{LabelEntry, LabelMap};
use isotherm_sdk::testing::sphere_ct;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("isotherm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("images")).unwrap();
    dir
}

/// Patient `i`: one spherical tumour of radius 6-15 mm on an anisotropic grid; larger
/// tumours progress sooner (hazard doubles every 5 mm of diameter).
fn write_patient(dir: &Path, i: usize) -> (f64, f64, bool) {
    let radius = 6.0 + (i * 7 % 10) as f64;
    let inside = 40 + (i * 3 % 11) as i16 * 5;
    let ct = sphere_ct([44, 44, 18], [0.9, 0.9, 2.0], radius, -20, inside);
    let labels: Vec<u16> = ct.to_f32().iter().map(|&v| (v == inside as f32) as u16).collect();
    let mask = LabelMap::new(ct.geometry, labels, vec![LabelEntry::new(1, "tumour", [255, 0, 0, 255])]);
    isotherm_nifti::write_volume(&dir.join(format!("images/p{i}_ct.nii.gz")), &ct).unwrap();
    isotherm_nifti::write_label_map(&dir.join(format!("images/p{i}_mask.nii.gz")), &mask).unwrap();
    let hazard = 0.03 * 2f64.powf((2.0 * radius - 20.0) / 5.0);
    let u = ((i as u64 * 2654435761 + 12345) % 1000) as f64 / 1000.0 + 0.0005;
    let time = -u.ln() / hazard;
    (radius, time.min(48.0), time < 48.0)
}

#[test]
fn an_image_cohort_is_measured_like_the_plugin_and_fits() {
    let dir = scratch("image-cohort");
    let mut csv = String::from("id,time,event,age,ct,mask\n");
    let mut radii = Vec::new();
    for i in 0..48 {
        let (radius, time, event) = write_patient(&dir, i);
        radii.push(radius);
        csv += &format!("p{i},{time:.3},{},{},images/p{i}_ct.nii.gz,images/p{i}_mask.nii.gz\n", event as u8, 50 + i % 20);
    }
    std::fs::write(dir.join("cohort.csv"), &csv).unwrap();
    assert!(imaging::has_images(&csv));

    let features: Vec<String> = ["tumour_count", "tumour_size_mm", "morph_sphericity", "stat_mean"].map(String::from).to_vec();
    let table = imaging::to_feature_cohort(&csv, &dir, &features, &default_settings()).unwrap();
    let c = cohort::parse(&table, true).unwrap();
    assert_eq!(c.names, vec!["age", "tumour_count", "tumour_size_mm", "morph_sphericity", "stat_mean"]);
    assert_eq!(c.x.len(), 48);
    for (row, radius) in c.x.iter().zip(&radii) {
        assert_eq!(row[1], 1.0, "one tumour per patient");
        // The largest 3D diameter of a voxelised sphere: 2r within about a voxel.
        assert!((row[2] - 2.0 * radius).abs() < 2.0, "diameter {} for radius {radius}", row[2]);
        assert!(row[3] > 0.75 && row[3] < 1.0, "sphericity {}", row[3]);
    }
    // The same numbers as one plugin-style measurement of the first patient.
    let first = imaging::measure(&dir.join("images/p0_ct.nii.gz"), &dir.join("images/p0_mask.nii.gz"), &features, &default_settings()).unwrap();
    assert_eq!(&c.x[0][1..], &first[..]);

    // The size effect is found: the largest coefficient per SD is the tumour size's.
    let report = model::fit(&c, 0.5, 4).unwrap();
    let m = &report.model;
    let size = m.info.covariates.iter().position(|n| n == "tumour_size_mm").unwrap();
    assert!(m.beta[size] > 0.3, "beta {:?} for {:?}", m.beta, m.info.covariates);
    assert!(m.beta.iter().all(|b| b.abs() <= m.beta[size]), "{:?}", m.beta);
    // Cross-validated discrimination close to the true hazard's own.
    let truth = survival::c_index(&c.time, &c.event, &radii);
    assert!(m.info.cv_c_index > truth - 0.05 && m.info.cv_c_index > 0.6, "cross-validated C-index {} vs the truth's {truth}", m.info.cv_c_index);

    // The command line: fit writes the measured table next to the model.
    let out = dir.join("model");
    let status = Command::new(env!("CARGO_BIN_EXE_isotherm-radiomics"))
        .args(["fit", "--cohort"])
        .arg(dir.join("cohort.csv"))
        .args(["--features", "tumour_size_mm,stat_mean", "--folds", "4", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let written = std::fs::read_to_string(out.join("cohort-features.csv")).unwrap();
    assert!(written.starts_with("id,time,event,age,tumour_size_mm,stat_mean\n"), "{written}");
    assert!(out.join("prognosis.safetensors").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn image_cohort_errors_name_the_line_and_the_file() {
    let dir = scratch("image-cohort-errors");
    write_patient(&dir, 0);
    let features = vec!["tumour_size_mm".to_string()];
    let missing = "id,time,event,ct,mask\np0,10,1,images/p0_ct.nii.gz,images/p0_mask.nii.gz\np1,12,0,images/p1_ct.nii.gz,images/p0_mask.nii.gz\n";
    let e = imaging::to_feature_cohort(missing, &dir, &features, &default_settings()).unwrap_err();
    assert!(e.contains("line 3") && e.contains("p1_ct.nii.gz"), "{e}");

    // A mask on another grid.
    let other = sphere_ct([40, 40, 18], [0.9, 0.9, 2.0], 8.0, 0, 1);
    let labels: Vec<u16> = other.to_f32().iter().map(|&v| v as u16).collect();
    isotherm_nifti::write_label_map(&dir.join("images/other_mask.nii.gz"), &LabelMap::new(other.geometry, labels, vec![])).unwrap();
    let e = imaging::to_feature_cohort("id,time,event,ct,mask\np0,10,1,images/p0_ct.nii.gz,images/other_mask.nii.gz\n", &dir, &features, &default_settings()).unwrap_err();
    assert!(e.contains("line 2") && e.contains("other_mask.nii.gz") && e.contains("grid"), "{e}");

    let e = imaging::to_feature_cohort("id,time,event,ct\np0,10,1,images/p0_ct.nii.gz\n", &dir, &features, &default_settings()).unwrap_err();
    assert!(e.contains("'mask'"), "{e}");
    let unknown = vec!["no_such_feature".to_string()];
    let e = imaging::to_feature_cohort("id,time,event,ct,mask\np0,10,1,images/p0_ct.nii.gz,images/p0_mask.nii.gz\n", &dir, &unknown, &default_settings()).unwrap_err();
    assert!(e.contains("no_such_feature"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
