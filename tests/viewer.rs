//! The viewer as a person sees it: `isotherm view` on the demo case under Xvfb with
//! Mesa's software Vulkan, the template plugin run from the command line, and the
//! saved screenshot checked: not blank, the label overlay's colour in the slice
//! views, the template's mesh in the 3D quadrant.
//!
//! Needs `xvfb-run` and Mesa's Vulkan driver (`bash scripts/test.sh` installs them).

use std::path::Path;
use std::process::Command;

use isotherm_tests::*;

struct Picture {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Picture {
    fn load(path: &Path) -> Picture {
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let channels = info.color_type.samples();
        let rgb = buf[..info.buffer_size()].chunks(channels).flat_map(|p| [p[0], p[1], p[2]]).collect();
        Picture { width: info.width as usize, height: info.height as usize, rgb }
    }
    /// Pixels in the rectangle (fractions of the picture) matching `pred`.
    fn count(&self, x0: f64, y0: f64, x1: f64, y1: f64, pred: impl Fn([u8; 3]) -> bool) -> usize {
        let (a, b) = ((x0 * self.width as f64) as usize, (x1 * self.width as f64) as usize);
        let (c, d) = ((y0 * self.height as f64) as usize, (y1 * self.height as f64) as usize);
        let mut n = 0;
        for y in c..d {
            for x in a..b {
                let i = (y * self.width + x) * 3;
                if pred([self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]) {
                    n += 1;
                }
            }
        }
        n
    }
}

/// `isotherm view ARGS --screenshot OUT` under Xvfb with Mesa's software Vulkan.
fn viewer_screenshot(args: &[&str], out: &Path) -> std::process::Output {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--screenshot", out.to_str().unwrap()]);
    viewer(&all, &out.file_stem().unwrap().to_string_lossy())
}

/// `isotherm view ARGS` under Xvfb with Mesa's software Vulkan; `tag` names its private
/// runtime and home folders.
fn viewer(args: &[&str], tag: &str) -> std::process::Output {
    let xvfb = Command::new("sh").args(["-c", "command -v xvfb-run"]).output().unwrap();
    assert!(xvfb.status.success(), "xvfb-run is not installed: run `bash scripts/test.sh` (it installs xvfb and mesa-vulkan-drivers)");
    let mut cmd = Command::new("xvfb-run");
    cmd.args(["-a", "-s", "-screen 0 1280x800x24"]).arg(isotherm_bin()).arg("view").args(args).args(["--size", "1280x800"]);
    // Per picture: tests run side by side and `temp_dir` starts each folder afresh.
    cmd.env("XDG_RUNTIME_DIR", temp_dir(&format!("xdg-runtime-{tag}"))).env("HOME", temp_dir(&format!("viewer-home-{tag}")));
    let lvp = Path::new("/usr/share/vulkan/icd.d/lvp_icd.x86_64.json");
    if lvp.is_file() {
        cmd.env("VK_ICD_FILENAMES", lvp);
    }
    cmd.output().unwrap()
}

fn screenshot(args: &[&str], out: &Path) -> Picture {
    let o = viewer_screenshot(args, out);
    assert!(o.status.success() && out.is_file(), "viewer failed: {}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    Picture::load(out)
}

#[test]
fn demo_case_with_overlay_and_template_mesh_renders() {
    build();
    let demo = workspace_root().join("assets/cases/demo");
    let dir = temp_dir("viewer");
    let ct = demo.join("pre_ct.nii.gz");
    let labels = demo.join("pre_labels.nii.gz");
    let out = dir.join("four-up.png");
    let pic = screenshot(&[ct.to_str().unwrap(), labels.to_str().unwrap(), "--run", "template"], &out);
    assert_eq!((pic.width, pic.height), (1280, 800));

    // Not blank: plenty of distinct grey levels.
    let mut levels = std::collections::HashSet::new();
    for p in pic.rgb.chunks(3) {
        levels.insert(p[0] / 8);
    }
    assert!(levels.len() > 16, "the picture looks blank ({} levels)", levels.len());

    // The liver overlay (orange-brown, 45% over grey) in the slice views: the left
    // half of the central area holds the axial (top) and coronal (bottom) views.
    let liver_tint = |p: [u8; 3]| p[0] as i32 - p[2] as i32 > 30 && p[0] > 100 && (p[1] as i32) < p[0] as i32;
    let axial = pic.count(0.2, 0.1, 0.5, 0.45, liver_tint);
    let coronal = pic.count(0.2, 0.5, 0.5, 0.85, liver_tint);
    assert!(axial > 2000 && coronal > 2000, "overlay pixels: axial {axial}, coronal {coronal}");

    // The template's tumour surface (amber, lit) in the 3D quadrant (top right of the
    // central area): compared with the same view without the run, pixels there turn
    // markedly more amber (red minus blue).
    let plain = screenshot(&[ct.to_str().unwrap(), labels.to_str().unwrap()], &dir.join("plain.png"));
    let (x0, x1, y0, y1) = ((0.53 * 1280.0) as usize, (0.79 * 1280.0) as usize, (0.04 * 800.0) as usize, (0.41 * 800.0) as usize);
    let mut amber = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let i = (y * 1280 + x) * 3;
            let warmth = |p: &Picture| p.rgb[i] as i32 - p.rgb[i + 2] as i32;
            if warmth(&pic) - warmth(&plain) > 40 {
                amber += 1;
            }
        }
    }
    assert!(amber > 150, "mesh pixels in the 3D view: {amber}");
    // Without the run, nothing amber appears there.
    let stray = plain.count(0.53, 0.04, 0.79, 0.41, |p| p[0] > 150 && (p[2] as i32) < 60);
    assert!(stray < 50, "{stray}");
    // Keep the picture for the README when asked.
    if let Ok(dest) = std::env::var("ISOTHERM_SAVE_SCREENSHOT") {
        std::fs::copy(&out, dest).unwrap();
    }
}

#[test]
fn a_run_that_cannot_start_fails_the_screenshot() {
    build();
    let demo = workspace_root().join("assets/cases/demo");
    let dir = temp_dir("viewer-bad-run");
    let ct = demo.join("pre_ct.nii.gz");
    for (extra, expected) in [
        (vec!["--run", "no-such-plugin"], "--run no-such-plugin: no plugin 'no-such-plugin'"),
        (vec!["--run", "template", "--param", "lower=99999"], "--run template: parameter 'lower'"),
    ] {
        let out = dir.join("bad.png");
        let mut args = vec![ct.to_str().unwrap()];
        args.extend(&extra);
        let o = viewer_screenshot(&args, &out);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {err}");
        assert!(err.contains(expected), "{extra:?}: {err}");
        // The picture is still taken: the error is in its Log panel.
        assert!(out.is_file());
    }
}

#[test]
fn a_planned_ablation_shows_its_zone_and_margin_colours() {
    build();
    let demo = workspace_root().join("assets/cases/demo");
    let dir = temp_dir("viewer-planning");
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(demo.join("truth.json")).unwrap()).unwrap();
    let point = |v: &serde_json::Value| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap().to_string()).collect::<Vec<_>>().join(",");
    let (tip, entry) = (format!("tip={}", point(&truth["needle_pre"]["tip"])), format!("entry={}", point(&truth["needle_pre"]["entry"])));
    let files = [demo.join("pre_ct.nii.gz"), demo.join("pre_labels.nii.gz"), demo.join("pre_tumours.nii.gz")];
    let files: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    let out = dir.join("planning.png");
    let mut args = files.clone();
    args.extend(["--run", "planning", "--param", &tip, "--param", &entry, "--param", "power=100", "--param", "time=5"]);
    let pic = screenshot(&args, &out);
    let plain = screenshot(&files, &dir.join("plain.png"));
    // The predicted zone's overlay (green) in the slice views, centred on the antenna tip
    // (a 36 mm zone is about 45 pixels across in these views).
    let green = |p: [u8; 3]| p[1] as i32 - (p[0].max(p[2]) as i32) > 35;
    let zone = pic.count(0.2, 0.1, 0.5, 0.85, green);
    let before = plain.count(0.2, 0.1, 0.5, 0.85, green);
    assert!(zone > before + 400, "zone overlay pixels: {zone} (without the run {before})");
    // The margin-coloured tumour, the zone surface and the isotherms change the 3D view.
    let changed = (0..pic.rgb.len() / 3)
        .filter(|&i| {
            let (x, y) = (i % 1280, i / 1280);
            (672..1011).contains(&x) && (32..328).contains(&y) && (0..3).map(|c| (pic.rgb[3 * i + c] as i32 - plain.rgb[3 * i + c] as i32).abs()).sum::<i32>() > 60
        })
        .count();
    eprintln!("zone overlay pixels {zone}, 3D pixels changed {changed}");
    assert!(changed > 500, "3D pixels changed by the run: {changed}");
    if let Ok(dest) = std::env::var("ISOTHERM_SAVE_PLANNING_SCREENSHOT") {
        std::fs::copy(&out, dest).unwrap();
    }
}

/// The educator's live ablation, driven by a script as a trainee would: start it, place
/// the antenna on the demo tumour, set 100 W for 10 minutes, play to 1, 5 and 10 minutes
/// with a screenshot at each. The zone's overlay grows from one picture to the next, and
/// the tumour's margin colours (its surface in 3D, its contour in the slices) turn from
/// red (outside the zone) to amber and green.
#[test]
fn an_educator_places_the_antenna_plays_and_sees_the_zone_grow_and_the_margin_change() {
    build();
    let demo = workspace_root().join("assets/cases/demo");
    let dir = temp_dir("viewer-educator");
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(demo.join("truth.json")).unwrap()).unwrap();
    let point = |v: &serde_json::Value| format!("[{}]", v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap().to_string()).collect::<Vec<_>>().join(", "));
    let shot = |m: u32| dir.join(format!("educator-{m:02}min.png"));
    let mut script = format!(
        "[[step]]\nsimulate = true\n[[step]]\ntip = {}\nentry = {}\nset = {{ power = 100, time = 10 }}\nspeed = 120\n",
        point(&truth["needle_pre"]["tip"]),
        point(&truth["needle_pre"]["entry"])
    );
    for m in [1, 5, 10] {
        script.push_str(&format!("[[step]]\nplay_to = {m}.0\n[[step]]\nscreenshot = \"{}\"\n", shot(m).display()));
    }
    let steps = dir.join("steps.toml");
    std::fs::write(&steps, script).unwrap();
    let files = [demo.join("pre_ct.nii.gz"), demo.join("pre_labels.nii.gz"), demo.join("pre_tumours.nii.gz")];
    let mut args: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    args.extend(["--script", steps.to_str().unwrap()]);
    let o = viewer(&args, "educator");
    assert!(o.status.success(), "viewer failed: {}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let pics: Vec<Picture> = [1, 5, 10].iter().map(|&m| Picture::load(&shot(m))).collect();
    // The views lie between the scene panel (420 points) and the live-ablation panel
    // (from 888), under the toolbar and over the report: 2x2, the 3D view top right.
    let slices = |p: &Picture, pred: &dyn Fn([u8; 3]) -> bool| {
        [(0.33, 0.04, 0.51, 0.41), (0.33, 0.42, 0.51, 0.79), (0.52, 0.42, 0.69, 0.79)].iter().map(|&(a, b, c, d)| p.count(a, b, c, d, pred)).sum::<usize>()
    };
    // The views without the 3D view's colour bar (its right edge).
    let views = |p: &Picture, pred: &dyn Fn([u8; 3]) -> bool| slices(p, pred) + p.count(0.52, 0.04, 0.65, 0.41, pred);
    // The zone's overlay (green) in the slice views.
    let green = |p: [u8; 3]| p[1] as i32 - (p[0].max(p[2]) as i32) > 35;
    let zone: Vec<usize> = pics.iter().map(|p| slices(p, &green)).collect();
    // The tumour coloured red where it lies outside the zone, in 3D and in the slices.
    let red = |p: [u8; 3]| p[0] > 120 && p[0] as i32 > 3 * p[1] as i32 && p[0] as i32 > 3 * p[2] as i32;
    let reds: Vec<usize> = pics.iter().map(|p| views(p, &red)).collect();
    let amber = |p: [u8; 3]| p[0] > 180 && (120..=200).contains(&p[1]) && p[2] < 60;
    let ambers: Vec<usize> = pics.iter().map(|p| views(p, &amber)).collect();
    eprintln!("zone overlay pixels {zone:?}, red {reds:?}, amber {ambers:?}");
    assert!(zone[0] > 100 && zone[1] > zone[0] + 200 && zone[2] > zone[1] + 100, "the zone grows: {zone:?}");
    // At 1 minute part of the tumour lies outside the zone (red); at 10 minutes none
    // does, and its whole surface is amber or green.
    assert!(reds[0] > 100 && reds[2] * 5 < reds[0], "the tumour's red (outside the zone) fades: {reds:?}");
    assert!(ambers[2] > ambers[0], "more of the tumour within 0-5 mm: {ambers:?}");
    if let Ok(dest) = std::env::var("ISOTHERM_SAVE_EDUCATOR_SCREENSHOTS") {
        for m in [1, 5, 10] {
            std::fs::copy(shot(m), Path::new(&dest).join(format!("educator-{m:02}min.png"))).unwrap();
        }
    }
}

/// A teaching exercise on a generated case: `isotherm phantom --exercise` writes its
/// hidden goal, the viewer computes the plugin's recommendation in the background, the
/// trainee ablates too briefly (1 minute) and the score says so beside the
/// recommendation; the recommendation itself would score full marks on coverage.
#[test]
fn an_exercise_scores_an_attempt_against_the_recommendation() {
    build();
    let dir = temp_dir("viewer-exercise");
    let case = dir.join("case");
    let o = Command::new(isotherm_bin()).args(["phantom", "--seed", "2", "--exercise", "--out"]).arg(&case).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(case.join("exercise.toml")).unwrap().lines().last(), Some("margin_goal_mm = 10.0"));
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(case.join("truth.json")).unwrap()).unwrap();
    let point = |v: &serde_json::Value| format!("[{}]", v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap().to_string()).collect::<Vec<_>>().join(", "));
    let script = format!(
        "[[step]]\ntip = {}\nentry = {}\nset = {{ power = 100, time = 5 }}\nspeed = 120\nplay_to = 1.0\n[[step]]\nscore = true\n",
        point(&truth["needle_pre"]["tip"]),
        point(&truth["needle_pre"]["entry"])
    );
    let steps = dir.join("steps.toml");
    std::fs::write(&steps, script).unwrap();
    let o = viewer(&["--exercise", case.to_str().unwrap(), "--script", steps.to_str().unwrap()], "exercise");
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "viewer failed: {stdout}\n{stderr}");
    let line = stdout.lines().find(|l| l.starts_with("score: ")).unwrap_or_else(|| panic!("no score line: {stdout}"));
    eprintln!("{line}");
    // One minute of 100 W leaves the tumour partly outside: no margin points, goal not met.
    assert!(line.contains("goal 10.0 mm not met"), "{line}");
    assert!(line.contains("minimal margin") && line.contains("0.0/30"), "{line}");
    let total: f64 = line["score: ".len()..].split('/').next().unwrap().parse().unwrap();
    assert!(total > 5.0 && total < 70.0, "{line}");
    // The recommendation covers the whole tumour.
    assert!(line.contains("(recommended 100.0 %)"), "{line}");
}
