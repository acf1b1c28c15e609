//! Template plugin: copy this crate to start a plugin of your own (see sdk/README.md).
//!
//! The crate has the shape every Isotherm plugin has:
//! - `lib.rs` (this file): metadata, declared inputs/outputs/parameters, the export, and
//!   the smallest interactive session (a live threshold: the viewer moves a slider, the
//!   region follows);
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
            .param(
                ParamSpec::number("mask_margin", "Mask margin", 5.0)
                    .range(0.0, 50.0)
                    .unit("mm")
                    .help("Ignore voxels closer than this to the mask's edge (partial volume)"),
            )
            .param(ParamSpec::number("smoothing", "Pre-smoothing", 1.5).range(0.0, 10.0).unit("mm").help("Gaussian sigma applied before thresholding (noise)"))
            .param(ParamSpec::bool("largest_only", "Largest region only", true).help("Keep only the largest connected region"))
            .param(ParamSpec::integer("mesh_smoothing", "Mesh smoothing", 10).range(0.0, 100.0).help("Taubin smoothing iterations"))
    }

    fn run(request: &Request<'_>, host: &Host<'_>) -> Result<RunOutput, PluginError> {
        let ct = request.volume("ct")?;
        let mask = request.optional_label_map("mask")?;
        let settings = read_settings(request, None)?;
        let result = logic::segment(ct, mask, &settings, host)?;
        Ok(logic::to_output(result))
    }
}

/// The settings from a request: all of them from a run's, the changed ones over
/// `current` from a session's update.
fn read_settings(r: &Request<'_>, current: Option<&logic::Settings>) -> Result<logic::Settings, PluginError> {
    let pick = |name: &str| current.is_none() || r.has_param(name);
    let mut s = current.cloned().unwrap_or(logic::Settings {
        lower: 0.0,
        upper: 0.0,
        mask_label: 0,
        mask_margin_mm: 0.0,
        smoothing_mm: 0.0,
        largest_only: true,
        mesh_smoothing: 0,
    });
    if pick("lower") {
        s.lower = r.number("lower")?;
    }
    if pick("upper") {
        s.upper = r.number("upper")?;
    }
    if pick("mask_label") {
        s.mask_label = r.integer("mask_label")? as u16;
    }
    if pick("mask_margin") {
        s.mask_margin_mm = r.number("mask_margin")?;
    }
    if pick("smoothing") {
        s.smoothing_mm = r.number("smoothing")?;
    }
    if pick("largest_only") {
        s.largest_only = r.bool("largest_only")?;
    }
    if pick("mesh_smoothing") {
        s.mesh_smoothing = r.integer("mesh_smoothing")? as usize;
    }
    Ok(s)
}

/// A live threshold: opened once with the CT, re-segmented at each update. No timeline,
/// so `advance` and `reset` leave it as it is.
pub struct LiveThreshold {
    ct: Volume,
    mask: Option<LabelMap>,
    settings: logic::Settings,
}

impl SessionPlugin for Template {
    type Session = LiveThreshold;

    fn open_session(request: &Request<'_>, _host: &Host<'_>) -> Result<LiveThreshold, PluginError> {
        Ok(LiveThreshold { ct: request.volume("ct")?.clone(), mask: request.optional_label_map("mask")?.cloned(), settings: read_settings(request, None)? })
    }
}

impl Session for LiveThreshold {
    fn update(&mut self, changed: &Request<'_>, _host: &Host<'_>) -> Result<SessionClock, PluginError> {
        self.settings = read_settings(changed, Some(&self.settings))?;
        Ok(SessionClock::default())
    }
    fn advance(&mut self, _seconds: f64, _host: &Host<'_>) -> Result<SessionClock, PluginError> {
        Ok(SessionClock::default())
    }
    fn output(&mut self, host: &Host<'_>) -> Result<RunOutput, PluginError> {
        Ok(logic::to_output(logic::segment(&self.ct, self.mask.as_ref(), &self.settings, host)?))
    }
    fn reset(&mut self, _host: &Host<'_>) -> Result<SessionClock, PluginError> {
        Ok(SessionClock::default())
    }
}

export_plugin!(Template, sessions);
