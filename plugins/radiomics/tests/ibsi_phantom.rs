//! Every implemented IBSI feature on the IBSI digital phantom against its reference
//! value (tests/data/ATTRIBUTION.md): computed values, rounded to 3 significant digits,
//! must lie within the published tolerance (IBSI's own rule).

mod common;

use std::path::Path;

use isotherm_host::io::nifti;
use isotherm_radiomics::features::{self, Roi, roi::Discretisation};

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

#[test]
fn digital_phantom_matches_the_ibsi_reference_values() {
    let image = nifti::read_volume(&data("phantom.nii.gz"), 0).unwrap();
    let mask = nifti::read_label_map(&data("mask.nii.gz")).unwrap();
    let g = image.geometry;
    let roi = Roi::new(g.dims_usize(), g.spacing, &image.to_f32().iter().map(|&v| v as f64).collect::<Vec<_>>(), &mask.mask_of(1), Discretisation::None);
    let computed = features::all(&roi);
    let references = common::references(&std::fs::read_to_string(data("reference_values.csv")).unwrap(), None);
    let o = common::compare(&computed, &references);
    assert!(o.wrong.is_empty(), "{} of {} features differ:\n{}", o.wrong.len(), o.matched + o.wrong.len(), o.wrong.join("\n"));
    // What is not implemented yet is named, so the gap stays visible.
    eprintln!("{} IBSI reference values matched; not implemented yet: {}", o.matched, o.missing.join(", "));
    assert!(o.matched >= 480, "only {} features checked", o.matched);
}
