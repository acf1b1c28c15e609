//! The treatment in the pre-ablation frame: a needle to one tumour, and the ablation
//! zone it made — a prolate ellipsoid along the needle (clinical-facts: "Zone shape
//! used in planning"), carved back near large vessels (the heat-sink effect).

use serde::Serialize;

use crate::anatomy::{Anatomy, Bumps, Tumour, add, dot, norm, normalize, scale, sub};
use crate::rng::Rng;

/// Vessels at least this wide (radius, mm) cool the tissue around them.
pub const HEAT_SINK_MIN_RADIUS: f64 = 3.0;
/// How far from such a vessel's wall the zone stops, mm.
pub const HEAT_SINK_GAP: f64 = 2.5;
/// The smallest short semi-axis of a zone, mm: a 2 cm short axis, two standard deviations
/// below a clinical series' 3.7 +/- 0.8 cm (clinical-facts, "Clinical zone size").
pub const MIN_SHORT_SEMI_AXIS: f64 = 10.0;

#[derive(Debug, Clone, Serialize)]
pub struct Needle {
    /// Skin entry point, world mm (pre frame).
    pub entry: [f64; 3],
    /// Antenna tip, world mm (pre frame).
    pub tip: [f64; 3],
}

#[derive(Debug, Clone)]
pub struct Zone {
    pub centre: [f64; 3],
    /// Unit vector along the needle.
    pub axis: [f64; 3],
    /// Semi-axis along the needle, mm.
    pub long: f64,
    /// Semi-axis across the needle, mm.
    pub short: f64,
    shape: Bumps,
    /// Large vessels near the zone (copied so the zone stands alone).
    sinks: Vec<crate::anatomy::Segment>,
}

impl Zone {
    /// Ellipsoidal implicit: < 0 inside (before the heat-sink carve).
    fn implicit(&self, p: [f64; 3]) -> f64 {
        let d = sub(p, self.centre);
        let along = dot(d, self.axis);
        let across = norm(sub(d, scale(self.axis, along)));
        let r = ((along / self.long).powi(2) + (across / self.short).powi(2)).sqrt();
        let dir = if norm(d) > 1e-9 { normalize(d) } else { self.axis };
        r - 1.0 - self.shape.at(dir)
    }

    /// Distance from `p` to the nearest heat-sink vessel's wall, mm (infinite if none).
    fn sink_gap(&self, p: [f64; 3]) -> f64 {
        self.sinks.iter().map(|s| s.centreline_distance(p) - s.radius).fold(f64::INFINITY, f64::min)
    }

    pub fn contains(&self, p: [f64; 3]) -> bool {
        self.implicit(p) < 0.0 && self.sink_gap(p) > HEAT_SINK_GAP
    }

    /// Outside the zone but within about `width` mm of it: the hyperaemic rim. It is
    /// reactive tissue around the coagulation, not part of it, so it carries no zone label
    /// (the zone a margin is measured to is the non-enhancing part).
    pub fn in_rim(&self, p: [f64; 3], width: f64) -> bool {
        let v = self.implicit(p);
        let gap = self.sink_gap(p);
        let beyond_edge = (0.0..width / self.short).contains(&v) && gap > HEAT_SINK_GAP;
        // Inside the ellipsoid, the rim lines the surface the heat sink carved.
        let at_carve = v < 0.0 && gap <= HEAT_SINK_GAP && gap > HEAT_SINK_GAP - width;
        beyond_edge || at_carve
    }

    /// Largest extent from the centre, mm.
    pub fn bound(&self) -> f64 {
        self.long.max(self.short) * 1.15
    }
}

/// Plans a treatment of `target`: the needle comes in from the right-anterior body
/// wall; the zone's size is drawn so the intended margin ranges from uncovered (-3 mm)
/// to generous (+9 mm), as cases vary in practice, but is never below a clinical zone's
/// (a small tumour is under-treated by a zone placed off it instead).
pub fn treat(rng: &mut Rng, anatomy: &Anatomy, target: &Tumour) -> (Needle, Zone, f64) {
    let intended_margin = rng.range(-3.0, 9.0);
    let approach = normalize([rng.range(0.6, 1.0), rng.range(0.2, 0.7), rng.range(-0.2, 0.2)]);
    // Walk outward from the tumour to the skin along the approach.
    let mut entry = target.centre;
    for s in 0..400 {
        let p = add(target.centre, scale(approach, s as f64));
        let [a, b] = anatomy.body;
        if (p[0] / a).powi(2) + (p[1] / b).powi(2) > 1.0 {
            break;
        }
        entry = p;
    }
    let axis = normalize(sub(target.centre, entry));
    // Microwave zones are rarely under 2 cm across; a small tumour is under-treated by
    // a zone that misses it, so what the floor adds becomes an offset.
    let wanted = target.radius + intended_margin;
    let short = wanted.max(MIN_SHORT_SEMI_AXIS);
    let long = short * rng.range(1.3, 1.6);
    // The zone sits around the tip; the tip is placed a little past the tumour centre,
    // with a small lateral miss.
    let miss = scale(normalize(crate::anatomy::cross(axis, rng.direction())), rng.range(0.0, 2.5) + (short - wanted));
    let centre = add(add(target.centre, scale(axis, rng.range(-2.0, 2.0))), miss);
    let tip = add(centre, scale(axis, long * 0.35));
    let sinks = anatomy
        .vessels
        .iter()
        .filter(|s| s.radius >= HEAT_SINK_MIN_RADIUS && s.centreline_distance(centre) < long * 1.2 + s.radius + 10.0)
        .cloned()
        .collect();
    let mut shape_rng = rng.fork(7);
    let zone = Zone { centre, axis, long, short, shape: Bumps::new(&mut shape_rng, 3, 2.0, 0.04), sinks };
    (Needle { entry, tip }, zone, intended_margin)
}

/// The true minimal ablative margin of one tumour, computed on a fine local grid.
#[derive(Debug, Clone, Serialize)]
pub struct MarginTruth {
    /// Minimum over the tumour surface of the signed distance to the zone surface, mm:
    /// positive when the whole tumour is inside the zone.
    pub minimal_margin_mm: f64,
    pub covered: bool,
    /// Tumour volume outside the zone, ml.
    pub uncovered_ml: f64,
    /// Share of a 5 mm shell around the tumour that is ablated, percent.
    pub shell_5mm_coverage_percent: f64,
    /// Grid spacing the truth was computed on, mm.
    pub grid_mm: f64,
}

/// Rasterises tumour and zone on an isotropic grid around the tumour (0.4 mm when it
/// fits in ~12 M voxels) and measures the margin with the SDK's exact EDT.
pub fn margin_truth(anatomy: &Anatomy, tumour: &Tumour, zone: &Zone) -> MarginTruth {
    use isotherm_sdk::volume::edt;
    let half = tumour.bound() + 12.0;
    let mut h = 0.4;
    while (2.0 * half / h).powi(3) > 12.0e6 {
        h *= 1.25;
    }
    let n = (2.0 * half / h).ceil() as usize + 1;
    let origin = sub(tumour.centre, [half; 3]);
    let at = |i: usize, j: usize, k: usize| add(origin, [i as f64 * h, j as f64 * h, k as f64 * h]);
    let mut in_tumour = vec![false; n * n * n];
    let mut in_zone = vec![false; n * n * n];
    let mut in_shell = vec![false; n * n * n];
    use rayon::prelude::*;
    in_tumour.par_chunks_mut(n * n).zip(in_zone.par_chunks_mut(n * n)).zip(in_shell.par_chunks_mut(n * n)).enumerate().for_each(
        |(k, ((t, z), s))| {
            for j in 0..n {
                for i in 0..n {
                    let p = at(i, j, k);
                    let sd = tumour.signed_distance(p);
                    t[i + n * j] = sd <= 0.0 && anatomy.in_liver(p);
                    s[i + n * j] = sd > 0.0 && sd <= 5.0;
                    z[i + n * j] = zone.contains(p);
                }
            }
        },
    );
    let dims = [n, n, n];
    let sdf = edt::signed_distance(&in_zone, dims, [h; 3]);
    let mut min_margin = f64::INFINITY;
    for k in 1..n - 1 {
        for j in 1..n - 1 {
            for i in 1..n - 1 {
                let idx = i + n * (j + n * k);
                if !in_tumour[idx] {
                    continue;
                }
                let boundary = [idx - 1, idx + 1, idx - n, idx + n, idx - n * n, idx + n * n].iter().any(|&m| !in_tumour[m]);
                if boundary {
                    // Margin is minus the zone's signed distance (inside the zone = positive margin).
                    // Voxel-centre EDT overstates by up to half a voxel; correct by h/2.
                    let m = -sdf[idx] as f64;
                    let m = if m > 0.0 { m - h / 2.0 } else { m + h / 2.0 };
                    min_margin = min_margin.min(m);
                }
            }
        }
    }
    let voxel_ml = h * h * h / 1000.0;
    let uncovered = in_tumour.iter().zip(&in_zone).filter(|(t, z)| **t && !**z).count() as f64 * voxel_ml;
    let shell_total = in_shell.iter().filter(|s| **s).count().max(1) as f64;
    let shell_ablated = in_shell.iter().zip(&in_zone).filter(|(s, z)| **s && **z).count() as f64;
    MarginTruth {
        minimal_margin_mm: min_margin,
        covered: uncovered == 0.0 && min_margin > 0.0,
        uncovered_ml: uncovered,
        shell_5mm_coverage_percent: 100.0 * shell_ablated / shell_total,
        grid_mm: h,
    }
}
