//! Trajectory search on a synthetic torso with structures placed in the way: no path of
//! the front crosses bone, air, the gallbladder or a dilated large vessel (checked
//! independently on the original grids at a quarter millimetre), paths that would are
//! counted as refused, and at least 10,000 skin entries are evaluated.

use isotherm_planning_core::trajectory::{Forbidden, ZoneShape, obstacles, search};
use isotherm_sdk::abi::{Geometry, LabelEntry, LabelMap, Volume};

const TARGET: [f64; 3] = [0.0, 0.0, 0.0];

/// A 240 x 200 x 160 mm torso (ellipse in x-y) at 1 mm: soft tissue, a liver block with
/// a tumour at the origin, a rib arc above it, a gallbladder to its right, a 6 mm vessel
/// running along z to its left and a pocket of lung-like air below.
fn torso() -> (Volume, LabelMap) {
    let g = Geometry::axis_aligned([240, 200, 160], [1.0; 3], [-119.5, -99.5, -79.5]);
    let mut hu = vec![-1000i16; g.len()];
    let mut labels = vec![0u16; g.len()];
    for n in 0..g.len() {
        let [i, j, k] = g.ijk(n);
        let [x, y, z] = g.index_to_world([i as f64, j as f64, k as f64]);
        if (x / 115.0).powi(2) + (y / 95.0).powi(2) > 1.0 {
            continue;
        }
        hu[n] = 40;
        if x.abs() < 50.0 && y.abs() < 45.0 && z.abs() < 50.0 {
            hu[n] = 110;
            labels[n] = 1;
        }
        if (x * x + y * y + z * z).sqrt() < 10.0 {
            hu[n] = 60;
            labels[n] = 3;
        }
        // A rib: an arc 70 mm above the target, 8 mm thick, across x in [-40, 40].
        if (y - 70.0).abs() < 4.0 && x.abs() < 40.0 && z.abs() < 30.0 {
            hu[n] = 700;
        }
        if ((x - 60.0).powi(2) / 400.0 + y * y / 225.0 + z * z / 225.0) < 1.0 {
            hu[n] = 15;
            labels[n] = 5;
        }
        if ((x + 30.0).powi(2) + y * y).sqrt() < 3.0 {
            hu[n] = 175;
            labels[n] = 2;
        }
        if (y + 60.0).abs() < 10.0 && x.abs() < 30.0 && z.abs() < 30.0 {
            hu[n] = -850;
        }
    }
    let table = vec![
        LabelEntry::new(1, "liver", [1, 1, 1, 255]),
        LabelEntry::new(2, "vessel", [1, 1, 1, 255]),
        LabelEntry::new(3, "tumour", [1, 1, 1, 255]),
        LabelEntry::new(5, "gallbladder", [1, 1, 1, 255]),
    ];
    (Volume::from_i16(g, hu), LabelMap::new(g, labels, table))
}

#[test]
fn no_path_on_the_front_crosses_a_forbidden_structure() {
    let (ct, labels) = torso();
    let margin = 3.0;
    let obs = obstacles(&ct, Some(&labels), margin, 1.0);
    let zone = ZoneShape::from_inside(|z, r| z * z + r * r <= 15.0 * 15.0, 30.0, 30.0, 0.5, 12.0);
    let tumour_points: Vec<[f64; 3]> = (0..200).map(|i| {
        let (t, p) = (std::f64::consts::PI * (i as f64 + 0.5) / 200.0, 2.39996 * i as f64);
        [10.0 * t.sin() * p.cos(), 10.0 * t.sin() * p.sin(), 10.0 * t.cos()]
    }).collect();
    let s = search(&obs, TARGET, &zone, &tumour_points, &tumour_points, 170.0, 20_000);
    eprintln!("{} evaluated, {} feasible, {} too far, refused {:?}, front {}", s.evaluated, s.feasible, s.too_long, s.refused, s.front.len());
    assert!(s.evaluated >= 10_000, "{} candidates", s.evaluated);
    for f in [Forbidden::Bone, Forbidden::Gallbladder, Forbidden::Vessel, Forbidden::Air] {
        assert!(s.refused.iter().any(|(g, n)| *g == f && *n > 0), "no path refused for {}: {:?}", f.name(), s.refused);
    }
    assert!(!s.front.is_empty() && s.feasible > s.front.len());
    // A centred 15 mm sphere around a 10 mm tumour: 5 mm margin, whichever the direction.
    assert!(s.front.iter().all(|p| (p.margin_mm - 5.0).abs() < 0.8 && p.covered_percent == 100.0));
    // Every front path, re-checked on the original grids.
    let g = ct.geometry;
    let hu = ct.to_f32();
    for p in &s.front {
        let n = (p.length_mm / 0.25).ceil() as usize;
        for k in 1..=n {
            let f = k as f64 / n as f64;
            let q = [0, 1, 2].map(|a| p.entry[a] + f * (p.tip[a] - p.entry[a]));
            let c = g.world_to_index(q).map(|v| v.round() as usize);
            let i = g.index(c[0], c[1], c[2]);
            let inside_body = (q[0] / 115.0).powi(2) + (q[1] / 95.0).powi(2) < 0.98;
            assert!(hu[i] < 250.0, "crosses bone at {q:?}");
            assert!(labels.labels[i] != 5, "crosses the gallbladder at {q:?}");
            assert!(!inside_body || hu[i] > -400.0, "crosses air at {q:?}");
            let to_vessel = ((q[0] + 30.0).powi(2) + q[1] * q[1]).sqrt() - 3.0;
            assert!(to_vessel > margin - 1.0, "passes {to_vessel:.1} mm from the vessel at {q:?}");
        }
        assert!(p.length_mm <= 170.0);
    }
}

#[test]
fn generated_phantom_with_organs_paths_avoid_lung_gallbladder_and_ribs() {
    use isotherm_phantom::{Config, Size, generate, labels};
    let mut config = Config::new(7, Size::Demo);
    config.organs = true;
    let case = generate(&config);
    let obs = obstacles(&case.pre_ct, Some(&case.pre_labels), 3.0, 1.5);
    assert!(obs.sources.iter().any(|(f, s)| *f == Forbidden::Gallbladder && s.contains("gallbladder")));
    let t = case.truth.tumours.iter().find(|t| t.treated).unwrap();
    let zone = ZoneShape::from_inside(|z, r| z * z + r * r <= 18.0 * 18.0, 30.0, 30.0, 0.5, 12.0);
    let target = isotherm_planning_core::recommend::target_of(&case.pre_tumours, t.id as u16).unwrap();
    let s = search(&obs, target.centroid, &zone, &target.surface, &target.voxels, 170.0, 12_000);
    eprintln!("{} evaluated, {} feasible, refused {:?}, front {}", s.evaluated, s.feasible, s.refused, s.front.len());
    assert!(s.evaluated >= 10_000 && !s.front.is_empty());
    assert!(s.refused.iter().any(|(f, n)| *f == Forbidden::Bone && *n > 0), "the ribs refuse paths: {:?}", s.refused);
    let g = case.pre_labels.geometry;
    let hu = case.pre_ct.to_f32();
    for p in &s.front {
        let n = (p.length_mm / 0.25).ceil() as usize;
        for k in 1..=n {
            let f = k as f64 / n as f64;
            let q = [0, 1, 2].map(|a| p.entry[a] + f * (p.tip[a] - p.entry[a]));
            let c = g.world_to_index(q).map(|v| v.round());
            if c.iter().zip(g.dims).any(|(&v, d)| v < 0.0 || v >= d as f64) {
                continue;
            }
            let i = g.index(c[0] as usize, c[1] as usize, c[2] as usize);
            let l = case.pre_labels.labels[i];
            assert!(l != labels::GALLBLADDER && l != labels::LUNG, "crosses label {l} at {q:?}");
            assert!(hu[i] < 450.0, "crosses bone ({} HU) at {q:?}", hu[i]);
        }
    }
}

#[test]
fn crossings_name_each_forbidden_stretch_where_it_lies() {
    let (ct, labels) = torso();
    let o = obstacles(&ct, Some(&labels), 3.0, 1.0);
    // Straight down onto the target through the rib (y 66-74 mm).
    let c = o.crossings([0.0, 94.0, 0.0], TARGET);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].what, Forbidden::Bone);
    assert!((c[0].from[1] - 74.0).abs() < 1.5 && (c[0].to[1] - 66.0).abs() < 1.5, "{c:?}");
    // From the left through the 6 mm vessel at x = -30, dilated by 3 mm: about x -36 to -24.
    let c = o.crossings([-110.0, 0.0, 0.0], TARGET);
    assert_eq!(c.iter().map(|c| c.what).collect::<Vec<_>>(), vec![Forbidden::Vessel], "{c:?}");
    assert!((c[0].from[0] + 36.0).abs() < 2.0 && (c[0].to[0] + 24.0).abs() < 2.0, "{c:?}");
    // A clear path has none, and walk agrees.
    let clear = [0.0, -20.0, 94.0];
    assert!(o.crossings(clear, TARGET).is_empty());
    assert!(o.walk(clear, TARGET).is_ok());
}
