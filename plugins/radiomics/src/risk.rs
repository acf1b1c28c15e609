//! The prognosis part of a plugin run: the patient's covariates (clinical parameters plus
//! the lesions' features), the model's prediction, and what goes into the scene — a
//! report with the risk, survival at 12/24/36 months and the survival curve (drawn by
//! the viewer), and every lesion's surface coloured by its risk contribution.

use std::collections::HashMap;

use isotherm_sdk::prelude::*;
use isotherm_sdk::volume::mesh;

use crate::extract::Lesion;
use crate::prognosis::model::{HORIZONS, Prediction, PrognosisModel};
use crate::prognosis::survival::step_at;

/// Clinical covariates entered by the user (already encoded, see `prognosis::cohort`).
pub struct Clinical {
    pub values: Vec<(String, f64)>,
}

/// Patient-level covariates: clinical ones, tumour count and size (largest 3D
/// diameter), and the largest lesion's radiomics features by IBSI name.
pub fn patient_covariates(clinical: &Clinical, lesions: &[Lesion]) -> HashMap<String, f64> {
    let mut c: HashMap<String, f64> = clinical.values.iter().cloned().collect();
    c.insert("tumour_count".into(), lesions.len() as f64);
    let size = lesions.iter().filter_map(|l| l.features.get("morph_diam").copied()).fold(0.0, f64::max);
    c.insert("tumour_size_mm".into(), size);
    if let Some(largest) = lesions.iter().max_by_key(|l| l.voxels) {
        for (k, v) in largest.features.iter() {
            c.entry(k.clone()).or_insert(*v);
        }
    }
    c
}

/// A lesion's own contribution to the risk: the model's radiomics terms evaluated on that
/// lesion's features (clinical terms are the patient's, shared by all lesions).
pub fn lesion_contribution(model: &PrognosisModel, lesion: &Lesion) -> f64 {
    model
        .info
        .covariates
        .iter()
        .enumerate()
        .filter_map(|(k, name)| lesion.features.get(name).map(|v| model.beta[k] * (v - model.mean[k]) / model.scale[k]))
        .sum()
}

pub fn to_changes(model: &PrognosisModel, p: &Prediction, lesions: &[Lesion], map: &LabelMap) -> Vec<NodeChange> {
    let value = |key: &str, v: Cell, unit: &str| KeyValue { key: key.into(), value: v, unit: unit.into() };
    let mut values = vec![value("risk_score", Cell::Number(p.linear_predictor), ""), value("risk_group", Cell::Text(p.group.into()), "")];
    let at: Vec<f64> = HORIZONS.iter().map(|&h| step_at(&p.survival, h, 1.0)).collect();
    for (h, s) in HORIZONS.iter().zip(&at) {
        values.push(value(&format!("survival_{h}m"), Cell::Number(*s), ""));
    }
    let two = |name: &str, columns: [&str; 3], units: [&str; 3], rows: Vec<RVec<Cell>>| Table {
        name: name.into(),
        columns: columns.iter().map(|c| RString::from(*c)).collect(),
        units: units.iter().map(|c| RString::from(*c)).collect(),
        rows: rows.into(),
    };
    let curve = Table {
        name: "survival curve".into(),
        columns: vec![RString::from("time"), RString::from("survival")].into(),
        units: vec![RString::from("months"), RString::new()].into(),
        rows: p.survival.iter().map(|&(t, s)| RVec::from(vec![Cell::Number(t), Cell::Number(s)])).collect(),
    };
    let contributions = two(
        "risk contributions",
        ["covariate", "weight per SD", "contribution"],
        ["", "", ""],
        p.contributions.iter().enumerate().map(|(k, (name, c))| RVec::from(vec![Cell::Text(name.as_str().into()), Cell::Number(model.beta[k]), Cell::Number(*c)])).collect(),
    );
    let report = Report {
        title: "Prognosis (Cox, elastic net)".into(),
        text: format!(
            "{} risk (score {:.2}); predicted survival {:.0}% / {:.0}% / {:.0}% at 1 / 2 / 3 years. Model: cross-validated C-index {:.2} on {} patients. Research use only.",
            p.group, p.linear_predictor, 100.0 * at[0], 100.0 * at[1], 100.0 * at[2], model.info.cv_c_index, model.info.patients
        )
        .into(),
        values: values.into(),
        tables: vec![contributions, curve].into(),
    };
    let node = |name: String, data: NodeData| NodeChange::Upsert(SceneNode { name: name.into(), data });
    let mut changes = vec![node("prognosis".into(), NodeData::Report(report))];
    // Surfaces coloured on one diverging scale, symmetric about zero (no contribution).
    let contributions: Vec<f64> = lesions.iter().map(|l| lesion_contribution(model, l)).collect();
    let span = contributions.iter().map(|c| c.abs()).fold(0.5, f64::max) as f32;
    for (id, mask) in map.lesions(0) {
        let Some(c) = lesions.iter().position(|l| l.id == id).map(|n| contributions[n]) else { continue };
        let mut m = mesh::mask_surface_smooth(&mask, &map.geometry, 0.7);
        mesh::smooth_taubin(&mut m, 10);
        mesh::compute_normals(&mut m);
        m.scalars = ROption::RSome(VertexScalars { name: "risk contribution".into(), unit: "".into(), values: vec![c as f32; m.positions.len()].into(), colormap: Colormap::Diverging, range: [-span, span] });
        changes.push(node(format!("risk-lesion-{id}"), NodeData::Mesh(m)));
    }
    changes
}
