//! Ablation margin plugin: the minimal ablative margin (MAM) of every tumour, from a
//! tumour label map and an ablation-zone label map in one frame.
//!
//! Registration of a post-ablation CT onto the pre-ablation CT (so the zone can come
//! from the post scan) is the next step of this plugin; today both maps must already
//! be in the same frame (any grids: the zone is resampled onto the tumour's grid).

pub mod logic;

use isotherm_sdk::prelude::*;

pub struct Margin;

impl Plugin for Margin {
    fn describe() -> PluginDescriptor {
        PluginDescriptor::new("margin", "Ablation margin", env!("CARGO_PKG_VERSION"))
            .description("Minimal ablative margin per tumour from tumour and ablation-zone label maps.")
            .input(InputSpec::label_map("tumour", "Tumours").help("Each label value is a tumour; a binary mask is split into connected tumours"))
            .input(InputSpec::label_map("zone", "Ablation zone").help("The ablation zone, in the same frame as the tumours"))
            .output(OutputSpec::new("margins", NodeKind::Report, "Per-tumour MAM, coverage and class"))
            .output(OutputSpec::new("ablation-zone", NodeKind::Mesh, "The zone's surface, translucent"))
            .output(OutputSpec::new("closest-points", NodeKind::Markups, "Where each tumour's margin is smallest"))
            .param(ParamSpec::integer("tumour_label", "Tumour label", 0).range(0.0, 65535.0).help("Only this tumour value; 0 = every non-zero value"))
            .param(ParamSpec::integer("zone_label", "Zone label", 0).range(0.0, 65535.0).help("The zone's value; 0 = any non-zero value"))
            .param(ParamSpec::number("shell", "Shell width", 5.0).range(0.5, 30.0).unit("mm").help("Width of the shell around each tumour whose ablated share is reported"))
            .param(ParamSpec::integer("smoothing", "Surface smoothing", 0).range(0.0, 100.0).help("Taubin iterations on the tumour and zone surfaces"))
    }

    fn run(request: &Request<'_>, host: &Host<'_>) -> Result<RunOutput, PluginError> {
        let tumour = request.label_map("tumour")?.ok_or_else(|| PluginError::invalid_input("input 'tumour' is missing"))?;
        let zone = request.label_map("zone")?.ok_or_else(|| PluginError::invalid_input("input 'zone' is missing"))?;
        let settings = logic::Settings {
            tumour_label: request.integer("tumour_label")? as u16,
            zone_label: request.integer("zone_label")? as u16,
            shell_mm: request.number("shell")?,
            smoothing: request.integer("smoothing")? as usize,
        };
        let assessment = logic::assess(tumour, zone, &settings, host)?;
        Ok(logic::to_output(&assessment))
    }
}

export_plugin!(Margin);
