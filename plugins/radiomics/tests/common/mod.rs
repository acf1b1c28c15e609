//! What both IBSI compliance tests share: the reference table and IBSI's rule for a
//! match (the value rounded to 3 significant digits within the published tolerance).

use isotherm_radiomics::features::Features;

/// One reference value.
pub struct Reference {
    pub tag: String,
    pub value: f64,
    pub tolerance: f64,
    /// The family column (for counts per family).
    pub family: String,
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

/// The rows of a reference CSV whose `filter` column holds `value` (all rows with
/// `None`), reading the tag, value and tolerance from the named columns.
pub fn references(csv: &str, filter: Option<(&str, &str)>) -> Vec<Reference> {
    let mut lines = csv.lines();
    let header = fields(lines.next().unwrap());
    let col = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    let (tag, value, tolerance, family) = (col("ibsi_tag"), col("reference_value"), col("tolerance"), col("family"));
    let filter = filter.map(|(c, v)| (col(c), v));
    lines
        .map(fields)
        .filter(|f| filter.is_none_or(|(c, v)| f[c] == v))
        .map(|f| Reference { tag: f[tag].clone(), value: f[value].parse().unwrap(), tolerance: f[tolerance].parse().unwrap_or(0.0), family: f[family].clone() })
        .collect()
}

pub fn round3(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 3 - (x.abs().log10().floor() as i32) - 1;
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// What a comparison found: how many matched, which were missing and which differ.
#[derive(Default)]
pub struct Outcome {
    pub matched: usize,
    pub missing: Vec<String>,
    pub wrong: Vec<String>,
}

pub fn compare(computed: &Features, references: &[Reference]) -> Outcome {
    let mut o = Outcome::default();
    for r in references {
        match computed.get(&r.tag) {
            None => o.missing.push(r.tag.clone()),
            Some(&v) if (round3(v) - r.value).abs() <= r.tolerance + 1e-9 * r.value.abs().max(1.0) => o.matched += 1,
            Some(&v) => o.wrong.push(format!("{}: {v:.5} (3 s.f. {}) vs reference {} ± {} [{}]", r.tag, round3(v), r.value, r.tolerance, r.family)),
        }
    }
    o
}
