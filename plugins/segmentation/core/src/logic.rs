//! The segmentation as plain functions: CT + network -> cleaned labels, lesion list,
//! surfaces, and the scene changes the plugin returns. The plugin entry, the `eval`
//! command and the tests all call these.

use candle_core::Device;
use isotherm_sdk::prelude::*;
use isotherm_sdk::volume::{lesion_colour, mesh};

use crate::infer::{InferError, Progress, predict};
use crate::lesions::{self, ABLATION_ZONE, ClassIndex, LIVER, Lesion, TUMOUR};
use crate::net::UNet;

pub struct Settings {
    pub min_lesion_ml: f64,
    /// Slices per forward pass.
    pub batch: usize,
    pub mesh_smoothing: usize,
    pub phase: Phase,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { min_lesion_ml: 0.1, batch: 8, mesh_smoothing: 10, phase: Phase::Unknown }
    }
}

/// When the scan was taken relative to the ablation, as far as the user knows. Before
/// treatment there is no ablation zone, so the class is not offered (a hypodense tumour
/// cannot come out as "zone"); after it, or when unknown, every class is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Unknown,
    PreAblation,
    PostAblation,
}

impl Phase {
    /// The plugin parameter's choices, in this order.
    pub const CHOICES: [&str; 3] = ["unknown", "pre-ablation", "post-ablation"];

    pub fn parse(text: &str) -> Option<Phase> {
        match text {
            "unknown" => Some(Phase::Unknown),
            "pre-ablation" => Some(Phase::PreAblation),
            "post-ablation" => Some(Phase::PostAblation),
            _ => None,
        }
    }
}

pub struct Segmentation {
    pub geometry: Geometry,
    /// 0 background, 1 liver, 3 tumour, 4 ablation zone (the phantom's values).
    pub labels: Vec<u16>,
    /// Lesion n has value n (largest first).
    pub lesion_map: Vec<u16>,
    pub lesions: Vec<Lesion>,
    pub liver_ml: f64,
    pub zone_ml: f64,
}

pub fn segment(ct: &Volume, net: &UNet, device: &Device, settings: &Settings, progress: &dyn Progress) -> Result<Segmentation, PluginError> {
    ct.validate().map_err(|e| PluginError::invalid_input(format!("input 'ct': {e}")))?;
    let mut prediction = predict(net, ct, device, settings.batch.max(1), progress).map_err(|e| match e {
        InferError::Cancelled => PluginError::cancelled(),
        InferError::Network(m) => PluginError::new(ErrorKind::Model, format!("segmentation network failed: {m}")),
    })?;
    let arch = &net.arch;
    if settings.phase == Phase::PreAblation && let Some(zone) = arch.class("ablation zone") {
        prediction.probabilities[zone].fill(0.0);
    }
    let classes = prediction.classes_on(&ct.geometry);
    let index = ClassIndex {
        liver: arch.class("liver").unwrap_or(1) as u8,
        tumour: arch.class("tumour").map(|c| c as u8),
        zone: arch.class("ablation zone").map(|c| c as u8),
    };
    drop(prediction);
    let cleaned = lesions::clean(classes, &ct.geometry, index, settings.min_lesion_ml);
    let lesions = lesions::measure(&cleaned.lesions, cleaned.lesion_count, &ct.data, &ct.geometry);
    let voxel_ml = ct.geometry.voxel_volume_mm3() / 1000.0;
    let count = |v: u16| cleaned.labels.iter().filter(|&&l| l == v).count() as f64 * voxel_ml;
    Ok(Segmentation {
        geometry: ct.geometry,
        liver_ml: cleaned.labels.iter().filter(|&&l| l != 0).count() as f64 * voxel_ml,
        zone_ml: count(ABLATION_ZONE),
        labels: cleaned.labels,
        lesion_map: cleaned.lesions,
        lesions,
    })
}

fn surface(mask: &[bool], geometry: &Geometry, smoothing: usize, colour: [f32; 4]) -> Mesh {
    let mut m = mesh::mask_surface_smooth(mask, geometry, 0.7);
    mesh::smooth_taubin(&mut m, smoothing);
    mesh::compute_normals(&mut m);
    m.colour = colour;
    m
}

fn rgba(c: [u8; 4], alpha: f32) -> [f32; 4] {
    [c[0] as f32 / 255.0, c[1] as f32 / 255.0, c[2] as f32 / 255.0, alpha]
}

pub fn label_table() -> Vec<LabelEntry> {
    vec![
        LabelEntry::new(LIVER, "liver", [200, 120, 90, 255]),
        LabelEntry::new(TUMOUR, "tumour", [240, 200, 40, 255]),
        LabelEntry::new(ABLATION_ZONE, "ablation zone", [60, 200, 90, 255]),
    ]
}

/// The scene changes: label maps, one surface per structure, the lesion report. The
/// label maps move into the output (no copy: 157 MB each at 512 x 512 x 300).
pub fn to_output(seg: Segmentation, smoothing: usize) -> RunOutput {
    let g = &seg.geometry;
    let node = |name: String, data: NodeData| NodeChange::Upsert(SceneNode { name: name.into(), data });
    let mut changes = Vec::new();
    let liver: Vec<bool> = seg.labels.iter().map(|&l| l != 0).collect();
    changes.push(node("liver".into(), NodeData::Mesh(surface(&liver, g, smoothing, [0.85, 0.55, 0.45, 0.3]))));
    if seg.zone_ml > 0.0 {
        let zone: Vec<bool> = seg.labels.iter().map(|&l| l == ABLATION_ZONE).collect();
        changes.push(node("ablation-zone".into(), NodeData::Mesh(surface(&zone, g, smoothing, [0.25, 0.8, 0.35, 0.45]))));
    }
    for l in &seg.lesions {
        let mask: Vec<bool> = seg.lesion_map.iter().map(|&v| v == l.id).collect();
        changes.push(node(format!("tumour-{}", l.id), NodeData::Mesh(surface(&mask, g, smoothing, rgba(lesion_colour(l.id as usize), 1.0)))));
    }
    changes.push(node("lesion-table".into(), NodeData::Report(report(&seg))));
    let lesion_table = seg.lesions.iter().map(|l| LabelEntry::new(l.id, &format!("lesion {}", l.id), lesion_colour(l.id as usize))).collect();
    let maps = [
        node("labels".into(), NodeData::LabelMap(LabelMap::new(*g, seg.labels, label_table()))),
        node("lesions".into(), NodeData::LabelMap(LabelMap::new(*g, seg.lesion_map, lesion_table))),
    ];
    changes.splice(0..0, maps);
    RunOutput { changes: changes.into() }
}

pub fn report(seg: &Segmentation) -> Report {
    let columns = ["lesion", "volume", "long axis", "short axis", "centroid x", "centroid y", "centroid z", "mean HU"];
    let units = ["", "ml", "mm", "mm", "mm", "mm", "mm", "HU"];
    let rows: Vec<RVec<Cell>> = seg
        .lesions
        .iter()
        .map(|l| {
            let mut row = vec![Cell::Integer(l.id as i64), Cell::Number(l.volume_ml), Cell::Number(l.long_axis_mm), Cell::Number(l.short_axis_mm)];
            row.extend(l.centroid_mm.iter().map(|&c| Cell::Number(c)));
            row.push(Cell::Number(l.mean_hu));
            row.into()
        })
        .collect();
    let table = Table {
        name: "lesions".into(),
        columns: columns.iter().map(|c| RString::from(*c)).collect(),
        units: units.iter().map(|c| RString::from(*c)).collect(),
        rows: rows.into(),
    };
    let tumour_ml: f64 = seg.lesions.iter().map(|l| l.volume_ml).sum();
    let value = |key: &str, v: Cell, unit: &str| KeyValue { key: key.into(), value: v, unit: unit.into() };
    let text = match seg.lesions.len() {
        0 => format!("liver {:.0} ml, no lesion found", seg.liver_ml),
        n => format!(
            "liver {:.0} ml, {n} lesion{} ({:.1} ml); largest {:.0} x {:.0} mm",
            seg.liver_ml,
            if n == 1 { "" } else { "s" },
            tumour_ml,
            seg.lesions[0].long_axis_mm,
            seg.lesions[0].short_axis_mm
        ),
    };
    Report {
        title: "Liver and lesion segmentation".into(),
        text: text.into(),
        values: vec![
            value("liver_volume", Cell::Number(seg.liver_ml), "ml"),
            value("lesions", Cell::Integer(seg.lesions.len() as i64), ""),
            value("tumour_volume", Cell::Number(tumour_ml), "ml"),
            value("ablation_zone_volume", Cell::Number(seg.zone_ml), "ml"),
        ]
        .into(),
        tables: vec![table].into(),
    }
}
