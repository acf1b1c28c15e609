//! IBSI image processing between the scan and the features: interpolation onto a grid
//! aligned on the image's centre, intensity rounding, ROI interpolation with a
//! partial-volume threshold, and re-segmentation (a range, outlier filtering) into the
//! intensity mask while the morphological mask keeps the whole ROI.
//!
//! The order and the rules are the IBSI manual's (chapter "Image processing"); each
//! step is an option, so a study can use any of them and the IBSI configurations are
//! presets of them ([`crate::presets`]).

use isotherm_sdk::prelude::*;
use isotherm_sdk::volume::resample::{resample_cubic_spline_clamped, resample_linear_clamped};

/// How image intensities are interpolated onto the new grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Interpolation {
    /// Trilinear (bilinear when only the slice plane is resampled).
    Linear,
    /// Cubic B-spline through the voxels (IBSI's "tricubic spline").
    CubicSpline,
}

/// Resampling onto a new voxel spacing, grid centres aligned (IBSI 3WE3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resampling {
    /// mm along (i, j, k); `None` on an axis keeps its spacing and voxels (2D: in-plane).
    pub spacing: [Option<f64>; 3],
    pub image: Interpolation,
    /// Round interpolated intensities to whole numbers (CT: HU are integers).
    pub round: bool,
    /// The interpolated ROI (trilinear) is kept where it is at least this (IBSI: 0.5).
    pub partial_volume: f64,
}

/// Re-segmentation of the intensity mask.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Resegmentation {
    /// Keep voxels inside this closed range (HU).
    pub range: Option<(f64, f64)>,
    /// Keep voxels within mean +- 3 standard deviations of the ROI.
    pub outliers_3sd: bool,
}

/// An image and its ROI after processing, on the (possibly new) grid.
pub struct Prepared {
    pub geometry: Geometry,
    pub image: Vec<f64>,
    /// The ROI as segmented (interpolated): morphology is measured on it.
    pub morphological: Vec<bool>,
    /// The ROI after re-segmentation: intensity, histogram and texture use it.
    pub intensity: Vec<bool>,
}

/// Interpolates `image` and `roi` (both on `geometry`) when asked, then re-segments.
/// The new grid is the one centred on `geometry`; [`prepare_onto`] takes another.
pub fn prepare(image: &[f32], roi: &[bool], geometry: &Geometry, resampling: Option<&Resampling>, reseg: &Resegmentation) -> Prepared {
    let to = resampling.map(|r| geometry.centred_grid(r.spacing_on(geometry)));
    prepare_onto(image, roi, geometry, to.as_ref(), resampling, reseg)
}

/// As [`prepare`], interpolating onto `to` (a part of the whole scan's centred grid,
/// when `image` is a lesion's neighbourhood cut from it).
pub fn prepare_onto(image: &[f32], roi: &[bool], geometry: &Geometry, to: Option<&Geometry>, resampling: Option<&Resampling>, reseg: &Resegmentation) -> Prepared {
    let (geometry, image, morphological) = match (resampling, to) {
        (Some(r), Some(to)) => resample(image, roi, geometry, to, r),
        _ => (*geometry, image.iter().map(|&v| v as f64).collect::<Vec<_>>(), roi.to_vec()),
    };
    let intensity = resegment(&image, &morphological, reseg);
    Prepared { geometry, image, morphological, intensity }
}

impl Resampling {
    /// The new spacing on a grid of `geometry` (axes without one keep theirs).
    pub fn spacing_on(&self, geometry: &Geometry) -> [f64; 3] {
        [0, 1, 2].map(|a| self.spacing[a].unwrap_or(geometry.spacing[a]))
    }
}

fn resample(image: &[f32], roi: &[bool], from: &Geometry, to: &Geometry, r: &Resampling) -> (Geometry, Vec<f64>, Vec<bool>) {
    let to = *to;
    let values = match r.image {
        Interpolation::Linear => resample_linear_clamped(image, from, &to),
        Interpolation::CubicSpline => resample_cubic_spline_clamped(image, from, &to),
    };
    // numpy's rounding (half to even), which the reference implementations use.
    let values = values.into_iter().map(|v| if r.round { (v as f64).round_ties_even() } else { v as f64 }).collect();
    let fraction: Vec<f32> = roi.iter().map(|&m| m as u8 as f32).collect();
    let roi = resample_linear_clamped(&fraction, from, &to).into_iter().map(|f| f as f64 >= r.partial_volume - 1e-6).collect();
    (to, values, roi)
}

/// The intensity mask: the ROI's voxels that pass the range and the outlier filter
/// (both, when both are set: the intersection of their ranges).
pub fn resegment(image: &[f64], roi: &[bool], r: &Resegmentation) -> Vec<bool> {
    let (mut lo, mut hi) = r.range.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
    if r.outliers_3sd {
        let values: Vec<f64> = image.iter().zip(roi).filter(|(_, m)| **m).map(|(v, _)| *v).collect();
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        lo = lo.max(mean - 3.0 * sd);
        hi = hi.min(mean + 3.0 * sd);
    }
    image.iter().zip(roi).map(|(&v, &m)| m && v >= lo && v <= hi).collect()
}
