//! When is a frame "complete"? Auto-run jobs finished, and the renderer has had no
//! pipeline waiting to compile for several frames in a row (on a software renderer
//! pipelines take seconds to compile; a fixed frame count gave black pictures, see
//! shared/reference/viewer-testing.md). Used by the screenshot and the frame bench.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bevy::prelude::*;
use bevy::render::render_resource::PipelineCache;
use bevy::render::{Render, RenderApp};

use super::jobs_ui::Jobs;

/// Frames in a row with nothing compiling before the picture counts as complete.
const STABLE_FRAMES: u32 = 6;

#[derive(Resource, Clone)]
struct WaitingPipelines(Arc<AtomicUsize>);

/// Read by the screenshot and bench systems.
#[derive(Resource, Default)]
pub struct Readiness {
    pub frames: u32,
    pub stable: u32,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.stable >= STABLE_FRAMES
    }
}

pub struct ReadinessPlugin;

impl Plugin for ReadinessPlugin {
    fn build(&self, app: &mut App) {
        let waiting = WaitingPipelines(Arc::new(AtomicUsize::new(usize::MAX)));
        app.insert_resource(waiting.clone()).init_resource::<Readiness>().add_systems(PostUpdate, track);
        if let Some(render_app) = app.get_sub_app_mut(RenderApp) {
            render_app.insert_resource(waiting).add_systems(Render, count_waiting);
        }
    }
}

fn count_waiting(cache: Res<PipelineCache>, waiting: Res<WaitingPipelines>) {
    waiting.0.store(cache.waiting_pipelines().count(), Ordering::SeqCst);
}

fn track(mut r: ResMut<Readiness>, waiting: Res<WaitingPipelines>, jobs: Res<Jobs>) {
    r.frames += 1;
    let idle = waiting.0.load(Ordering::SeqCst) == 0;
    r.stable = if jobs.all_finished() && idle && r.frames > 3 { r.stable + 1 } else { 0 };
}
