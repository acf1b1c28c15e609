//! `isotherm view ... --bench-frames N`: once the picture is complete, time N frames
//! with every layer busy — the crosshair steps one slice per frame (all three views
//! reslice CT and overlays and re-upload) and the 3D camera turns — then print the
//! frame-time statistics and the renderer, and exit. A measurement, never a test.

use std::time::Instant;

use bevy::app::AppExit;
use bevy::prelude::*;
use bevy::render::renderer::RenderAdapterInfo;

use super::readiness::Readiness;
use super::state::Viewer;
use super::view3d::ThreeD;

pub struct BenchPlugin {
    pub frames: u32,
}

#[derive(Resource)]
struct Bench {
    target: u32,
    warmup: u32,
    last: Option<Instant>,
    times_ms: Vec<f64>,
    direction: f64,
}

impl Plugin for BenchPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(Bench { target: self.frames.max(1), warmup: 10, last: None, times_ms: Vec::new(), direction: 1.0 }).add_systems(Last, step);
    }
}

fn step(mut bench: ResMut<Bench>, readiness: Res<Readiness>, mut viewer: ResMut<Viewer>, mut three: ResMut<ThreeD>, adapter: Option<Res<RenderAdapterInfo>>, mut exit: MessageWriter<AppExit>) {
    if !readiness.ready() {
        return;
    }
    let now = Instant::now();
    if bench.warmup > 0 {
        bench.warmup -= 1;
    } else if let Some(last) = bench.last {
        let dt = (now - last).as_secs_f64() * 1000.0;
        bench.times_ms.push(dt);
    }
    bench.last = Some(now);
    // Keep every layer busy: next slice (bouncing at the ends), and turn the 3D view.
    if let Some(b) = viewer.bounds() {
        let mut c = viewer.crosshair;
        c[2] += 2.0 * bench.direction;
        if c[2] > b.max[2] || c[2] < b.min[2] {
            bench.direction = -bench.direction;
        }
        viewer.crosshair = b.clamp(c);
    }
    three.orbit.rotate(3.0, 0.0);
    if bench.times_ms.len() as u32 >= bench.target {
        let mut t = bench.times_ms.clone();
        t.sort_by(f64::total_cmp);
        let mean = t.iter().sum::<f64>() / t.len() as f64;
        let p95 = t[((t.len() as f64 * 0.95) as usize).min(t.len() - 1)];
        let renderer = adapter.map(|a| format!("{} ({:?}, {})", a.name, a.backend, a.driver)).unwrap_or_else(|| "unknown".into());
        println!("frame time over {} frames: mean {mean:.1} ms, median {:.1} ms, p95 {p95:.1} ms; renderer: {renderer}", t.len(), t[t.len() / 2]);
        exit.write(AppExit::Success);
    }
}
