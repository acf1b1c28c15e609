//! Image data: geometry, volumes and label maps.

use abi_stable::{
    StableAbi,
    std_types::{RString, RVec},
};

/// Where a voxel grid sits in the world. **The coordinate convention, once:**
///
/// - Voxel `(i, j, k)` is stored at linear index `i + nx * (j + ny * k)` (i fastest).
/// - World coordinates are millimetres in RAS+, the NIfTI convention: +x points to the
///   patient's Right, +y Anterior, +z Superior (nifti1.h, "Orientation and location").
/// - `world = origin + direction * diag(spacing) * (i, j, k)`, with `direction` a 3x3
///   matrix stored row-major whose *columns* are the unit axis directions of i, j, k.
///   Voxel centres sit at integer indices.
///
/// This is NIfTI's sform (or qform) affine split into ITK's origin/spacing/direction.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    pub dims: [u32; 3],
    pub spacing: [f64; 3],
    pub origin: [f64; 3],
    pub direction: [f64; 9],
}

/// Voxel values of a [`Volume`], in storage order (see [`Geometry`]).
#[repr(C, u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub enum VoxelData {
    U8(RVec<u8>),
    I16(RVec<i16>),
    F32(RVec<f32>),
}

/// A scalar image: a CT in Hounsfield units, a probability map, a dose map.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct Volume {
    pub geometry: Geometry,
    pub data: VoxelData,
}

/// One row of a label table: which value means what, and how to draw it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct LabelEntry {
    pub value: u16,
    pub name: RString,
    /// RGBA, 0-255.
    pub colour: [u8; 4],
}

/// A segmentation: one label value per voxel (0 = background) and its table.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct LabelMap {
    pub geometry: Geometry,
    pub labels: RVec<u16>,
    pub table: RVec<LabelEntry>,
}
