//! Radiomics plugin: IBSI-compliant features per lesion, validated on the IBSI digital
//! phantom (every one of its 482 reference values; `tests/ibsi_phantom.rs`) and on the
//! IBSI lung CT in configurations A-E (`tests/ibsi_ct.rs`), whose image processing is
//! `preprocess` and whose configurations are `presets`.
//!
//! Families: morphology, local intensity, intensity statistics, intensity histogram,
//! intensity-volume histogram, GLCM, GLRLM, GLSZM, GLDZM, NGTDM, NGLDM, with the IBSI
//! aggregations (2D / 2.5D / 3D, averaged and merged).
//!
//! Prognosis (`prognosis`, `risk`): when the host passes the pinned prognosis model, the
//! run also gives a risk score, risk group, survival at 1-3 years and the curve, from the
//! lesions' features and the clinical parameters, and colours each lesion's surface by
//! its risk contribution. `isotherm radiomics fit|predict` fits and applies such models.

pub mod extract;
pub mod features;
pub mod imaging;
pub mod names;
pub mod preprocess;
pub mod presets;
pub mod prognosis;
pub mod risk;

use isotherm_sdk::prelude::*;

use features::roi::Discretisation;

pub struct Radiomics;

impl Plugin for Radiomics {
    fn describe() -> PluginDescriptor {
        PluginDescriptor::new("radiomics", "Radiomics features (IBSI)", env!("CARGO_PKG_VERSION"))
            .description("IBSI-compliant radiomics features per lesion: a CSV with IBSI names, their pyradiomics names, and a report.")
            .input(InputSpec::volume("ct", "CT volume"))
            .input(InputSpec::label_map("mask", "Lesions").help("Each label value is a lesion; a binary mask is split into connected lesions"))
            .output(OutputSpec::new("features", NodeKind::Report, "One row per lesion, one column per IBSI feature"))
            .output(OutputSpec::new("prognosis", NodeKind::Report, "Risk score and group, survival at 1-3 years, the survival curve, risk contributions"))
            .param(ParamSpec::choice("preset", "Processing preset", &["custom", "ibsi-ct-a", "ibsi-ct-b", "ibsi-ct-c", "ibsi-ct-d", "ibsi-ct-e"], "custom").help("An IBSI lung-CT configuration (A-E), or custom: the options below"))
            .param(ParamSpec::number("spacing", "Resample to", 0.0).range(0.0, 20.0).unit("mm").help("Isotropic voxel spacing, grid centres aligned (IBSI); 0 = keep the scan's grid"))
            .param(ParamSpec::bool("in_plane", "Resample in-plane only", false).help("Keep the slices (2D resampling)"))
            .param(ParamSpec::choice("interpolation", "Interpolation", &["linear", "cubic_spline"], "linear").help("Image interpolation; the ROI is interpolated linearly and kept at >= 0.5"))
            .param(ParamSpec::bool("outliers_3sd", "Remove outliers", false).help("Re-segmentation also drops voxels beyond mean +- 3 SD"))
            .param(ParamSpec::choice("discretisation", "Discretisation", &["fixed_bin_size", "fixed_bin_number"], "fixed_bin_size"))
            .param(ParamSpec::number("bin_width", "Bin width", 25.0).range(0.1, 1000.0).unit("HU").help("For fixed bin size, from the re-segmentation minimum"))
            .param(ParamSpec::integer("bins", "Bin number", 32).range(2.0, 1024.0).help("For fixed bin number"))
            .param(ParamSpec::number("resegment_min", "Re-segmentation min", -500.0).range(-2000.0, 4000.0).unit("HU"))
            .param(ParamSpec::number("resegment_max", "Re-segmentation max", 400.0).range(-2000.0, 4000.0).unit("HU"))
            .param(ParamSpec::choice("texture", "Texture", &["all", "2d", "3d"], "all").help("Texture aggregations: 2D and 2.5D (per slice, slices merged), 3D, or all"))
            .param(ParamSpec::choice("families", "Feature families", &["all", "pyradiomics"], "all").help("Every IBSI family, or those pyradiomics computes (no intensity-volume histogram, local intensity, GLDZM, Moran's I / Geary's C); with a preset too"))
            .param(ParamSpec::integer("label", "Lesion label", 0).range(0.0, 65535.0).help("Only this value; 0 = every lesion"))
            .param(ParamSpec::bool("prognosis", "Prognosis", true).help("Apply the pinned prognosis model (needs the clinical values below)"))
            .param(ParamSpec::number("age", "Age", 65.0).range(18.0, 110.0).unit("years").help("Clinical covariate of the prognosis model"))
            .param(ParamSpec::number("afp", "AFP", 10.0).range(0.0, 1.0e6).unit("ng/ml").help("Serum alpha-fetoprotein"))
            .param(ParamSpec::choice("child_pugh", "Child-Pugh class", &["A", "B", "C"], "A"))
            .param(ParamSpec::choice("bclc", "BCLC stage", &["0", "A", "B", "C", "D"], "A"))
    }

    fn run(request: &Request<'_>, host: &Host<'_>) -> Result<RunOutput, PluginError> {
        let ct = request.volume("ct")?;
        let mask = request.label_map("mask")?;
        let mut protocol = match presets::preset(request.choice("preset")?) {
            Some(p) => p,
            None => custom_protocol(request)?,
        };
        protocol.families = features::Families::named(request.choice("families")?).unwrap_or(features::Families::All);
        let prognosis = request.bool("prognosis")? && request.raw().models.iter().any(|m| m.name.as_str() == "prognosis");
        if prognosis {
            // The model's covariates include 3D texture: measure every aggregation.
            protocol.texture = features::Texture::All;
        }
        let settings = extract::Settings { protocol, label: request.integer("label")? as u16 };
        let lesions = extract::extract(ct, mask, &settings, host)?;
        let mut output = to_output(&lesions);
        if prognosis && !lesions.is_empty() {
            let model = load_prognosis(request)?;
            let encode = |name: &str, text: &str| prognosis::cohort::encode(name, text).map_err(PluginError::invalid_input);
            let clinical = vec![
                ("age".to_string(), request.number("age")?),
                ("log10_afp".to_string(), encode("afp", &request.number("afp")?.to_string())?),
                ("child_pugh".to_string(), encode("child_pugh", request.choice("child_pugh")?)?),
                ("bclc".to_string(), encode("bclc", request.choice("bclc")?)?),
            ];
            let covariates = risk::patient_covariates(&risk::Clinical { values: clinical }, &lesions);
            let prediction = model.predict(&covariates).map_err(|e| PluginError::new(ErrorKind::Model, e))?;
            let mut changes: Vec<NodeChange> = output.changes.into_iter().collect();
            changes.extend(risk::to_changes(&model, &prediction, &lesions, mask));
            output.changes = changes.into();
        }
        Ok(output)
    }
}

/// The protocol the individual parameters describe.
fn custom_protocol(request: &Request<'_>) -> Result<presets::Protocol, PluginError> {
    let resegment = (request.number("resegment_min")?, request.number("resegment_max")?);
    if resegment.0 >= resegment.1 {
        return Err(PluginError::invalid_input("resegment_min must be below resegment_max"));
    }
    let discretisation = match request.choice("discretisation")? {
        "fixed_bin_number" => Discretisation::BinNumber(request.integer("bins")? as u32),
        _ => Discretisation::BinWidth { width: request.number("bin_width")?, lower: resegment.0 },
    };
    let spacing = request.number("spacing")?;
    let in_plane = request.bool("in_plane")?;
    let resampling = (spacing > 0.0).then(|| preprocess::Resampling {
        spacing: [Some(spacing), Some(spacing), (!in_plane).then_some(spacing)],
        image: if request.choice("interpolation").ok() == Some("cubic_spline") { preprocess::Interpolation::CubicSpline } else { preprocess::Interpolation::Linear },
        round: true,
        partial_volume: 0.5,
    });
    Ok(presets::Protocol {
        resampling,
        resegmentation: preprocess::Resegmentation { range: Some(resegment), outliers_3sd: request.bool("outliers_3sd")? },
        discretisation,
        ivh: features::roi::Ivh::Intensities { range: Some(resegment) },
        texture: match request.choice("texture")? {
            "2d" => features::Texture::Planar,
            "3d" => features::Texture::Volumetric,
            _ => features::Texture::All,
        },
        families: features::Families::All,
    })
}

/// The prognosis model pinned in the manifest (`prognosis` = metadata TOML,
/// `prognosis-weights` = safetensors), each re-checked against the host's hash.
fn load_prognosis(request: &Request<'_>) -> Result<prognosis::model::PrognosisModel, PluginError> {
    let (info, info_path) = request.read_model("prognosis")?;
    let (tensors, tensors_path) = request.read_model("prognosis-weights")?;
    let info = String::from_utf8(info).map_err(|_| PluginError::new(ErrorKind::Model, format!("{}: not UTF-8", info_path.display())))?;
    prognosis::model::PrognosisModel::from_bytes(&info, &info_path, &tensors, &tensors_path).map_err(|e| PluginError::new(ErrorKind::Model, e))
}

/// The feature table (lesion rows, IBSI tag columns) and the pyradiomics name table.
pub fn to_output(lesions: &[extract::Lesion]) -> RunOutput {
    let tags: Vec<String> = lesions.first().map(|l| l.features.keys().cloned().collect()).unwrap_or_default();
    let mut columns: Vec<RString> = vec!["lesion".into(), "voxels".into()];
    columns.extend(tags.iter().map(|t| RString::from(t.as_str())));
    let rows: Vec<RVec<Cell>> = lesions
        .iter()
        .map(|l| {
            let mut r = vec![Cell::Integer(l.id as i64), Cell::Integer(l.voxels as i64)];
            r.extend(tags.iter().map(|t| l.features.get(t).map(|&v| if v.is_finite() { Cell::Number(v) } else { Cell::Empty }).unwrap_or(Cell::Empty)));
            r.into()
        })
        .collect();
    let table = Table { name: "features".into(), units: columns.iter().map(|_| RString::new()).collect(), columns: columns.into(), rows: rows.into() };
    let mapping = Table {
        name: "pyradiomics-names".into(),
        columns: vec![RString::from("ibsi"), RString::from("pyradiomics")].into(),
        units: vec![RString::new(), RString::new()].into(),
        rows: names::PYRADIOMICS.iter().map(|(i, p)| RVec::from(vec![Cell::Text((*i).into()), Cell::Text((*p).into())])).collect(),
    };
    let key = |tag: &str, unit: &str| {
        lesions.first().and_then(|l| l.features.get(tag)).map(|&v| KeyValue { key: format!("lesion {} {tag}", lesions[0].id).into(), value: Cell::Number(v), unit: unit.into() })
    };
    let values: Vec<KeyValue> = [key("morph_volume", "mm3"), key("morph_sphericity", ""), key("stat_mean", "HU"), key("cm_joint_entr_3D_comb", "bits")].into_iter().flatten().collect();
    let report = Report {
        title: "Radiomics (IBSI)".into(),
        text: format!("{} lesion(s), {} features each", lesions.len(), tags.len()).into(),
        values: values.into(),
        tables: vec![table, mapping].into(),
    };
    RunOutput { changes: vec![NodeChange::Upsert(SceneNode { name: "features".into(), data: NodeData::Report(report) })].into() }
}

export_plugin!(Radiomics);
