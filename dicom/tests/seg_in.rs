//! DICOM SEG in: files other tools wrote read as the label maps those tools read them as
//! (dcmqi 1.5.7's segimage2itkimage on pydicom-data's dcmqi-written liver.dcm, voxel for
//! voxel at the same world positions; the big-endian twin equal to the little-endian
//! one), retired SNOMED RT codes read as the SNOMED CT codes pydicom's published mapping
//! gives, our own SEGs back to the label map they were written from (skipped empty
//! slices and 23 x 38 frames included), and refusals naming the problem.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use isotherm_dicom::seg::{SourceSeries, read_seg, srt_mapping, write_seg};
use isotherm_dicom::write::{new_identifiers, write_series};
use isotherm_dicom::{Policy, read_volume};
use isotherm_sdk::abi::{Geometry, LabelEntry, LabelMap, Volume};

struct Oracle {
    dir: PathBuf,
    json: serde_json::Value,
    python: PathBuf,
}

fn oracle() -> &'static Oracle {
    static ORACLE: OnceLock<Oracle> = OnceLock::new();
    ORACLE.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let python = std::process::Command::new("bash").arg(root.join("scripts/dicom-oracle.sh")).arg("--python").output().unwrap();
        assert!(python.status.success(), "{}", String::from_utf8_lossy(&python.stderr));
        let python = String::from_utf8(python.stdout).unwrap().trim().to_string();
        let dir = std::env::temp_dir().join(format!("isotherm-seg-in-{}", std::process::id()));
        let codes: Vec<&str> = srt_mapping().map(|(srt, _)| srt).collect();
        let o = std::process::Command::new(&python).arg(root.join("dicom/tests/seg_in.py")).arg(codes.join(",")).arg(&dir).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let json = serde_json::from_str(&std::fs::read_to_string(dir.join("seg_in.json")).unwrap()).unwrap();
        Oracle { dir, json, python: PathBuf::from(python) }
    })
}

fn file(key: &str) -> PathBuf {
    PathBuf::from(oracle().json[key].as_str().unwrap())
}

#[test]
fn dcmqis_liver_seg_reads_as_dcmqi_reads_it() {
    let ours = read_seg(&file("liver")).unwrap();
    let theirs = isotherm_nrrd::read_label_maps(&file("liver_nrrd")).unwrap().remove(0);
    let (g, h) = (&ours.labels.geometry, &theirs.geometry);
    assert!(g.same_grid(h, 1e-4), "ours {g:?}\ndcmqi {h:?}");
    assert_eq!(g.dims, [512, 512, 3]);
    let inside = ours.labels.labels.iter().filter(|&&l| l == 1).count();
    assert!(inside > 10_000, "{inside} liver voxels");
    let differ = ours.labels.labels.iter().zip(theirs.labels.iter()).filter(|(a, b)| (**a != 0) != (**b != 0)).count();
    assert_eq!(differ, 0, "voxels where we and dcmqi disagree");
    // The retired SNOMED RT codes are reported as their SNOMED CT equivalents.
    let (number, code) = &ours.segments[0];
    assert_eq!((*number, code.label.as_str()), (1, "Liver"));
    assert_eq!((code.kind.value.as_str(), code.kind.scheme.as_str()), ("10200004", "SCT"));
    assert_eq!((code.category.value.as_str(), code.category.scheme.as_str()), ("85756007", "SCT"));
    assert!(ours.notes.iter().any(|n| n.contains("T-62000") && n.contains("10200004")), "{:?}", ours.notes);
    assert_eq!(ours.labels.table[0].name.as_str(), "Liver");
}

#[test]
fn big_and_little_endian_twins_read_the_same() {
    let le = read_seg(&file("liver_1frame")).unwrap();
    let be = read_seg(&file("liver_expb_1frame")).unwrap();
    assert!(le.labels.geometry.same_grid(&be.labels.geometry, 1e-6));
    assert_eq!(le.labels.labels, be.labels.labels);
    assert!(le.labels.labels.iter().any(|&l| l == 1));
}

#[test]
fn every_mapped_snomed_rt_code_is_the_published_one() {
    let published = &oracle().json["srt"];
    for (srt, sct) in srt_mapping() {
        assert_eq!(published[srt], sct, "SNOMED RT {srt}");
    }
}

#[test]
fn our_seg_reads_back_to_the_label_map_it_was_written_from() {
    let dir = oracle().dir.join("round-trip");
    std::fs::create_dir_all(&dir).unwrap();
    // Oblique 23 x 38 frames (874 pixels, not a multiple of 8), slices where a segment
    // is absent (the writer skips them), an empty segment.
    let t = 25f64.to_radians();
    let geometry = Geometry { dims: [23, 38, 6], spacing: [0.7, 0.9, 2.5], origin: [12.0, -40.0, 30.0], direction: [t.cos(), 0.0, t.sin(), 0.0, 1.0, 0.0, -t.sin(), 0.0, t.cos()] };
    let ids = new_identifiers("seg in test", "SEG-IN", "source CT");
    write_series(&Volume::from_i16(geometry, vec![0; geometry.len()]), &dir.join("ct"), &ids).unwrap();
    let source = read_volume(&dir.join("ct"), None, Policy::Refuse).unwrap();
    let labels: Vec<u16> = (0..geometry.len())
        .map(|n| {
            let [i, j, k] = geometry.ijk(n);
            if k == 2 || k == 3 { if (i as i64 - 11).pow(2) + (j as i64 - 19).pow(2) < 40 { 2 } else { 0 } } else if k != 5 && (i * 7 + j) % 5 == 0 { 1 } else { 0 }
        })
        .collect();
    let map = LabelMap::new(geometry, labels, vec![LabelEntry::new(1, "liver", [200, 120, 80, 255]), LabelEntry::new(2, "tumour 1", [230, 200, 60, 255]), LabelEntry::new(3, "ablation zone", [60, 200, 90, 255])]);
    let path = dir.join("labels.seg.dcm");
    write_seg(&path, &map, &SourceSeries { identifiers: &source.identifiers, slice_uids: Some(&source.sop_instance_uids) }, "round trip").unwrap();
    let back = read_seg(&path).unwrap();
    assert!(back.labels.geometry.same_grid(&geometry, 1e-5), "{:?}\n{geometry:?}", back.labels.geometry);
    assert_eq!(back.labels.labels, map.labels);
    let names: Vec<(u16, &str)> = back.labels.table.iter().map(|e| (e.value, e.name.as_str())).collect();
    assert_eq!(names, [(1, "liver"), (2, "tumour 1"), (3, "ablation zone")]);
    // Colours survive the CIELab round trip within one step.
    for (a, b) in back.labels.table.iter().zip(map.table.iter()) {
        assert!(a.colour.iter().zip(b.colour.iter()).all(|(x, y)| (*x as i32 - *y as i32).abs() <= 1), "{:?} vs {:?}", a.colour, b.colour);
    }
    assert_eq!(back.source_series_uid.as_deref(), Some(source.identifiers.series_instance_uid.as_str()));

    // dcmqi's segimage2itkimage reads the same SEG to one NRRD per segment: each on the
    // label map's grid, with exactly that label's voxels.
    let tool = oracle().python.with_file_name("segimage2itkimage");
    let out = dir.join("dcmqi");
    std::fs::create_dir_all(&out).unwrap();
    let o = std::process::Command::new(&tool).arg("--inputDICOM").arg(&path).arg("--outputDirectory").arg(&out).arg("--outputType").arg("nrrd").output().unwrap();
    assert!(o.status.success(), "segimage2itkimage: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    for value in 1..=3u16 {
        let theirs = isotherm_nrrd::read_label_maps(&out.join(format!("{value}.nrrd"))).unwrap().remove(0);
        assert!(theirs.geometry.same_grid(&geometry, 1e-4), "segment {value}: dcmqi {:?}", theirs.geometry);
        let differ = theirs.labels.iter().zip(map.labels.iter()).filter(|(t, o)| (**t != 0) != (**o == value)).count();
        assert_eq!(differ, 0, "segment {value}: voxels where dcmqi and the label map disagree");
    }
}

#[test]
fn fractional_segs_are_thresholded_at_half() {
    let s = read_seg(&oracle().dir.join("fractional.dcm")).unwrap();
    assert_eq!(s.labels.labels.iter().filter(|&&l| l == 1).count(), 100, "the 0.75 square is in, the 0.25 strip is out");
    assert!(s.notes.iter().any(|n| n.contains("FRACTIONAL")), "{:?}", s.notes);
}

#[test]
fn what_a_label_map_cannot_hold_is_refused_by_name() {
    let e = read_seg(&oracle().dir.join("overlap.dcm")).unwrap_err();
    assert!(e.to_string().contains("segments 1 (a) and 2 (b) overlap in 25 voxels"), "{e}");
    let e = read_seg(&file("ct_small")).unwrap_err();
    assert!(e.to_string().contains("not a DICOM Segmentation: CT Image") && e.to_string().contains("CT_small.dcm"), "{e}");
    // Truncated: every cut of the liver SEG is an error, never a panic or a wrong map.
    let bytes = std::fs::read(file("liver")).unwrap();
    let cut = oracle().dir.join("cut.dcm");
    for keep in [200, 1000, bytes.len() / 2, bytes.len() - 100] {
        std::fs::write(&cut, &bytes[..keep]).unwrap();
        assert!(read_seg(&cut).is_err(), "a SEG cut at {keep} of {} bytes read", bytes.len());
    }
}
