//! The headless pipeline end to end: phantom -> NIfTI -> `isotherm run template` ->
//! outputs, checked against the phantom's ground truth.

use isotherm_host::io::{mesh, nifti};
use isotherm_phantom::{Config, Size, generate, labels};
use isotherm_tests::*;

#[test]
fn template_finds_a_tumour_of_a_phantom() {
    let dir = temp_dir("pipeline");
    let mut config = Config::new(3, Size::Small);
    config.tumours = Some(2);
    config.min_radius = 14.0;
    config.max_radius = 22.0;
    let case = generate(&config);
    nifti::write_volume(&dir.join("ct.nii.gz"), &case.pre_ct).unwrap();
    nifti::write_label_map(&dir.join("labels.nii.gz"), &case.pre_labels).unwrap();
    let out = dir.join("out");
    let o = isotherm(&[
        "run", "template", "--input", &format!("ct={}", dir.join("ct.nii.gz").display()),
        "--input", &format!("mask={}", dir.join("labels.nii.gz").display()), "--out", out.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");

    // The segment is in the CT's geometry and overlaps the largest true tumour.
    let segment = nifti::read_label_map(&out.join("segment.nii.gz")).unwrap();
    assert!(segment.geometry.same_grid(&case.pre_ct.geometry, 1e-4));
    // The threshold finds the most conspicuous tumour (contrast varies per tumour):
    // the best-overlapping true tumour must match well.
    let found: Vec<bool> = segment.labels.iter().map(|&l| l == 1).collect();
    let (d, largest) = case
        .truth
        .tumours
        .iter()
        .map(|t| (dice(&found, &case.pre_tumours.labels.iter().map(|&l| l == t.id as u16).collect::<Vec<_>>()), t))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap();
    assert!(d > 0.75, "Dice {d:.3} against tumour {} ({:.1} ml)", largest.id, largest.volume_ml);
    // Every found voxel is inside the mask that was given.
    assert!(found.iter().zip(case.pre_labels.labels.iter()).all(|(f, &l)| !f || l != 0));

    let (positions, triangles) = mesh::read_ply(&out.join("surface.ply")).unwrap();
    assert!(!triangles.is_empty() && positions.iter().all(|p| p.iter().all(|c| c.is_finite())));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let volume = report["reports"][0]["report"]["values"][0]["value"].as_f64().unwrap();
    assert!((volume - largest.volume_ml).abs() / largest.volume_ml < 0.35, "{volume} ml vs {} ml", largest.volume_ml);
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "ok");
    assert_eq!(record["inputs"][0]["sha256"].as_str().unwrap().len(), 64);
    let _ = labels::TUMOUR;
}

#[test]
fn phantom_command_writes_a_consistent_case() {
    let dir = temp_dir("phantom-cli");
    let o = isotherm(&["phantom", "--seed", "9", "--size", "small", "--tumours", "2", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    for f in ["pre_ct.nii.gz", "post_ct.nii.gz", "pre_labels.nii.gz", "pre_tumours.nii.gz", "post_labels.nii.gz", "ablation_zone_pre.nii.gz", "displacement_post_to_pre.nii.gz", "truth.json"] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
    assert_eq!(truth["tumours"].as_array().unwrap().len(), 2);
    let pre = nifti::read_volume(&dir.join("pre_ct.nii.gz"), 0).unwrap();
    let post = nifti::read_volume(&dir.join("post_ct.nii.gz"), 0).unwrap();
    assert!(!pre.geometry.same_grid(&post.geometry, 0.1), "pre and post have their own geometry");
    // The displacement field: 3 components, and its value at a voxel matches the
    // deformation written in truth.json (checked through the rigid part's size).
    let h = nifti::read_header(&dir.join("displacement_post_to_pre.nii.gz")).unwrap();
    assert_eq!(h.dims, vec![96, 80, 40, 1, 3]);
    let dz = nifti::read_volume(&dir.join("displacement_post_to_pre.nii.gz"), 2).unwrap().to_f32();
    let tz = truth["deformation"]["translation"][2].as_f64().unwrap();
    let mean = dz.iter().map(|&v| v as f64).sum::<f64>() / dz.len() as f64;
    assert!((mean - tz).abs() < 6.0 && tz.abs() >= 8.0, "mean dz {mean} vs translation {tz}");
    let o = isotherm(&["phantom", "--size", "huge", "--out", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}
