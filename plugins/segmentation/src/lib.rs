//! Segmentation plugin: liver, tumours and ablation zone on CT with a 2.5D U-Net in
//! Candle. This file is the thin FFI wrapper (declaration, parameters, pinned model
//! files); the work is `isotherm-segmentation-core` (in `core/`).

use std::path::Path;

use isotherm_sdk::prelude::*;
use isotherm_segmentation_core::{logic, model};

pub struct Segmentation;

impl Plugin for Segmentation {
    fn describe() -> PluginDescriptor {
        PluginDescriptor::new("segmentation", "Liver and lesion segmentation", env!("CARGO_PKG_VERSION"))
            .description("Liver, tumours and ablation zone on CT (2.5D U-Net trained on synthetic phantoms; research use only).")
            .input(InputSpec::volume("ct", "CT volume").help("Abdominal CT in Hounsfield units, pre- or post-ablation, any spacing and orientation"))
            .output(OutputSpec::new("labels", NodeKind::LabelMap, "1 liver, 3 tumour, 4 ablation zone"))
            .output(OutputSpec::new("lesions", NodeKind::LabelMap, "Lesion n has value n, largest first"))
            .output(OutputSpec::new("liver", NodeKind::Mesh, "Liver surface, translucent"))
            .output(OutputSpec::new("lesion-table", NodeKind::Report, "Volume, diameters, centroid and mean HU per lesion"))
            .param(ParamSpec::number("min_lesion", "Smallest lesion", 0.1).range(0.0, 100.0).unit("ml").help("Tumour components smaller than this are treated as noise"))
            .param(ParamSpec::integer("batch", "Slices per pass", 8).range(1.0, 256.0).help("Axial slices the network processes at once (memory vs speed)"))
            .param(ParamSpec::integer("mesh_smoothing", "Mesh smoothing", 10).range(0.0, 100.0).help("Taubin iterations on each surface"))
            .param(ParamSpec::choice("scan", "Scan", &logic::Phase::CHOICES, "unknown").help("pre-ablation: no ablation zone is labelled (there is none before treatment)"))
            .param(ParamSpec::choice("device", "Device", &["auto", "cpu", "cuda"], "auto").help("auto: CUDA when built with it and a GPU answers, else CPU"))
    }

    fn run(request: &Request<'_>, host: &Host<'_>) -> Result<RunOutput, PluginError> {
        let ct = request.volume("ct")?;
        let device = model::device(request.choice("device")?).map_err(|e| PluginError::invalid_input(format!("device: {e}")))?;
        let (arch, weights) = (request.model("architecture")?, request.model("weights")?);
        let net = model::load(Path::new(arch.path.as_str()), arch.sha256.as_str(), Path::new(weights.path.as_str()), weights.sha256.as_str(), &device)
            .map_err(|e| PluginError::new(ErrorKind::Model, e))?;
        host.info(&format!("network: {} classes, {} base channels, working spacing {:?} mm, device {:?}", net.arch.classes.len(), net.arch.base_channels, net.arch.working_spacing_mm, device));
        let settings = logic::Settings {
            min_lesion_ml: request.number("min_lesion")?,
            batch: request.integer("batch")? as usize,
            mesh_smoothing: request.integer("mesh_smoothing")? as usize,
            phase: logic::Phase::parse(request.choice("scan")?).unwrap_or(logic::Phase::Unknown),
        };
        let progress = |f: f64| {
            host.progress(0.9 * f as f32, "segmenting");
            !host.is_cancelled()
        };
        let seg = logic::segment(ct, &net, &device, &settings, &progress)?;
        host.progress(0.92, "building surfaces");
        host.checkpoint()?;
        Ok(logic::to_output(seg, settings.mesh_smoothing))
    }
}

export_plugin!(Segmentation);
