//! Scene node changes: what a plugin returns. The host owns the scene and turns each
//! change into its own nodes (and, in the viewer, entities); plugins never see those.

use abi_stable::{
    StableAbi,
    std_types::{ROption, RString, RVec},
};

use super::{LabelMap, Volume};

/// How scalar values map to colours on a mesh or an overlay.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colormap {
    /// Dark to bright, perceptually uniform.
    Viridis,
    /// Red below the range, amber inside it, green above: for ablative margins.
    Margin,
    /// Blue-white-red, centred on zero.
    Diverging,
    Grey,
}

/// A value per vertex, drawn through a colormap over `range`.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct VertexScalars {
    pub name: RString,
    pub unit: RString,
    pub values: RVec<f32>,
    pub colormap: Colormap,
    pub range: [f32; 2],
}

/// A triangle surface in world millimetres (RAS+).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct Mesh {
    pub positions: RVec<[f32; 3]>,
    /// One unit normal per position (may be empty: the host computes them).
    pub normals: RVec<[f32; 3]>,
    /// Counter-clockwise seen from outside.
    pub triangles: RVec<[u32; 3]>,
    /// RGBA in 0..1; alpha is the opacity.
    pub colour: [f32; 4],
    pub scalars: ROption<VertexScalars>,
}

#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Generic,
    /// A needle or antenna: start is the entry point, end is the tip.
    Needle,
    /// A measurement, e.g. the closest point pair of a minimal margin.
    Ruler,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct PointMarkup {
    pub label: RString,
    pub position: [f64; 3],
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct LineMarkup {
    pub label: RString,
    pub kind: LineKind,
    pub start: [f64; 3],
    pub end: [f64; 3],
}

/// Points and segments in world millimetres.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct Markups {
    pub points: RVec<PointMarkup>,
    pub lines: RVec<LineMarkup>,
    /// RGBA in 0..1.
    pub colour: [f32; 4],
}

/// A table cell. Typed, so CSV and JSON writers keep numbers as numbers.
#[repr(C, u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(RString),
    Integer(i64),
    Number(f64),
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct Table {
    pub name: RString,
    pub columns: RVec<RString>,
    /// Unit per column ("" when none); same length as `columns`.
    pub units: RVec<RString>,
    pub rows: RVec<RVec<Cell>>,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct KeyValue {
    pub key: RString,
    pub value: Cell,
    pub unit: RString,
}

/// What a plugin tells the user: a summary, key figures and tables.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct Report {
    pub title: RString,
    pub text: RString,
    pub values: RVec<KeyValue>,
    pub tables: RVec<Table>,
}

/// The payload of a scene node.
#[repr(C, u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub enum NodeData {
    /// A scalar map in some geometry (e.g. a distance or probability map).
    Volume(Volume),
    /// A segmentation, drawn as an overlay.
    LabelMap(LabelMap),
    Mesh(Mesh),
    Markups(Markups),
    Report(Report),
}

/// A named node of the scene, as a plugin returns it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct SceneNode {
    /// Unique within one run's output; the host prefixes it with the run's id.
    pub name: RString,
    pub data: NodeData,
}

/// One change a plugin asks the host to make to the scene.
#[repr(C, u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub enum NodeChange {
    /// Add a node, or replace the node of the same name from an earlier run.
    Upsert(SceneNode),
    /// Remove the node of this name, if any.
    Remove(RString),
}

/// Everything one run returns.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Default)]
pub struct RunOutput {
    pub changes: RVec<NodeChange>,
}
