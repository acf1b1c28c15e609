//! Microwave-ablation planning plugin: the ablation zone of an antenna placed on the
//! patient's CT, at a power and time, from a calibrated bioheat simulation
//! (`isotherm-planning-core`), with the predicted margin of the targeted tumour from the
//! margin plugin's own logic.

mod output;

use isotherm_planning_core::antenna::Antenna;
use isotherm_planning_core::damage::Criterion;
use isotherm_planning_core::plan::{self, Setting};
use isotherm_sdk::prelude::*;

include!(concat!(env!("OUT_DIR"), "/antennas.rs"));

pub struct Planning;

impl Plugin for Planning {
    fn describe() -> PluginDescriptor {
        let criteria: Vec<&str> = Criterion::ALL.iter().map(|c| c.name()).collect();
        PluginDescriptor::new("planning", "Microwave-ablation planning", env!("CARGO_PKG_VERSION"))
            .description("Predicted ablation zone of a microwave antenna on the patient's CT: bioheat simulation calibrated to the vendor chart, heat sink from large vessels, damage models side by side, predicted margin.")
            .input(InputSpec::volume("ct", "CT").help("The planning CT, in HU"))
            .input(InputSpec::label_map("labels", "Structures").optional().help("Liver, vessels, tumours by the names in its label table (the segmentation plugin's output, or your own)"))
            .input(InputSpec::label_map("tumour", "Tumours").optional().help("Tumours (any non-zero value), when 'labels' has none"))
            .output(OutputSpec::new("planning", NodeKind::Report, "Energy, zone axes, predicted margin, coverage, heat-sink flags, damage-model spread"))
            .output(OutputSpec::new("antenna", NodeKind::Markups, "The antenna, entry to tip"))
            .output(OutputSpec::new("predicted-zone", NodeKind::LabelMap, "The ablation zone under the chosen criterion"))
            .output(OutputSpec::new("predicted-zone-surface", NodeKind::Mesh, "Its surface, translucent"))
            .output(OutputSpec::new("temperature", NodeKind::Volume, "Temperature at the end of the ablation, C"))
            .output(OutputSpec::new("isotherm-50", NodeKind::Mesh, "50 C isotherm at the end"))
            .output(OutputSpec::new("isotherm-60", NodeKind::Mesh, "60 C isotherm at the end"))
            .output(OutputSpec::new("tumour-margin", NodeKind::Mesh, "The targeted tumour's surface coloured by predicted margin"))
            .param(ParamSpec::choice("antenna", "Antenna", ANTENNAS, ANTENNAS[0]).help("Antenna profile (assets/antennas/)"))
            .param(ParamSpec::number("power", "Power", 100.0).range(1.0, 300.0).unit("W").help("Generator power; must lie within the antenna chart's range"))
            .param(ParamSpec::number("time", "Time", 5.0).range(0.1, 30.0).unit("min").help("Ablation time; must lie within the antenna chart's range"))
            .param(ParamSpec::point("tip", "Antenna tip").required().help("World mm (RAS+)"))
            .param(ParamSpec::point("entry", "Skin entry").required().help("World mm (RAS+): sets the antenna's direction"))
            .param(ParamSpec::choice("criterion", "Damage criterion", &criteria, Criterion::ArrheniusJacques.name()).help("Which damage model draws the zone; the report gives all four"))
            .param(ParamSpec::number("grid", "Grid spacing", 1.0).range(0.5, 3.0).unit("mm").help("Simulation grid (isotropic; the CT is resampled onto it)"))
    }

    fn run(request: &Request<'_>, host: &Host<'_>) -> Result<RunOutput, PluginError> {
        let ct = request.volume("ct")?;
        let labels = request.optional_label_map("labels")?;
        let tumours = request.optional_label_map("tumour")?;
        let id = request.choice("antenna")?;
        let (bytes, path) = request.read_model(&format!("antenna-{id}")).map_err(|e| PluginError::new(ErrorKind::Model, format!("antenna '{id}': {}", e.message)))?;
        let text = String::from_utf8(bytes).map_err(|_| PluginError::new(ErrorKind::Model, format!("{}: not UTF-8 text", path.display())))?;
        let antenna = Antenna::from_toml(&text, &path).map_err(|e| PluginError::new(ErrorKind::Model, e))?;
        let criterion = Criterion::from_name(request.choice("criterion")?).ok_or_else(|| PluginError::invalid_input("unknown criterion"))?;
        let setting = Setting {
            power_w: request.number("power")?,
            time_min: request.number("time")?,
            criterion,
            tip: request.point("tip")?,
            entry: request.point("entry")?,
            grid_mm: request.number("grid")?,
        };
        host.progress(0.0, "anatomy");
        let mut cancelled = false;
        let planned = plan::simulate(ct, labels, tumours, &antenna, setting, |f| {
            host.progress((0.05 + 0.85 * f) as f32, "simulating");
            cancelled = host.is_cancelled();
            !cancelled
        })
        .map_err(PluginError::invalid_input)?;
        let Some(planned) = planned else { return Err(PluginError::cancelled()) };
        host.progress(0.92, "margin");
        output::to_output(&planned, &antenna, tumours.or(labels), host)
    }
}

export_plugin!(Planning);
