//! Ablation margin plugin: the minimal ablative margin (MAM) of every tumour.
//!
//! Two ways in: tumour and ablation-zone label maps already in one frame (`logic`), or
//! the pre- and post-ablation CTs alone (`scans`: both are segmented with the
//! segmentation plugin's network, the post scan is registered onto the pre scan
//! (`register`, Candle), and the zone is carried into the pre frame).

/// The margin computation lives in its own crate so that the planning plugin predicts
/// margins with the same code.
pub use isotherm_margin_core as logic;
pub mod register;
pub mod scans;

use std::path::Path;

use isotherm_sdk::prelude::*;

pub struct Margin;

impl Plugin for Margin {
    fn describe() -> PluginDescriptor {
        PluginDescriptor::new("margin", "Ablation margin", env!("CARGO_PKG_VERSION"))
            .description("Minimal ablative margin per tumour from tumour and ablation-zone label maps.")
            .input(InputSpec::volume("pre", "Pre-ablation CT").optional().help("With 'post': segment both, register post onto pre, measure"))
            .input(InputSpec::volume("post", "Post-ablation CT").optional().help("Any grid; registered onto the pre-ablation CT"))
            .input(InputSpec::label_map("tumour", "Tumours").optional().help("Each label value is a tumour; a binary mask is split into connected tumours (default with CTs: segmented)"))
            .input(InputSpec::label_map("zone", "Ablation zone").optional().help("The ablation zone, in the same frame as the tumours (not needed with CTs)"))
            .output(OutputSpec::new("margins", NodeKind::Report, "Per-tumour MAM, coverage and class"))
            .output(OutputSpec::new("tumours", NodeKind::LabelMap, "The tumours as measured: tumour n (row n of the table) has value n"))
            .output(OutputSpec::new("ablation-zone", NodeKind::Mesh, "The zone's surface, translucent"))
            .output(OutputSpec::new("closest-points", NodeKind::Markups, "Where each tumour's margin is smallest"))
            .output(OutputSpec::new("registered-post-ct", NodeKind::Volume, "With CTs: the post-ablation CT on the pre grid"))
            .output(OutputSpec::new("ablation-zone-pre", NodeKind::LabelMap, "With CTs: the ablation zone carried into the pre frame"))
            .output(OutputSpec::new("registration", NodeKind::Report, "With CTs: rigid and deformable parts, liver overlap"))
            .param(ParamSpec::integer("tumour_label", "Tumour label", 0).range(0.0, 65535.0).help("Only this tumour value; 0 = every non-zero value"))
            .param(ParamSpec::integer("zone_label", "Zone label", 0).range(0.0, 65535.0).help("The zone's value; 0 = any non-zero value"))
            .param(ParamSpec::number("shell", "Shell width", 5.0).range(0.5, 30.0).unit("mm").help("Width of the shell around each tumour whose ablated share is reported"))
            .param(ParamSpec::choice("device", "Device", &["auto", "cpu", "cuda"], "auto").help("With CTs: where segmentation and registration run (auto: CUDA when built with it and a GPU answers)"))
            .param(ParamSpec::integer("smoothing", "Surface smoothing", 0).range(0.0, 100.0).help("Taubin iterations on the tumour and zone surfaces"))
    }

    fn run(request: &Request<'_>, host: &Host<'_>) -> Result<RunOutput, PluginError> {
        let settings = logic::Settings {
            tumour_label: request.integer("tumour_label")? as u16,
            zone_label: request.integer("zone_label")? as u16,
            shell_mm: request.number("shell")?,
            smoothing: request.integer("smoothing")? as usize,
        };
        let tumour = request.optional_label_map("tumour")?;
        let (pre, post) = (request.optional_volume("pre")?, request.optional_volume("post")?);
        match (pre, post) {
            (Some(pre), Some(post)) => {
                let device = isotherm_segmentation_core::model::device(request.choice("device")?).map_err(|e| PluginError::invalid_input(format!("device: {e}")))?;
                let net = load_network(request, &device)?;
                let prepared = scans::prepare(pre, post, tumour, &net, &device, host)?;
                let zone_settings = logic::Settings { zone_label: 0, ..settings };
                let assessment = logic::assess(&prepared.tumours, &prepared.zone_pre, &zone_settings, host)?;
                let mut changes: Vec<NodeChange> = logic::to_output(assessment).changes.into_iter().collect();
                let node = |name: &str, data: NodeData| NodeChange::Upsert(SceneNode { name: name.into(), data });
                changes.push(node("registration", NodeData::Report(scans::report(&prepared))));
                changes.push(node("ablation-zone-pre", NodeData::LabelMap(prepared.zone_pre)));
                changes.push(node("registered-post-ct", NodeData::Volume(prepared.registered_post)));
                Ok(RunOutput { changes: changes.into() })
            }
            (None, None) => {
                let tumour = tumour.ok_or_else(|| PluginError::invalid_input("give 'pre' and 'post' CTs, or 'tumour' and 'zone' label maps"))?;
                let zone = request.optional_label_map("zone")?.ok_or_else(|| PluginError::invalid_input("input 'zone' is missing (or give 'pre' and 'post' CTs)"))?;
                let assessment = logic::assess(tumour, zone, &settings, host)?;
                Ok(logic::to_output(assessment))
            }
            _ => Err(PluginError::invalid_input("give both 'pre' and 'post' CTs (or neither, with 'tumour' and 'zone' label maps)")),
        }
    }
}

/// The segmentation network pinned in this plugin's manifest (the same files the
/// segmentation plugin pins), re-checked against the host's hashes.
fn load_network(request: &Request<'_>, device: &candle_core::Device) -> Result<isotherm_segmentation_core::net::UNet, PluginError> {
    let (arch, weights) = (request.model("architecture")?, request.model("weights")?);
    isotherm_segmentation_core::model::load(Path::new(arch.path.as_str()), arch.sha256.as_str(), Path::new(weights.path.as_str()), weights.sha256.as_str(), device)
        .map_err(|e| PluginError::new(ErrorKind::Model, e))
}

export_plugin!(Margin);
