//! A synthetic cohort with a known true hazard, for tests and the shipped demo model.
//! Nothing here is patient data: covariate distributions are plausible for
//! hepatocellular carcinoma treated by ablation or TACE, and outcomes are drawn from a
//! Weibull proportional-hazards model with the coefficients in [`TRUE_COEFFICIENTS`].

use super::cohort::Cohort;

/// Covariate (CSV column), its true log-hazard ratio per unit of the encoded value, and
/// how it is drawn (mean, sd) before clipping.
pub const TRUE_COEFFICIENTS: [(&str, f64); 9] = [
    ("age", 0.02),
    ("afp", 0.45),        // per log10(ng/ml + 1)
    ("child_pugh", 0.5),  // per class step
    ("bclc", 0.35),       // per stage step
    ("tumour_count", 0.25),
    ("tumour_size_mm", 0.02),
    ("morph_sphericity", -2.0),
    ("stat_mean", -0.01), // HU: hypo-attenuating lesions do worse
    ("cm_joint_entr_3D_comb", 0.0), // a feature with no effect: should shrink to ~0
];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.next().max(1e-12), self.next());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    fn pick(&mut self, weights: &[f64]) -> usize {
        let mut u = self.next() * weights.iter().sum::<f64>();
        for (i, w) in weights.iter().enumerate() {
            if u < *w {
                return i;
            }
            u -= w;
        }
        weights.len() - 1
    }
}

/// One synthetic patient's raw covariates (CSV values, e.g. afp in ng/ml).
fn patient(rng: &mut Rng) -> Vec<f64> {
    let size = (30.0 * (0.45 * rng.normal()).exp()).clamp(8.0, 120.0);
    vec![
        (65.0 + 9.0 * rng.normal()).clamp(30.0, 90.0),
        10f64.powf((1.3 + 1.0 * rng.normal()).clamp(0.0, 5.0)) - 1.0,
        rng.pick(&[0.6, 0.3, 0.1]) as f64,
        rng.pick(&[0.1, 0.4, 0.3, 0.2]) as f64,
        1.0 + rng.pick(&[0.55, 0.25, 0.12, 0.08]) as f64,
        size,
        (0.85 - 0.002 * (size - 30.0) + 0.06 * rng.normal()).clamp(0.4, 0.99),
        (60.0 + 15.0 * rng.normal()).clamp(0.0, 140.0),
        (6.0 + 0.8 * rng.normal()).clamp(2.0, 10.0),
    ]
}

/// A raw value as it appears in a cohort CSV.
fn cell(column: &str, v: f64) -> String {
    match column {
        "child_pugh" => ["A", "B", "C"][v as usize].into(),
        "bclc" => ["0", "A", "B", "C", "D"][v as usize].into(),
        "tumour_count" => format!("{}", v as i64),
        _ => format!("{v:.4}"),
    }
}

/// Generates `n` patients. Baseline: Weibull, shape 1.2, median about 30 months at the
/// covariate means; censoring uniform over 12-72 months of follow-up.
pub fn cohort(n: usize, seed: u64) -> (Cohort, String) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let names: Vec<&str> = TRUE_COEFFICIENTS.iter().map(|c| c.0).collect();
    let mut csv = format!("id,time,event,{}\n", names.join(","));
    let raw: Vec<Vec<f64>> = (0..n).map(|_| patient(&mut rng)).collect();
    let cells: Vec<Vec<String>> = raw.iter().map(|r| r.iter().zip(&names).map(|(v, name)| cell(name, *v)).collect()).collect();
    let encoded: Vec<Vec<f64>> = cells.iter().map(|r| r.iter().zip(&names).map(|(v, name)| super::cohort::encode(name, v).expect("synthetic value encodes")).collect()).collect();
    let p = names.len();
    let mean: Vec<f64> = (0..p).map(|k| encoded.iter().map(|r| r[k]).sum::<f64>() / n as f64).collect();
    let (shape, median) = (1.2f64, 30.0f64);
    let scale = median / std::f64::consts::LN_2.powf(1.0 / shape);
    let mut time = Vec::new();
    let mut event = Vec::new();
    for (i, z) in encoded.iter().enumerate() {
        let eta: f64 = TRUE_COEFFICIENTS.iter().enumerate().map(|(k, c)| c.1 * (z[k] - mean[k])).sum();
        // Inverse transform of S(t) = exp(-(t/scale)^shape * e^eta).
        let u = rng.next().max(1e-12);
        let t_event = scale * (-u.ln() / eta.exp()).powf(1.0 / shape);
        let t_censor = 12.0 + 60.0 * rng.next();
        let (t, e) = if t_event <= t_censor { (t_event, true) } else { (t_censor, false) };
        let t = (t * 10.0).round().max(1.0) / 10.0;
        time.push(t);
        event.push(e);
        csv += &format!("P{:04},{t},{},{}\n", i + 1, e as u8, cells[i].join(","));
    }
    let cohort = super::cohort::parse(&csv, true).expect("synthetic cohort parses");
    debug_assert_eq!(cohort.time, time);
    (cohort, csv)
}
