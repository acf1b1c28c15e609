//! IBSI-1 compliance on a real CT: the lung-cancer CT (PAT1, GTV-1) under the five
//! image-processing configurations A-E (the presets `ibsi-ct-a` ... `e`), every
//! reference value of each against what Isotherm computes from the NIfTI image and mask
//! (tests/data/ibsi-ct/ATTRIBUTION.md; non-commercial test data). A value matches when,
//! rounded to 3 significant digits, it lies within the published tolerance.

mod common;

use std::path::{Path, PathBuf};

use isotherm_host::io::nifti;
use isotherm_radiomics::features::{self, Features};
use isotherm_radiomics::{Radiomics, preprocess, presets};
use isotherm_sdk::abi::Cell;
use isotherm_sdk::testing::TestRun;
use isotherm_sdk::volume::VoxelBox;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ibsi-ct").join(name)
}

/// Every feature of one configuration, from the NIfTI image and mask.
fn features_for(preset: &str) -> Features {
    let protocol = presets::preset(preset).unwrap();
    let image = nifti::read_volume(&data("image.nii.gz"), 0).unwrap();
    let mask = nifti::read_label_map(&data("mask.nii.gz")).unwrap();
    // The manual: "convert to (at least) 32-bit floating point and round to the nearest integer".
    let hu: Vec<f32> = image.to_f32().iter().map(|v| v.round_ties_even()).collect();
    let roi: Vec<bool> = mask.labels.iter().map(|&l| l != 0).collect();
    let p = preprocess::prepare(&hu, &roi, &image.geometry, protocol.resampling.as_ref(), &protocol.resegmentation);
    // The features only look 1 cm (the local-peak sphere) beyond the ROI: crop there.
    let dims = p.geometry.dims_usize();
    let reach = p.geometry.spacing.iter().map(|s| (6.3 / s).ceil() as usize + 1).max().unwrap();
    let b = VoxelBox::around(dims, |i| p.morphological[i]).expect("the ROI survives").grown(reach, dims);
    features::of_masks(b.dims(), p.geometry.spacing, &b.cut(&p.image, dims), &b.cut(&p.morphological, dims), &b.cut(&p.intensity, dims), protocol.discretisation, protocol.ivh)
}

/// The same through the plugin (`--param preset=...`): the lesion's neighbourhood cut
/// from the scan, resampled onto the whole scan's centred grid.
fn plugin_features_for(preset: &str) -> Features {
    let image = nifti::read_volume(&data("image.nii.gz"), 0).unwrap();
    let mask = nifti::read_label_map(&data("mask.nii.gz")).unwrap();
    let out = TestRun::new().volume("ct", image).label_map("mask", mask).param("preset", preset).param("label", "1").param("prognosis", "false").run::<Radiomics>().unwrap();
    let t = &out.report("features").unwrap().tables[0];
    assert_eq!(t.rows.len(), 1, "one lesion");
    t.columns.iter().zip(t.rows[0].iter()).filter_map(|(c, v)| match v { Cell::Number(x) => Some((c.to_string(), *x)), _ => None }).collect()
}

/// Configuration A's four mesh-shape features (compactness 1 and 2, sphericity,
/// asphericity) are the ones not reproduced yet: mesh volume and area each match, but
/// our surface is 0.27 % larger than the reference implementations' (35,797 mm^2
/// against the 35,700 that the reference sphericity implies), and those ratios are
/// stricter than the area's own tolerance. They match in B-E.
const OPEN_IN_A: [&str; 4] = ["morph_comp_1", "morph_comp_2", "morph_sphericity", "morph_asphericity"];

#[test]
fn the_plugin_gives_the_whole_image_values_in_every_configuration() {
    let csv = std::fs::read_to_string(data("reference_values.csv")).unwrap();
    for (preset, config) in presets::IBSI_CT.iter().zip(["A", "B", "C", "D", "E"]) {
        let references = common::references(&csv, Some(("configuration", config)));
        let o = common::compare(&plugin_features_for(preset), &references);
        let open = if config == "A" { OPEN_IN_A.len() } else { 0 };
        assert!(o.missing.is_empty() && o.wrong.len() <= open, "{preset} through the plugin: {} of {} match\n{}", o.matched, references.len(), o.wrong.join("\n"));
    }
}

#[test]
fn lung_ct_matches_the_ibsi_reference_values_in_configurations_a_to_e() {
    let csv = std::fs::read_to_string(data("reference_values.csv")).unwrap();
    let mut report = Vec::new();
    let mut total = (0, 0);
    for (preset, config) in presets::IBSI_CT.iter().zip(["A", "B", "C", "D", "E"]) {
        let references = common::references(&csv, Some(("configuration", config)));
        let o = common::compare(&features_for(preset), &references);
        let open: &[&str] = if config == "A" { &OPEN_IN_A } else { &[] };
        let unexpected: Vec<&String> = o.wrong.iter().filter(|w| !open.iter().any(|t| w.starts_with(&format!("{t}:")))).collect();
        assert!(unexpected.is_empty() && o.missing.is_empty(), "{preset}: {unexpected:?}, missing {:?}", o.missing);
        total = (total.0 + o.matched, total.1 + references.len());
        report.push(format!("{preset}: {} of {} match; {} differ, {} missing\n  {}\n  missing: {}", o.matched, references.len(), o.wrong.len(), o.missing.len(), o.wrong.join("\n  "), o.missing.join(", ")));
    }
    eprintln!("{}\nin all: {} of {}", report.join("\n"), total.0, total.1);
    assert_eq!(total.0 + OPEN_IN_A.len(), total.1, "IBSI CT reference values not matched:\n{}", report.join("\n"));
}
