//! 3D Slicer's own files (shipped in slicerio 1.4.0, from PyPI) read as pynrrd 1.1.3 and
//! slicerio read them, and our files read back by both. The oracles are installed
//! pinned by scripts/dicom-oracle.sh.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use isotherm_sdk::abi::{Geometry, LabelEntry, LabelMap, Volume};

fn python() -> &'static str {
    static PY: OnceLock<String> = OnceLock::new();
    PY.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let o = Command::new("bash").arg(root.join("scripts/dicom-oracle.sh")).arg("--python").output().expect("bash");
        assert!(o.status.success(), "scripts/dicom-oracle.sh: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap().trim().to_string()
    })
}

fn oracle(args: &[&Path]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nrrd_oracle.py");
    let o = Command::new(python()).arg(script).args(args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

fn read_with_pynrrd(file: &Path) -> serde_json::Value {
    let out = std::env::temp_dir().join(format!("isotherm-nrrd-{}-{}.json", std::process::id(), file.file_name().unwrap().to_string_lossy()));
    oracle(&[file, &out]);
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

fn slicer_data() -> PathBuf {
    PathBuf::from(oracle(&[Path::new("--data")]))
}

/// Geometry and sample voxels against pynrrd's (LPS there, RAS here).
fn check_geometry(g: &Geometry, theirs: &serde_json::Value) {
    let dirs: Vec<[f64; 3]> = theirs["space_directions"].as_array().unwrap().iter().filter(|d| !d.is_null()).map(|d| std::array::from_fn(|a| d[a].as_f64().unwrap())).collect();
    let m = g.linear();
    for (c, d) in dirs.iter().enumerate() {
        let ours = [-m[0][c], -m[1][c], m[2][c]];
        assert!((0..3).all(|a| (ours[a] - d[a]).abs() < 1e-9), "axis {c}: {ours:?} vs {d:?}");
    }
    let o = &theirs["space_origin"];
    let ours = [-g.origin[0], -g.origin[1], g.origin[2]];
    assert!((0..3).all(|a| (ours[a] - o[a].as_f64().unwrap()).abs() < 1e-9), "origin {ours:?} vs {o}");
}

#[test]
fn slicers_ct_reads_as_pynrrd_reads_it() {
    let file = slicer_data().join("CTChest4.nrrd");
    let v = isotherm_nrrd::read_volume(&file).unwrap();
    let theirs = read_with_pynrrd(&file);
    assert_eq!(v.geometry.dims, [128, 128, 34]);
    check_geometry(&v.geometry, &theirs);
    assert_eq!(v.data.type_name(), "i16");
    let values = v.to_f32();
    let sum: f64 = values.iter().map(|&x| x as f64).sum();
    assert_eq!(sum, theirs["sum"].as_f64().unwrap());
    for p in theirs["voxels"].as_array().unwrap() {
        let ijk: [usize; 3] = std::array::from_fn(|a| p[a].as_u64().unwrap() as usize);
        assert_eq!(values[v.geometry.index(ijk[0], ijk[1], ijk[2])] as f64, p[3].as_f64().unwrap(), "{ijk:?}");
    }
}

#[test]
fn slicer_segmentations_read_with_their_names_and_layers() {
    for (file, layers) in [("Segmentation.seg.nrrd", 1), ("SegmentationOverlapping.seg.nrrd", 2)] {
        let path = slicer_data().join(file);
        let maps = isotherm_nrrd::read_label_maps(&path).unwrap();
        let theirs = read_with_pynrrd(&path);
        assert_eq!(maps.len(), layers, "{file}");
        check_geometry(&maps[0].geometry, &theirs);
        for (layer, map) in maps.iter().enumerate() {
            // Voxel counts per value equal pynrrd's, layer by layer.
            let counts = &theirs["counts"][layer];
            for (value, count) in counts.as_object().unwrap() {
                let v: u16 = value.parse().unwrap();
                assert_eq!(map.labels.iter().filter(|&&l| l == v).count() as u64, count.as_u64().unwrap(), "{file} layer {layer} value {v}");
            }
            // Names and values as slicerio lists them for this layer.
            let expected: Vec<(String, u16)> = theirs["segments"].as_array().unwrap().iter().filter(|s| s["layer"] == layer).map(|s| (s["name"].as_str().unwrap().to_string(), s["labelValue"].as_u64().unwrap() as u16)).collect();
            let ours: Vec<(String, u16)> = map.table.iter().map(|e| (e.name.to_string(), e.value)).collect();
            assert_eq!(ours, expected, "{file} layer {layer}");
        }
        // Their terminology (category and type codes), segment by segment, as slicerio reads it.
        let terms = isotherm_nrrd::read_terminology(&path).unwrap();
        let segments = theirs["segments"].as_array().unwrap();
        assert_eq!(terms.len(), segments.len(), "{file}");
        for ((_, value, t), s) in terms.iter().zip(segments) {
            assert_eq!(*value as u64, s["labelValue"].as_u64().unwrap());
            assert_eq!([t.category.scheme.as_str(), t.category.value.as_str(), t.category.meaning.as_str()], [0, 1, 2].map(|k| s["terminology"]["category"][k].as_str().unwrap()), "{file} {}", t.label);
            assert_eq!([t.kind.scheme.as_str(), t.kind.value.as_str(), t.kind.meaning.as_str()], [0, 1, 2].map(|k| s["terminology"]["type"][k].as_str().unwrap()), "{file} {}", t.label);
        }
    }
}

#[test]
fn our_files_read_back_in_pynrrd_and_slicerio() {
    let dir = std::env::temp_dir().join(format!("isotherm-nrrd-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let t = 25f64.to_radians();
    let g = Geometry { dims: [13, 7, 5], spacing: [0.8, 1.1, 2.5], origin: [5.0, -20.0, 41.0], direction: [t.cos(), -t.sin(), 0.0, t.sin(), t.cos(), 0.0, 0.0, 0.0, 1.0] };
    let ct = Volume::from_i16(g, (0..g.len()).map(|n| (n as i32 * 7 % 2000 - 1000) as i16).collect());
    let ct_path = dir.join("ct.nrrd");
    isotherm_nrrd::write_volume(&ct_path, &ct).unwrap();
    let theirs = read_with_pynrrd(&ct_path);
    check_geometry(&g, &theirs);
    for p in theirs["voxels"].as_array().unwrap() {
        let ijk: [usize; 3] = std::array::from_fn(|a| p[a].as_u64().unwrap() as usize);
        assert_eq!(ct.data.get_f32(g.index(ijk[0], ijk[1], ijk[2])) as f64, p[3].as_f64().unwrap());
    }
    assert_eq!(isotherm_nrrd::read_volume(&ct_path).unwrap(), ct);

    let labels: Vec<u16> = (0..g.len()).map(|n| (n % 5 == 0) as u16 + (n % 7 == 0) as u16 * 2).collect();
    let map = LabelMap::new(g, labels, vec![LabelEntry::new(1, "liver", [200, 120, 80, 255]), LabelEntry::new(2, "tumour 1", [230, 200, 60, 255]), LabelEntry::new(3, "tumour 2", [90, 200, 60, 255])]);
    let seg_path = dir.join("labels.seg.nrrd");
    isotherm_nrrd::write_segmentation(&seg_path, &map).unwrap();
    let theirs = read_with_pynrrd(&seg_path);
    let names: Vec<&str> = theirs["segments"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["liver", "tumour 1", "tumour 2"]);
    // slicerio reads the terminology: the SNOMED CT codes of our DICOM SEGs.
    let terms: Vec<(&str, &str, Option<&str>)> = theirs["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["terminology"]["category"][1].as_str().unwrap(), s["terminology"]["type"][1].as_str().unwrap(), s["terminology"]["anatomicRegion"][1].as_str()))
        .collect();
    assert_eq!(terms, [("123037004", "10200004", None), ("49755003", "108369006", Some("10200004")), ("49755003", "108369006", Some("10200004"))]);
    let ours: Vec<(String, String, Option<String>)> = isotherm_nrrd::read_terminology(&seg_path).unwrap().into_iter().map(|(_, _, t)| (t.category.value, t.kind.value, t.region.map(|r| r.value))).collect();
    let theirs_owned: Vec<(String, String, Option<String>)> = terms.iter().map(|(c, k, r)| (c.to_string(), k.to_string(), r.map(str::to_string))).collect();
    assert_eq!(ours, theirs_owned, "our reading of our tags is slicerio's");
    for (value, count) in theirs["counts"][0].as_object().unwrap() {
        let v: u16 = value.parse().unwrap();
        assert_eq!(map.labels.iter().filter(|&&l| l == v).count() as u64, count.as_u64().unwrap());
    }
    let back = isotherm_nrrd::read_label_maps(&seg_path).unwrap();
    assert_eq!(back[0].labels, map.labels);
    assert_eq!(back[0].table.iter().map(|e| (e.value, e.name.to_string(), e.colour)).collect::<Vec<_>>(), map.table.iter().map(|e| (e.value, e.name.to_string(), e.colour)).collect::<Vec<_>>());
}

#[test]
fn broken_headers_are_refused_naming_the_file_and_the_problem() {
    let dir = std::env::temp_dir().join(format!("isotherm-nrrd-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let head = "NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 4 4 4\nspace directions: (1,0,0) (0,1,0) (0,0,1)\nencoding: raw\n\n";
    let cases = [
        ("not.nrrd", "hello".to_string(), "not a NRRD file"),
        ("space.nrrd", head.replace("left-posterior-superior", "scanner-xyz"), "space \"scanner-xyz\""),
        ("short.nrrd", format!("{head}abc"), "truncated: 3 of 128 data bytes"),
        ("huge.nrrd", head.replace("sizes: 4 4 4", "sizes: 4096 4096 4096"), "exceed"),
        ("type.nrrd", head.replace("type: short", "type: block"), "type \"block\""),
    ];
    for (name, text, expect) in cases {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        let e = isotherm_nrrd::read_volume(&p).unwrap_err();
        assert_eq!(e.path, p);
        assert!(e.problem.contains(expect), "{name}: {e}");
    }
}
