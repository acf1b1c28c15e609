//! The analytic abdomen: every structure is a function of a world point (mm, RAS+),
//! so the pre-ablation CT, the deformed post-ablation CT and the ground truth are all
//! sampled from one model, with no interpolation between them.
//!
//! HU values follow `shared/reference/clinical-facts.md` ("CT appearance"): portal
//! venous phase liver ~110 HU, metastases 30-80 HU darker with 1-2 mm blurred edges,
//! portal/hepatic veins brighter than liver.

use crate::rng::Rng;

/// Liver in portal venous phase (clinical-facts: about 110-120 HU).
pub const LIVER_HU: f64 = 110.0;
pub const PORTAL_HU: f64 = 175.0;
pub const HEPATIC_HU: f64 = 155.0;

/// What a point is made of. Drives both intensity and the ground-truth labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tissue {
    Air,
    Fat,
    Muscle,
    SoftTissue,
    Bone,
    BigVessel,
    Liver,
    Gallbladder,
    Lung,
    /// Portal or hepatic vein inside the liver.
    LiverVessel,
    /// Tumour number n (1-based).
    Tumour(u8),
}

/// A straight piece of a vessel tree.
#[derive(Debug, Clone)]
pub struct Segment {
    pub a: [f64; 3],
    pub b: [f64; 3],
    pub radius: f64,
    pub hu: f64,
}

impl Segment {
    /// Distance from `p` to the centreline.
    pub fn centreline_distance(&self, p: [f64; 3]) -> f64 {
        segment_distance(p, self.a, self.b)
    }
}

/// A sum of a few sines over a unit direction: a smooth, seeded "bumpiness".
#[derive(Debug, Clone)]
pub struct Bumps {
    terms: Vec<([f64; 3], f64, f64)>, // (frequency vector, amplitude, phase)
}

impl Bumps {
    pub fn new(rng: &mut Rng, count: usize, frequency: f64, amplitude: f64) -> Self {
        let terms = (0..count)
            .map(|_| (scale(rng.direction(), frequency * rng.range(0.7, 1.3)), amplitude * rng.range(0.5, 1.0), rng.range(0.0, 6.283)))
            .collect();
        Bumps { terms }
    }
    pub fn at(&self, u: [f64; 3]) -> f64 {
        self.terms.iter().map(|(w, a, ph)| a * (dot(*w, u) + ph).sin()).sum()
    }
}

#[derive(Debug, Clone)]
pub struct Tumour {
    pub id: u8,
    pub centre: [f64; 3],
    /// Mean radius in mm.
    pub radius: f64,
    /// HU below the liver (positive = darker).
    pub contrast: f64,
    /// Edge blur, mm (Gaussian sigma).
    pub edge_sigma: f64,
    shape: Bumps,
}

impl Tumour {
    /// Radial signed distance (mm), negative inside: |p - c| - r(direction).
    pub fn signed_distance(&self, p: [f64; 3]) -> f64 {
        let d = sub(p, self.centre);
        let len = norm(d);
        if len < 1e-9 {
            return -self.radius;
        }
        len - self.radius * (1.0 + self.shape.at(scale(d, 1.0 / len)))
    }
    /// Largest possible extent from the centre.
    pub fn bound(&self) -> f64 {
        self.radius * 1.4
    }
}

#[derive(Debug, Clone)]
struct Lobe {
    centre: [f64; 3],
    axes: [f64; 3],
    shape: Bumps,
}

impl Lobe {
    /// < 0 inside; roughly (normalised radius - 1).
    fn implicit(&self, p: [f64; 3]) -> f64 {
        let q = [0, 1, 2].map(|a| (p[a] - self.centre[a]) / self.axes[a]);
        let r = norm(q);
        let dir = if r > 1e-9 { scale(q, 1.0 / r) } else { [0.0, 0.0, 1.0] };
        r - 1.0 - self.shape.at(dir)
    }
}

/// Uniform grid of cells listing the vessel segments that may reach into each cell.
#[derive(Debug, Clone)]
struct SegmentGrid {
    min: [f64; 3],
    cell: f64,
    dims: [usize; 3],
    cells: Vec<Vec<u32>>,
}

impl SegmentGrid {
    fn new(segments: &[Segment], cell: f64) -> Self {
        let mut min = [f64::INFINITY; 3];
        let mut max = [f64::NEG_INFINITY; 3];
        for s in segments {
            for a in 0..3 {
                min[a] = min[a].min(s.a[a].min(s.b[a]) - s.radius);
                max[a] = max[a].max(s.a[a].max(s.b[a]) + s.radius);
            }
        }
        let dims = [0, 1, 2].map(|a| (((max[a] - min[a]) / cell).ceil() as usize).max(1));
        let mut cells = vec![Vec::new(); dims[0] * dims[1] * dims[2]];
        for (n, s) in segments.iter().enumerate() {
            let lo = [0, 1, 2].map(|a| (((s.a[a].min(s.b[a]) - s.radius - min[a]) / cell).floor().max(0.0) as usize).min(dims[a] - 1));
            let hi = [0, 1, 2].map(|a| (((s.a[a].max(s.b[a]) + s.radius - min[a]) / cell).floor().max(0.0) as usize).min(dims[a] - 1));
            for k in lo[2]..=hi[2] {
                for j in lo[1]..=hi[1] {
                    for i in lo[0]..=hi[0] {
                        cells[i + dims[0] * (j + dims[1] * k)].push(n as u32);
                    }
                }
            }
        }
        SegmentGrid { min, cell, dims, cells }
    }
    fn candidates(&self, p: [f64; 3]) -> &[u32] {
        let mut idx = [0usize; 3];
        for a in 0..3 {
            let c = ((p[a] - self.min[a]) / self.cell).floor();
            if c < 0.0 || c >= self.dims[a] as f64 {
                return &[];
            }
            idx[a] = c as usize;
        }
        &self.cells[idx[0] + self.dims[0] * (idx[1] + self.dims[1] * idx[2])]
    }
}

/// A seeded abdomen with liver, vessel trees and tumours.
#[derive(Debug, Clone)]
pub struct Anatomy {
    /// Body outline semi-axes in x (left-right) and y (anterior-posterior), mm.
    pub body: [f64; 2],
    lobes: Vec<Lobe>,
    pub vessels: Vec<Segment>,
    grid: SegmentGrid,
    pub tumours: Vec<Tumour>,
    /// Portal bifurcations inside the liver: registration landmarks.
    pub landmarks: Vec<[f64; 3]>,
    texture: Bumps,
    organs: bool,
}

/// Tumour-count and size choices for [`Anatomy::generate`].
#[derive(Debug, Clone, Copy)]
pub struct TumourPlan {
    pub count: usize,
    pub min_radius: f64,
    pub max_radius: f64,
    /// Also a gallbladder and the lung bases (what trajectory planning must avoid).
    pub organs: bool,
}

/// The gallbladder, under the liver near the hilum: centre and semi-axes, mm.
pub const GALLBLADDER: ([f64; 3], [f64; 3]) = ([25.0, 45.0, -55.0], [14.0, 14.0, 30.0]);
/// Above this height, inside the ribs and outside the liver, is lung (the lung bases
/// around the liver's dome).
pub const LUNG_BASE_Z: f64 = 60.0;
pub const GALLBLADDER_HU: f64 = 10.0;
pub const LUNG_HU: f64 = -850.0;

impl Anatomy {
    /// Inside the gallbladder (when the anatomy has one).
    pub fn in_gallbladder(&self, p: [f64; 3]) -> bool {
        let (c, r) = GALLBLADDER;
        self.organs && (0..3).map(|a| ((p[a] - c[a]) / r[a]).powi(2)).sum::<f64>() <= 1.0
    }

    pub fn generate(rng: &mut Rng, plan: TumourPlan) -> Anatomy {
        let mut shape_rng = rng.fork(1);
        let body = [rng.range(150.0, 170.0), rng.range(110.0, 125.0)];
        let lobes = vec![
            Lobe { centre: [55.0 + rng.range(-5.0, 5.0), 5.0, 0.0], axes: [80.0, 78.0, 72.0], shape: Bumps::new(&mut shape_rng, 5, 2.5, 0.05) },
            Lobe { centre: [-25.0, 35.0, 15.0], axes: [55.0, 38.0, 40.0], shape: Bumps::new(&mut shape_rng, 4, 2.5, 0.05) },
        ];
        let mut a = Anatomy {
            body,
            lobes,
            vessels: Vec::new(),
            grid: SegmentGrid::new(&[], 12.0),
            tumours: Vec::new(),
            landmarks: Vec::new(),
            texture: Bumps::new(&mut shape_rng, 6, 0.08, 3.0),
            organs: plan.organs,
        };
        let mut vessel_rng = rng.fork(2);
        a.grow_vessels(&mut vessel_rng);
        a.grid = SegmentGrid::new(&a.vessels, 12.0);
        let mut tumour_rng = rng.fork(3);
        a.place_tumours(&mut tumour_rng, plan);
        a
    }

    /// < 0 inside the liver.
    pub fn liver_implicit(&self, p: [f64; 3]) -> f64 {
        self.lobes.iter().map(|l| l.implicit(p)).fold(f64::INFINITY, f64::min)
    }

    pub fn in_liver(&self, p: [f64; 3]) -> bool {
        self.liver_implicit(p) < 0.0
    }

    fn grow_vessels(&mut self, rng: &mut Rng) {
        // Portal vein: enters at the hilum, branches towards the periphery.
        let hilum = [30.0, -5.0, -20.0];
        let trunk_dir = normalize([0.6, 0.3, 0.5]);
        self.branch(rng, hilum, trunk_dir, 7.0, 38.0, 0, 4, PORTAL_HU, true);
        // Hepatic veins: from the IVC near the top of the liver, fanning out.
        let confluence = [22.0, -38.0, 45.0];
        for dir in [[0.8, 0.5, -0.3], [0.1, 0.9, -0.3], [-0.6, 0.7, -0.2]] {
            let d = normalize([dir[0] + rng.range(-0.1, 0.1), dir[1], dir[2] + rng.range(-0.1, 0.1)]);
            self.branch(rng, confluence, d, 5.5, 40.0, 0, 3, HEPATIC_HU, false);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn branch(&mut self, rng: &mut Rng, start: [f64; 3], dir: [f64; 3], radius: f64, length: f64, depth: usize, max_depth: usize, hu: f64, landmarks: bool) {
        // Step until the segment leaves the liver (after its first part).
        let mut end = start;
        let steps = 8;
        for s in 1..=steps {
            let p = add(start, scale(dir, length * s as f64 / steps as f64));
            if !self.in_liver(p) && s > 2 && depth > 0 {
                break;
            }
            end = p;
        }
        if norm(sub(end, start)) < 3.0 {
            return;
        }
        self.vessels.push(Segment { a: start, b: end, radius, hu });
        if depth + 1 >= max_depth || !self.in_liver(end) {
            return;
        }
        if landmarks && radius >= 2.5 && self.liver_implicit(end) < -0.1 {
            self.landmarks.push(end);
        }
        for side in [-1.0, 1.0] {
            let bend = scale(normalize(cross(dir, rng.direction())), side * rng.range(0.45, 0.8));
            let child = normalize(add(dir, bend));
            let child_length = length * rng.range(0.7, 0.9);
            self.branch(rng, end, child, radius * 0.72, child_length, depth + 1, max_depth, hu, landmarks);
        }
    }

    fn place_tumours(&mut self, rng: &mut Rng, plan: TumourPlan) {
        for n in 0..plan.count {
            let u = rng.unit();
            let mut radius = (plan.min_radius.ln() + u * (plan.max_radius / plan.min_radius).ln()).exp();
            for attempt in 0..400 {
                if attempt % 100 == 99 {
                    radius = (radius * 0.8).max(plan.min_radius);
                }
                let lobe = &self.lobes[0];
                let offsets = [rng.range(-0.75, 0.75), rng.range(-0.75, 0.75), rng.range(-0.75, 0.75)];
                let c = [0, 1, 2].map(|a| lobe.centre[a] + offsets[a] * lobe.axes[a]);
                if !self.fits(c, radius) {
                    continue;
                }
                let mut shape_rng = rng.fork(n as u64);
                self.tumours.push(Tumour {
                    id: n as u8 + 1,
                    centre: c,
                    radius,
                    contrast: rng.range(30.0, 80.0),
                    edge_sigma: rng.range(1.0, 2.0),
                    shape: Bumps::new(&mut shape_rng, 4, 2.0, 0.07),
                });
                break;
            }
        }
    }

    /// A tumour of `radius` at `c` lies inside the liver, clear of the other tumours
    /// and of large vessels.
    fn fits(&self, c: [f64; 3], radius: f64) -> bool {
        let dirs = [[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, -1.0],
            [0.577, 0.577, 0.577], [-0.577, -0.577, 0.577], [0.577, -0.577, -0.577], [-0.577, 0.577, -0.577]];
        let inside = dirs.iter().all(|d| self.liver_implicit(add(c, scale(*d, radius * 1.3 + 4.0))) < 0.0);
        let apart = self.tumours.iter().all(|t| norm(sub(t.centre, c)) > t.bound() + radius * 1.4 + 5.0);
        let clear = self.vessels.iter().filter(|v| v.radius >= 4.0).all(|v| v.centreline_distance(c) > radius * 1.4 + v.radius + 2.0);
        let away = !self.organs || dirs.iter().all(|d| !self.in_gallbladder(add(c, scale(*d, radius * 1.3 + 8.0))));
        inside && apart && clear && away
    }

    /// The liver vessel (if any) whose lumen contains `p`.
    pub fn vessel_at(&self, p: [f64; 3]) -> Option<&Segment> {
        self.grid.candidates(p).iter().map(|&i| &self.vessels[i as usize]).find(|s| s.centreline_distance(p) <= s.radius)
    }

    /// Distance from `p` to the wall of the nearest vessel of at least `min_radius`
    /// (a heat sink), searched among the segments near `p`.
    pub fn large_vessel_wall_distance(&self, p: [f64; 3], min_radius: f64) -> f64 {
        self.vessels
            .iter()
            .filter(|s| s.radius >= min_radius)
            .map(|s| s.centreline_distance(p) - s.radius)
            .fold(f64::INFINITY, f64::min)
    }

    /// Clean (noise-free, unblurred) intensity and tissue at a world point.
    pub fn sample(&self, p: [f64; 3]) -> (f64, Tissue) {
        let [x, y, z] = p;
        let [a, b] = self.body;
        let ellipse = |da: f64, db: f64| (x / (a - da)).powi(2) + (y / (b - db)).powi(2);
        if ellipse(0.0, 0.0) > 1.0 {
            return (-1000.0, Tissue::Air);
        }
        if ellipse(15.0, 15.0) > 1.0 {
            return (-100.0, Tissue::Fat);
        }
        if ellipse(25.0, 25.0) > 1.0 {
            return (50.0, Tissue::Muscle);
        }
        // Ribs: just inside the muscle wall, every 28 mm at the spine, sloping 40 mm down
        // towards the front, so an axial slice cuts each one as a short arc.
        if ellipse(34.0, 34.0) > 1.0 && z > -90.0 {
            let from_spine = (x.atan2(-y)).abs(); // 0 at the back, pi at the front
            let drop = 40.0 * (1.0 - from_spine.cos()) / 2.0;
            if from_spine > 0.35 && (z + drop + 200.0).rem_euclid(28.0) < 8.0 {
                return (650.0, Tissue::Bone);
            }
        }
        // Spine: vertebral body with a cortical rim, discs, and the canal behind it.
        let vb = ((x).powi(2) + (y + 75.0).powi(2)).sqrt();
        if vb < 22.0 {
            if (z + 200.0).rem_euclid(32.0) < 6.0 {
                return (90.0, Tissue::SoftTissue);
            }
            return (if vb > 19.5 { 700.0 } else { 280.0 }, Tissue::Bone);
        }
        if ((x).powi(2) + (y + 104.0).powi(2)).sqrt() < 8.0 {
            return (20.0, Tissue::SoftTissue);
        }
        if ((x + 20.0).powi(2) + (y + 50.0).powi(2)).sqrt() < 11.0 {
            return (180.0, Tissue::BigVessel); // aorta
        }
        if ((x - 22.0).powi(2) + (y + 40.0).powi(2)).sqrt() < 11.0 && z < 50.0 {
            return (140.0, Tissue::BigVessel); // inferior vena cava
        }
        if self.in_gallbladder(p) {
            return (GALLBLADDER_HU, Tissue::Gallbladder);
        }
        let liver = self.in_liver(p);
        if self.organs && !liver && z > LUNG_BASE_Z && ellipse(34.0, 34.0) <= 1.0 && self.vessel_at(p).is_none() {
            return (LUNG_HU, Tissue::Lung);
        }
        if liver {
            let base = LIVER_HU + self.texture.at([x / 100.0, y / 100.0, z / 100.0]);
            for t in &self.tumours {
                if norm(sub(p, t.centre)) > t.bound() + 4.0 * t.edge_sigma {
                    continue;
                }
                let sd = t.signed_distance(p);
                // Blurred edge: the tumour's contrast fades with a Gaussian profile.
                let weight = 0.5 * erfc(sd / (t.edge_sigma * std::f64::consts::SQRT_2));
                if sd <= 0.0 {
                    return (base - t.contrast * weight, Tissue::Tumour(t.id));
                }
                if weight > 0.01 {
                    return (base - t.contrast * weight, Tissue::Liver);
                }
            }
            if let Some(v) = self.vessel_at(p) {
                return (v.hu, Tissue::LiverVessel);
            }
            return (base, Tissue::Liver);
        }
        if let Some(v) = self.vessel_at(p) {
            return (v.hu, Tissue::BigVessel); // trunks outside the liver
        }
        // Bowel and mesentery: soft tissue with fat.
        let f = (x / 11.0).sin() * (y / 13.0).sin() * (z / 9.0).sin();
        if f > 0.45 { (-90.0, Tissue::Fat) } else { (35.0, Tissue::SoftTissue) }
    }
}

/// Distance from `p` to the segment `a`-`b`.
pub fn segment_distance(p: [f64; 3], a: [f64; 3], b: [f64; 3]) -> f64 {
    let ab = sub(b, a);
    let ap = sub(p, a);
    let t = (dot(ap, ab) / dot(ab, ab).max(1e-12)).clamp(0.0, 1.0);
    norm(sub(ap, scale(ab, t)))
}

/// Complementary error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.3275911 * z);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let r = poly * (-z * z).exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

pub fn add(a: [f64; 3], b: [f64; 3]) -> [f64; 3] { [a[0] + b[0], a[1] + b[1], a[2] + b[2]] }
pub fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] { [a[0] - b[0], a[1] - b[1], a[2] - b[2]] }
pub fn scale(a: [f64; 3], s: f64) -> [f64; 3] { [a[0] * s, a[1] * s, a[2] * s] }
pub fn dot(a: [f64; 3], b: [f64; 3]) -> f64 { a[0] * b[0] + a[1] * b[1] + a[2] * b[2] }
pub fn norm(a: [f64; 3]) -> f64 { dot(a, a).sqrt() }
pub fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] { [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]] }
pub fn normalize(a: [f64; 3]) -> [f64; 3] { scale(a, 1.0 / norm(a).max(1e-12)) }
