//! `isotherm view ... --screenshot out.png`: render until the picture is complete,
//! save the window, exit. Complete means: auto-run jobs finished, slices rendered, and
//! the renderer has had no pipeline waiting to compile for several frames in a row
//! (a fixed frame count gave black pictures on the software renderer: pipelines take
//! seconds to compile there, see shared/reference/viewer-testing.md).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bevy::app::AppExit;
use bevy::prelude::*;
use bevy::render::render_resource::PipelineCache;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};
use bevy::render::{Render, RenderApp};

use super::jobs_ui::Jobs;
use super::slices::SliceImages;

/// Frames in a row with nothing compiling before the picture is taken.
const STABLE_FRAMES: u32 = 6;
/// Take the picture anyway after this many frames.
const MAX_FRAMES: u32 = 2000;

pub struct ScreenshotPlugin {
    pub path: PathBuf,
}

#[derive(Resource, Clone)]
struct WaitingPipelines(Arc<AtomicUsize>);

#[derive(Resource)]
struct Shot {
    path: PathBuf,
    frames: u32,
    stable: u32,
    taken: bool,
}

impl Plugin for ScreenshotPlugin {
    fn build(&self, app: &mut App) {
        let waiting = WaitingPipelines(Arc::new(AtomicUsize::new(usize::MAX)));
        app.insert_resource(waiting.clone()).insert_resource(Shot { path: self.path.clone(), frames: 0, stable: 0, taken: false }).add_systems(Last, take_when_ready);
        if let Some(render_app) = app.get_sub_app_mut(RenderApp) {
            render_app.insert_resource(waiting).add_systems(Render, count_waiting);
        }
    }
}

fn count_waiting(cache: Res<PipelineCache>, waiting: Res<WaitingPipelines>) {
    waiting.0.store(cache.waiting_pipelines().count(), Ordering::SeqCst);
}

fn take_when_ready(mut commands: Commands, mut shot: ResMut<Shot>, waiting: Res<WaitingPipelines>, jobs: Res<Jobs>, slices: Res<SliceImages>) {
    if shot.taken {
        return;
    }
    shot.frames += 1;
    let content_ready = jobs.all_finished() && slices.0.iter().all(|s| s.frame.is_some() || s.renders == 0);
    let idle = waiting.0.load(Ordering::SeqCst) == 0;
    shot.stable = if content_ready && idle && shot.frames > 3 { shot.stable + 1 } else { 0 };
    if shot.stable >= STABLE_FRAMES || shot.frames >= MAX_FRAMES {
        if shot.frames >= MAX_FRAMES {
            tracing::warn!("screenshot taken after {MAX_FRAMES} frames without a stable picture");
        }
        shot.taken = true;
        let path = shot.path.clone();
        commands
            .spawn(Screenshot::primary_window())
            .observe(save_to_disk(path))
            .observe(|_: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>| {
                exit.write(AppExit::Success);
            });
    }
}
