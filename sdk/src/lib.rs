//! # Isotherm SDK
//!
//! Everything a plugin author depends on, and nothing of the host: the stable ABI
//! ([`abi`]), the safe [`Plugin`] trait with [`export_plugin!`], parameter declarations
//! ([`params`]), builders for what a run returns ([`output`]), the `plugin.toml` format
//! ([`manifest`]) and its pinned model files ([`pinned`]), volume algorithms
//! ([`volume`]) and a harness to run a plugin without the host ([`testing`]).
//!
//! **Architecture invariant:** no Bevy, no host types, no file formats here. A plugin
//! that builds against this crate alone runs in the CLI and in the viewer alike.

pub mod abi;
pub mod export;
pub mod manifest;
pub mod output;
pub mod params;
pub mod pinned;
mod plugin;
pub mod terminology;
pub mod testing;
pub mod volume;

pub use plugin::{Host, Plugin, Request, Session, SessionPlugin};

/// Re-exported so `export_plugin!` and plugin crates need no direct dependency.
pub use abi_stable;

/// The names a plugin needs, in one `use isotherm_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::abi::{
        Cell, Colormap, ErrorKind, Geometry, InputSpec, KeyValue, LabelEntry, LabelMap, LineKind, LineMarkup, LogLevel, Markups, Mesh, NodeChange, NodeData,
        NodeKind, OutputSpec, ParamSpec, ParamValue, PluginDescriptor, PluginError, PointMarkup, Report, RunOutput, SceneNode, SessionClock, Table,
        VertexScalars, Volume, VoxelData,
    };
    pub use crate::export_plugin;
    pub use crate::plugin::{Host, Plugin, Request, Session, SessionPlugin};
    pub use crate::volume::{MaskedStats, within_radius};
    pub use abi_stable::std_types::{ROption, RString, RVec};
}
