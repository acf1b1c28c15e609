//! Self-description (what a plugin takes and gives) and the run request.

use abi_stable::{
    StableAbi,
    std_types::{ROption, RString, RVec},
};

use super::{LabelMap, Volume};

/// The type of a declared parameter; drives CLI parsing, validation and the GUI form.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Number,
    Integer,
    Bool,
    /// One of `ParamSpec::choices`.
    Choice,
    /// A world point in mm (RAS+), written `x,y,z`.
    Point,
    /// The name of one of the run's inputs.
    VolumeRef,
}

/// A parameter value. Its variant always matches the declared [`ParamKind`].
#[repr(C, u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub enum ParamValue {
    Number(f64),
    Integer(i64),
    Bool(bool),
    Choice(RString),
    Point([f64; 3]),
    VolumeRef(RString),
}

/// One declared parameter: declared once, it feeds the CLI (`--param name=value`),
/// the viewer's generated form and the manifest check.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// Machine name, `snake_case`.
    pub name: RString,
    /// Human label for forms.
    pub label: RString,
    pub kind: ParamKind,
    /// `None` means the parameter is required.
    pub default: ROption<ParamValue>,
    /// Inclusive bounds for numbers and integers.
    pub min: ROption<f64>,
    pub max: ROption<f64>,
    /// Unit shown next to the value, e.g. "HU", "mm", "W".
    pub unit: RString,
    pub help: RString,
    /// Allowed values of a `Choice`.
    pub choices: RVec<RString>,
}

#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A scalar image, e.g. a CT.
    Volume,
    /// A segmentation.
    LabelMap,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct InputSpec {
    pub name: RString,
    pub label: RString,
    pub kind: InputKind,
    pub required: bool,
    pub help: RString,
}

#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Volume,
    LabelMap,
    Mesh,
    Markups,
    Report,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct OutputSpec {
    pub name: RString,
    pub kind: NodeKind,
    pub help: RString,
}

/// What a plugin library says about itself. The host checks `id`, `version` and
/// `sdk_version` against the plugin's `plugin.toml` and refuses a mismatch.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct PluginDescriptor {
    pub id: RString,
    pub name: RString,
    pub version: RString,
    /// The SDK version the library was compiled against (filled in by `export_plugin!`).
    pub sdk_version: RString,
    pub description: RString,
    pub inputs: RVec<InputSpec>,
    pub outputs: RVec<OutputSpec>,
    pub params: RVec<ParamSpec>,
}

/// A data input of a run.
#[repr(C, u8)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub enum InputData {
    Volume(Volume),
    LabelMap(LabelMap),
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct NamedInput {
    pub name: RString,
    pub data: InputData,
}

#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct NamedParam {
    pub name: RString,
    pub value: ParamValue,
}

/// A model file the host found and hash-checked against the plugin's manifest.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct ModelFile {
    pub name: RString,
    /// Absolute path.
    pub path: RString,
    /// Lower-case hex SHA-256, as verified by the host.
    pub sha256: RString,
}

/// One run: inputs by name, every declared parameter resolved (defaults filled in,
/// ranges checked), and the verified model files.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Default)]
pub struct RunRequest {
    pub inputs: RVec<NamedInput>,
    pub params: RVec<NamedParam>,
    pub models: RVec<ModelFile>,
}
