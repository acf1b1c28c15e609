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
    let pre_seg = segment(pre, net, device, &pre_settings, &stage(0.0, 0.25, "segmenting the pre-ablation CT"))?;
    // Only the post scan's labels are needed; its lesion map and surfaces go at once
    // (every full-size array is 79-315 MB on a thin-slice scan).
    let post_labels = segment(post, net, device, &post_settings, &stage(0.25, 0.5, "segmenting the post-ablation CT"))?.labels;
    let post_zone: Vec<bool> = post_labels.iter().map(|&l| l == ABLATION_ZONE).collect();
    if !post_zone.iter().any(|&z| z) {
        return Err(PluginError::invalid_input("no ablation zone was found in the post-ablation CT"));
    }
    let pre_liver: Vec<bool> = pre_seg.labels.iter().map(|&l| l != 0).collect();
    let post_liver: Vec<bool> = post_labels.iter().map(|&l| l != 0).collect();
    drop(post_labels);
    let found_tumour = pre_seg.labels.iter().any(|&l| l == TUMOUR);
    let (pre_lesions, lesion_map) = (pre_seg.lesions, pre_seg.lesion_map);
    drop(pre_seg.labels);
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
    let (pg, qg) = (pre.geometry, post.geometry);
    let zone_labels: Vec<u16> = post_zone.iter().map(|&z| z as u16).collect();
    let zone_pre = registration.warp_nearest(&zone_labels, &qg, &pg);
    let post_liver_labels: Vec<u16> = post_liver.iter().map(|&l| l as u16).collect();
    let liver_warped: Vec<bool> = registration.warp_nearest(&post_liver_labels, &qg, &pg).iter().map(|&l| l != 0).collect();
    let registered = registration.warp_linear(&post.data, &qg, &pg, -1024.0);
    Ok(Prepared {
        tumours,
        zone_pre: LabelMap::new(pg, zone_pre, vec![LabelEntry::new(1, "ablation zone (registered)", [60, 200, 90, 255])]),
        // Whole HU, as CT is stored: half the memory and file of f32 (157 vs 315 MB on a
        // 512 x 512 x 300 scan), and within 0.5 HU of the interpolated value.
        registered_post: Volume::from_i16(pg, registered.iter().map(|&v| v.round().clamp(i16::MIN as f32, i16::MAX as f32) as i16).collect()),
        liver_dice: dice(&pre_liver, &liver_warped),
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
