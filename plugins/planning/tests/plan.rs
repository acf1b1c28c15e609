//! The planning plugin through its real entry point, on a generated phantom: the zone,
//! temperatures, isotherms and predicted margin come back; bad input is refused with a
//! message naming the input.

use std::path::{Path, PathBuf};

use isotherm_phantom::{Config, Size, generate};
use isotherm_planning::Planning;
use isotherm_sdk::abi::{LabelEntry, LabelMap, NodeData};
use isotherm_sdk::testing::{TestRun, check_manifest};

fn antenna(id: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../assets/antennas/{id}.toml"))
}

fn point(p: [f64; 3]) -> String {
    format!("{},{},{}", p[0], p[1], p[2])
}

fn case() -> isotherm_phantom::Case {
    generate(&Config::new(7, Size::Demo))
}

fn run(case: &isotherm_phantom::Case, params: &[(&str, String)]) -> Result<isotherm_sdk::testing::Outputs, isotherm_sdk::abi::PluginError> {
    let mut r = TestRun::new().volume("ct", case.pre_ct.clone()).label_map("labels", case.pre_labels.clone()).model("antenna-emprint", &antenna("emprint"), "").model("antenna-neuwave-kidney", &antenna("neuwave-kidney"), "");
    for (k, v) in params {
        r = r.param(k, v);
    }
    r.run::<Planning>()
}

#[test]
fn manifest_matches_the_library() {
    check_manifest::<Planning>(Path::new(env!("CARGO_MANIFEST_DIR")).join("plugin.toml")).unwrap();
}

#[test]
fn plans_the_phantom_ablation() {
    let c = case();
    let n = &c.truth.needle_pre;
    let out = run(&c, &[("tip", point(n.tip)), ("entry", point(n.entry)), ("power", "100".into()), ("time", "5".into())]).expect("run");
    let long = out.report("planning").unwrap().number_of("zone_long_axis").unwrap();
    let short = out.report("planning").unwrap().number_of("zone_short_axis").unwrap();
    // The calibrated zone at 100 W, 5 min in liver is about the chart's 37 x 35 mm; vessels
    // and the liver's edge may carve it.
    assert!((20.0..45.0).contains(&long) && (15.0..42.0).contains(&short), "{long} x {short}");
    assert!(out.report("planning").unwrap().number_of("energy").unwrap() == 30.0);
    let mam = out.report("planning").unwrap().number_of("predicted_mam").expect("the treated tumour's margin");
    assert!(mam.is_finite() && mam > -40.0 && mam < 30.0, "{mam}");
    let covered = out.report("planning").unwrap().number_of("tumour_covered").unwrap();
    assert!((0.0..=100.0).contains(&covered));
    let zone = out.label_map("predicted-zone").unwrap();
    let tip = zone.geometry.world_to_index(n.tip).map(|v| v.round() as usize);
    assert_eq!(zone.labels[zone.geometry.index(tip[0], tip[1], tip[2])], 1, "the tip lies in the zone");
    for mesh in ["isotherm-50", "isotherm-60", "predicted-zone-surface", "tumour-margin"] {
        let m = out.mesh(mesh).unwrap_or_else(|| panic!("{mesh}"));
        assert!(!m.triangles.is_empty(), "{mesh}");
    }
    let Some(NodeData::Volume(t)) = out.node("temperature") else { panic!("temperature") };
    let t = t.to_f32();
    assert!(t.iter().all(|v| v.is_finite() && *v >= 36.9), "temperatures finite, none below blood");
    assert!(t.iter().cloned().fold(0.0f32, f32::max) > 90.0);
    // The 60 C isotherm of the final field lies inside the 50 C one.
    let vol = |m: &str| isotherm_sdk::volume::mesh::enclosed_volume(out.mesh(m).unwrap()).abs();
    assert!(vol("isotherm-60") < vol("isotherm-50"));
}

#[test]
fn bad_input_is_refused_naming_it() {
    let c = case();
    let n = &c.truth.needle_pre;
    let err = |params: &[(&str, String)]| run(&c, params).err().map(|e| e.message.to_string()).unwrap_or_default();
    let e = err(&[("tip", point(n.tip)), ("entry", point(n.entry)), ("power", "200".into())]);
    assert!(e.contains("power 200 W") && e.contains("75-150 W"), "{e}");
    let e = err(&[("tip", point(n.tip)), ("entry", point(n.entry)), ("time", "12".into())]);
    assert!(e.contains("time 12 min") && e.contains("5-10 min"), "{e}");
    let e = err(&[("tip", "900,900,900".into()), ("entry", point(n.entry))]);
    assert!(e.contains("outside the CT"), "{e}");
    let e = err(&[("tip", point(n.tip)), ("entry", point(n.tip))]);
    assert!(e.contains("same point"), "{e}");
    let e = err(&[("tip", point(n.tip)), ("entry", point(n.entry)), ("antenna", "acme".into())]);
    assert!(e.contains("acme"), "{e}");
    // A label map that names no liver.
    let no_liver = LabelMap::new(c.pre_labels.geometry, c.pre_labels.labels.to_vec(), vec![LabelEntry::new(1, "spleen", [1, 2, 3, 255])]);
    let out = TestRun::new().volume("ct", c.pre_ct.clone()).label_map("labels", no_liver).model("antenna-emprint", &antenna("emprint"), "").param("tip", &point(n.tip)).param("entry", &point(n.entry)).run::<Planning>();
    let e = out.err().unwrap().message.to_string();
    assert!(e.contains("no liver"), "{e}");
}
