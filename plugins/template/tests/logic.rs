//! The template's logic, checked against phantoms with known answers.

use isotherm_sdk::abi::ErrorKind;
use isotherm_sdk::testing::{RecordingHost, TestRun, sphere_ct};
use isotherm_sdk::volume::mesh;
use isotherm_template::Template;

#[test]
fn finds_a_sphere_with_the_right_volume_on_an_anisotropic_grid() {
    // 12 mm sphere of 60 HU in 110 HU "liver", 0.8 x 0.8 x 2.5 mm voxels.
    let ct = sphere_ct([64, 64, 24], [0.8, 0.8, 2.5], 12.0, 110, 60);
    let out = TestRun::new().volume("ct", ct).param("smoothing", "0").run::<Template>().expect("run");
    let exact_ml = 4.0 / 3.0 * std::f64::consts::PI * 12f64.powi(3) / 1000.0;
    let reported = out.report("summary").unwrap().number_of("volume").unwrap();
    assert!((reported - exact_ml).abs() / exact_ml < 0.05, "{reported} ml vs {exact_ml} ml");
    let surface = out.mesh("surface").unwrap();
    assert!(mesh::is_closed_and_oriented(surface));
    let mesh_ml = mesh::enclosed_volume(surface) / 1000.0;
    assert!((mesh_ml - exact_ml).abs() / exact_ml < 0.12, "mesh {mesh_ml} ml vs {exact_ml} ml");
    let segment = out.label_map("segment").unwrap();
    assert_eq!(segment.geometry, out.label_map("segment").unwrap().geometry);
    // The run asks the viewer to look at the sphere's centre.
    let centre = [31.5 * 0.8, 31.5 * 0.8, 11.5 * 2.5];
    let focus = out.output.focus_point().expect("a focus point");
    assert!(isotherm_sdk::volume::dist(focus, centre) < 0.5, "{focus:?} vs {centre:?}");
    // Progress went 0 -> 1 in order.
    let p = out.host.progress.lock().unwrap();
    assert!(p.windows(2).all(|w| w[0].0 <= w[1].0) && p.last().unwrap().0 == 1.0);
}

#[test]
fn bad_parameters_and_cancellation_are_reported() {
    let ct = sphere_ct([16, 16, 8], [1.0; 3], 4.0, 110, 60);
    let e = TestRun::new().volume("ct", ct.clone()).param("lower", "100").param("upper", "50").run::<Template>().err().unwrap();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert!(e.message.contains("above upper"), "{}", e.message);
    let e = TestRun::new().volume("ct", ct.clone()).param("upper", "5000").run::<Template>().err().unwrap();
    assert!(e.message.contains("maximum 3071"), "{}", e.message);
    let e = TestRun::new().param("upper", "80").run::<Template>().err().unwrap();
    assert!(e.message.contains("required input 'ct'"), "{}", e.message);
    let e = TestRun::new().volume("ct", ct).host(RecordingHost::cancel_after(1)).run::<Template>().err().unwrap();
    assert_eq!(e.kind, ErrorKind::Cancelled);
}

#[test]
fn manifest_matches_the_library() {
    isotherm_sdk::testing::check_manifest::<Template>(concat!(env!("CARGO_MANIFEST_DIR"), "/plugin.toml")).unwrap();
}
