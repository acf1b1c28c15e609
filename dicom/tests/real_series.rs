//! Real series from scanners: the IBSI lung CT (its NIfTI twin is the truth, voxel for
//! voxel) and a GE head CT with gantry tilt and uneven spacing.

use std::path::{Path, PathBuf};

use isotherm_dicom::{Policy, read_volume, series};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

#[test]
fn ibsi_lung_ct_equals_its_nifti_twin_voxel_for_voxel() {
    let dicom = read_volume(&data("ibsi-ct-dicom"), None, Policy::Resample).unwrap();
    let nifti_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/radiomics/tests/data/ibsi-ct/image.nii.gz");
    let nifti = isotherm_nifti::read_volume(&nifti_path, 0).unwrap();
    let (a, b) = (&dicom.volume.geometry, &nifti.geometry);
    println!("dicom {a:?}\nnifti {b:?}\nnotes {:?}", dicom.notes);
    assert_eq!(a.dims, b.dims);
    let (aa, ba) = (a.affine(), b.affine());
    for r in 0..3 {
        for c in 0..4 {
            assert!((aa[r][c] - ba[r][c]).abs() < 1e-4, "affine [{r}][{c}]: {} vs {}", aa[r][c], ba[r][c]);
        }
    }
    let (va, vb) = (dicom.volume.to_f32(), nifti.to_f32());
    let differ = va.iter().zip(&vb).filter(|(x, y)| x != y).count();
    assert_eq!(differ, 0, "{differ} of {} voxels differ", va.len());
    assert_eq!(dicom.volume.data.type_name(), "i16");
    assert_eq!(dicom.files.len(), 60);
    // Sorted along +z (feet to head), the reverse of the file names.
    assert!(dicom.files[0].ends_with("DCM_IMG_00059.dcm"), "{:?}", dicom.files[0]);
    assert_eq!(dicom.identifiers.modality, "CT");
    assert!(!dicom.identifiers.series_instance_uid.is_empty());
}

#[test]
fn ge_tilted_uneven_series_is_measured_and_each_policy_applied() {
    let found = series::find(&[data("ge-tilted-ct")]).unwrap();
    assert_eq!(found.series.len(), 1);
    let plan = isotherm_dicom::stack::plan(&found.series[0]).unwrap();
    let tilt = plan.tilt_degrees.expect("tilt detected");
    assert!((tilt - 18.5).abs() < 0.05, "tilt {tilt}");
    assert_eq!(plan.uneven.len(), 14, "{:?}", plan.uneven);
    assert!(plan.missing.is_empty(), "{:?}", plan.missing);
    assert!(plan.uneven.iter().any(|u| u.contains("1.08 mm between") && u.contains("14.dcm") && u.contains("15.dcm")), "{:?}", plan.uneven);
    assert!((plan.spacing - 4.0019).abs() < 1e-3, "median gap {}", plan.spacing);

    // Refuse: one message naming the tilt and the gaps.
    let refused = read_volume(&data("ge-tilted-ct"), None, Policy::Refuse).unwrap_err();
    assert!(refused.problem.contains("gantry tilt 18.5 degrees") && refused.problem.contains("uneven slice spacing"), "{refused}");

    // Resample: an orthogonal grid at 4 mm covering 01..28; the first plane is 01.dcm itself.
    let v = read_volume(&data("ge-tilted-ct"), None, Policy::Resample).unwrap();
    let g = &v.volume.geometry;
    assert!(v.notes.iter().any(|n| n.contains("resampled onto a regular orthogonal grid")), "{:?}", v.notes);
    assert!(v.notes.iter().any(|n| n.contains("gantry tilt of 18.5 degrees")), "{:?}", v.notes);
    let depth = plan.depth[27] - plan.depth[0];
    assert_eq!(g.dims[2] as usize, (depth / plan.spacing).floor() as usize + 1);
    assert_eq!(g.dims[0], 512);
    // The tilt slides slices 40.8 mm along the column direction: the grid grows to hold them.
    let slide = plan.offset[27][1].abs();
    assert!((slide - 48.2).abs() < 1.0, "slide {slide}");
    assert_eq!(g.dims[1], 512 + (slide / g.spacing[1]).ceil() as u32);
    let m = g.linear();
    let cols: Vec<[f64; 3]> = (0..3).map(|c| [m[0][c], m[1][c], m[2][c]]).collect();
    for a in 0..3 {
        for b in a + 1..3 {
            let d: f64 = (0..3).map(|r| cols[a][r] * cols[b][r]).sum();
            assert!(d.abs() < 1e-9, "axes {a},{b} not orthogonal");
        }
    }
    // Every voxel of file 01 appears unchanged at its own world position.
    let raw = isotherm_dicom::pixels::read_slices(&[&found.series[0].instances[plan.order[0]]]).unwrap();
    let first: Vec<f32> = raw[0].iter_f32().collect();
    let vol = v.volume.to_f32();
    let p0 = isotherm_dicom::lps_to_ras(found.series[0].instances[plan.order[0]].position.unwrap());
    let ijk = g.world_to_index(p0);
    let (oi, oj) = (ijk[0].round() as usize, ijk[1].round() as usize);
    assert!(ijk[2].abs() < 1e-6 && (ijk[0] - oi as f64).abs() < 1e-6 && (ijk[1] - oj as f64).abs() < 1e-6, "{ijk:?}");
    for j in (0..512).step_by(7) {
        for i in (0..512).step_by(5) {
            assert_eq!(vol[g.index(oi + i, oj + j, 0)], first[i + 512 * j], "pixel ({i}, {j})");
        }
    }

    // Split: the longest even run (13 gaps of 7 mm: 15..28 or 14 slices of 4 mm: 01..14).
    let split = read_volume(&data("ge-tilted-ct"), None, Policy::Split).unwrap();
    assert_eq!(split.files.len(), 14, "{:?}", split.notes);
    assert!(split.notes.iter().any(|n| n.contains("not read")), "{:?}", split.notes);
}

#[test]
fn ibsi_rtstruct_fills_to_its_nifti_mask_voxel_for_voxel() {
    use isotherm_dicom::rtstruct::{is_rtstruct, read_rtstruct, referenced_series};
    let ct = read_volume(&data("ibsi-ct-dicom"), None, Policy::Resample).unwrap();
    let rs = data("ibsi-ct-rtstruct/DCM_RS_00060.dcm");
    assert!(is_rtstruct(&rs));
    assert_eq!(referenced_series(&rs).as_deref(), Some(ct.identifiers.series_instance_uid.as_str()), "drawn on that CT");
    let read = read_rtstruct(&rs, &ct.volume.geometry, None).unwrap();
    let mask_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/radiomics/tests/data/ibsi-ct/mask.nii.gz");
    let truth = isotherm_nifti::read_label_map(&mask_path).unwrap();
    assert!(truth.geometry.same_grid(&read.labels.geometry, 1e-4));
    let inside = read.labels.labels.iter().filter(|&&l| l == 1).count();
    let differ = read.labels.labels.iter().zip(truth.labels.iter()).filter(|(a, b)| (**a != 0) != (**b != 0)).count();
    assert_eq!((inside, differ), (125_256, 0), "GTV voxels, and voxels where the filled contours and the IBSI mask disagree");
    assert_eq!(read.labels.table[0].name.as_str(), "GTV-1");
    // One ROI by name, and a name the file does not have.
    assert_eq!(read_rtstruct(&rs, &ct.volume.geometry, Some("GTV-1")).unwrap().labels.labels, read.labels.labels);
    let e = read_rtstruct(&rs, &ct.volume.geometry, Some("liver")).unwrap_err();
    assert!(e.to_string().contains("no ROI \"liver\"; it has 1 \"GTV-1\""), "{e}");
    // On a grid the contours do not lie on: refused slice by slice, with a note.
    let mut shifted = ct.volume.geometry;
    shifted.origin[2] += 1.5;
    let off = read_rtstruct(&rs, &shifted, None).unwrap();
    assert!(off.labels.labels.iter().all(|&l| l == 0) && off.notes.iter().any(|n| n.contains("26 contour(s) off the grid")), "{:?}", off.notes);
}
