//! Label maps out as DICOM SEG, read back by highdicom 0.28.2 (installed pinned by
//! scripts/dicom-oracle.sh): same segments, same codes, every voxel at the same world
//! position, on a frame size (23 x 38) whose pixel count is not a multiple of 8.

use std::path::Path;

use isotherm_dicom::seg::{SourceSeries, pack_bits, write_seg};
use isotherm_dicom::write::{new_identifiers, write_series};
use isotherm_dicom::{Policy, lps_to_ras, read_volume};
use isotherm_sdk::abi::{Geometry, LabelEntry, LabelMap, Volume};

#[test]
fn bits_are_packed_back_to_back_across_frames() {
    // Two frames of 3 x 3 = 9 bits: the second frame starts at bit 9, not at byte 2.
    let mut bits = vec![false; 18];
    bits[0] = true;
    bits[9] = true;
    bits[17] = true;
    assert_eq!(pack_bits(&bits), vec![0b0000_0001, 0b0000_0010, 0b0000_0010, 0]);
}

#[test]
fn a_seg_reads_back_in_highdicom_voxel_for_voxel() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = std::env::temp_dir().join(format!("isotherm-seg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // An oblique 23 x 38 x 5 grid (20 degrees about x), a CT on it, and its labels.
    let t = 20f64.to_radians();
    let geometry = Geometry { dims: [23, 38, 5], spacing: [0.8, 0.9, 2.5], origin: [12.0, -40.0, 30.0], direction: [1.0, 0.0, 0.0, 0.0, t.cos(), -t.sin(), 0.0, t.sin(), t.cos()] };
    let ct = Volume::from_i16(geometry, vec![40; geometry.len()]);
    let ids = new_identifiers("seg test", "SEG-1", "source CT");
    write_series(&ct, &dir.join("ct"), &ids).unwrap();
    let source = read_volume(&dir.join("ct"), None, Policy::Refuse).unwrap();
    let labels: Vec<u16> = (0..geometry.len())
        .map(|n| {
            let [i, j, k] = geometry.ijk(n);
            if (i as i64 - 11).pow(2) + (j as i64 - 19).pow(2) < 30 && k >= 1 { 2 } else if (i + j + k) % 3 == 0 { 1 } else { 0 }
        })
        .collect();
    let map = LabelMap::new(
        geometry,
        labels.clone(),
        vec![LabelEntry::new(1, "liver", [200, 120, 80, 255]), LabelEntry::new(2, "tumour 1", [230, 200, 60, 255]), LabelEntry::new(3, "ablation zone", [255, 60, 60, 255])],
    );
    let seg = dir.join("labels.seg.dcm");
    write_seg(&seg, &map, &SourceSeries { identifiers: &source.identifiers, slice_uids: Some(&source.sop_instance_uids) }, "Isotherm segmentation").unwrap();

    let python = std::process::Command::new("bash").arg(root.join("scripts/dicom-oracle.sh")).arg("--python").output().unwrap();
    assert!(python.status.success(), "{}", String::from_utf8_lossy(&python.stderr));
    let python = String::from_utf8(python.stdout).unwrap().trim().to_string();
    let json_path = dir.join("seg.json");
    let o = std::process::Command::new(&python).arg(root.join("dicom/tests/seg_read.py")).arg(&seg).arg(&json_path).output().unwrap();
    assert!(o.status.success(), "highdicom could not read the SEG: {}", String::from_utf8_lossy(&o.stderr));
    let read: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let segments = read["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 3);
    let expect = [("liver", "10200004", "SCT"), ("tumour 1", "108369006", "SCT"), ("ablation zone", "ABLATIONZONE", "99ISOTHERM")];
    for (s, (label, code, scheme)) in segments.iter().zip(expect) {
        assert_eq!(s["label"], label);
        assert_eq!(s["type"], code);
        assert_eq!(s["type_scheme"], scheme);
        let value = s["number"].as_u64().unwrap() as u16;
        // Our voxels of this label, in LPS world mm, against highdicom's.
        let ours: Vec<[f64; 3]> = (0..geometry.len()).filter(|&n| labels[n] == value).map(|n| lps_to_ras(geometry.index_to_world(geometry.ijk(n).map(|x| x as f64)))).collect();
        let theirs: Vec<[f64; 3]> = s["voxels_lps"].as_array().unwrap().iter().map(|p| std::array::from_fn(|a| p[a].as_f64().unwrap())).collect();
        assert_eq!(s["count"].as_u64().unwrap() as usize, ours.len(), "{label}");
        assert_eq!(theirs.len(), ours.len(), "{label}");
        // Voxels are >= 0.8 mm apart: each of theirs must have one of ours within 0.01 mm.
        for t in &theirs {
            let near = ours.iter().any(|o| (0..3).all(|a| (o[a] - t[a]).abs() < 0.01));
            assert!(near, "{label}: highdicom has a voxel at {t:?} (LPS) where the label map has none");
        }
    }
    assert_eq!(segments[2]["count"], 0, "the empty ablation zone is declared, with no voxels");

    // dciodvfy (dicom3tools): no errors in the SEG nor in the CT series it references. Its
    // warnings are about the private coding scheme, which is declared as PS3.16 asks.
    for file in [seg.clone(), dir.join("ct/slice-0001.dcm")] {
        let o = std::process::Command::new("dciodvfy").arg(&file).output().expect("dciodvfy (Debian's dicom3tools; scripts/test.sh installs it)");
        let report = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        assert!(!report.contains("Error"), "dciodvfy on {}:\n{report}", file.display());
        assert!(report.lines().all(|l| !l.starts_with("Warning") || l.contains("99ISOTHERM")), "dciodvfy on {}:\n{report}", file.display());
    }
}
