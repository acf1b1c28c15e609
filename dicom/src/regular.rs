//! Slices into a volume: stacked as they are when they already form a regular grid,
//! otherwise resampled onto one (gantry tilt corrected, uneven spacing evened).
//!
//! The resampled grid keeps the slices' own row and column directions and adds the
//! slice normal as the third axis, so it is orthogonal; in plane it grows to hold every
//! shifted slice (a tilted stack's slices slide sideways), and voxels no slice covers
//! get the series' lowest value (air or the scanner's padding).

use isotherm_sdk::abi::{Geometry, Volume, VoxelData};
use rayon::prelude::*;

use crate::pixels::SliceValues;
use crate::stack::geometry;

/// One sorted slice: where it is and what it holds.
pub struct Slice {
    /// Position along the slice normal, mm (LPS dot normal).
    pub depth: f64,
    /// In-plane offset from the stack's first slice, along the row and column directions, mm.
    pub offset: [f64; 2],
    pub values: SliceValues,
}

/// Stacks slices of a regular grid: i16 when every slice's HU are whole numbers in
/// range (the usual CT), f32 otherwise.
pub fn stack(geometry: Geometry, slices: Vec<Slice>) -> Volume {
    if slices.iter().all(|s| matches!(s.values, SliceValues::I16(_))) {
        let mut data = Vec::with_capacity(geometry.len());
        for s in slices {
            if let SliceValues::I16(v) = s.values {
                data.extend_from_slice(&v);
            }
        }
        return Volume { geometry, data: VoxelData::I16(data.into()) };
    }
    let mut data = Vec::with_capacity(geometry.len());
    for s in slices {
        data.extend(s.values.iter_f32());
    }
    Volume { geometry, data: VoxelData::F32(data.into()) }
}

/// Where a stack's base is: the first sorted slice's first pixel (LPS) and its depth.
pub struct Base {
    pub position: [f64; 3],
    pub depth: f64,
}

/// Resamples slices onto a regular orthogonal grid with `spacing_z` between slices,
/// from the first slice to the last, by bilinear interpolation in plane and linear
/// interpolation between the two slices around each output plane.
pub fn resample(pixel_spacing: [f64; 2], spacing_z: f64, axes: [[f64; 3]; 3], base: Base, columns: u32, rows: u32, slices: Vec<Slice>) -> Volume {
    let [sx, sy] = pixel_spacing;
    let (cols, rws) = (columns as usize, rows as usize);
    // The grid's nodes fall on the first slice's pixels, so that slice is kept exactly.
    let umin = (slices.iter().map(|s| s.offset[0]).fold(f64::INFINITY, f64::min) / sx + 1e-6).floor() * sx;
    let vmin = (slices.iter().map(|s| s.offset[1]).fold(f64::INFINITY, f64::min) / sy + 1e-6).floor() * sy;
    let umax = slices.iter().map(|s| s.offset[0]).fold(f64::NEG_INFINITY, f64::max) + (cols - 1) as f64 * sx;
    let vmax = slices.iter().map(|s| s.offset[1]).fold(f64::NEG_INFINITY, f64::max) + (rws - 1) as f64 * sy;
    let nx = ((umax - umin) / sx - 1e-6).ceil() as usize + 1;
    let ny = ((vmax - vmin) / sy - 1e-6).ceil() as usize + 1;
    let d_first = slices[0].depth;
    let d_last = slices[slices.len() - 1].depth;
    let nz = ((d_last - d_first) / spacing_z + 1e-6).floor() as usize + 1;
    let [r, c, n] = axes;
    let mut origin = base.position;
    for a in 0..3 {
        origin[a] += umin * r[a] + vmin * c[a] + (d_first - base.depth) * n[a];
    }
    let pad = slices.iter().map(|s| s.values.min()).fold(f32::INFINITY, f32::min);
    let floats: Vec<Vec<f32>> = slices.iter().map(|s| s.values.iter_f32().collect()).collect();
    let plane = nx * ny;
    let mut data = vec![pad; plane * nz];
    data.par_chunks_mut(plane).enumerate().for_each(|(k, out)| {
        let w = d_first + k as f64 * spacing_z;
        // The pair of slices around this plane.
        let s = slices.partition_point(|sl| sl.depth <= w).clamp(1, slices.len().max(2) - 1) - 1;
        let (s0, s1) = if slices.len() == 1 { (0, 0) } else { (s, s + 1) };
        let t = if s0 == s1 { 0.0 } else { ((w - slices[s0].depth) / (slices[s1].depth - slices[s0].depth)).clamp(0.0, 1.0) };
        for j in 0..ny {
            let v = vmin + j as f64 * sy;
            for i in 0..nx {
                let u = umin + i as f64 * sx;
                let a = if t < 1.0 - 1e-9 { bilinear(&floats[s0], slices[s0].offset, u, v, sx, sy, cols, rws) } else { Some(0.0) };
                let b = if t > 1e-9 { bilinear(&floats[s1], slices[s1].offset, u, v, sx, sy, cols, rws) } else { Some(0.0) };
                if let (Some(a), Some(b)) = (a, b) {
                    out[i + nx * j] = ((1.0 - t) * a as f64 + t * b as f64) as f32;
                }
            }
        }
    });
    let geometry = geometry(nx as u32, ny as u32, nz as u32, pixel_spacing, spacing_z, axes, origin);
    Volume { geometry, data: VoxelData::F32(data.into()) }
}

/// The slice's value at in-plane offset (u, v) mm, or `None` outside its pixels.
#[allow(clippy::too_many_arguments)]
#[inline]
fn bilinear(values: &[f32], offset: [f64; 2], u: f64, v: f64, sx: f64, sy: f64, cols: usize, rows: usize) -> Option<f32> {
    let x = (u - offset[0]) / sx;
    let y = (v - offset[1]) / sy;
    let eps = 1e-6;
    if x < -eps || y < -eps || x > (cols - 1) as f64 + eps || y > (rows - 1) as f64 + eps {
        return None;
    }
    // Nodes that coincide with pixels (to 1e-6 px) take them as they are.
    let snap = |a: f64| if (a - a.round()).abs() < 1e-6 { a.round() } else { a };
    let x = snap(x).clamp(0.0, (cols - 1) as f64);
    let y = snap(y).clamp(0.0, (rows - 1) as f64);
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(cols - 1), (y0 + 1).min(rows - 1));
    let (fx, fy) = (x - x0 as f64, y - y0 as f64);
    let at = |i: usize, j: usize| values[i + cols * j] as f64;
    let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
    let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
    Some((top * (1.0 - fy) + bottom * fy) as f32)
}
