//! The planning plugin through the real binary on the bundled demo case: the generator's
//! antenna simulated, and a recommendation for the treated tumour.

use isotherm_host::io::nifti;
use isotherm_tests::*;

fn demo(name: &str) -> String {
    workspace_root().join("assets/cases/demo").join(name).display().to_string()
}

fn truth() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(demo("truth.json")).unwrap()).unwrap()
}

fn point(v: &serde_json::Value) -> String {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap().to_string()).collect::<Vec<_>>().join(",")
}

fn values(out: &std::path::Path) -> serde_json::Value {
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let mut map = serde_json::Map::new();
    for v in r["reports"][0]["report"]["values"].as_array().unwrap() {
        map.insert(v["key"].as_str().unwrap().into(), v["value"].clone());
    }
    serde_json::Value::Object(map)
}

#[test]
fn the_generators_antenna_on_the_demo_case() {
    let t = truth();
    let out = temp_dir("planning-run");
    let o = isotherm(&[
        "run", "planning", "-i", &format!("ct={}", demo("pre_ct.nii.gz")), "-i", &format!("labels={}", demo("pre_labels.nii.gz")),
        "-p", "power=100", "-p", "time=5", "-p", &format!("tip={}", point(&t["needle_pre"]["tip"])), "-p", &format!("entry={}", point(&t["needle_pre"]["entry"])),
        "-o", out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let v = values(&out);
    assert!(v["predicted_mam"].as_f64().unwrap().is_finite());
    assert_eq!(v["vessels_from"], "label map");
    // The temperature map and the zone are NIfTI on the simulation grid, 1 mm isotropic.
    let zone = nifti::read_label_map(&out.join("predicted-zone.nii.gz")).unwrap();
    assert_eq!(zone.geometry.spacing, [1.0; 3]);
    let ml = zone.labels.iter().filter(|&&l| l == 1).count() as f64 / 1000.0;
    assert!((ml - v["zone_volume"].as_f64().unwrap()).abs() < 1e-6);
    let temperature = nifti::read_volume(&out.join("temperature.nii.gz"), 0).unwrap();
    assert!(temperature.to_f32().iter().all(|t| t.is_finite()));
    for f in ["isotherm-50.ply", "isotherm-60.ply", "tumour-margin.ply", "predicted-zone-surface.ply", "antenna.json", "planning-damage-models.csv"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert!(std::fs::read_to_string(out.join("planning-damage-models.csv")).unwrap().lines().count() == 5);
}

#[test]
fn a_recommendation_for_the_treated_tumour() {
    let t = truth();
    let out = temp_dir("planning-recommend");
    let o = isotherm(&[
        "run", "planning", "-i", &format!("ct={}", demo("pre_ct.nii.gz")), "-i", &format!("labels={}", demo("pre_labels.nii.gz")),
        "-i", &format!("tumour={}", demo("pre_tumours.nii.gz")), "-p", "mode=recommend", "-p", &format!("target_tumour={}", t["treated_tumour"]),
        "-o", out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let v = values(&out);
    assert!(v["entries_evaluated"].as_i64().unwrap() >= 10_000);
    assert!(v["pareto_front"].as_i64().unwrap() >= 1);
    assert!(v["recommended_setting"].as_str().unwrap().contains(" W, "));
    let front = std::fs::read_to_string(out.join("planning-pareto-front.csv")).unwrap();
    assert!(front.lines().count() >= 2);
    // The settings considered are the chart's eight.
    assert_eq!(std::fs::read_to_string(out.join("planning-settings.csv")).unwrap().lines().count(), 9);
    // The recommended path is no longer than the antenna.
    assert!(v["path_length"].as_f64().unwrap() <= 170.0);
}
