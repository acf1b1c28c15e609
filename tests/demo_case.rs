//! The bundled demo case: it is what the generator makes for its seed (so anyone can
//! regenerate or extend it), and the README's demo job runs on it.

use isotherm_host::io::nifti;
use isotherm_phantom::{Config, Size, generate};
use isotherm_tests::*;

fn demo_dir() -> std::path::PathBuf {
    workspace_root().join("assets/cases/demo")
}

#[test]
fn committed_demo_case_is_reproduced_by_its_seed() {
    let case = generate(&Config::new(1, Size::Demo));
    let pre = nifti::read_volume(&demo_dir().join("pre_ct.nii.gz"), 0).unwrap();
    assert!(pre.geometry.same_grid(&case.pre_ct.geometry, 1e-4));
    assert_eq!(pre.data, case.pre_ct.data);
    let zone = nifti::read_label_map(&demo_dir().join("ablation_zone_pre.nii.gz")).unwrap();
    assert_eq!(zone.labels, case.zone_pre.labels);
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(demo_dir().join("truth.json")).unwrap()).unwrap();
    let treated = case.truth.tumours.iter().find(|t| t.treated).unwrap();
    let committed = truth["tumours"].as_array().unwrap().iter().find(|t| t["treated"] == true).unwrap();
    let mam = committed["margin"]["minimal_margin_mm"].as_f64().unwrap();
    assert!((mam - treated.margin.as_ref().unwrap().minimal_margin_mm).abs() < 1e-9);
}

#[test]
fn demo_job_runs_on_the_bundled_case() {
    let out = temp_dir("demo");
    let ct = demo_dir().join("pre_ct.nii.gz");
    let mask = demo_dir().join("pre_labels.nii.gz");
    let o = isotherm(&["run", "template", "-i", &format!("ct={}", ct.display()), "-i", &format!("mask={}", mask.display()), "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    // The demo's big tumour (tumour 1, ~25 ml) is what the threshold finds.
    let segment = nifti::read_label_map(&out.join("segment.nii.gz")).unwrap();
    let truth = nifti::read_label_map(&demo_dir().join("pre_tumours.nii.gz")).unwrap();
    let found: Vec<bool> = segment.labels.iter().map(|&l| l == 1).collect();
    let tumour1: Vec<bool> = truth.labels.iter().map(|&l| l == 1).collect();
    let d = dice(&found, &tumour1);
    assert!(d > 0.8, "Dice {d:.3}");
}

#[test]
fn segmentation_of_the_demo_case() {
    let out = temp_dir("demo-segmentation");
    let o = isotherm(&["run", "segmentation", "-i", &format!("ct={}", demo_dir().join("pre_ct.nii.gz").display()), "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let labels = nifti::read_label_map(&out.join("labels.nii.gz")).unwrap();
    let truth = nifti::read_label_map(&demo_dir().join("pre_labels.nii.gz")).unwrap();
    assert!(labels.geometry.same_grid(&truth.geometry, 1e-4));
    let liver = dice(&labels.labels.iter().map(|&l| l != 0).collect::<Vec<_>>(), &truth.labels.iter().map(|&l| l != 0).collect::<Vec<_>>());
    let tumour = dice(&labels.labels.iter().map(|&l| l == 3).collect::<Vec<_>>(), &truth.labels.iter().map(|&l| l == 3).collect::<Vec<_>>());
    assert!(liver > 0.95 && tumour > 0.75, "liver Dice {liver:.3}, tumour Dice {tumour:.3}");
    // The lesion table lists every demo tumour (all are >= 10 mm) and nothing else.
    let csv = std::fs::read_to_string(out.join("lesion-table-lesions.csv")).unwrap();
    assert!(csv.starts_with("lesion,volume [ml],long axis [mm],short axis [mm]"), "{csv}");
    let truth_json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(demo_dir().join("truth.json")).unwrap()).unwrap();
    assert_eq!(csv.lines().count() - 1, truth_json["tumours"].as_array().unwrap().len(), "{csv}");
    assert!(out.join("liver.ply").is_file() && out.join("tumour-1.ply").is_file() && out.join("lesions.nii.gz").is_file());
}

#[test]
fn margin_of_the_demo_treatment_matches_its_truth() {
    let out = temp_dir("demo-margin");
    let tumours = demo_dir().join("pre_tumours.nii.gz");
    let zone = demo_dir().join("ablation_zone_pre.nii.gz");
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(demo_dir().join("truth.json")).unwrap()).unwrap();
    let treated = truth["treated_tumour"].as_u64().unwrap();
    let true_mam = truth["tumours"][(treated - 1) as usize]["margin"]["minimal_margin_mm"].as_f64().unwrap();
    let o = isotherm(&[
        "run", "margin", "-i", &format!("tumour={}", tumours.display()), "-i", &format!("zone={}", zone.display()),
        "-p", &format!("tumour_label={treated}"), "-o", out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let row = &report["reports"][0]["report"]["tables"][0]["rows"][0];
    let mam = row["signed MAM"].as_f64().unwrap();
    // Demo grid 1.875 x 1.75 x 3.125 mm: half the largest spacing plus 0.25 mm.
    assert!((mam - true_mam).abs() <= 0.5 * 3.125 + 0.25, "MAM {mam} vs truth {true_mam}");
    // The coloured surface, the zone and the closest-point ruler are written.
    let ply = std::fs::read_to_string(out.join(format!("tumour-{treated}.ply"))).unwrap();
    assert!(ply.contains("comment scalar margin [mm]") && ply.contains("property float quality"));
    assert!(out.join("ablation-zone.ply").is_file());
    let ruler: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("closest-points.json")).unwrap()).unwrap();
    assert_eq!(ruler["lines"][0]["kind"], "Ruler");
    let csv = std::fs::read_to_string(out.join("margins-margins.csv")).unwrap();
    assert!(csv.starts_with("tumour,MAM,signed MAM [mm],covered,uncovered tumour [ml],shell ablated [%],class,tumour volume [ml]"), "{csv}");
}

#[test]
fn margin_from_the_two_ct_scans_alone() {
    // Segment both scans, register post onto pre, carry the zone over, measure.
    let out = temp_dir("demo-margin-scans");
    let o = isotherm(&[
        "run", "margin", "-i", &format!("pre={}", demo_dir().join("pre_ct.nii.gz").display()),
        "-i", &format!("post={}", demo_dir().join("post_ct.nii.gz").display()), "-o", out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(demo_dir().join("truth.json")).unwrap()).unwrap();
    let treated = truth["treated_tumour"].as_u64().unwrap() as usize;
    let t = &truth["tumours"][treated - 1];
    let (true_mam, true_ml) = (t["margin"]["minimal_margin_mm"].as_f64().unwrap(), t["volume_ml"].as_f64().unwrap());
    // The segmented tumours are numbered by size; the treated one is the row whose volume
    // matches the truth's.
    let csv = std::fs::read_to_string(out.join("margins-margins.csv")).unwrap();
    let rows: Vec<Vec<String>> = csv.lines().skip(1).map(|l| {
        let l = l.replacen("\"0 mm, not covered\"", "0 mm not covered", 1);
        l.split(',').map(String::from).collect()
    }).collect();
    assert_eq!(rows.len(), truth["tumours"].as_array().unwrap().len(), "{csv}");
    let row = rows.iter().min_by(|a, b| {
        let d = |r: &Vec<String>| (r[7].parse::<f64>().unwrap() - true_ml).abs();
        d(a).total_cmp(&d(b))
    }).unwrap();
    let mam: f64 = row[2].parse().unwrap();
    assert!((mam - true_mam).abs() < 1.0, "MAM {mam:.2} mm vs truth {true_mam:.2} mm\n{csv}");
    let registered = nifti::read_volume(&out.join("registered-post-ct.nii.gz"), 0).unwrap();
    let pre = nifti::read_volume(&demo_dir().join("pre_ct.nii.gz"), 0).unwrap();
    assert!(registered.geometry.same_grid(&pre.geometry, 1e-4));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let reg = report["reports"].as_array().unwrap().iter().find(|r| r["name"] == "registration").expect("registration report");
    let dice = reg["report"]["values"].as_array().unwrap().iter().find(|v| v["key"] == "liver_dice_after").unwrap()["value"].as_f64().unwrap();
    assert!(dice > 0.95, "liver overlap after registration {dice}");
}

#[test]
fn radiomics_of_the_demo_lesions() {
    let out = temp_dir("demo-radiomics");
    let o = isotherm(&[
        "run", "radiomics", "-i", &format!("ct={}", demo_dir().join("pre_ct.nii.gz").display()),
        "-i", &format!("mask={}", demo_dir().join("pre_tumours.nii.gz").display()), "-o", out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let csv = std::fs::read_to_string(out.join("features-features.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2, "two tumours in the demo case");
    assert!(header.len() > 480, "{} columns", header.len());
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(demo_dir().join("truth.json")).unwrap()).unwrap();
    let col = header.iter().position(|h| *h == "morph_vol_approx").unwrap();
    for row in &rows {
        let id: usize = row[0].parse().unwrap();
        let truth_ml = truth["tumours"][id - 1]["volume_ml"].as_f64().unwrap();
        let ml = row[col].parse::<f64>().unwrap() / 1000.0;
        assert!((ml - truth_ml).abs() < 1e-6, "lesion {id}: {ml} ml vs {truth_ml} ml");
    }
    assert!(std::fs::read_to_string(out.join("features-pyradiomics-names.csv")).unwrap().contains("cm_joint_entr_3D_avg,original_glcm_JointEntropy"));

    // The pinned demo prognosis model ran: a risk group, survival falling over 1-3 years,
    // the curve as a table, and both lesion surfaces coloured by risk contribution.
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let prognosis = report["reports"].as_array().unwrap().iter().find(|r| r["name"] == "prognosis").expect("prognosis report");
    let values = prognosis["report"]["values"].as_array().unwrap();
    let value = |key: &str| values.iter().find(|v| v["key"] == key).map(|v| v["value"].clone()).unwrap_or_else(|| panic!("no {key} in {values:?}"));
    assert!(["low", "intermediate", "high"].contains(&value("risk_group").as_str().unwrap()), "{values:?}");
    let s: Vec<f64> = ["survival_12m", "survival_24m", "survival_36m"].iter().map(|k| value(k).as_f64().unwrap()).collect();
    assert!(s[0] <= 1.0 && s[0] > s[1] && s[1] > s[2] && s[2] > 0.0, "{s:?}");
    let curve = std::fs::read_to_string(out.join("prognosis-survival-curve.csv")).unwrap();
    assert!(curve.starts_with("time [months],survival") && curve.lines().count() > 50, "{curve}");
    for id in [1, 2] {
        let ply = std::fs::read_to_string(out.join(format!("risk-lesion-{id}.ply"))).unwrap();
        assert!(ply.contains("risk contribution"), "lesion {id}");
    }
}
