//! The prognosis model tools through the host: `isotherm radiomics synth-cohort | fit |
//! predict` (the host runs the plugin's own tool, `isotherm-radiomics`), and the round
//! trip from a cohort to a saved model to predictions and curves.

use isotherm_tests::*;

fn png_size(path: &std::path::Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    (info.width, info.height)
}

#[test]
fn fit_then_predict_round_trip_through_the_host() {
    let dir = temp_dir("prognosis");
    let cohort = dir.join("cohort.csv");
    let model = dir.join("model");
    let o = isotherm(&["radiomics", "synth-cohort", "--patients", "400", "--seed", "3", "--out", cohort.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let o = isotherm(&["radiomics", "fit", "--cohort", cohort.to_str().unwrap(), "--out", model.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let stdout = text(&o).0;
    let c: f64 = stdout.split("C-index ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    assert!(c > 0.62 && c < 0.8, "cross-validated C-index {c}");
    for f in ["prognosis.toml", "prognosis.safetensors", "MODEL_CARD.md", "calibration.csv"] {
        assert!(model.join(f).is_file(), "{f}");
    }
    assert!(std::fs::read_to_string(model.join("MODEL_CARD.md")).unwrap().contains("Not for clinical use"));

    let pred = dir.join("pred");
    let o = isotherm(&["radiomics", "predict", "--model", model.to_str().unwrap(), "--cohort", cohort.to_str().unwrap(), "--out", pred.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let csv = std::fs::read_to_string(pred.join("predictions.csv")).unwrap();
    assert!(csv.starts_with("id,risk_score,risk_group,survival_12m,survival_24m,survival_36m"));
    assert_eq!(csv.lines().count(), 401);
    assert_eq!(png_size(&pred.join("kaplan-meier.png")), (640, 400));

    let one = dir.join("one");
    let patient = "age=70,afp=300,child_pugh=B,bclc=B,tumour_count=2,tumour_size_mm=45,morph_sphericity=0.8,stat_mean=55,cm_joint_entr_3D_comb=6";
    let o = isotherm(&["radiomics", "predict", "--model", model.to_str().unwrap(), "--patient", patient, "--out", one.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&o).0.contains("high risk"), "{:?}", text(&o));
    assert_eq!(png_size(&one.join("survival.png")), (640, 400));

    // A patient missing a covariate is refused, naming it.
    let o = isotherm(&["radiomics", "predict", "--model", model.to_str().unwrap(), "--patient", "age=70", "--out", one.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("'log10_afp'"), "{:?}", text(&o));
}

#[test]
fn an_unknown_command_is_a_usage_error() {
    let o = isotherm(&["frobnicate", "--x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("no plugin tool isotherm-frobnicate"), "{:?}", text(&o));
}
