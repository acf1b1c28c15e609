//! Registration of the post-ablation CT onto the pre-ablation CT on phantom cases with a
//! known deformation: target registration error on the liver landmarks (portal-vein
//! bifurcations), with the truth masks as the liver and zone inputs.

use isotherm_margin::register::{Settings, register};
use isotherm_phantom::{Config, Size, generate, labels};

fn tre(seed: u64) -> (f64, f64, f64) {
    let case = generate(&Config::new(seed, Size::Demo));
    let pre_liver: Vec<bool> = case.pre_labels.labels.iter().map(|&l| l != 0).collect();
    let post_liver: Vec<bool> = case.post_labels.labels.iter().map(|&l| l != 0).collect();
    let zone: Vec<bool> = case.post_labels.labels.iter().map(|&l| l == labels::ABLATION_ZONE).collect();
    let started = std::time::Instant::now();
    let reg = register(&case.pre_ct, &case.post_ct, &pre_liver, &post_liver, &zone, &Settings::default(), &|_| true).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let err = |p: [f64; 3], q: [f64; 3]| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt();
    let before: f64 = case.truth.landmarks.iter().map(|l| err(l.pre_mm, l.post_mm)).sum::<f64>() / case.truth.landmarks.len() as f64;
    let after: Vec<f64> = case.truth.landmarks.iter().map(|l| err(reg.map(l.pre_mm), l.post_mm)).collect();
    let mean = after.iter().sum::<f64>() / after.len() as f64;
    eprintln!("seed {seed}: {} landmarks, TRE {before:.2} mm -> {mean:.2} mm (max {:.2}) in {seconds:.1} s; similarity {:.4} -> {:.4}", after.len(), after.iter().cloned().fold(0.0, f64::max), reg.similarity_before, reg.similarity_after);
    (before, mean, seconds)
}

#[test]
fn landmark_error_under_a_millimetre() {
    for seed in [1, 21] {
        let (before, after, _) = tre(seed);
        assert!(before > 3.0, "the case moves: {before}");
        assert!(after < 1.0, "seed {seed}: TRE {after:.2} mm");
    }
}
