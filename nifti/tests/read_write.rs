//! NIfTI: values and affines against files written by nibabel, round trips through
//! our writer, and a corpus of malformed files that must fail with the file named.

use std::path::{Path, PathBuf};

use isotherm_nifti::{self as nifti, WriteData};
use isotherm_sdk::abi::{Geometry, LabelEntry, LabelMap, Volume, VoxelData};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn temp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("isotherm-nifti-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

#[test]
fn reads_what_nibabel_wrote() {
    let expected: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(data_dir().join("expected.json")).unwrap()).unwrap();
    for (name, e) in expected.as_object().unwrap() {
        let path = data_dir().join(name);
        let volume = nifti::read_volume(&path, e["volume"].as_u64().unwrap()).unwrap_or_else(|err| panic!("{err}"));
        let dims: Vec<u64> = e["dims"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap()).collect();
        assert_eq!(volume.geometry.dims.map(|d| d as u64).to_vec(), dims[..3].to_vec(), "{name}");
        let affine = volume.geometry.affine();
        for r in 0..4 {
            for c in 0..4 {
                let want = e["affine"][r][c].as_f64().unwrap();
                assert!((affine[r][c] - want).abs() < 1e-4, "{name}: affine[{r}][{c}] = {} vs nibabel {want}", affine[r][c]);
            }
        }
        let values = volume.to_f32();
        let want: Vec<f64> = e["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(values.len(), want.len(), "{name}");
        for (i, (a, b)) in values.iter().zip(&want).enumerate() {
            assert!((*a as f64 - b).abs() <= 1e-4 * b.abs().max(1.0), "{name}: voxel {i}: {a} vs nibabel {b}");
        }
    }
}

#[test]
fn sform_wins_over_qform_and_types_are_kept() {
    let v = nifti::read_volume(&data_dir().join("n1_i16_sform_oblique.nii.gz"), 0).unwrap();
    assert!(matches!(v.data, VoxelData::I16(_)), "i16 CT stays i16");
    assert!((v.geometry.spacing[2] - 2.5).abs() < 1e-5);
    let scaled = nifti::read_volume(&data_dir().join("n1_u8_scaled.nii.gz"), 0).unwrap();
    assert!(matches!(scaled.data, VoxelData::F32(_)), "scaled data becomes f32");
    let h = nifti::read_header(&data_dir().join("n2_f64.nii.gz")).unwrap();
    assert_eq!(h.version, nifti::Version::Nifti2);
    assert!(!nifti::read_header(&data_dir().join("pair_i32_be.hdr")).unwrap().little_endian);
}

#[test]
fn a_pair_reads_the_same_from_either_file() {
    // nibabel and ITK accept the .img of a .hdr/.img pair as well as its .hdr.
    let by_header = nifti::read_volume(&data_dir().join("pair_i32_be.hdr"), 0).unwrap();
    let by_image = nifti::read_volume(&data_dir().join("pair_i32_be.img"), 0).unwrap();
    assert_eq!(by_header, by_image);
    assert!(!nifti::read_header(&data_dir().join("pair_i32_be.img")).unwrap().little_endian);
    // An .img whose header is missing says so, naming both.
    let lonely = temp("lonely_image.img");
    std::fs::copy(data_dir().join("pair_i32_be.img"), &lonely).unwrap();
    let e = nifti::read_volume(&lonely, 0).unwrap_err().to_string();
    assert!(e.contains("lonely_image.img") && e.contains("lonely_image.hdr is missing"), "{e}");
}

fn oblique_geometry() -> Geometry {
    let (c, s) = (25f64.to_radians().cos(), 25f64.to_radians().sin());
    // A rotation about z with the y axis flipped (determinant -1), as in LPS-style data.
    Geometry { dims: [9, 7, 5], spacing: [0.8, 0.75, 2.5], origin: [-120.5, 33.25, -60.0], direction: [c, s, 0.0, s, -c, 0.0, 0.0, 0.0, 1.0] }
}

#[test]
fn round_trips_keep_values_and_geometry() {
    let g = oblique_geometry();
    let values: Vec<i16> = (0..g.len()).map(|i| (i as i32 * 37 % 3000 - 1000) as i16).collect();
    for name in ["rt.nii", "rt.nii.gz"] {
        let path = temp(name);
        nifti::write_volume(&path, &Volume::from_i16(g, values.clone())).unwrap();
        let back = nifti::read_volume(&path, 0).unwrap();
        assert!(back.geometry.same_grid(&g, 1e-4), "{name}: {:?} vs {:?}", back.geometry, g);
        assert_eq!(back.data, VoxelData::I16(values.clone().into()));
        // The qform we write encodes the same orientation as the sform.
        let mut h = nifti::read_header(&path).unwrap();
        h.sform_code = 0;
        let q = h.geometry().unwrap();
        assert!(q.same_grid(&g, 1e-3), "qform {:?} vs {:?}", q, g);
    }
    let floats: Vec<f32> = (0..g.len()).map(|i| i as f32 * 0.25 - 3.0).collect();
    let path = temp("rt_f32.nii.gz");
    nifti::write_volume(&path, &Volume::from_f32(g, floats.clone())).unwrap();
    assert_eq!(nifti::read_volume(&path, 0).unwrap().to_f32(), floats);
    let labels: Vec<u16> = (0..g.len()).map(|i| (i % 4) as u16 * 300).collect();
    let table = vec![LabelEntry::new(300, "liver", [200, 120, 90, 255]), LabelEntry::new(600, "tumour", [240, 200, 40, 255])];
    let path = temp("rt_labels.nii.gz");
    nifti::write_label_map(&path, &LabelMap::new(g, labels.clone(), table.clone())).unwrap();
    let back = nifti::read_label_map(&path).unwrap();
    assert_eq!(back.labels.to_vec(), labels);
    assert_eq!(back.table.to_vec(), table, "label table round-trips through .labels.toml");
}

/// A valid little-endian NIfTI-1 file (header + data) to corrupt.
fn valid_bytes() -> Vec<u8> {
    let g = Geometry::axis_aligned([4, 3, 2], [1.0, 1.0, 2.0], [0.0; 3]);
    let path = temp("valid.nii");
    let data: Vec<i16> = (0..24).collect();
    nifti::write(&path, &g, WriteData::I16(&data)).unwrap();
    std::fs::read(&path).unwrap()
}

fn expect_error(name: &str, bytes: &[u8], needle: &str) {
    let path = temp(name);
    std::fs::write(&path, bytes).unwrap();
    let err = nifti::read_volume(&path, 0).expect_err(name);
    let text = err.to_string();
    assert!(text.starts_with(&path.display().to_string()), "{name}: error must name the file: {text}");
    assert!(text.contains(needle), "{name}: expected '{needle}' in: {text}");
}

#[test]
fn malformed_files_fail_cleanly_with_the_file_named() {
    let ok = valid_bytes();
    let patch = |at: usize, with: &[u8]| {
        let mut b = ok.clone();
        b[at..at + with.len()].copy_from_slice(with);
        b
    };
    expect_error("empty.nii", &[], "too short");
    expect_error("short_header.nii", &ok[..200], "truncated header: 200 of 348 bytes");
    expect_error("text_file.nii", b"hello, this is not an image at all", "not a NIfTI file");
    expect_error("cut_header.nii", &patch(0, &348i32.to_le_bytes())[..300], "truncated header");
    expect_error("bad_sizeof.nii", &patch(0, &1234i32.to_le_bytes()), "sizeof_hdr is 1234");
    expect_error("bad_magic.nii", &patch(344, b"xyz\0"), "bad magic");
    expect_error("negative_dim.nii", &patch(42, &(-5i16).to_le_bytes()), "dim[1] is -5");
    expect_error("zero_ndim.nii", &patch(40, &0i16.to_le_bytes()), "dim[0] is 0");
    // Claims 32767^3 voxels: refused from the header, nothing allocated.
    let mut huge = ok.clone();
    for a in 0..3 {
        huge[42 + 2 * a..44 + 2 * a].copy_from_slice(&32767i16.to_le_bytes());
    }
    expect_error("huge.nii", &huge, "absurd size");
    // Plausible size but far more than the file holds: "truncated", no big allocation.
    let mut big = ok.clone();
    for a in 0..3 {
        big[42 + 2 * a..44 + 2 * a].copy_from_slice(&1000i16.to_le_bytes());
    }
    expect_error("claims_more.nii", &big, "truncated");
    expect_error("truncated_data.nii", &ok[..ok.len() - 10], "truncated: expected 48 bytes");
    // The int16 CT path reads straight into its buffer: a short file still says so.
    let i16_file = std::fs::read(data_dir().join("n1_i16_be.nii")).unwrap();
    expect_error("truncated_i16.nii", &i16_file[..i16_file.len() - 7], "truncated: expected 240 bytes");
    expect_error("vox_offset_inside.nii", &patch(108, &100f32.to_le_bytes()), "points inside the 348-byte header");
    expect_error("vox_offset_beyond.nii", &patch(108, &1.0e6f32.to_le_bytes()), "truncated");
    expect_error("vox_offset_nan.nii", &patch(108, &f32::NAN.to_le_bytes()), "vox_offset");
    expect_error("bad_datatype.nii", &patch(70, &128i16.to_le_bytes()), "unsupported datatype code 128");
    expect_error("nan_sform.nii", &patch(280, &f32::NAN.to_le_bytes()), "singular or not finite");
    expect_error("singular_sform.nii", &patch(280, &[0u8; 48]), "singular or not finite");
    let mut no_geometry = patch(252, &[0u8; 4]); // qform_code = sform_code = 0
    no_geometry[80..84].copy_from_slice(&0f32.to_le_bytes()); // pixdim[1] = 0
    expect_error("zero_pixdim.nii", &no_geometry, "non-positive spacing");
    expect_error("inf_slope.nii", &patch(112, &f32::INFINITY.to_le_bytes()), "scl_slope");
    // A gzip stream that breaks off, and one with garbage inside.
    let gz = {
        let p = temp("ok.nii.gz");
        let g = Geometry::axis_aligned([16, 16, 16], [1.0; 3], [0.0; 3]);
        let data: Vec<f32> = (0..4096).map(|i| (i as f32).sin()).collect();
        nifti::write(&p, &g, WriteData::F32(&data)).unwrap();
        std::fs::read(&p).unwrap()
    };
    expect_error("cut.nii.gz", &gz[..gz.len() / 2], "");
    let mut garbage = gz.clone();
    for b in &mut garbage[30..200] {
        *b ^= 0x5a;
    }
    expect_error("garbage.nii.gz", &garbage, "");
    expect_error("not_gzip_inside.nii.gz", &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3], "");
    // A .hdr without its .img.
    let hdr = patch(344, b"ni1\0");
    let p = temp("lonely.hdr");
    std::fs::write(&p, &hdr).unwrap();
    assert!(nifti::read_volume(&p, 0).unwrap_err().to_string().contains("lonely.img is missing"));
    // A label map with fractional values is not a label map.
    let p = temp("fractional.nii");
    let g = Geometry::axis_aligned([2, 2, 1], [1.0; 3], [0.0; 3]);
    nifti::write(&p, &g, WriteData::F32(&[0.0, 1.0, 1.5, 2.0])).unwrap();
    assert!(nifti::read_label_map(&p).unwrap_err().to_string().contains("is 1.5"));
    // Asking for a volume the file does not have.
    assert!(nifti::read_volume(&data_dir().join("n1_4d_u16.nii.gz"), 3).unwrap_err().to_string().contains("volume 3 requested, the file has 3"));
    // A missing file.
    assert!(nifti::read_volume(&temp("nope.nii"), 0).unwrap_err().to_string().contains("cannot open"));
}
