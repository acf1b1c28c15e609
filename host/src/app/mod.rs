//! The Bevy viewer (`isotherm view`), a view over the same modules as the CLI: the host
//! [`Scene`](crate::scene::Scene), the plugin [`Registry`](crate::loader::Registry) and
//! the [`JobRunner`](crate::jobs::JobRunner). One Bevy plugin per feature:
//!
//! - [`state`]: the viewer's resources and file loading;
//! - [`slices`]: the three slice views (reslicing is `crate::view::slice`);
//! - [`view3d`]: the 3D view rendered to a texture: meshes, slice planes, markups;
//! - [`panels`]: egui panels (scene tree, plugins, parameter form, jobs, report, log)
//!   and the four-up layout;
//! - [`jobs_ui`]: plugin runs submitted from the panel, polled every frame;
//! - [`readiness`]: when a frame is complete (jobs done, no pipeline compiling);
//! - [`screenshot`]: the headless `--screenshot` path;
//! - [`bench`]: `--bench-frames`, frame time with every layer busy;
//! - [`browser`]: the Open-files window;
//! - [`ablation`]: educator mode, the planning plugin's live session (antenna in the
//!   slice views, play clock, live table, exercise score);
//! - [`script`]: `--script`, the viewer driven step by step (tests, teaching, bench).
//!
//! System order within a frame (`IsothermSet`, configured once below): jobs are polled
//! and their results applied to the scene, then the scene is synced to entities and
//! slice images, then the UI draws (in bevy_egui's pass), then the screenshot logic.

mod ablation;
mod bench;
mod browser;
mod jobs_ui;
mod panels;
mod readiness;
mod screenshot;
mod script;
mod slices;
mod state;
mod view3d;

use std::path::PathBuf;

use bevy::app::AppExit;
use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy::window::WindowResolution;
use bevy_egui::EguiPlugin;

use crate::loader::SearchPath;

pub use script::Script;
pub use state::Layout;

/// What `isotherm view` was asked to do.
#[derive(Debug, Clone)]
pub struct ViewerOptions {
    /// NIfTI volumes and label maps, PLY meshes.
    pub files: Vec<PathBuf>,
    /// Render until stable, save a PNG of the window, exit.
    pub screenshot: Option<PathBuf>,
    /// Time this many frames with every layer busy, print the statistics, exit.
    pub bench_frames: Option<u32>,
    /// No window: render the 3D view offscreen (for GPU machines without a display).
    pub offscreen: bool,
    /// Run this plugin on the loaded data at start (inputs matched by kind).
    pub run: Option<String>,
    pub params: Vec<(String, String)>,
    pub layout: Layout,
    pub size: [u32; 2],
    pub search: SearchPath,
    /// Open the live ablation at start.
    pub simulate: bool,
    /// An exercise on this case folder (its files are in `files`).
    pub exercise: Option<PathBuf>,
    /// Steps to drive the viewer through, then exit.
    pub script: Option<Script>,
}

/// The order of the viewer's systems within `Update`.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IsothermSet {
    /// Poll running jobs; apply finished results to the scene.
    Jobs,
    /// Mirror the scene into entities, meshes and slice images.
    Sync,
}

/// Opens the viewer window and runs until it is closed; returns the exit code.
pub fn run(options: ViewerOptions) -> i32 {
    let mut app = App::new();
    // The binary already installed a tracing subscriber: Bevy's LogPlugin would clash.
    if options.offscreen {
        // No window, no egui: the 3D view renders into its texture and the slice views
        // reslice on the CPU, which is what a frame costs apart from drawing panels.
        app.add_plugins(
            DefaultPlugins
                .set(WindowPlugin { primary_window: None, exit_condition: bevy::window::ExitCondition::DontExit, ..default() })
                .build()
                .disable::<LogPlugin>()
                .disable::<bevy::winit::WinitPlugin>(),
        )
        .add_plugins(bevy::app::ScheduleRunnerPlugin::run_loop(std::time::Duration::ZERO));
    } else {
        let window = Window {
            title: "Isotherm".into(),
            resolution: WindowResolution::new(options.size[0], options.size[1]),
            ..default()
        };
        app.add_plugins(DefaultPlugins.set(WindowPlugin { primary_window: Some(window), ..default() }).build().disable::<LogPlugin>())
            .add_plugins((EguiPlugin::default(), panels::PanelsPlugin));
    }
    app.configure_sets(Update, (IsothermSet::Jobs, IsothermSet::Sync).chain())
        .insert_resource(jobs_ui::new_jobs(options.run.clone().map(|id| (id, options.params.clone())), 2))
        .add_plugins((state::StatePlugin { options: options.clone() }, jobs_ui::JobsUiPlugin, slices::SlicesPlugin, view3d::View3dPlugin { size: options.size }));
    app.add_plugins(ablation::AblationPlugin { simulate: options.simulate, exercise: options.exercise.clone() });
    app.add_plugins(readiness::ReadinessPlugin);
    if let Some(script) = &options.script {
        app.add_plugins(script::ScriptPlugin { steps: script.step.clone() });
    }
    if let Some(path) = &options.screenshot {
        app.add_plugins(screenshot::ScreenshotPlugin { path: path.clone(), offscreen: options.offscreen });
    }
    if let Some(frames) = options.bench_frames {
        app.add_plugins(bench::BenchPlugin { frames });
    }
    match app.run() {
        AppExit::Success => 0,
        AppExit::Error(code) => code.get() as i32,
    }
}

/// Mouse-wheel movement this frame, in notches (lines or points, sign only matters to
/// callers): egui 0.36 exposes raw wheel events rather than a raw delta.
fn wheel_notches(ui: &bevy_egui::egui::Ui) -> f32 {
    ui.input(|i| {
        i.raw
            .events
            .iter()
            .map(|e| match e {
                bevy_egui::egui::Event::MouseWheel { delta, .. } => delta.y,
                _ => 0.0,
            })
            .sum()
    })
}
