//! IBSI-1 compliance on a real CT: the lung-cancer CT (PAT1, GTV-1) under the five
//! image-processing configurations A-E (the presets `ibsi-ct-a` ... `e`), every
//! reference value of each against what Isotherm computes from the NIfTI image and mask,
//! and again from the CT's DICOM series with the RT Structure Set's GTV-1 filled onto it
//! (tests/data/ibsi-ct/ATTRIBUTION.md; non-commercial test data). A value matches when,
//! rounded to 3 significant digits, it lies within the published tolerance.

mod common;

use std::path::{Path, PathBuf};

use isotherm_dicom::Policy;
use isotherm_host::io::{nifti, volume};
use isotherm_radiomics::features::{self, Features};
use isotherm_radiomics::{Radiomics, preprocess, presets};
use isotherm_sdk::abi::{Cell, LabelMap, Volume};
use isotherm_sdk::testing::TestRun;
use isotherm_sdk::volume::VoxelBox;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ibsi-ct").join(name)
}

/// The NIfTI image and mask.
fn nifti_inputs() -> (Volume, LabelMap) {
    (nifti::read_volume(&data("image.nii.gz"), 0).unwrap(), nifti::read_label_map(&data("mask.nii.gz")).unwrap())
}

/// The same CT as its 60 DICOM files, and GTV-1 of its RT Structure Set filled onto
/// that series by the host's reader (the DICOM test data of the dicom crate).
fn dicom_inputs() -> (Volume, LabelMap) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dicom/tests/data");
    let ct = volume::read(&dir.join("ibsi-ct-dicom"), 0, Policy::default()).unwrap();
    let source = ct.dicom.expect("a DICOM source");
    let mask = volume::read_structures(&dir.join("ibsi-ct-rtstruct/DCM_RS_00060.dcm#GTV-1"), &[&source]).unwrap();
    (ct.volume, mask)
}

/// Every feature of one configuration, from an image and its mask.
fn features_for(preset: &str, (image, mask): (Volume, LabelMap)) -> Features {
    let protocol = presets::preset(preset).unwrap();
    // The manual: "convert to (at least) 32-bit floating point and round to the nearest integer".
    let hu: Vec<f32> = image.to_f32().iter().map(|v| v.round_ties_even()).collect();
    let roi: Vec<bool> = mask.labels.iter().map(|&l| l != 0).collect();
    let p = preprocess::prepare(&hu, &roi, &image.geometry, protocol.resampling.as_ref(), &protocol.resegmentation);
    // The features only look 1 cm (the local-peak sphere) beyond the ROI: crop there.
    let dims = p.geometry.dims_usize();
    let reach = p.geometry.spacing.iter().map(|s| (6.3 / s).ceil() as usize + 1).max().unwrap();
    let b = VoxelBox::around(dims, |i| p.morphological[i]).expect("the ROI survives").grown(reach, dims);
    features::of_masks(b.dims(), p.geometry.spacing, &b.cut(&p.image, dims), &b.cut(&p.morphological, dims), &b.cut(&p.intensity, dims), protocol.discretisation, protocol.ivh, protocol.scope())
}

/// The same through the plugin (`--param preset=...`): the lesion's neighbourhood cut
/// from the scan, resampled onto the whole scan's centred grid.
fn plugin_features_for(preset: &str) -> Features {
    let (image, mask) = nifti_inputs();
    let out = TestRun::new().volume("ct", image).label_map("mask", mask).param("preset", preset).param("label", "1").param("prognosis", "false").run::<Radiomics>().unwrap();
    let t = &out.report("features").unwrap().tables[0];
    assert_eq!(t.rows.len(), 1, "one lesion");
    t.columns.iter().zip(t.rows[0].iter()).filter_map(|(c, v)| match v { Cell::Number(x) => Some((c.to_string(), *x)), _ => None }).collect()
}

#[test]
fn the_plugin_gives_the_whole_image_values_in_every_configuration() {
    let csv = std::fs::read_to_string(data("reference_values.csv")).unwrap();
    for (preset, config) in presets::IBSI_CT.iter().zip(["A", "B", "C", "D", "E"]) {
        let references = common::references(&csv, Some(("configuration", config)));
        let o = common::compare(&plugin_features_for(preset), &references);
        assert!(o.missing.is_empty() && o.wrong.is_empty(), "{preset} through the plugin: {} of {} match\n{}", o.matched, references.len(), o.wrong.join("\n"));
    }
}

/// Every configuration's values against the reference, counted; `from` names the inputs.
fn check_all_configurations(from: &str, inputs: impl Fn() -> (Volume, LabelMap)) {
    let csv = std::fs::read_to_string(data("reference_values.csv")).unwrap();
    let mut report = Vec::new();
    let mut total = (0, 0);
    for (preset, config) in presets::IBSI_CT.iter().zip(["A", "B", "C", "D", "E"]) {
        let references = common::references(&csv, Some(("configuration", config)));
        let o = common::compare(&features_for(preset, inputs()), &references);
        assert!(o.wrong.is_empty() && o.missing.is_empty(), "{preset} from {from}: {:?}, missing {:?}", o.wrong, o.missing);
        total = (total.0 + o.matched, total.1 + references.len());
        report.push(format!("{preset}: {} of {} match; {} differ, {} missing\n  {}\n  missing: {}", o.matched, references.len(), o.wrong.len(), o.missing.len(), o.wrong.join("\n  "), o.missing.join(", ")));
    }
    eprintln!("from {from}:\n{}\nin all: {} of {}", report.join("\n"), total.0, total.1);
    assert_eq!(total, (1321, 1321), "IBSI CT reference values not matched from {from}:\n{}", report.join("\n"));
}

#[test]
fn lung_ct_matches_the_ibsi_reference_values_in_configurations_a_to_e() {
    check_all_configurations("the NIfTI image and mask", nifti_inputs);
}

#[test]
fn the_dicom_series_and_its_rtstruct_give_the_reference_values_too() {
    check_all_configurations("the DICOM series and RTSTRUCT", dicom_inputs);
}

#[test]
fn a_configuration_computes_its_own_aggregations_and_the_pyradiomics_families_are_a_subset() {
    let (image, mask) = nifti_inputs();
    let run = |preset: &str, families: &str| {
        let out = TestRun::new().volume("ct", image.clone()).label_map("mask", mask.clone()).param("preset", preset).param("families", families).param("label", "1").param("prognosis", "false").run::<Radiomics>().unwrap();
        let t = &out.report("features").unwrap().tables[0];
        t.columns.iter().zip(t.rows[0].iter()).filter_map(|(c, v)| match v { Cell::Number(x) => Some((c.to_string(), *x)), _ => None }).collect::<Features>()
    };
    for (preset, planar) in [("ibsi-ct-a", true), ("ibsi-ct-c", false)] {
        let all = run(preset, "all");
        // A 2D configuration has no 3D texture values, a 3D one no 2D or 2.5D values.
        let texture: Vec<&String> = all.keys().filter(|k| k.starts_with("cm_") || k.starts_with("szm_")).collect();
        assert!(!texture.is_empty());
        assert!(texture.iter().all(|k| k.contains("_3D") != planar), "{preset}: {texture:?}");
        let some = run(preset, "pyradiomics");
        let left_out = |k: &str| ["ivh_", "loc_", "dzm_"].iter().any(|p| k.starts_with(p)) || ["morph_moran_i", "morph_geary_c", "morph_com", "morph_integ_int"].contains(&k);
        for family in ["ivh_", "loc_", "dzm_", "morph_moran_i", "morph_geary_c", "morph_com", "morph_integ_int"] {
            assert!(all.keys().any(|k| k.starts_with(family)), "{preset}: the full set has {family}");
        }
        assert!(!some.keys().any(|k| left_out(k)), "{preset}: pyradiomics' families computed one left out");
        // Every value of the subset is the full set's, to the bit.
        for (k, v) in &some {
            assert_eq!(all.get(k), Some(v), "{preset}: {k}");
        }
        assert_eq!(some.len(), all.keys().filter(|k| !left_out(k)).count(), "{preset}");
    }
}
