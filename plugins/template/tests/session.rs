//! The live-threshold session: the same answer as a run, and updates that change it.

use isotherm_sdk::testing::{TestRun, sphere_ct};
use isotherm_template::Template;

#[test]
fn a_session_answers_as_a_run_does_and_follows_updates() {
    // A 10 mm sphere of 60 HU inside a 14 mm shell of 30 HU, in 110 HU.
    let outer = sphere_ct([48, 48, 48], [1.0; 3], 14.0, 110, 30);
    let inner = sphere_ct([48, 48, 48], [1.0; 3], 10.0, 110, 60);
    let merged: Vec<f32> = outer.to_f32().iter().zip(inner.to_f32()).map(|(&o, i)| if i == 60.0 { i } else { o }).collect();
    let ct = isotherm_sdk::abi::Volume::from_f32(outer.geometry, merged);
    let run = TestRun::new().volume("ct", ct.clone()).param("smoothing", "0").param("lower", "50").run::<Template>().unwrap();
    let mut session = TestRun::new().volume("ct", ct).param("smoothing", "0").param("lower", "50").open::<Template>().unwrap();
    let first = session.output().unwrap();
    let volume = |o: &isotherm_sdk::testing::Outputs| o.report("summary").unwrap().number_of("volume").unwrap();
    assert_eq!(volume(&first), volume(&run));
    assert_eq!(first.label_map("segment").unwrap().labels, run.label_map("segment").unwrap().labels);

    // Lowering the threshold takes in the shell: the 14 mm sphere's volume.
    session.update(&[("lower", "20")]).unwrap();
    let wide = volume(&session.output().unwrap());
    let exact = |r: f64| 4.0 / 3.0 * std::f64::consts::PI * r.powi(3) / 1000.0;
    assert!((wide - exact(14.0)).abs() / exact(14.0) < 0.05, "{wide} ml");
    assert!((volume(&run) - exact(10.0)).abs() / exact(10.0) < 0.06, "{} ml", volume(&run));
    // A bad update is refused and leaves the session as it was.
    let e = session.update(&[("lower", "9000")]).unwrap_err();
    assert!(e.message.contains("lower"), "{}", e.message);
    assert!(session.update(&[("threshold", "3")]).unwrap_err().message.contains("unknown parameter 'threshold'"));
    assert_eq!(volume(&session.output().unwrap()), wide);
    // No timeline: advancing leaves the clock at zero.
    assert_eq!(session.advance(10.0).unwrap().time_s, 0.0);
}
