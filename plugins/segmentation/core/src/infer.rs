//! Inference: CT -> per-class probabilities on the working grid -> classes on the input
//! grid.
//!
//! Slices are cut into in-plane tiles of `tile` working voxels overlapping by `overlap`;
//! each tile's softmax is weighted by a ramp that falls to near zero at the tile's edges
//! (where the network saw zero padding) and blended. Progress is reported per tile and
//! cancellation is checked between tiles.

use candle_core::Device;
use isotherm_sdk::abi::{Geometry, Volume};

use crate::net::UNet;
use crate::preprocess::{classes_on, inference_geometry, stack, to_working};

/// Where the inference loop reports to: progress in 0..1 and a cancellation check.
pub trait Progress {
    /// Returns false when the caller wants to stop.
    fn tile_done(&self, fraction: f64) -> bool;
}

impl<F: Fn(f64) -> bool> Progress for F {
    fn tile_done(&self, fraction: f64) -> bool {
        self(fraction)
    }
}

/// The network's result on the working grid.
pub struct Prediction {
    pub working: Geometry,
    /// One probability volume per class, on `working`.
    pub probabilities: Vec<Vec<f32>>,
    /// Every forward pass as (slices, height, width), in order, and the seconds spent in
    /// the network (what a benchmark against another framework compares).
    pub passes: Vec<[usize; 3]>,
    pub network_seconds: f64,
}

#[derive(Debug)]
pub enum InferError {
    Cancelled,
    Network(String),
}

/// Tile origins along one axis of length `n`: first at 0, last flush with the end.
fn tile_starts(n: usize, tile: usize, overlap: usize) -> Vec<usize> {
    if n <= tile {
        return vec![0];
    }
    let step = tile - overlap;
    let mut starts: Vec<usize> = (0..).map(|t| t * step).take_while(|&s| s + tile < n).collect();
    starts.push(n - tile);
    starts
}

/// Blending weight across a tile: 1 in the middle, falling linearly to 1/overlap at the
/// edges (never zero, so a voxel covered by one tile only still gets a value).
fn ramp(len: usize, overlap: usize) -> Vec<f32> {
    (0..len).map(|i| {
        let edge = i.min(len - 1 - i) as f32 + 1.0;
        (edge / overlap.max(1) as f32).min(1.0)
    }).collect()
}

/// Runs the network over the whole volume.
pub fn predict(net: &UNet, ct: &Volume, device: &Device, batch: usize, progress: &dyn Progress) -> Result<Prediction, InferError> {
    let arch = &net.arch;
    let working = inference_geometry(&ct.geometry, arch);
    let image = to_working(&ct.data, &ct.geometry, &working, arch);
    let dims = working.dims_usize();
    let [nx, ny, nz] = dims;
    // Tiles are padded up to a multiple of 2^depth when the slice is smaller than a tile.
    let step = 1usize << arch.depth;
    let round = |n: usize| n.div_ceil(step) * step;
    let (tw, th) = (arch.tile.min(round(nx)), arch.tile.min(round(ny)));
    let xs = tile_starts(nx, tw, arch.overlap);
    let ys = tile_starts(ny, th, arch.overlap);
    let (wx, wy) = (ramp(tw, arch.overlap), ramp(th, arch.overlap));
    let classes = arch.classes.len();
    let mut acc = vec![vec![0f32; working.len()]; classes];
    let mut weight = vec![0f32; nx * ny];
    for &y0 in &ys {
        for &x0 in &xs {
            for j in 0..th.min(ny - y0) {
                for i in 0..tw.min(nx - x0) {
                    weight[x0 + i + nx * (y0 + j)] += wx[i] * wy[j];
                }
            }
        }
    }
    let total = xs.len() * ys.len() * nz.div_ceil(batch);
    let mut done = 0;
    let slab = arch.in_slices * th * tw;
    let net_err = |e: candle_core::Error| InferError::Network(e.to_string());
    let (mut passes, mut network_seconds) = (Vec::new(), 0.0);
    // The network's buffers, kept across this volume's passes.
    let mut scratch = crate::net::Scratch::default();
    for k0 in (0..nz).step_by(batch) {
        let kn = batch.min(nz - k0);
        for &y0 in &ys {
            for &x0 in &xs {
                let mut input = vec![0f32; kn * slab];
                for b in 0..kn {
                    stack(&image, dims, k0 + b, arch.in_slices, x0 as isize, y0 as isize, tw, th, &mut input[b * slab..(b + 1) * slab]);
                }
                let started = std::time::Instant::now();
                let p = net.probabilities(input, (kn, th, tw), device, &mut scratch).map_err(net_err)?;
                network_seconds += started.elapsed().as_secs_f64();
                passes.push([kn, th, tw]);
                if let Some(bad) = p.iter().position(|v| !v.is_finite()) {
                    return Err(InferError::Network(format!("the network produced a non-finite probability (tile at slice {}, value {})", k0 + bad / (classes * th * tw), p[bad])));
                }
                for b in 0..kn {
                    let k = k0 + b;
                    for (c, out) in acc.iter_mut().enumerate() {
                        let src = &p[(b * classes + c) * th * tw..(b * classes + c + 1) * th * tw];
                        for j in 0..th.min(ny - y0) {
                            for i in 0..tw.min(nx - x0) {
                                out[x0 + i + nx * (y0 + j) + nx * ny * k] += src[i + tw * j] * wx[i] * wy[j];
                            }
                        }
                    }
                }
                done += 1;
                if !progress.tile_done(done as f64 / total as f64) {
                    return Err(InferError::Cancelled);
                }
            }
        }
    }
    for out in acc.iter_mut() {
        for (n, v) in out.iter_mut().enumerate() {
            *v /= weight[n % (nx * ny)];
        }
    }
    Ok(Prediction { working, probabilities: acc, passes, network_seconds })
}

impl Prediction {
    /// The most probable class at every voxel of `target` (usually the input grid).
    pub fn classes_on(&self, target: &Geometry) -> Vec<u8> {
        classes_on(&self.probabilities, &self.working, target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_every_column_with_the_given_overlap() {
        assert_eq!(tile_starts(100, 160, 32), vec![0]);
        assert_eq!(tile_starts(300, 160, 32), vec![0, 128, 140]);
        assert_eq!(tile_starts(288, 160, 32), vec![0, 128]);
        let r = ramp(8, 4);
        assert_eq!(r, vec![0.25, 0.5, 0.75, 1.0, 1.0, 0.75, 0.5, 0.25]);
    }
}
