//! # Isotherm phantom
//!
//! Seeded synthetic abdominal CT cases for demos, training and tests: a pre-ablation
//! CT with liver, vessels and 1-4 tumours, the matching post-ablation CT (needle track,
//! ablation zone ringed by a hyperaemic rim, heat-sink notch) after a known breathing shift
//! and smooth deformation, and the ground truth for all of it.
//!
//! Everything is sampled from one analytic model ([`anatomy::Anatomy`]) so the truth
//! is exact up to the grid; the same seed gives the same case everywhere.
//!
//! **Architecture invariant:** depends on the SDK only (no file formats): the host
//! writes cases to disk, training code consumes them in memory.

pub mod ablation;
pub mod anatomy;
pub mod deform;
mod render;
pub mod rng;

use isotherm_sdk::abi::{Geometry, LabelEntry, LabelMap, Volume};
use serde::Serialize;

use ablation::{MarginTruth, Needle};
use anatomy::{Anatomy, TumourPlan};
use deform::Deformation;
use rng::Rng;

/// Grid presets: the same field of view at different resolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// 96 x 80 x 40 at 3.75 x 3.5 x 5 mm: unit tests.
    Small,
    /// 192 x 160 x 64 at 1.875 x 1.75 x 3.125 mm: the bundled demo case.
    Demo,
    /// 256 x 256 x 128 at 1.5 x 1.5 x 2 mm: benchmarks.
    Medium,
    /// 512 x 512 x 120 at 0.8 x 0.8 x 2.5 mm: a clinical-size scan.
    Full,
    /// 512 x 512 x 300 at 0.8 x 0.8 x 1 mm: a thin-slice scan (memory and I/O benchmarks).
    Thin,
}

impl Size {
    pub fn parse(s: &str) -> Option<Size> {
        match s {
            "small" => Some(Size::Small),
            "demo" => Some(Size::Demo),
            "medium" => Some(Size::Medium),
            "full" => Some(Size::Full),
            "thin" => Some(Size::Thin),
            _ => None,
        }
    }
    pub fn grid(self) -> ([u32; 3], [f64; 3]) {
        match self {
            Size::Small => ([96, 80, 40], [3.75, 3.5, 5.0]),
            Size::Demo => ([192, 160, 64], [1.875, 1.75, 3.125]),
            Size::Medium => ([256, 256, 128], [1.5, 1.5, 2.0]),
            Size::Full => ([512, 512, 120], [0.8, 0.8, 2.5]),
            Size::Thin => ([512, 512, 300], [0.8, 0.8, 1.0]),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub seed: u64,
    pub size: Size,
    /// 1-4; `None` draws it from the seed.
    pub tumours: Option<usize>,
    /// Tumour radius range, mm (clinical-facts: 4-32 mm; default 6-25).
    pub min_radius: f64,
    pub max_radius: f64,
    /// Image noise, HU (standard deviation).
    pub noise_hu: f64,
    /// Add a gallbladder and the lung bases, labelled (for trajectory planning); off for
    /// the cases the segmentation network was trained and tested on.
    pub organs: bool,
}

impl Config {
    pub fn new(seed: u64, size: Size) -> Self {
        Config { seed, size, tumours: None, min_radius: 6.0, max_radius: 25.0, noise_hu: 12.0, organs: false }
    }
}

/// Ground-truth label values in `pre_labels` / `post_labels`.
pub mod labels {
    pub const LIVER: u16 = 1;
    pub const VESSEL: u16 = 2;
    pub const TUMOUR: u16 = 3;
    pub const ABLATION_ZONE: u16 = 4;
    /// With `Config::organs`.
    pub const GALLBLADDER: u16 = 5;
    pub const LUNG: u16 = 6;
}

/// What the generator knows, written as `truth.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    pub seed: u64,
    pub generator: String,
    pub coordinate_convention: String,
    pub tumours: Vec<TumourTruth>,
    pub treated_tumour: u8,
    pub needle_pre: Needle,
    pub needle_post: Needle,
    pub intended_margin_mm: f64,
    pub ablation_zone: ZoneTruth,
    pub deformation: Deformation,
    /// Portal-vein bifurcations, (pre world, post world) in mm.
    pub landmarks: Vec<Landmark>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TumourTruth {
    pub id: u8,
    pub centre_mm: [f64; 3],
    pub mean_radius_mm: f64,
    pub contrast_hu: f64,
    pub edge_sigma_mm: f64,
    /// Voxel count x voxel volume on the pre grid.
    pub volume_ml: f64,
    pub treated: bool,
    /// Present for the treated tumour.
    pub margin: Option<MarginTruth>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ZoneTruth {
    pub centre_mm: [f64; 3],
    pub axis: [f64; 3],
    pub long_semi_axis_mm: f64,
    pub short_semi_axis_mm: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Landmark {
    pub pre_mm: [f64; 3],
    pub post_mm: [f64; 3],
}

/// One generated case, in memory.
pub struct Case {
    pub pre_ct: Volume,
    pub post_ct: Volume,
    /// Liver, vessels, tumours (union) on the pre grid.
    pub pre_labels: LabelMap,
    /// Tumour n has value n, on the pre grid.
    pub pre_tumours: LabelMap,
    /// Liver, vessels, residual tumour, ablation zone on the post grid.
    pub post_labels: LabelMap,
    /// The ablation zone on the pre grid (value 1).
    pub zone_pre: LabelMap,
    /// Displacement post world -> pre world at each post voxel, (x, y, z) planes.
    pub displacement: [Vec<f32>; 3],
    pub truth: Truth,
}

fn label_table(organs: bool) -> Vec<LabelEntry> {
    let mut t = vec![
        LabelEntry::new(labels::LIVER, "liver", [200, 120, 90, 255]),
        LabelEntry::new(labels::VESSEL, "vessel", [80, 120, 230, 255]),
        LabelEntry::new(labels::TUMOUR, "tumour", [240, 200, 40, 255]),
        LabelEntry::new(labels::ABLATION_ZONE, "ablation zone", [60, 200, 90, 255]),
    ];
    if organs {
        t.push(LabelEntry::new(labels::GALLBLADDER, "gallbladder", [90, 170, 60, 255]));
        t.push(LabelEntry::new(labels::LUNG, "lung", [170, 200, 230, 255]));
    }
    t
}

/// The anatomy and its treatment, before anything is rendered (cheap: no grid).
struct Plan {
    rng: Rng,
    anatomy: Anatomy,
    target: anatomy::Tumour,
    needle: Needle,
    zone: ablation::Zone,
    intended: f64,
}

fn plan(config: &Config) -> Plan {
    let mut rng = Rng::new(config.seed);
    let count = config.tumours.unwrap_or_else(|| rng.int(1, 4) as usize).clamp(1, 4);
    let tumours = TumourPlan { count, min_radius: config.min_radius, max_radius: config.max_radius, organs: config.organs };
    let anatomy = Anatomy::generate(&mut rng.fork(11), tumours);
    let mut treat_rng = rng.fork(12);
    let target = anatomy.tumours[treat_rng.int(0, anatomy.tumours.len() as i64 - 1) as usize].clone();
    let (needle, zone, intended) = ablation::treat(&mut treat_rng, &anatomy, &target);
    Plan { rng, anatomy, target, needle, zone, intended }
}

/// How a seed's treatment turns out, known without rendering it: what training uses to
/// choose cases of a kind (an under-treated large tumour, say) from many seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreatmentSummary {
    /// Mean radius of the treated tumour, mm.
    pub tumour_radius_mm: f64,
    pub intended_margin_mm: f64,
    pub zone_short_semi_axis_mm: f64,
}

impl TreatmentSummary {
    /// How much narrower than the tumour the zone is, mm (negative when it is wider).
    /// Well above zero, tumour is left all round the zone's waist: the post-ablation scan
    /// shows a zone inside a tumour rather than tumour inside a zone.
    pub fn under_treatment_mm(&self) -> f64 {
        self.tumour_radius_mm - self.zone_short_semi_axis_mm
    }
}

pub fn treatment_summary(config: &Config) -> TreatmentSummary {
    let p = plan(config);
    TreatmentSummary { tumour_radius_mm: p.target.radius, intended_margin_mm: p.intended, zone_short_semi_axis_mm: p.zone.short }
}

/// Generates a case.
pub fn generate(config: &Config) -> Case {
    let Plan { mut rng, anatomy, target, needle, zone, intended } = plan(config);
    let deformation = Deformation::generate(&mut rng.fork(13));

    let (dims, spacing) = config.size.grid();
    let extent = [0, 1, 2].map(|a| (dims[a] - 1) as f64 * spacing[a]);
    let pre_geometry = Geometry::axis_aligned(dims, spacing, [-extent[0] / 2.0 + 20.0, -extent[1] / 2.0, -extent[2] / 2.0]);
    let mut geo_rng = rng.fork(14);
    let shift = [geo_rng.range(-6.0, 6.0), geo_rng.range(-6.0, 6.0), geo_rng.range(-10.0, 10.0)];
    let mut post_geometry = pre_geometry;
    post_geometry.origin = anatomy::add(pre_geometry.origin, shift);

    let noise_seed = rng.next_u64();
    let pre = render::render(&anatomy, None, &pre_geometry, &Deformation::identity(), config.noise_hu, noise_seed);
    let post = render::render(&anatomy, Some((&zone, &needle)), &post_geometry, &deformation, config.noise_hu, noise_seed ^ 0xA5A5);

    let voxel_ml = pre_geometry.voxel_volume_mm3() / 1000.0;
    let tumours = anatomy
        .tumours
        .iter()
        .map(|t| {
            let treated = t.id == target.id;
            TumourTruth {
                id: t.id,
                centre_mm: t.centre,
                mean_radius_mm: t.radius,
                contrast_hu: t.contrast,
                edge_sigma_mm: t.edge_sigma,
                volume_ml: pre.tumour_ids.iter().filter(|&&v| v == t.id as u16).count() as f64 * voxel_ml,
                treated,
                margin: treated.then(|| ablation::margin_truth(&anatomy, t, &zone)),
            }
        })
        .collect();
    let landmarks = anatomy.landmarks.iter().map(|&q| Landmark { pre_mm: q, post_mm: deformation.pre_to_post(q) }).collect();
    let truth = Truth {
        seed: config.seed,
        generator: format!("isotherm-phantom {}", env!("CARGO_PKG_VERSION")),
        coordinate_convention: "world millimetres, RAS+ (NIfTI); voxel (i,j,k) at index i + nx*(j + ny*k)".into(),
        tumours,
        treated_tumour: target.id,
        needle_post: Needle { entry: deformation.pre_to_post(needle.entry), tip: deformation.pre_to_post(needle.tip) },
        needle_pre: needle,
        intended_margin_mm: intended,
        ablation_zone: ZoneTruth { centre_mm: zone.centre, axis: zone.axis, long_semi_axis_mm: zone.long, short_semi_axis_mm: zone.short },
        deformation: deformation.clone(),
        landmarks,
    };
    let zone_pre_labels: Vec<u16> = (0..pre_geometry.len())
        .map(|n| {
            let [i, j, k] = pre_geometry.ijk(n);
            zone.contains(pre_geometry.index_to_world([i as f64, j as f64, k as f64])) as u16
        })
        .collect();
    let tumour_table: Vec<LabelEntry> = anatomy
        .tumours
        .iter()
        .map(|t| LabelEntry::new(t.id as u16, &format!("tumour {}", t.id), isotherm_sdk::volume::lesion_colour(t.id as usize)))
        .collect();
    Case {
        pre_ct: Volume::from_i16(pre_geometry, pre.ct),
        post_ct: Volume::from_i16(post_geometry, post.ct),
        pre_labels: LabelMap::new(pre_geometry, pre.labels, label_table(config.organs)),
        pre_tumours: LabelMap::new(pre_geometry, pre.tumour_ids, tumour_table),
        post_labels: LabelMap::new(post_geometry, post.labels, label_table(config.organs)),
        zone_pre: LabelMap::new(pre_geometry, zone_pre_labels, vec![LabelEntry::new(1, "ablation zone", [60, 200, 90, 255])]),
        displacement: post.displacement,
        truth,
    }
}
