//! `isotherm view ... --screenshot out.png`: render until the picture is complete (see
//! `readiness`), save the window, exit.

use std::path::PathBuf;

use bevy::app::AppExit;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};

use super::readiness::Readiness;

/// Take the picture anyway after this many frames.
const MAX_FRAMES: u32 = 2000;

pub struct ScreenshotPlugin {
    pub path: PathBuf,
    /// Without a window, the picture is the 3D view's render target.
    pub offscreen: bool,
}

#[derive(Resource)]
struct Shot {
    path: PathBuf,
    taken: bool,
    offscreen: bool,
}

impl Plugin for ScreenshotPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(Shot { path: self.path.clone(), taken: false, offscreen: self.offscreen }).add_systems(Last, take_when_ready);
    }
}

fn take_when_ready(mut commands: Commands, mut shot: ResMut<Shot>, readiness: Res<Readiness>, three: Res<super::view3d::ThreeD>) {
    if shot.taken || !(readiness.ready() || readiness.frames >= MAX_FRAMES) {
        return;
    }
    if !readiness.ready() {
        tracing::warn!("screenshot taken after {MAX_FRAMES} frames without a stable picture");
    }
    shot.taken = true;
    let what = if shot.offscreen { Screenshot::image(three.target.clone()) } else { Screenshot::primary_window() };
    commands
        .spawn(what)
        .observe(save_to_disk(shot.path.clone()))
        .observe(|_: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>, jobs: Res<super::jobs_ui::Jobs>| {
            // A `--run` that could not start or failed is an error of the whole command
            // (it is in the Log panel of the picture too).
            match &jobs.auto_run_error {
                Some(e) => {
                    eprintln!("error: {e}");
                    exit.write(AppExit::Error(std::num::NonZeroU8::new(crate::cli::EXIT_FAILED as u8).unwrap()));
                }
                None => {
                    exit.write(AppExit::Success);
                }
            }
        });
}
