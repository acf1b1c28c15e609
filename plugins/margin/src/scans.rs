//! The automatic two-scan workflow: segment the pre- and post-ablation CTs (the
//! segmentation plugin's network and code, `isotherm-segmentation-core`), register the
//! post scan onto the pre scan, and bring the ablation zone into the pre frame, where
//! `logic::assess` measures the margin.

use candle_core::Device;
use isotherm_sdk::prelude::*;
use isotherm_segmentation_core::lesions::{ABLATION_ZONE, TUMOUR};
use isotherm_segmentation_core::logic::{Phase, Settings as SegSettings, segment};
use isotherm_segmentation_core::net::UNet;

use crate::register::{self, Registration};

pub struct Prepared {
    /// Tumours on the pre grid (lesion n = value n): the user's map, or the network's.
    pub tumours: LabelMap,
    /// The ablation zone in the pre frame (value 1).
    pub zone_pre: LabelMap,
    /// The post-ablation CT resampled onto the pre grid through the registration.
    pub registered_post: Volume,
    pub registration: Registration,
    /// Dice of the pre liver and the registered post liver.
    pub liver_dice: f64,
}

fn dice(a: &[bool], b: &[bool]) -> f64 {
    let both = a.iter().zip(b).filter(|(x, y)| **x && **y).count();
    let total = a.iter().filter(|x| **x).count() + b.iter().filter(|x| **x).count();
    if total == 0 { 1.0 } else { 2.0 * both as f64 / total as f64 }
}

pub fn prepare(pre: &Volume, post: &Volume, tumours: Option<&LabelMap>, net: &UNet, device: &Device, host: &Host<'_>) -> Result<Prepared, PluginError> {
    let stage = |from: f32, to: f32, what: &'static str| move |f: f64| {
        host.progress(from + (to - from) * f as f32, what);
        !host.is_cancelled()
    };
    let pre_settings = SegSettings { phase: Phase::PreAblation, ..Default::default() };
    let post_settings = SegSettings { phase: Phase::PostAblation, ..Default::default() };
    // The post scan first, keeping of it only liver and zone, one byte a voxel, so that
    // little is held while the pre scan is segmented (on a 512 x 512 x 300 scan each
    // full-size label map is 157 MB and a segmentation's own peak about 500 MB).
    const OUTSIDE: u8 = 0;
    const ZONE: u8 = 2;
    let post_classes: Vec<u8> = segment(post, net, device, &post_settings, &stage(0.0, 0.25, "segmenting the post-ablation CT"))?
        .labels
        .iter()
        .map(|&l| match l {
            0 => OUTSIDE,
            ABLATION_ZONE => ZONE,
            _ => 1,
        })
        .collect();
    if !post_classes.contains(&ZONE) {
        return Err(PluginError::invalid_input("no ablation zone was found in the post-ablation CT"));
    }
    let pre_seg = segment(pre, net, device, &pre_settings, &stage(0.25, 0.5, "segmenting the pre-ablation CT"))?;
    let pre_liver: Vec<bool> = pre_seg.labels.iter().map(|&l| l != 0).collect();
    let found_tumour = pre_seg.labels.iter().any(|&l| l == TUMOUR);
    let (pre_lesions, lesion_map) = (pre_seg.lesions, pre_seg.lesion_map);
    drop(pre_seg.labels);
    let post_zone: Vec<bool> = post_classes.iter().map(|&c| c == ZONE).collect();
    let post_liver: Vec<bool> = post_classes.iter().map(|&c| c != OUTSIDE).collect();
    drop(post_classes);
    let tumours = match tumours {
        Some(t) => t.clone(),
        None => {
            if !found_tumour {
                return Err(PluginError::invalid_input("no tumour was found in the pre-ablation CT"));
            }
            let table = pre_lesions.iter().map(|l| LabelEntry::new(l.id, &format!("tumour {}", l.id), isotherm_sdk::volume::lesion_colour(l.id as usize))).collect();
            LabelMap::new(pre.geometry, lesion_map, table)
        }
    };
    let progress = stage(0.5, 0.85, "registering post onto pre");
    let registration = register::register(pre, post, &pre_liver, &post_liver, &post_zone, &register::Settings { device: device.clone(), ..Default::default() }, &progress).map_err(|e| {
        if e == "cancelled" { PluginError::cancelled() } else { PluginError::internal(format!("registration failed: {e}")) }
    })?;
    host.progress(0.85, "resampling the post-ablation CT");
    // One full-size array at a time (each 79-157 MB on a thin-slice scan).
    let (pg, qg) = (pre.geometry, post.geometry);
    let zone_pre: Vec<u16> = registration.warp_nearest(&post_zone, &qg, &pg).iter().map(|&z| z as u16).collect();
    drop(post_zone);
    let liver_dice = dice(&pre_liver, &registration.warp_nearest(&post_liver, &qg, &pg));
    drop((pre_liver, post_liver));
    let registered = registration.warp_linear_hu(&post.data, &qg, &pg);
    Ok(Prepared {
        tumours,
        zone_pre: LabelMap::new(pg, zone_pre, vec![LabelEntry::new(1, "ablation zone (registered)", [60, 200, 90, 255])]),
        // Whole HU, as CT is stored: half the memory and file of f32, within 0.5 HU.
        registered_post: Volume::from_i16(pg, registered),
        liver_dice,
        registration,
    })
}

/// The registration's figures for the report.
pub fn report(p: &Prepared) -> Report {
    let r = &p.registration.rigid;
    let value = |key: &str, v: f64, unit: &str| KeyValue { key: key.into(), value: Cell::Number(v), unit: unit.into() };
    let max_u = p.registration.field.as_ref().map(|f| (0..f.displacement[0].len()).map(|n| (0..3).map(|a| (f.displacement[a][n] as f64).powi(2)).sum::<f64>().sqrt()).fold(0.0, f64::max)).unwrap_or(0.0);
    Report {
        title: "Registration (post onto pre)".into(),
        text: format!(
            "rigid: {:.1} / {:.1} / {:.1} mm, {:.2} / {:.2} / {:.2} deg; deformable up to {max_u:.1} mm; liver overlap after registration (Dice) {:.3}",
            r.translation[0], r.translation[1], r.translation[2], r.angles[0].to_degrees(), r.angles[1].to_degrees(), r.angles[2].to_degrees(), p.liver_dice
        )
        .into(),
        values: vec![
            value("translation_x", r.translation[0], "mm"),
            value("translation_y", r.translation[1], "mm"),
            value("translation_z", r.translation[2], "mm"),
            value("rotation_x", r.angles[0].to_degrees(), "deg"),
            value("rotation_y", r.angles[1].to_degrees(), "deg"),
            value("rotation_z", r.angles[2].to_degrees(), "deg"),
            value("largest_deformation", max_u, "mm"),
            value("liver_dice_after", p.liver_dice, ""),
            value("similarity_before", p.registration.similarity_before, ""),
            value("similarity_after", p.registration.similarity_after, ""),
        ]
        .into(),
        tables: RVec::new(),
    }
}
