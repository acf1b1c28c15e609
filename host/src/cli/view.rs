//! `isotherm view [FILES...] [--run ID --param K=V ...] [--screenshot out.png]`.

use std::path::PathBuf;

use clap::Args;

use super::{Context, EXIT_USAGE};
use crate::app::{self, Layout, ViewerOptions};

#[derive(Debug, Args)]
pub struct ViewArgs {
    /// NIfTI volumes and label maps (a `.labels.toml` beside a file, or a name with
    /// label/seg/mask/tumour/zone in it, marks a label map), NRRD volumes and Slicer
    /// .seg.nrrd segmentations, DICOM series (a folder, DICOMDIR or .dcm file; FOLDER#N
    /// for one of several series), and PLY meshes.
    pub files: Vec<PathBuf>,
    /// Run this plugin on the loaded data at start (inputs matched by kind).
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    /// A parameter for --run, as KEY=VALUE.
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Render until the picture is stable, save it as PNG, and exit.
    #[arg(long, value_name = "PNG")]
    pub screenshot: Option<PathBuf>,
    /// Time this many frames with every layer busy (slices stepping, 3D turning), print
    /// mean/median/p95 frame time and the renderer, and exit.
    #[arg(long, value_name = "N")]
    pub bench_frames: Option<u32>,
    /// No window: render the 3D view offscreen (GPU machines without a display);
    /// with --screenshot the picture is the 3D view.
    #[arg(long)]
    pub offscreen: bool,
    /// Window size in logical pixels, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x800")]
    pub size: String,
    /// Start with one big view: axial, coronal, sagittal or 3d.
    #[arg(long)]
    pub single: Option<String>,
    /// Open the live ablation (the planning plugin's session) at start: place the
    /// antenna in the slice views, then play.
    #[arg(long)]
    pub simulate: bool,
    /// A teaching exercise on a case folder (as `isotherm phantom` writes): its CT and
    /// structures open, the margin goal (`exercise.toml`, else 5 mm) stays hidden until
    /// the attempt is scored against the plugin's own recommendation.
    #[arg(long, value_name = "CASE_DIR")]
    pub exercise: Option<PathBuf>,
    /// Drive the viewer through the steps of a TOML script, then exit (see the README's
    /// educators section).
    #[arg(long, value_name = "STEPS.toml")]
    pub script: Option<PathBuf>,
}

impl ViewArgs {
    /// No files, default window: what `isotherm` alone opens.
    pub fn empty() -> ViewArgs {
        ViewArgs {
            files: vec![],
            run: None,
            params: vec![],
            screenshot: None,
            bench_frames: None,
            offscreen: false,
            size: "1280x800".into(),
            single: None,
            simulate: false,
            exercise: None,
            script: None,
        }
    }
}

/// Opens the viewer. Exit 0 when the window closes (or the screenshot is saved), 2 for
/// bad arguments.
pub fn view(ctx: &Context, args: &ViewArgs) -> i32 {
    let size: Vec<u32> = args.size.split('x').filter_map(|s| s.parse().ok()).collect();
    let [w, h] = size[..] else {
        eprintln!("error: --size must be WIDTHxHEIGHT, e.g. 1280x800");
        return EXIT_USAGE;
    };
    let layout = match args.single.as_deref() {
        None => Layout::FourUp,
        Some(s) => match Layout::parse_single(s) {
            Some(l) => l,
            None => {
                eprintln!("error: --single must be axial, coronal, sagittal or 3d");
                return EXIT_USAGE;
            }
        },
    };
    let mut params = Vec::new();
    for p in &args.params {
        match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => params.push((k.to_string(), v.to_string())),
            _ => {
                eprintln!("error: parameter '{p}' is not KEY=VALUE");
                return EXIT_USAGE;
            }
        }
    }
    let mut files = args.files.clone();
    if let Some(case) = &args.exercise {
        let ct = case.join("pre_ct.nii.gz");
        if !ct.is_file() {
            eprintln!("error: {}: not a case folder (no pre_ct.nii.gz; `isotherm phantom --out DIR` writes one)", case.display());
            return EXIT_USAGE;
        }
        if let Err(e) = crate::view::exercise::goal_of(case) {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
        files.push(ct);
        files.extend(["pre_labels.nii.gz", "pre_tumours.nii.gz"].iter().map(|f| case.join(f)).filter(|f| f.is_file()));
    }
    for f in &files {
        let (path, _) = isotherm_dicom::split_selector(&f.to_string_lossy());
        if !path.exists() {
            eprintln!("error: {}: no such file or folder", f.display());
            return EXIT_USAGE;
        }
    }
    let script = match &args.script {
        Some(path) => match app::Script::load(path) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_USAGE;
            }
        },
        None => None,
    };
    app::run(ViewerOptions {
        files,
        screenshot: args.screenshot.clone(),
        bench_frames: args.bench_frames,
        offscreen: args.offscreen,
        run: args.run.clone(),
        params,
        layout,
        size: [w, h],
        search: ctx.search.clone(),
        simulate: args.simulate,
        exercise: args.exercise.clone(),
        script,
    })
}
