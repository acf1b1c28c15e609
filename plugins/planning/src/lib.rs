//! Microwave-ablation planning plugin: the ablation zone of an antenna placed on the
//! patient's CT, at a power and time, from a calibrated bioheat simulation
//! (`isotherm-planning-core`), with the predicted margin of the targeted tumour from the
//! margin plugin's own logic.

mod output;
mod session;

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
            .param(ParamSpec::choice("mode", "Mode", &["simulate", "recommend"], "simulate").help("simulate: the antenna at 'tip' and 'entry', at 'power' and 'time'; recommend: the path, power and time for the tumour"))
            .param(ParamSpec::optional_point("tip", "Antenna tip").help("World mm (RAS+); simulate mode"))
            .param(ParamSpec::optional_point("entry", "Skin entry").help("World mm (RAS+): sets the antenna's direction; simulate mode"))
            .param(ParamSpec::integer("target_tumour", "Tumour to treat", 0).range(0.0, 65535.0).help("Recommend mode: the tumour's label value (or region number of a binary map); 0 = the largest"))
            .param(ParamSpec::number("vessel_margin", "Vessel margin", 3.0).range(0.0, 20.0).unit("mm").help("Recommend mode: how far a path keeps from vessels of 3 mm and more"))
            .param(ParamSpec::choice("criterion", "Damage criterion", &criteria, Criterion::ArrheniusJacques.name()).help("Which damage model draws the zone; the report gives all four"))
            .param(ParamSpec::number("grid", "Grid spacing", 1.0).range(0.5, 4.0).unit("mm").help("Simulation grid (isotropic; the CT is resampled onto it); 3-4 mm is a quick preview"))
    }

    fn run(request: &Request<'_>, host: &Host<'_>) -> Result<RunOutput, PluginError> {
        let ct = request.volume("ct")?;
        let labels = request.optional_label_map("labels")?;
        let tumours = request.optional_label_map("tumour")?;
        let antenna = read_antenna(request, request.choice("antenna")?)?;
        let criterion = criterion(request)?;
        if request.choice("mode")? == "recommend" {
            return recommend(request, host, ct, labels, tumours, &antenna, criterion);
        }
        let missing = |name: &str| PluginError::invalid_input(format!("parameter '{name}' is needed in simulate mode (or use --param mode=recommend)"));
        let setting = Setting {
            power_w: request.number("power")?,
            time_min: request.number("time")?,
            criterion,
            tip: request.optional_point("tip")?.ok_or_else(|| missing("tip"))?,
            entry: request.optional_point("entry")?.ok_or_else(|| missing("entry"))?,
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
        let Some(planned) = planned else {
            return Err(PluginError::cancelled());
        };
        host.progress(0.92, "margin");
        output::to_output(&planned, &antenna, host)
    }
}

/// The antenna profile `id`, from its pinned file (re-checked as it is read).
fn read_antenna(request: &Request<'_>, id: &str) -> Result<Antenna, PluginError> {
    let (bytes, path) =
        request.read_model(&format!("antenna-{id}")).map_err(|e| PluginError::new(ErrorKind::Model, format!("antenna '{id}': {}", e.message)))?;
    let text = String::from_utf8(bytes).map_err(|_| PluginError::new(ErrorKind::Model, format!("{}: not UTF-8 text", path.display())))?;
    Antenna::from_toml(&text, &path).map_err(|e| PluginError::new(ErrorKind::Model, e))
}

fn criterion(request: &Request<'_>) -> Result<Criterion, PluginError> {
    Criterion::from_name(request.choice("criterion")?).ok_or_else(|| PluginError::invalid_input("unknown criterion"))
}

/// Recommend mode: the tumour from 'tumour', else from the tumours 'labels' names.
fn recommend(
    request: &Request<'_>,
    host: &Host<'_>,
    ct: &Volume,
    labels: Option<&LabelMap>,
    tumours: Option<&LabelMap>,
    antenna: &Antenna,
    criterion: Criterion,
) -> Result<RunOutput, PluginError> {
    use isotherm_planning_core::recommend;
    let id = request.integer("target_tumour")? as u16;
    let tumour_map = match (tumours, labels) {
        (Some(t), _) => t.clone(),
        (None, Some(l)) => output::tumours_named_in(l),
        (None, None) => {
            return Err(PluginError::invalid_input("recommend mode needs the tumour: give 'tumour' or 'labels'"));
        }
    };
    let target = recommend::target_of(&tumour_map, id).map_err(PluginError::invalid_input)?;
    let r = recommend::recommend(ct, labels, tumours, target, antenna, criterion, request.number("vessel_margin")?, request.number("grid")?, |f, what| {
        host.progress((0.9 * f) as f32, what);
        !host.is_cancelled()
    })
    .map_err(PluginError::invalid_input)?;
    let Some(r) = r else {
        return Err(PluginError::cancelled());
    };
    host.progress(0.92, "margin");
    output::recommendation_output(&r, antenna, host)
}

export_plugin!(Planning, sessions);
