//! The plugin path on a CT sphere of known size: lesion splitting, discretisation
//! (fixed bin size from the re-segmentation minimum) and re-segmentation.

use isotherm_radiomics::Radiomics;
use isotherm_sdk::abi::{Cell, LabelEntry, LabelMap};
use isotherm_sdk::testing::{TestRun, sphere_ct};

fn value(out: &isotherm_sdk::testing::Outputs, row: usize, column: &str) -> f64 {
    let t = &out.report("features").unwrap().tables[0];
    let c = t.columns.iter().position(|c| c.as_str() == column).unwrap_or_else(|| panic!("no column {column}"));
    match &t.rows[row][c] {
        Cell::Number(x) => *x,
        Cell::Integer(i) => *i as f64,
        other => panic!("{other:?}"),
    }
}

#[test]
fn sphere_features_match_geometry_and_discretisation() {
    let ct = sphere_ct([48, 48, 24], [0.8, 0.8, 2.0], 10.0, 110, 60);
    let labels: Vec<u16> = ct.to_f32().iter().map(|&v| (v == 60.0) as u16).collect();
    let mask = LabelMap::new(ct.geometry, labels, vec![LabelEntry::new(1, "lesion", [255, 0, 0, 255])]);
    let out = TestRun::new().volume("ct", ct.clone()).label_map("mask", mask.clone()).run::<Radiomics>().unwrap();
    let exact = 4.0 / 3.0 * std::f64::consts::PI * 1000.0;
    assert!((value(&out, 0, "morph_volume") - exact).abs() / exact < 0.05);
    // A solid sphere's coordinate variance is r^2 / 5: axes of 4 sqrt(20) = 17.9 mm.
    assert!((value(&out, 0, "morph_pca_maj_axis") - 4.0 * 20f64.sqrt()).abs() < 0.5);
    // Marching cubes over-estimates a voxelised sphere's area by ~10%, hence < 1.
    let sphericity = value(&out, 0, "morph_sphericity");
    assert!(sphericity > 0.85 && sphericity < 0.95, "{sphericity}");
    assert_eq!(value(&out, 0, "stat_mean"), 60.0);
    assert_eq!(value(&out, 0, "stat_var"), 0.0);
    // Bin width 25 HU from -500: 60 HU falls in bin floor(560 / 25) + 1 = 23.
    assert_eq!(value(&out, 0, "ih_mean"), 23.0);
    // Re-segmentation that excludes the lesion's intensities is refused clearly.
    let e = TestRun::new().volume("ct", ct).label_map("mask", mask).param("resegment_max", "50").run::<Radiomics>().err().unwrap();
    assert!(e.message.contains("re-segmentation range"), "{}", e.message);
}

#[test]
fn manifest_matches_the_library() {
    isotherm_sdk::testing::check_manifest::<Radiomics>(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml")).unwrap();
}
