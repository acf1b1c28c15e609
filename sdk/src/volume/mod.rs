//! Volume algorithms every plugin needs, written once: geometry, connected components,
//! exact Euclidean distance transforms in mm, surface extraction, resampling, and
//! small helpers on [`Volume`] and [`LabelMap`]. This is Isotherm's `candle-nn`: plain
//! functions over slices plus a [`Geometry`], no host types, no I/O.

pub mod components;
mod crop;
pub mod edt;
pub mod filter;
mod geometry;
pub mod mesh;
pub mod mesh_distance;
pub mod resample;
pub mod stats;

pub use crop::VoxelBox;
pub use geometry::{WorldToIndex, det3, dist, invert3};
pub use stats::{MaskedStats, within_radius};

use abi_stable::std_types::{RString, RVec};

use crate::abi::{Geometry, LabelEntry, LabelMap, Volume, VoxelData};

impl VoxelData {
    pub fn len(&self) -> usize {
        match self {
            VoxelData::U8(v) => v.len(),
            VoxelData::I16(v) => v.len(),
            VoxelData::F32(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Value at a linear index, as f32.
    #[inline]
    pub fn get_f32(&self, index: usize) -> f32 {
        match self {
            VoxelData::U8(v) => v[index] as f32,
            VoxelData::I16(v) => v[index] as f32,
            VoxelData::F32(v) => v[index],
        }
    }
    pub fn type_name(&self) -> &'static str {
        match self {
            VoxelData::U8(_) => "u8",
            VoxelData::I16(_) => "i16",
            VoxelData::F32(_) => "f32",
        }
    }
}

impl Volume {
    pub fn from_f32(geometry: Geometry, data: Vec<f32>) -> Self {
        assert_eq!(geometry.len(), data.len(), "voxel count does not match the geometry");
        Volume { geometry, data: VoxelData::F32(data.into()) }
    }
    pub fn from_i16(geometry: Geometry, data: Vec<i16>) -> Self {
        assert_eq!(geometry.len(), data.len(), "voxel count does not match the geometry");
        Volume { geometry, data: VoxelData::I16(data.into()) }
    }
    /// All voxels as f32 (a copy; CT in i16 becomes HU floats).
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.data {
            VoxelData::U8(v) => v.iter().map(|&x| x as f32).collect(),
            VoxelData::I16(v) => v.iter().map(|&x| x as f32).collect(),
            VoxelData::F32(v) => v.to_vec(),
        }
    }
    /// Checks that the voxel count matches the geometry and every float is finite;
    /// the host calls it on everything a plugin returns.
    pub fn validate(&self) -> Result<(), String> {
        if self.data.len() != self.geometry.len() {
            return Err(format!("{} voxels for a {:?} grid", self.data.len(), self.geometry.dims));
        }
        if let VoxelData::F32(v) = &self.data {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(format!("non-finite value {} at voxel {:?}", v[i], self.geometry.ijk(i)));
            }
        }
        validate_geometry(&self.geometry)
    }
}

/// Finite, positive spacing and an invertible direction.
pub fn validate_geometry(g: &Geometry) -> Result<(), String> {
    if g.spacing.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(format!("spacing {:?} is not positive and finite", g.spacing));
    }
    if g.origin.iter().chain(g.direction.iter()).any(|v| !v.is_finite()) {
        return Err("origin or direction is not finite".into());
    }
    if invert3(&g.linear()).is_none() {
        return Err("direction matrix is singular".into());
    }
    Ok(())
}

impl LabelEntry {
    pub fn new(value: u16, name: &str, colour: [u8; 4]) -> Self {
        LabelEntry { value, name: RString::from(name), colour }
    }
}

impl LabelMap {
    pub fn new(geometry: Geometry, labels: Vec<u16>, table: Vec<LabelEntry>) -> Self {
        assert_eq!(geometry.len(), labels.len(), "voxel count does not match the geometry");
        LabelMap { geometry, labels: labels.into(), table: RVec::from(table) }
    }
    /// A binary mask of one label value.
    pub fn mask_of(&self, value: u16) -> Vec<bool> {
        self.labels.iter().map(|&l| l == value).collect()
    }
    /// Voxel count per label value present (sorted by value, background excluded).
    pub fn counts(&self) -> Vec<(u16, usize)> {
        let mut counts = std::collections::BTreeMap::new();
        for &l in self.labels.iter().filter(|&&l| l != 0) {
            *counts.entry(l).or_insert(0usize) += 1;
        }
        counts.into_iter().collect()
    }
    /// The lesions of a segmentation, as (id, mask): the value `only` alone when it is
    /// non-zero; otherwise one per label value, or, when the map holds a single value
    /// (a binary mask), one per 26-connected region, numbered by decreasing size.
    pub fn lesions(&self, only: u16) -> Vec<(u16, Vec<bool>)> {
        let mut all = Vec::new();
        self.for_each_lesion(only, |_, _, id, mask| {
            all.push((id, mask));
            Ok::<(), ()>(())
        })
        .ok();
        all
    }

    /// As [`LabelMap::lesions`], one lesion's mask at a time (a full-size mask each: on
    /// a thin-slice scan 79 MB, so a caller that measures and moves on keeps one).
    /// `f(index, count, id, mask)`: the lesion's place among `count`, its id, its mask.
    pub fn for_each_lesion<E>(&self, only: u16, mut f: impl FnMut(usize, usize, u16, Vec<bool>) -> Result<(), E>) -> Result<(), E> {
        let values: Vec<u16> = self.counts().into_iter().map(|(v, _)| v).filter(|&v| only == 0 || v == only).collect();
        if only == 0 && values.len() == 1 {
            let c = components::label(&self.mask_of(values[0]), self.geometry.dims_usize(), components::Connectivity::TwentySix);
            for n in 1..=c.count() as u32 {
                f(n as usize - 1, c.count(), n as u16, c.mask(n))?;
            }
            return Ok(());
        }
        for (n, &v) in values.iter().enumerate() {
            f(n, values.len(), v, self.mask_of(v))?;
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.labels.len() != self.geometry.len() {
            return Err(format!("{} labels for a {:?} grid", self.labels.len(), self.geometry.dims));
        }
        validate_geometry(&self.geometry)
    }
}

/// Distinct, readable colours for lesion number `n` (1-based), RGBA 0-255.
pub fn lesion_colour(n: usize) -> [u8; 4] {
    const PALETTE: [[u8; 3]; 8] = [
        [230, 85, 13], [49, 130, 189], [117, 107, 177], [49, 163, 84],
        [222, 45, 38], [253, 174, 107], [158, 202, 225], [188, 189, 220],
    ];
    let c = PALETTE[(n.max(1) - 1) % PALETTE.len()];
    [c[0], c[1], c[2], 255]
}

/// The label table of a file that carries none: "label N", with a distinct colour, for
/// each value present in `labels` (0, background, excluded).
pub fn default_label_table(labels: &[u16]) -> Vec<LabelEntry> {
    let mut present = vec![false; 65536];
    for &l in labels {
        present[l as usize] = true;
    }
    (1..65536usize).filter(|&v| present[v]).map(|v| LabelEntry::new(v as u16, &format!("label {v}"), lesion_colour(v))).collect()
}
