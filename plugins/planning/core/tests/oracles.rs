//! The bioheat solver against the analytic oracles of `ablation-physics.md` §3, COMSOL
//! liver constants, 1 mm grid, blood temperature held on the grid's outer layer.

use isotherm_planning_core::bioheat::{Bioheat, Medium};
use isotherm_planning_core::tissue::{BLOOD_C, Tissue};

const H: f64 = 1e-3;

/// The linear Pennes equation the oracles solve: no vaporisation (the point source's own
/// voxel would otherwise boil and spend the latent heat).
fn centred(n: usize, tissue: Tissue) -> (Bioheat, usize) {
    let medium = Medium { latent: 0.0, ..Medium::uniform([n, n, n], H, tissue) };
    let sim = Bioheat::new(medium);
    (sim, n / 2)
}

fn rise_along_x(sim: &Bioheat, n: usize, c: usize, r: usize) -> f64 {
    (sim.temperature()[(c + r) + n * (c + n * c)] as f64) - BLOOD_C
}

/// erfc with relative error below 1.2e-7 (Numerical Recipes' Chebyshev fit).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t * (-z * z - 1.265_512_23 + t * (1.000_023_68 + t * (0.374_091_96 + t * (0.096_784_18 + t * (-0.186_288_06 + t * (0.278_868_07 + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))))).exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[test]
fn steady_point_source_in_perfused_liver() {
    let liver = Tissue::LIVER;
    let (n, p) = (81, 1.0);
    let (mut sim, c) = centred(n, liver);
    let mut q = vec![0.0f32; n * n * n];
    q[c + n * (c + n * c)] = (p / (H * H * H)) as f32;
    sim.set_source(q);
    // The slowest mode decays at β + 3π²α/(80 mm)² = 4.1e-3 1/s: 3000 s leaves 5e-6.
    let steps = (3000.0 / sim.dt).ceil() as usize;
    sim.run_steps(steps);
    let (k, l) = (liver.conductivity, liver.perfusion_length());
    // The reference table (P = 1 W): 9.84 K at 6 mm, 3.13 K at 10 mm, 0.320 K at 20 mm.
    let exact = |r: f64| p / (4.0 * std::f64::consts::PI * k * r) * (-r / l).exp();
    assert!((exact(6e-3) - 9.84).abs() < 0.01 && (exact(20e-3) - 0.320).abs() < 0.001);
    for r in 6..=20 {
        let (got, want) = (rise_along_x(&sim, n, c, r), exact(r as f64 * H));
        let tol = if r >= 10 { 0.01 } else { 0.02 };
        assert!((got - want).abs() / want < tol, "r = {r} mm: {got:.4} K vs {want:.4} K");
    }
}

#[test]
fn transient_point_source_in_perfused_liver() {
    let liver = Tissue::LIVER;
    let (n, p) = (97, 1.0);
    let (mut sim, c) = centred(n, liver);
    let mut q = vec![0.0f32; n * n * n];
    q[c + n * (c + n * c)] = (p / (H * H * H)) as f32;
    sim.set_source(q);
    let (k, l, alpha, tau) = (liver.conductivity, liver.perfusion_length(), liver.diffusivity(), 1.0 / liver.perfusion_rate());
    let exact = |r: f64, t: f64| {
        let (a, b) = (r / (2.0 * (alpha * t).sqrt()), (t / tau).sqrt());
        p / (8.0 * std::f64::consts::PI * k * r) * ((-r / l).exp() * erfc(a - b) + (r / l).exp() * erfc(a + b))
    };
    // The reference: 12.81 K at 5 mm after 300 s, 13.66 K after 600 s.
    assert!((exact(5e-3, 300.0) - 12.81).abs() < 0.01 && (exact(5e-3, 600.0) - 13.66).abs() < 0.01);
    for t_check in [300.0, 450.0, 600.0] {
        while sim.time + 0.5 * sim.dt < t_check {
            sim.step();
        }
        for r in 5..=15 {
            let (got, want) = (rise_along_x(&sim, n, c, r), exact(r as f64 * H, sim.time));
            assert!((got - want).abs() / want < 0.025, "t = {:.0} s, r = {r} mm: {got:.4} K vs {want:.4} K", sim.time);
        }
    }
}

#[test]
fn voxelised_sphere_in_perfused_liver() {
    let liver = Tissue::LIVER;
    let (n, p, a) = (81, 10.0, 5.0);
    let (mut sim, c) = centred(n, liver);
    let mut inside = Vec::new();
    for z in 0..n {
        for y in 0..n {
            for x in 0..n {
                let d2 = [x, y, z].iter().map(|&v| (v as f64 - c as f64).powi(2)).sum::<f64>();
                if d2 <= a * a {
                    inside.push(x + n * (y + n * z));
                }
            }
        }
    }
    let mut q = vec![0.0f32; n * n * n];
    let q_each = p / (inside.len() as f64 * H * H * H);
    for &i in &inside {
        q[i] = q_each as f32;
    }
    sim.set_source(q);
    sim.run_steps((3000.0 / sim.dt).ceil() as usize);
    // Compared with the analytic sphere of the same volume and power.
    let a_eq = (3.0 * inside.len() as f64 / (4.0 * std::f64::consts::PI)).cbrt() * H;
    let (kk, m) = (liver.conductivity, 1.0 / liver.perfusion_length());
    let qv = 3.0 * p / (4.0 * std::f64::consts::PI * a_eq.powi(3));
    let exact = |r: f64| {
        if r < 1e-9 {
            qv / (kk * m * m) * (1.0 - (1.0 + m * a_eq) * (-m * a_eq).exp())
        } else if r <= a_eq {
            qv / (kk * m * m) * (1.0 - (1.0 + m * a_eq) * (-m * a_eq).exp() * (m * r).sinh() / (m * r))
        } else {
            qv / (kk * m.powi(3)) * (m * a_eq * (m * a_eq).cosh() - (m * a_eq).sinh()) * (-m * r).exp() / r
        }
    };
    // The reference: ΔT(0) = 275.4 K for a = 5 mm exactly.
    for r in 0..=20 {
        let (got, want) = (rise_along_x(&sim, n, c, r), exact(r as f64 * H));
        assert!((got - want).abs() / want < 0.01, "r = {r} mm: {got:.3} K vs {want:.3} K");
    }
}
