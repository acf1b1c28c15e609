//! The plugin through its exported entry point, with the shipped weights, on held-out
//! phantom cases (seeds the network never saw in training).

use std::path::{Path, PathBuf};

use isotherm_phantom::{Config, Size, generate, labels};
use isotherm_sdk::abi::ErrorKind;
use isotherm_sdk::testing::{RecordingHost, TestRun};
use isotherm_segmentation::Segmentation;
use isotherm_segmentation_core::eval::dice;

/// The pins the manifest declares, as the host would pass them after checking them.
fn pinned(name: &str) -> (PathBuf, String) {
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("plugin.toml")).unwrap();
    let m = isotherm_sdk::manifest::Manifest::from_toml(&manifest, Path::new("plugin.toml")).unwrap();
    let model = m.models.iter().find(|x| x.name == name).unwrap();
    (Path::new(env!("CARGO_MANIFEST_DIR")).join(&model.path), model.sha256.clone())
}

fn with_models(run: TestRun) -> TestRun {
    let (arch, arch_sha) = pinned("architecture");
    let (weights, weights_sha) = pinned("weights");
    run.model("architecture", &arch, &arch_sha).model("weights", &weights, &weights_sha)
}

#[test]
fn held_out_demo_size_case_matches_the_truth() {
    let case = generate(&Config::new(1001, Size::Demo));
    let out = with_models(TestRun::new().volume("ct", case.pre_ct.clone())).run::<Segmentation>().unwrap();
    let labels_out = out.label_map("labels").unwrap();
    assert_eq!(labels_out.geometry, case.pre_ct.geometry);
    let truth = &case.pre_labels.labels;
    let liver = dice(truth.iter().map(|&l| l != 0), labels_out.labels.iter().map(|&l| l != 0));
    let tumour = dice(truth.iter().map(|&l| l == labels::TUMOUR), labels_out.labels.iter().map(|&l| l == labels::TUMOUR));
    assert!(liver > 0.97, "liver Dice {liver}");
    assert!(tumour > 0.85, "tumour Dice {tumour}");

    // One lesion row and one coloured surface per lesion found; each found lesion lies on a
    // truth tumour; the largest one's volume agrees with its truth within 15 % (smaller,
    // low-contrast lesions lose their blurred edges: see the model card).
    let report = out.report("lesion-table").unwrap();
    let rows = &report.tables[0].rows;
    assert!(!rows.is_empty());
    let lesion_map = out.label_map("lesions").unwrap();
    for row in rows.iter() {
        let id = match row[0] { isotherm_sdk::abi::Cell::Integer(i) => i as u16, _ => panic!() };
        let mesh = out.mesh(&format!("tumour-{id}")).expect("lesion surface");
        assert!(isotherm_sdk::volume::mesh::is_closed_and_oriented(mesh));
        let hits: Vec<u16> = lesion_map.labels.iter().zip(&case.pre_tumours.labels).filter(|(p, _)| **p == id).map(|(_, t)| *t).collect();
        let truth_id = *hits.iter().max_by_key(|t| hits.iter().filter(|u| u == t).count()).unwrap();
        assert_ne!(truth_id, 0, "lesion {id} is not on a tumour");
        let truth_ml = case.truth.tumours.iter().find(|t| t.id as u16 == truth_id).unwrap().volume_ml;
        let ml = match row[1] { isotherm_sdk::abi::Cell::Number(v) => v, _ => panic!() };
        if id == 1 {
            assert!((ml - truth_ml).abs() < 0.15 * truth_ml, "lesion {id}: {ml} ml vs truth {truth_ml} ml");
        }
    }
    assert!(out.mesh("liver").unwrap().colour[3] < 0.5, "the liver is drawn translucent");
}

#[test]
fn post_ablation_case_finds_the_zone() {
    let case = generate(&Config::new(1002, Size::Demo));
    let out = with_models(TestRun::new().volume("ct", case.post_ct.clone())).run::<Segmentation>().unwrap();
    let got = &out.label_map("labels").unwrap().labels;
    let zone = dice(case.post_labels.labels.iter().map(|&l| l == labels::ABLATION_ZONE), got.iter().map(|&l| l == labels::ABLATION_ZONE));
    assert!(zone > 0.8, "zone Dice {zone}");
    assert!(out.mesh("ablation-zone").is_some());
}

#[test]
fn tampered_or_mismatched_weights_are_refused() {
    let case = generate(&Config::new(1003, Size::Small));
    let dir = std::env::temp_dir().join(format!("isotherm-seg-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (arch, arch_sha) = pinned("architecture");
    let (weights, weights_sha) = pinned("weights");

    // Weights changed after the host checked them: refused, naming the file.
    let mut bytes = std::fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let tampered = dir.join("unet.safetensors");
    std::fs::write(&tampered, &bytes).unwrap();
    let err = TestRun::new().volume("ct", case.pre_ct.clone()).model("architecture", &arch, &arch_sha).model("weights", &tampered, &weights_sha).run::<Segmentation>().err().expect("refused");
    assert_eq!(err.kind, ErrorKind::Model);
    assert!(err.message.contains("unet.safetensors") && err.message.contains("refusing"), "{}", err.message);

    // Weights for another architecture (a researcher's config that does not match).
    let other = dir.join("wide.toml");
    std::fs::write(&other, std::fs::read_to_string(&arch).unwrap().replace("base_channels = 8", "base_channels = 16").replace("groups = 4", "groups = 8")).unwrap();
    let err = TestRun::new().volume("ct", case.pre_ct.clone()).model("architecture", &other, "").model("weights", &weights, &weights_sha).run::<Segmentation>().err().expect("refused");
    assert_eq!(err.kind, ErrorKind::Model);
    assert!(err.message.contains("does not fit"), "{}", err.message);

    // A truncated file.
    std::fs::write(&tampered, &std::fs::read(&weights).unwrap()[..1000]).unwrap();
    let err = TestRun::new().volume("ct", case.pre_ct.clone()).model("architecture", &arch, &arch_sha).model("weights", &tampered, "").run::<Segmentation>().err().expect("refused");
    assert!(err.message.contains("not a readable safetensors"), "{}", err.message);

    // No weights at all.
    let err = TestRun::new().volume("ct", case.pre_ct.clone()).run::<Segmentation>().err().expect("refused");
    assert!(err.message.contains("architecture"), "{}", err.message);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn cancellation_stops_between_tiles() {
    let case = generate(&Config::new(1004, Size::Small));
    let host = RecordingHost::cancel_after(2);
    let err = with_models(TestRun::new().volume("ct", case.pre_ct.clone()).host(host).param("batch", "2")).run::<Segmentation>().err().expect("refused");
    assert_eq!(err.kind, ErrorKind::Cancelled);
}

#[test]
fn a_pre_ablation_scan_gets_no_ablation_zone() {
    // The demo case's pre-ablation CT: the shipped network marks ~2 ml of it as ablation
    // zone when it is not told the scan's phase (model card, limitations).
    let case = generate(&Config::new(1, Size::Demo));
    let zone_voxels = |out: &isotherm_sdk::testing::Outputs| out.label_map("labels").unwrap().labels.iter().filter(|&&l| l == labels::ABLATION_ZONE).count();
    let unknown = with_models(TestRun::new().volume("ct", case.pre_ct.clone())).run::<Segmentation>().unwrap();
    assert!(zone_voxels(&unknown) > 0, "the known false zone is gone: update this test and the model card");
    let pre = with_models(TestRun::new().volume("ct", case.pre_ct.clone()).param("scan", "pre-ablation")).run::<Segmentation>().unwrap();
    assert_eq!(zone_voxels(&pre), 0);
    let truth = &case.pre_labels.labels;
    let labels_out = &pre.label_map("labels").unwrap().labels;
    let tumour = dice(truth.iter().map(|&l| l == labels::TUMOUR), labels_out.iter().map(|&l| l == labels::TUMOUR));
    assert!(tumour > 0.85, "tumour Dice {tumour}");
    assert!(pre.mesh("ablation-zone").is_none(), "no zone surface");
}

#[test]
fn manifest_matches_the_library() {
    isotherm_sdk::testing::check_manifest::<Segmentation>(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml")).unwrap();
}
