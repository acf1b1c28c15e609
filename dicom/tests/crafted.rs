//! Series built the way scanners and exports break them: each case read back checks
//! geometry against what was written, or the exact refusal.

use std::path::{Path, PathBuf};

use isotherm_dicom::write::{CtSlice, new_identifiers, uid, write_series, write_slice};
use isotherm_dicom::{Identifiers, Policy, read_volume, series};
use isotherm_sdk::abi::{Geometry, Volume};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("isotherm-dicom-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A plane at `position` (LPS) with given orientation, values from `f(world LPS)`.
#[allow(clippy::too_many_arguments)]
fn slice_file(dir: &Path, name: &str, ids: &Identifiers, position: [f64; 3], orientation: [f64; 6], spacing: [f64; 2], size: [u16; 2], number: u32, f: &dyn Fn([f64; 3]) -> f64, image_type: &str) -> PathBuf {
    let (cols, rows) = (size[0] as usize, size[1] as usize);
    let mut px = Vec::with_capacity(cols * rows);
    for j in 0..rows {
        for i in 0..cols {
            let p: [f64; 3] = std::array::from_fn(|a| position[a] + i as f64 * spacing[1] * orientation[a] + j as f64 * spacing[0] * orientation[3 + a]);
            px.push(f(p).round() as i16);
        }
    }
    let path = dir.join(name);
    let s = CtSlice {
        position,
        orientation,
        pixel_spacing: spacing,
        slice_thickness: 2.0,
        rows: size[1],
        columns: size[0],
        pixels: &px,
        instance_number: number,
        sop_instance_uid: uid(&format!("{}/{name}/{number}", ids.series_instance_uid)),
        image_type,
        gantry_tilt: None,
    };
    write_slice(&path, ids, &s).unwrap();
    path
}

const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

fn ramp(p: [f64; 3]) -> f64 {
    3.0 * p[0] - 2.0 * p[1] + 5.0 * p[2] + 100.0
}

/// A regular axial series at z = z0 + k * dz.
fn axial_series(dir: &Path, ids: &Identifiers, depths: &[f64]) -> Vec<PathBuf> {
    depths.iter().enumerate().map(|(k, &z)| slice_file(dir, &format!("im{k:03}.dcm"), ids, [-20.0, -15.0, z], AXIAL, [1.5, 1.25], [13, 11], k as u32 + 1, &ramp, "ORIGINAL\\PRIMARY\\AXIAL")).collect()
}

#[test]
fn an_oblique_volume_round_trips_through_a_series_voxel_for_voxel() {
    let dir = scratch("roundtrip");
    // 30 degrees about RAS x, then 10 about z; anisotropic spacing; an odd 13 x 7 plane.
    let (a, b) = (30f64.to_radians(), 10f64.to_radians());
    let rx = [[1.0, 0.0, 0.0], [0.0, a.cos(), -a.sin()], [0.0, a.sin(), a.cos()]];
    let rz = [[b.cos(), -b.sin(), 0.0], [b.sin(), b.cos(), 0.0], [0.0, 0.0, 1.0]];
    let m: [[f64; 3]; 3] = std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| rz[i][k] * rx[k][j]).sum()));
    let geometry = Geometry { dims: [13, 7, 9], spacing: [0.7, 0.9, 2.5], origin: [10.0, -30.0, 42.0], direction: [m[0][0], m[0][1], m[0][2], m[1][0], m[1][1], m[1][2], m[2][0], m[2][1], m[2][2]] };
    let data: Vec<i16> = (0..geometry.len()).map(|n| (n as i32 * 37 % 3000 - 1024) as i16).collect();
    let volume = Volume::from_i16(geometry, data);
    let ids = new_identifiers("roundtrip", "PHANTOM 1", "oblique");
    write_series(&volume, &dir, &ids).unwrap();
    let back = read_volume(&dir, None, Policy::Refuse).unwrap();
    let (g, h) = (&volume.geometry, &back.volume.geometry);
    assert_eq!(g.dims, h.dims);
    for (x, y) in g.affine().iter().flatten().zip(h.affine().iter().flatten()) {
        assert!((x - y).abs() < 1e-4, "{:?} vs {:?}", g.affine(), h.affine());
    }
    assert_eq!(back.volume.data, volume.data);
    assert_eq!(back.identifiers.patient_id, "PHANTOM 1");
    assert_eq!(back.identifiers.series_instance_uid, ids.series_instance_uid);
    assert!(back.notes.is_empty(), "{:?}", back.notes);
}

#[test]
fn tilted_unevenly_spaced_slices_resample_to_the_truth_at_every_voxel() {
    let dir = scratch("tilt");
    let ids = new_identifiers("tilt", "P", "tilted");
    // Gantry tilt 20 degrees about x: slices tilted, stacked along z (LPS).
    let t = 20f64.to_radians();
    let orientation = [1.0, 0.0, 0.0, 0.0, t.cos(), -t.sin()];
    let zs = [0.0, 3.0, 6.0, 9.0, 10.5, 15.5, 20.5, 25.5];
    for (k, &z) in zs.iter().enumerate() {
        slice_file(&dir, &format!("s{k}.dcm"), &ids, [-20.0, -25.0, z], orientation, [1.0, 1.0], [24, 30], k as u32 + 1, &ramp, "ORIGINAL\\PRIMARY\\AXIAL");
    }
    let refused = read_volume(&dir, None, Policy::Refuse).unwrap_err();
    assert!(refused.problem.contains("gantry tilt 20.0 degrees"), "{refused}");
    let v = read_volume(&dir, None, Policy::Resample).unwrap();
    let g = &v.volume.geometry;
    let values = v.volume.to_f32();
    let pad = values.iter().copied().fold(f32::INFINITY, f32::min);
    let mut checked = 0;
    for (n, &value) in values.iter().enumerate() {
        if value == pad {
            continue;
        }
        let ras = g.index_to_world(g.ijk(n).map(|x| x as f64));
        let lps = isotherm_dicom::lps_to_ras(ras);
        // Linear interpolation of a linear function is exact, up to the i16 rounding.
        assert!((value as f64 - ramp(lps)).abs() <= 1.0, "voxel {:?}: {value} vs {}", g.ijk(n), ramp(lps));
        checked += 1;
    }
    assert!(checked > values.len() / 3, "{checked} of {}", values.len());
}

#[test]
fn duplicates_localizers_and_other_series_are_sorted_out() {
    let dir = scratch("mixed");
    let ids = new_identifiers("mixed", "P", "axial");
    let files = axial_series(&dir, &ids, &[0.0, 2.0, 4.0, 6.0]);
    std::fs::copy(&files[2], dir.join("copy-of-im002.dcm")).unwrap();
    // A scout in the same series (different orientation), and a second series.
    slice_file(&dir, "scout.dcm", &ids, [-20.0, 0.0, 30.0], [1.0, 0.0, 0.0, 0.0, 0.0, -1.0], [1.0, 1.0], [13, 11], 99, &ramp, "ORIGINAL\\PRIMARY\\LOCALIZER");
    let other = new_identifiers("other", "P", "second");
    let other_dir = dir.join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    axial_series(&other_dir, &other, &[0.0, 5.0]);
    std::fs::write(dir.join("README.txt"), "not dicom").unwrap();

    let found = series::find(std::slice::from_ref(&dir)).unwrap();
    assert_eq!(found.series.len(), 2, "{}", series::listing(&found));
    assert!(found.skipped.iter().any(|(p, w)| p.ends_with("scout.dcm") && w.contains("localizer")), "{:?}", found.skipped);
    assert!(found.skipped.iter().any(|(p, w)| p.ends_with("README.txt") && w.contains("not a DICOM file")), "{:?}", found.skipped);
    let listing = series::listing(&found);
    assert!(listing.contains("1. CT series 1 \"axial\": 13 x 11 x 4"), "{listing}");

    let e = read_volume(&dir, None, Policy::Resample).unwrap_err();
    assert!(e.problem.contains("2 series here") && e.problem.contains("\"second\""), "{e}");
    let v = read_volume(&dir, Some("1"), Policy::Resample).unwrap();
    assert_eq!(v.volume.geometry.dims, [13, 11, 4]);
    assert!(v.notes.iter().any(|n| n.contains("duplicate dropped") && n.contains("copy-of-im002.dcm")), "{:?}", v.notes);
    let by_uid = read_volume(&dir, Some(&other.series_instance_uid), Policy::Resample).unwrap();
    assert_eq!(by_uid.volume.geometry.dims, [13, 11, 2]);
    assert_eq!(by_uid.volume.geometry.spacing[2], 5.0);
    let (p, sel) = isotherm_dicom::split_selector(&format!("{}#2", dir.display()));
    assert_eq!((p, sel.as_deref()), (dir.clone(), Some("2")));
}

#[test]
fn missing_slices_are_refused_or_split_never_bridged() {
    let dir = scratch("missing");
    let ids = new_identifiers("missing", "P", "gap");
    axial_series(&dir, &ids, &[0.0, 2.0, 4.0, 6.0, 12.0, 14.0]);
    let e = read_volume(&dir, None, Policy::Resample).unwrap_err();
    assert!(e.problem.contains("2 slice(s) missing between") && e.problem.contains("im003.dcm") && e.problem.contains("im004.dcm") && e.problem.contains("6.00 mm gap"), "{e}");
    let v = read_volume(&dir, None, Policy::Split).unwrap();
    assert_eq!(v.volume.geometry.dims[2], 4);
    assert!(v.notes.iter().any(|n| n.contains("not read") && n.contains("im004.dcm..")), "{:?}", v.notes);
    // The uneven (non-multiple) case resamples: 2 mm slices, 7 mm gap bridged linearly.
    let dir = scratch("uneven");
    axial_series(&dir, &ids, &[0.0, 2.0, 4.0, 11.0, 13.0]);
    let v = read_volume(&dir, None, Policy::Resample).unwrap();
    assert_eq!(v.volume.geometry.dims[2], 7);
    let g = &v.volume.geometry;
    let values = v.volume.to_f32();
    for (n, &value) in values.iter().enumerate() {
        let lps = isotherm_dicom::lps_to_ras(g.index_to_world(g.ijk(n).map(|x| x as f64)));
        assert!((value as f64 - ramp(lps)).abs() <= 1.0, "{:?}", g.ijk(n));
    }
}

#[test]
fn broken_files_and_impossible_stacks_get_errors_naming_the_file() {
    let dir = scratch("broken");
    let ids = new_identifiers("broken", "P", "b");
    let files = axial_series(&dir, &ids, &[0.0, 2.0, 4.0]);
    // Truncated, named explicitly.
    let bytes = std::fs::read(&files[1]).unwrap();
    let cut = dir.join("cut.dcm");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = read_volume(&cut, None, Policy::Resample).unwrap_err();
    assert_eq!(e.path, cut);
    assert!(e.problem.contains("Pixel Data") || e.problem.contains("unreadable"), "{e}");
    // Not DICOM at all.
    let junk = dir.join("junk.dcm");
    std::fs::write(&junk, vec![7u8; 500]).unwrap();
    let e = read_volume(&junk, None, Policy::Resample).unwrap_err();
    assert!(e.problem.contains("not a DICOM file"), "{e}");
    // A folder of nothing readable.
    let empty = scratch("nothing");
    std::fs::write(empty.join("a.txt"), "x").unwrap();
    let e = read_volume(&empty, None, Policy::Resample).unwrap_err();
    assert!(e.problem.contains("no image series found (1 file(s) skipped"), "{e}");
    // Two slices at one position (two phases in one series).
    let phases = scratch("phases");
    axial_series(&phases, &ids, &[0.0, 2.0]);
    slice_file(&phases, "phase2.dcm", &ids, [-20.0, -15.0, 2.0], AXIAL, [1.5, 1.25], [13, 11], 7, &ramp, "ORIGINAL\\PRIMARY\\AXIAL");
    let e = read_volume(&phases, None, Policy::Resample).unwrap_err();
    assert!(e.problem.contains("same position along the slice normal"), "{e}");
    // No geometry: Image Position removed.
    let nogeo = scratch("nogeo");
    let f = axial_series(&nogeo, &ids, &[0.0, 2.0]);
    let mut obj = dicom_object::open_file(&f[0]).unwrap();
    obj.remove_element(dicom_dictionary_std::tags::IMAGE_POSITION_PATIENT);
    obj.write_to_file(&f[0]).unwrap();
    let e = read_volume(&nogeo, None, Policy::Resample).unwrap_err();
    assert_eq!(e.path, f[0]);
    assert!(e.problem.contains("no Image Position (Patient)"), "{e}");
}
