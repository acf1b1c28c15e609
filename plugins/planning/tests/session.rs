//! The live ablation session through the real entry point, on a generated phantom: a
//! session played in steps ends where a plain run of the same setting ends; the zone
//! grows and streams while it plays; a step can be cancelled; a refused update leaves
//! the session as it was.

use std::path::{Path, PathBuf};

use isotherm_phantom::{Config, Size, generate};
use isotherm_planning::Planning;
use isotherm_sdk::abi::{ErrorKind, NodeChange, NodeData};
use isotherm_sdk::testing::{RecordingHost, TestRun};

fn antenna(id: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../assets/antennas/{id}.toml"))
}

fn point(p: [f64; 3]) -> String {
    format!("{},{},{}", p[0], p[1], p[2])
}

fn with_case(case: &isotherm_phantom::Case, params: &[(&str, String)]) -> TestRun {
    let mut r = TestRun::new()
        .volume("ct", case.pre_ct.clone())
        .label_map("labels", case.pre_labels.clone())
        .model("antenna-emprint", &antenna("emprint"), "")
        .model("antenna-neuwave-kidney", &antenna("neuwave-kidney"), "");
    for (k, v) in params {
        r = r.param(k, v);
    }
    r
}

fn zone_voxels(o: &isotherm_sdk::testing::Outputs) -> usize {
    o.label_map("predicted-zone").map(|z| z.labels.iter().filter(|&&l| l != 0).count()).unwrap_or(0)
}

#[test]
fn a_played_session_ends_where_a_run_ends_and_the_zone_grows() {
    let c = generate(&Config::new(7, Size::Demo));
    let n = &c.truth.needle_pre;
    let setting = [("tip", point(n.tip)), ("entry", point(n.entry)), ("power", "100".to_string()), ("time", "5".to_string()), ("grid", "1.5".to_string())];
    let run = with_case(&c, &setting).run::<Planning>().expect("run");

    // Opened without the antenna: it asks for it, and cannot play.
    let mut s = with_case(&c, &[("power", "100".into()), ("time", "5".into()), ("grid", "1.5".into())]).open::<Planning>().expect("open");
    assert!(s.output().unwrap().report("planning").unwrap().values.is_empty());
    assert!(s.advance(30.0).unwrap_err().message.contains("place the antenna"));
    // Placed, then played in three uneven steps past the planned 5 minutes.
    assert_eq!(s.update(&[("tip", &point(n.tip)), ("entry", &point(n.entry))]).unwrap().horizon_s, 300.0);
    let mut sizes = Vec::new();
    for step in [60.0, 100.0, 200.0] {
        let clock = s.advance(step).unwrap();
        sizes.push(zone_voxels(&s.output().unwrap()));
        assert!(clock.time_s <= 300.0 + 1e-9);
    }
    assert!(sizes[0] < sizes[1] && sizes[1] < sizes[2], "the zone grows: {sizes:?}");
    let end = s.output().unwrap();
    assert_eq!(end.label_map("predicted-zone").unwrap().labels, run.label_map("predicted-zone").unwrap().labels, "a played session ends where the run ends");
    for key in ["zone_long_axis", "zone_short_axis", "predicted_mam", "healthy_liver_ablated"] {
        assert_eq!(end.report("planning").unwrap().number_of(key), run.report("planning").unwrap().number_of(key), "{key}");
    }
    // The session reports the energy delivered so far: the run's, less the last half step.
    let (e_session, e_run) = (end.report("planning").unwrap().number_of("energy").unwrap(), run.report("planning").unwrap().number_of("energy").unwrap());
    assert!((e_session - e_run).abs() / e_run < 0.005, "{e_session} vs {e_run} kJ");
    // Zones streamed while it played, growing.
    let partials = s.host.partials.lock().unwrap();
    let streamed: Vec<usize> = partials
        .iter()
        .filter_map(|o| {
            o.changes.iter().find_map(|ch| match ch {
                NodeChange::Upsert(n) if n.name.as_str() == "predicted-zone" => match &n.data {
                    NodeData::LabelMap(m) => Some(m.labels.iter().filter(|&&l| l != 0).count()),
                    _ => None,
                },
                _ => None,
            })
        })
        .collect();
    assert!(streamed.len() >= 3 && streamed.windows(2).all(|w| w[0] <= w[1]), "{streamed:?}");
    assert_eq!(*streamed.last().unwrap(), zone_voxels(&end));
    drop(partials);

    // Reset: back to time zero, no zone.
    assert_eq!(s.reset().unwrap().time_s, 0.0);
    assert_eq!(zone_voxels(&s.output().unwrap()), 0);
}

#[test]
fn steps_cancel_and_bad_updates_leave_the_session_as_it_was() {
    let c = generate(&Config::new(7, Size::Demo));
    let n = &c.truth.needle_pre;
    let setting = [("tip", point(n.tip)), ("entry", point(n.entry)), ("power", "100".to_string()), ("time", "5".to_string()), ("grid", "2".to_string())];
    let mut s = with_case(&c, &setting).host(RecordingHost::default()).open::<Planning>().expect("open");
    s.advance(60.0).unwrap();
    let before = zone_voxels(&s.output().unwrap());
    // Cancelled a few steps into the next minute: an error, and the time it reached kept.
    s.host.cancel_after_more(5);
    assert_eq!(s.advance(60.0).unwrap_err().kind, ErrorKind::Cancelled);
    s.host.cancel_after_more(0);
    let reached = s.advance(0.0).unwrap().time_s;
    assert!(reached > 60.0 && reached < 120.0, "{reached}");
    // A tip outside the liver is refused, naming the point; the session keeps its antenna.
    let e = s.update(&[("tip", "0,0,-500")]).unwrap_err();
    assert!(e.message.contains("outside the CT") || e.message.contains("not in the liver"), "{}", e.message);
    assert!((s.advance(0.0).unwrap().time_s - reached).abs() < 1e-9);
    assert!(zone_voxels(&s.output().unwrap()) >= before);
    // A setting off the chart is refused too.
    assert!(s.update(&[("power", "250")]).is_err());
    // A longer planned time moves the horizon; the state stays at the time reached.
    let clock = s.update(&[("time", "8")]).unwrap();
    assert_eq!(clock.horizon_s, 480.0);
    assert!((clock.time_s - reached).abs() < 1.0, "{} vs {reached}", clock.time_s);
}

fn text_of(o: &isotherm_sdk::testing::Outputs, key: &str) -> String {
    let r = o.report("planning").expect("planning report");
    r.values.iter().find(|v| v.key.as_str() == key).map(|v| format!("{:?}", v.value)).unwrap_or_default()
}

#[test]
fn the_path_is_checked_live_and_the_chart_zone_is_drawn_to_compare() {
    let c = generate(&Config::new(7, Size::Demo));
    let n = &c.truth.needle_pre;
    let setting = [("tip", point(n.tip)), ("entry", point(n.entry)), ("power", "100".to_string()), ("time", "5".to_string()), ("grid", "2".to_string())];
    let mut s = with_case(&c, &setting).open::<Planning>().expect("open");
    // The phantom's own needle path is clear.
    s.advance(10.0).unwrap();
    let out = s.output().unwrap();
    assert!(text_of(&out, "trajectory").contains("clear"), "{}", text_of(&out, "trajectory"));
    let conflicts = |o: &isotherm_sdk::testing::Outputs| match o.node("trajectory-conflicts") {
        Some(NodeData::Markups(m)) => m.lines.iter().map(|l| l.label.to_string()).collect::<Vec<_>>(),
        other => panic!("no conflicts node: {other:?}"),
    };
    assert!(conflicts(&out).is_empty());
    // Straight in from behind, through the spine: red where it crosses bone, named in
    // the report and in what streams while playing.
    let back = [n.tip[0], n.tip[1] - 160.0, n.tip[2]];
    s.update(&[("entry", &point(back))]).unwrap();
    let out = s.output().unwrap();
    assert!(text_of(&out, "trajectory").contains("not safe"), "{}", text_of(&out, "trajectory"));
    assert!(conflicts(&out).iter().any(|l| l.contains("bone")), "{:?}", conflicts(&out));
    s.advance(2.0).unwrap();
    let last = s.host.partials.lock().unwrap().last().cloned().unwrap();
    let streamed = last.changes.iter().any(
        |ch| matches!(ch, NodeChange::Upsert(n) if n.name.as_str() == "trajectory-conflicts" && matches!(&n.data, NodeData::Markups(m) if !m.lines.is_empty())),
    );
    assert!(streamed, "the conflicts stream with the zone");
    // The chart's ellipsoid for the planned setting (100 W, 5 min: 37 x 35 mm).
    let chart = out.mesh("chart-zone").expect("chart zone");
    let ml = isotherm_sdk::volume::mesh::enclosed_volume(chart).abs() / 1000.0;
    let expected = std::f64::consts::PI / 6.0 * 37.0 * 35.0 * 35.0 / 1000.0;
    assert!((ml - expected).abs() / expected < 0.02, "{ml:.2} ml vs {expected:.2} ml");
}
