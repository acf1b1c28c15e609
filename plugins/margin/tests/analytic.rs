//! Margins against analytic values: spheres and ellipsoids, concentric and offset,
//! covered and not, on isotropic, anisotropic and oblique grids. The tolerance is the
//! issue's: half the largest voxel spacing plus 0.25 mm.

use isotherm_margin::Margin;
use isotherm_sdk::abi::{Cell, Geometry, LabelEntry, LabelMap};
use isotherm_sdk::testing::TestRun;

fn map(g: &Geometry, inside: impl Fn([f64; 3]) -> bool) -> LabelMap {
    let labels = (0..g.len()).map(|n| { let [i, j, k] = g.ijk(n); inside(g.index_to_world([i as f64, j as f64, k as f64])) as u16 }).collect();
    LabelMap::new(*g, labels, vec![LabelEntry::new(1, "x", [255, 255, 0, 255])])
}

fn norm(p: [f64; 3]) -> f64 {
    (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt()
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// Runs the plugin and returns (signed MAM, covered, uncovered ml, shell %).
fn measure(tumour: &LabelMap, zone: &LabelMap) -> (f64, bool, f64, f64) {
    let out = TestRun::new().label_map("tumour", tumour.clone()).label_map("zone", zone.clone()).run::<Margin>().expect("run");
    let report = out.report("margins").unwrap();
    let row = &report.tables[0].rows[0];
    let num = |c: &Cell| match c { Cell::Number(x) => *x, _ => panic!("{c:?}") };
    let covered = matches!(&row[3], Cell::Text(t) if t.as_str() == "yes");
    assert!(out.mesh("tumour-1").is_some() && out.mesh("ablation-zone").is_some());
    (num(&row[2]), covered, num(&row[4]), num(&row[5]))
}

/// Grids centred on the world origin, where the shapes are.
fn grids() -> Vec<(&'static str, Geometry)> {
    let (c, s) = (0.5f64.cos(), 0.5f64.sin());
    let centred = |mut g: Geometry| {
        let half = g.index_to_world(g.dims.map(|d| (d as f64 - 1.0) / 2.0));
        g.origin = sub(g.origin, half);
        g
    };
    vec![
        ("isotropic 1 mm", centred(Geometry::axis_aligned([70, 70, 70], [1.0; 3], [0.0; 3]))),
        ("anisotropic 0.8 x 0.8 x 2.5", centred(Geometry::axis_aligned([90, 90, 30], [0.8, 0.8, 2.5], [0.0; 3]))),
        ("oblique, flipped, anisotropic", centred(Geometry { dims: [80, 70, 40], spacing: [0.9, 1.0, 1.8], origin: [0.0; 3], direction: [c, s, 0.0, s, -c, 0.0, 0.0, 0.0, 1.0] })),
    ]
}

fn check(name: &str, g: &Geometry, tumour: impl Fn([f64; 3]) -> bool, zone: impl Fn([f64; 3]) -> bool, analytic: f64) {
    let tolerance = 0.5 * g.spacing.iter().cloned().fold(0.0, f64::max) + 0.25;
    let (mam, covered, uncovered, _) = measure(&map(g, tumour), &map(g, zone));
    assert!((mam - analytic).abs() <= tolerance, "{name}: MAM {mam:.3} mm vs analytic {analytic} mm (tolerance {tolerance:.2})");
    if analytic > tolerance {
        assert!(covered && uncovered == 0.0, "{name}: should be covered");
    }
    if analytic < -tolerance {
        assert!(!covered && uncovered > 0.0, "{name}: should not be covered");
    }
}

#[test]
fn concentric_spheres() {
    for (name, g) in grids() {
        check(name, &g, |p| norm(p) <= 10.0, |p| norm(p) <= 16.0, 6.0);
    }
}

#[test]
fn offset_spheres_covered_and_uncovered() {
    for (name, g) in grids() {
        // Zone of 15 mm shifted 4 mm: the margin is 15 - 10 - 4 = 1 mm, on the far side.
        check(name, &g, |p| norm(p) <= 10.0, |p| norm(sub(p, [3.2, 0.0, 2.4])) <= 15.0, 1.0);
        // Zone of 12 mm shifted 5 mm: 3 mm of tumour stick out.
        check(name, &g, |p| norm(p) <= 10.0, |p| norm(sub(p, [0.0, 3.0, -4.0])) <= 12.0, -3.0);
    }
}

#[test]
fn sphere_in_an_oblique_prolate_zone() {
    // A 25 x 16 x 16 mm ellipsoid along an oblique needle direction around an 8 mm
    // tumour: the margin is the short semi-axis minus the radius, 8 mm.
    let axis = { let a = [0.6, 0.48, 0.64]; let n = norm(a); [a[0] / n, a[1] / n, a[2] / n] };
    let zone = move |p: [f64; 3]| {
        let along = p[0] * axis[0] + p[1] * axis[1] + p[2] * axis[2];
        let across = norm(sub(p, [axis[0] * along, axis[1] * along, axis[2] * along]));
        (along / 25.0).powi(2) + (across / 16.0).powi(2) <= 1.0
    };
    for (name, g) in grids() {
        check(name, &g, |p| norm(p) <= 8.0, zone, 8.0);
    }
}

#[test]
fn ellipsoidal_tumour_and_shell_coverage() {
    let g = Geometry::axis_aligned([70, 70, 70], [1.0; 3], [-35.0; 3]);
    // Tumour semi-axes 12, 8, 8 in a 20 mm sphere: the margin is 20 - 12 = 8 mm.
    let tumour = |p: [f64; 3]| (p[0] / 12.0).powi(2) + (p[1] / 8.0).powi(2) + (p[2] / 8.0).powi(2) <= 1.0;
    check("ellipsoid", &g, tumour, |p| norm(p) <= 20.0, 8.0);
    // A 5 mm shell around a 10 mm sphere inside a 14 mm zone is ablated out to 4 mm:
    // (14^3 - 10^3) / (15^3 - 10^3) = 72% of it.
    let (_, _, _, shell) = measure(&map(&g, |p| norm(p) <= 10.0), &map(&g, |p| norm(p) <= 14.0));
    assert!((shell - 72.0).abs() < 6.0, "shell {shell}%");
}

#[test]
fn zone_on_another_grid_is_resampled() {
    let g = Geometry::axis_aligned([70, 70, 70], [1.0; 3], [-35.0; 3]);
    let coarse = Geometry::axis_aligned([40, 40, 40], [1.5; 3], [-30.0; 3]);
    let (mam, covered, _, _) = measure(&map(&g, |p| norm(p) <= 10.0), &map(&coarse, |p| norm(p) <= 17.0));
    assert!(covered && (mam - 7.0).abs() < 1.0, "{mam}");
}

#[test]
fn empty_inputs_are_refused() {
    let g = Geometry::axis_aligned([10, 10, 10], [1.0; 3], [0.0; 3]);
    let e = TestRun::new().label_map("tumour", map(&g, |_| false)).label_map("zone", map(&g, |_| true)).run::<Margin>().err().unwrap();
    assert!(e.message.contains("no tumour"), "{}", e.message);
    let e = TestRun::new().label_map("tumour", map(&g, |_| true)).label_map("zone", map(&g, |_| false)).run::<Margin>().err().unwrap();
    assert!(e.message.contains("zone is empty"), "{}", e.message);
}

#[test]
fn phantom_margin_matches_the_generator_truth() {
    // The generator's fine-grid truth for the treated tumour of three demo-size cases.
    for seed in [1, 2, 3] {
        let case = isotherm_phantom::generate(&isotherm_phantom::Config::new(seed, isotherm_phantom::Size::Demo));
        let treated = case.truth.tumours.iter().find(|t| t.treated).unwrap();
        let truth = treated.margin.as_ref().unwrap().minimal_margin_mm;
        let out = TestRun::new()
            .label_map("tumour", case.pre_tumours.clone())
            .label_map("zone", case.zone_pre.clone())
            .param("tumour_label", &treated.id.to_string())
            .run::<Margin>()
            .unwrap();
        let row = &out.report("margins").unwrap().tables[0].rows[0];
        let Cell::Number(mam) = row[2] else { panic!() };
        let g = case.pre_ct.geometry;
        let tolerance = 0.5 * g.spacing.iter().cloned().fold(0.0, f64::max) + 0.25;
        assert!((mam - truth).abs() <= tolerance, "seed {seed}: MAM {mam:.2} vs truth {truth:.2} (tolerance {tolerance:.2})");
    }
}

#[test]
fn manifest_matches_the_library() {
    isotherm_sdk::testing::check_manifest::<Margin>(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml")).unwrap();
}
