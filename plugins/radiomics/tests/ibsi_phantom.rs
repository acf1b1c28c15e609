//! Every implemented IBSI feature on the IBSI digital phantom against its reference
//! value (tests/data/ATTRIBUTION.md): computed values, rounded to 3 significant digits,
//! must lie within the published tolerance (IBSI's own rule).

use std::path::Path;

use isotherm_host::io::nifti;
use isotherm_radiomics::features::{self, Roi, roi::Discretisation};

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn round3(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 3 - (x.abs().log10().floor() as i32) - 1;
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// Splits a CSV line with quoted fields.
fn fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            _ => out.last_mut().unwrap().push(c),
        }
    }
    out
}

#[test]
fn digital_phantom_matches_the_ibsi_reference_values() {
    let image = nifti::read_volume(&data("phantom.nii.gz"), 0).unwrap();
    let mask = nifti::read_label_map(&data("mask.nii.gz")).unwrap();
    let g = image.geometry;
    let roi = Roi::new(g.dims_usize(), g.spacing, &image.to_f32().iter().map(|&v| v as f64).collect::<Vec<_>>(), &mask.mask_of(1), Discretisation::None);
    let computed = features::all(&roi);
    let csv = std::fs::read_to_string(data("reference_values.csv")).unwrap();
    let (mut checked, mut missing, mut wrong) = (0, Vec::new(), Vec::new());
    for line in csv.lines().skip(1) {
        let f = fields(line);
        let (tag, reference, tolerance) = (&f[4], f[5].parse::<f64>().unwrap(), f[6].parse::<f64>().unwrap_or(0.0));
        match computed.get(tag) {
            None => missing.push(tag.clone()),
            Some(&v) => {
                checked += 1;
                if (round3(v) - reference).abs() > tolerance + 1e-9 * reference.abs().max(1.0) {
                    wrong.push(format!("{tag}: {v:.5} (3 s.f. {}) vs reference {reference} ± {tolerance}", round3(v)));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {checked} features differ:\n{}", wrong.len(), wrong.join("\n"));
    // What is not implemented yet is named, so the gap stays visible.
    eprintln!("{checked} IBSI reference values matched; not implemented yet: {}", missing.join(", "));
    assert!(checked >= 480, "only {checked} features checked");
}
