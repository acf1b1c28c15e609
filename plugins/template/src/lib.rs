//! Template plugin: copy this crate to start a plugin of your own (see sdk/README.md).
//!
//! The crate has the shape every Isotherm plugin has:
//! - `lib.rs` (this file): metadata, declared inputs/outputs/parameters, the export;
//! - `logic.rs`: the computation as plain Rust functions, tested directly;
//! - `plugin.toml`: the manifest the host reads before loading the library.

pub mod logic;

use isotherm_sdk::prelude::*;

pub struct Template;

impl Plugin for Template {
    fn describe() -> PluginDescriptor {
        // Declared once: drives `isotherm plugins info`, CLI validation and the GUI form.
        PluginDescriptor::new("template", "HU threshold (template)", env!("CARGO_PKG_VERSION"))
            .description("HU threshold inside a mask, largest component, surface mesh, volume report.")
            .input(InputSpec::volume("ct", "CT volume").help("CT in Hounsfield units"))
            .input(InputSpec::label_map("mask", "Mask").optional().help("Only voxels inside this mask are considered"))
            .output(OutputSpec::new("segment", NodeKind::LabelMap, "The segmented region (label 1)"))
            .output(OutputSpec::new("surface", NodeKind::Mesh, "Smoothed surface of the region"))
            .output(OutputSpec::new("summary", NodeKind::Report, "Volume, mean HU, extent"))
            .param(ParamSpec::number("lower", "Lower threshold", 20.0).range(-1024.0, 3071.0).unit("HU").help("Lowest HU kept"))
            .param(ParamSpec::number("upper", "Upper threshold", 90.0).range(-1024.0, 3071.0).unit("HU").help("Highest HU kept"))
            .param(ParamSpec::integer("mask_label", "Mask label", 0).range(0.0, 65535.0).help("Mask value to use; 0 means any non-zero label"))
            .param(ParamSpec::number("mask_margin", "Mask margin", 5.0).range(0.0, 50.0).unit("mm").help("Ignore voxels closer than this to the mask's edge (partial volume)"))
            .param(ParamSpec::number("smoothing", "Pre-smoothing", 1.5).range(0.0, 10.0).unit("mm").help("Gaussian sigma applied before thresholding (noise)"))
            .param(ParamSpec::bool("largest_only", "Largest region only", true).help("Keep only the largest connected region"))
            .param(ParamSpec::integer("mesh_smoothing", "Mesh smoothing", 10).range(0.0, 100.0).help("Taubin smoothing iterations"))
    }

    fn run(request: &Request<'_>, host: &Host<'_>) -> Result<RunOutput, PluginError> {
        let ct = request.volume("ct")?;
        let mask = request.optional_label_map("mask")?;
        let settings = logic::Settings {
            lower: request.number("lower")?,
            upper: request.number("upper")?,
            mask_label: request.integer("mask_label")? as u16,
            mask_margin_mm: request.number("mask_margin")?,
            smoothing_mm: request.number("smoothing")?,
            largest_only: request.bool("largest_only")?,
            mesh_smoothing: request.integer("mesh_smoothing")? as usize,
        };
        let result = logic::segment(ct, mask, &settings, host)?;
        Ok(logic::to_output(result))
    }
}

export_plugin!(Template);
