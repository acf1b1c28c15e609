//! DICOM through the front door: the demo case written as CT series, listed, converted
//! and segmented exactly as from NIfTI; identifiers in the run record; refusals for
//! what the reader cannot honestly read.

use isotherm_host::io::nifti;
use isotherm_tests::*;

fn demo(file: &str) -> std::path::PathBuf {
    workspace_root().join("assets/cases/demo").join(file)
}

#[test]
fn the_demo_case_as_dicom_lists_converts_and_segments_like_its_nifti() {
    let case = temp_dir("dicom-case");
    let o = isotherm(&["phantom", "--seed", "1", "--format", "dicom", "--out", case.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert_eq!(std::fs::read_dir(case.join("pre_ct")).unwrap().count(), 64);

    let o = isotherm(&["dicom", "list", case.to_str().unwrap()]);
    let (out, _) = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("1. CT series 1 \"pre-ablation CT\": 192 x 160 x 64 image(s), patient PHANTOM-1"), "{out}");
    assert!(out.contains("2. CT series 2 \"post-ablation CT\""), "{out}");
    assert!(out.contains("a regular grid: read as it is") && out.contains("not a DICOM file"), "{out}");

    // Converted back: the committed demo CT, same grid, same voxels.
    let nii = case.join("pre.nii.gz");
    let o = isotherm(&["dicom", "convert", &format!("{}#1", case.display()), "-o", nii.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let back = nifti::read_volume(&nii, 0).unwrap();
    let truth = nifti::read_volume(&demo("pre_ct.nii.gz"), 0).unwrap();
    assert!(back.geometry.same_grid(&truth.geometry, 1e-4), "{:?} vs {:?}", back.geometry, truth.geometry);
    assert_eq!(back.data, truth.data);

    // Segmented from the series folder: the same label map as from the NIfTI.
    let (from_dicom, from_nifti) = (case.join("seg-dicom"), case.join("seg-nifti"));
    let o = isotherm(&["run", "segmentation", "-i", &format!("ct={}", case.join("pre_ct").display()), "--output-format", "dicom", "-o", from_dicom.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let o = isotherm(&["run", "segmentation", "-i", &format!("ct={}", demo("pre_ct.nii.gz").display()), "-o", from_nifti.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let a = nifti::read_label_map(&from_dicom.join("labels.nii.gz")).unwrap();
    let b = nifti::read_label_map(&from_nifti.join("labels.nii.gz")).unwrap();
    assert!(a.geometry.same_grid(&b.geometry, 1e-4));
    assert_eq!(a.labels, b.labels);
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(from_dicom.join("run.json")).unwrap()).unwrap();
    let ids = &run["inputs"][0]["dicom"]["identifiers"];
    assert_eq!(ids["patient_id"], "PHANTOM-1", "{run}");
    assert_eq!(ids["series_description"], "pre-ablation CT");
    assert!(ids["study_instance_uid"].as_str().unwrap().starts_with("2.25."));
    assert_eq!(run["inputs"][0]["dicom"]["files"], 64);

    // The label map as a DICOM SEG of that series: highdicom reads the same voxel counts
    // per segment, and dciodvfy finds no error.
    let seg = from_dicom.join("labels.seg.dcm");
    assert!(run["outputs"].as_array().unwrap().iter().any(|o| o.as_str().is_some_and(|p| p.ends_with("labels.seg.dcm"))), "{run}");
    let python = std::process::Command::new("bash").arg(workspace_root().join("scripts/dicom-oracle.sh")).arg("--python").output().unwrap();
    let python = String::from_utf8(python.stdout).unwrap().trim().to_string();
    let json_path = case.join("seg.json");
    let o = std::process::Command::new(&python).arg(workspace_root().join("dicom/tests/seg_read.py")).arg(&seg).arg(&json_path).output().unwrap();
    assert!(o.status.success(), "highdicom: {}", String::from_utf8_lossy(&o.stderr));
    let read: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    for s in read["segments"].as_array().unwrap() {
        let entry = &a.table[s["number"].as_u64().unwrap() as usize - 1];
        let ours = a.labels.iter().filter(|&&l| l == entry.value).count();
        assert_eq!(s["label"], entry.name.as_str());
        assert_eq!(s["count"].as_u64().unwrap() as usize, ours, "segment {}", entry.name);
    }
    let o = std::process::Command::new("dciodvfy").arg(&seg).output().expect("dciodvfy (dicom3tools)");
    let report = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(!report.contains("Error"), "{report}");

    // The lesion table as a DICOM SR over the lesions SEG: highdicom and dcmqi read the
    // CSV's volumes and axes back, each group on its lesion's segment.
    let groups = read_sr(&from_dicom.join("lesion-table-lesions.sr.dcm"));
    let csv = std::fs::read_to_string(from_dicom.join("lesion-table-lesions.csv")).unwrap();
    let rows: Vec<Vec<f64>> = csv.lines().skip(1).map(|l| l.split(',').map(|c| c.parse().unwrap()).collect()).collect();
    assert_eq!(groups.len(), rows.len(), "{csv}");
    for (g, row) in groups.iter().zip(&rows) {
        assert_eq!(g["tracking_id"], format!("lesion {}", row[0]));
        assert_eq!(g["segments"], serde_json::json!([row[0] as u64]), "lesion n is segment n of lesions.seg.dcm");
        let value = |code: &str| g["measurements"].as_array().unwrap().iter().find(|m| m["concept"][0] == code).unwrap()["value"].as_f64().unwrap();
        for (code, column) in [("118565006", 1), ("103339001", 2), ("103340004", 3), ("112031", 7)] {
            assert!((value(code) - row[column]).abs() <= 1e-6 * row[column].abs().max(1.0), "{code}: {} vs {}", value(code), row[column]);
        }
    }
}

/// highdicom's measurement groups of an SR, after checking that dcmqi's tid1500reader
/// reads the same groups and dciodvfy finds no error.
fn read_sr(sr: &std::path::Path) -> Vec<serde_json::Value> {
    let python = std::process::Command::new("bash").arg(workspace_root().join("scripts/dicom-oracle.sh")).arg("--python").output().unwrap();
    let python = String::from_utf8(python.stdout).unwrap().trim().to_string();
    let json_path = sr.with_extension("json");
    let o = std::process::Command::new(&python).arg(workspace_root().join("dicom/tests/sr_read.py")).arg(sr).arg(&json_path).output().unwrap();
    assert!(o.status.success(), "{}: {}", sr.display(), String::from_utf8_lossy(&o.stderr));
    let read: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let groups = read["highdicom"]["groups"].as_array().unwrap().clone();
    let dcmqi = read["dcmqi"]["Measurements"].as_array().unwrap();
    assert_eq!(dcmqi.len(), groups.len());
    for (d, h) in dcmqi.iter().zip(&groups) {
        assert_eq!(d["TrackingIdentifier"], h["tracking_id"]);
        assert_eq!(d["measurementItems"].as_array().unwrap().len(), h["measurements"].as_array().unwrap().len());
    }
    let o = std::process::Command::new("dciodvfy").arg(sr).output().expect("dciodvfy (dicom3tools)");
    let report = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(!report.contains("Error"), "{report}");
    groups
}

#[test]
fn the_margin_from_two_dicom_series_goes_back_as_seg_and_sr() {
    let case = temp_dir("dicom-margin");
    let o = isotherm(&["phantom", "--seed", "1", "--format", "dicom", "--out", case.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let out = case.join("margin");
    let o = isotherm(&[
        "run", "margin", "-i", &format!("pre={}", case.join("pre_ct").display()), "-i", &format!("post={}", case.join("post_ct").display()),
        "--output-format", "dicom", "-o", out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    // The tumours as measured and the registered zone, as SEGs of the pre-ablation series.
    for seg in ["tumours.seg.dcm", "ablation-zone-pre.seg.dcm"] {
        assert!(out.join(seg).exists(), "{seg}");
    }
    let groups = read_sr(&out.join("margins-margins.sr.dcm"));
    let csv = std::fs::read_to_string(out.join("margins-margins.csv")).unwrap();
    let rows: Vec<Vec<String>> = csv.lines().skip(1).map(|l| l.replace("\"0 mm, not covered\"", "not covered").split(',').map(str::to_string).collect()).collect();
    assert_eq!(groups.len(), rows.len(), "{csv}");
    let tumours = nifti::read_label_map(&out.join("tumours.nii.gz")).unwrap();
    for (g, row) in groups.iter().zip(&rows) {
        let id: u64 = row[0].parse().unwrap();
        assert_eq!(g["tracking_id"], format!("tumour {id}"));
        assert_eq!(g["finding"], "108369006");
        assert!(tumours.labels.contains(&(id as u16)), "tumour {id} is in the tumour map");
        let mam = g["measurements"].as_array().unwrap().iter().find(|m| m["concept"][0] == "121206").unwrap();
        assert_eq!(mam["derivation"], "255605001", "the MAM is a minimum distance");
        assert_eq!(mam["unit"], "mm");
        let csv_mam: f64 = row[2].parse().unwrap();
        assert!((mam["value"].as_f64().unwrap() - csv_mam).abs() < 1e-9, "tumour {id}: SR {mam} vs CSV {csv_mam}");
    }

    // The SEGs back in as the margin's label-map inputs: the same margins, to the bit.
    let again = case.join("margin-from-seg");
    let o = isotherm(&[
        "run", "margin", "-i", &format!("tumour={}", out.join("tumours.seg.dcm").display()), "-i", &format!("zone={}", out.join("ablation-zone-pre.seg.dcm").display()),
        "-o", again.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{:?}", text(&o));
    let from_seg = nifti::read_label_map(&again.join("tumours.nii.gz")).unwrap();
    assert!(from_seg.geometry.same_grid(&tumours.geometry, 1e-4), "the SEG's grid is the pre CT's");
    assert_eq!(from_seg.labels, tumours.labels);
    assert_eq!(std::fs::read_to_string(again.join("margins-margins.csv")).unwrap(), csv);
}

#[test]
fn slicer_users_get_nrrd_in_and_seg_nrrd_out() {
    let case = temp_dir("nrrd-case");
    let o = isotherm(&["phantom", "--seed", "1", "--format", "dicom", "--out", case.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let ct = case.join("pre_ct.nrrd");
    let o = isotherm(&["dicom", "convert", &format!("{}#1", case.display()), "-o", ct.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let truth = nifti::read_volume(&demo("pre_ct.nii.gz"), 0).unwrap();
    let back = isotherm_host::io::nrrd::read_volume(&ct).unwrap();
    assert!(back.geometry.same_grid(&truth.geometry, 1e-4));
    assert_eq!(back.data, truth.data);
    let out = case.join("seg");
    let o = isotherm(&["run", "segmentation", "-i", &format!("ct={}", ct.display()), "--output-format", "nrrd", "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let nii = nifti::read_label_map(&out.join("labels.nii.gz")).unwrap();
    let seg = isotherm_host::io::nrrd::read_label_maps(&out.join("labels.seg.nrrd")).unwrap();
    assert_eq!(seg.len(), 1);
    assert!(seg[0].geometry.same_grid(&nii.geometry, 1e-6));
    assert_eq!(seg[0].labels, nii.labels);
    let names = |m: &isotherm_sdk::abi::LabelMap| m.table.iter().map(|e| (e.value, e.name.to_string())).collect::<Vec<_>>();
    assert_eq!(names(&seg[0]), names(&nii));
    // The label map input may be a .seg.nrrd too: the template plugin takes it as its mask.
    let o = isotherm(&["run", "template", "-i", &format!("ct={}", ct.display()), "-i", &format!("mask={}", out.join("labels.seg.nrrd").display()), "-o", case.join("template").to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
}

#[test]
fn dicom_inputs_the_reader_cannot_honestly_read_are_refused_by_name() {
    let ge = workspace_root().join("dicom/tests/data/ge-tilted-ct");
    let out = temp_dir("dicom-refused");
    let o = isotherm(&["run", "segmentation", "-i", &format!("ct={}", ge.display()), "--dicom-policy", "refuse", "-o", out.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("ge-tilted-ct") && err.contains("gantry tilt 18.5 degrees") && err.contains("1.08 mm between"), "{err}");
    // A DICOM folder where a label map is expected.
    let o = isotherm(&["run", "template", "-i", &format!("ct={}", demo("pre_ct.nii.gz").display()), "-i", &format!("mask={}", ge.display()), "-o", out.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("no DICOM Segmentation in this folder"), "{err}");
    // A SEG needs a DICOM input to belong to.
    let o = isotherm(&["run", "segmentation", "-i", &format!("ct={}", demo("pre_ct.nii.gz").display()), "--output-format", "dicom", "-o", out.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("--output-format dicom needs a DICOM input"), "{err}");
    // `dicom list` says what the default policy does with the tilted series.
    let o = isotherm(&["dicom", "list", ge.to_str().unwrap()]);
    let (listing, _) = text(&o);
    assert!(listing.contains("gantry tilt of 18.5 degrees") && listing.contains("read by resampling onto a regular grid"), "{listing}");
}

#[test]
fn an_rtstruct_is_a_mask_on_the_ct_it_was_drawn_on() {
    // The IBSI lung CT as DICOM with its RT Structure Set: the radiomics features equal
    // those with the phantom's NIfTI mask on the same CT (the filled contours are that
    // mask voxel for voxel; dicom/tests/real_series.rs checks it directly).
    let data = workspace_root().join("dicom/tests/data");
    let (ct, rs) = (data.join("ibsi-ct-dicom"), data.join("ibsi-ct-rtstruct/DCM_RS_00060.dcm"));
    let mask = workspace_root().join("plugins/radiomics/tests/data/ibsi-ct/mask.nii.gz");
    let features = |mask: &str, out: &str| {
        let out = temp_dir(out);
        let o = isotherm(&["run", "radiomics", "-i", &format!("ct={}", ct.display()), "-i", &format!("mask={mask}"), "-o", out.to_str().unwrap()]);
        assert!(o.status.success(), "{:?}", text(&o));
        let csv = std::fs::read_to_string(out.join("features-features.csv")).unwrap();
        let mut lines = csv.lines();
        let names: Vec<String> = lines.next().unwrap().split(',').map(str::to_string).collect();
        let values: Vec<f64> = lines.next().unwrap().split(',').map(|v| v.parse().unwrap_or(f64::NAN)).collect();
        names.into_iter().zip(values).collect::<Vec<_>>()
    };
    let (from_rtstruct, from_nifti) = (features(&format!("{}#GTV-1", rs.display()), "rtstruct"), features(&mask.display().to_string(), "rtstruct-nifti"));
    assert_eq!(from_rtstruct.len(), from_nifti.len());
    for ((name, a), (_, b)) in from_rtstruct.iter().zip(&from_nifti) {
        assert!(a == b || (a - b).abs() <= 1e-12 * b.abs().max(1.0) || (a.is_nan() && b.is_nan()), "{name}: {a} from the RTSTRUCT, {b} from the NIfTI mask");
    }
    // Without the CT it was drawn on, it cannot be placed.
    let out = temp_dir("rtstruct-alone");
    let o = isotherm(&["run", "radiomics", "-i", &format!("ct={}", workspace_root().join("plugins/radiomics/tests/data/ibsi-ct/image.nii.gz").display()), "-i", &format!("mask={}", rs.display()), "-o", out.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("DCM_RS_00060.dcm") && err.contains("filled onto the CT it was drawn on"), "{err}");
}
