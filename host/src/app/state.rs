//! The viewer's shared state and file loading (open and drag-and-drop).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bevy::prelude::*;
use bevy::window::FileDragAndDrop;
use isotherm_sdk::abi::{Mesh as SdkMesh, NodeData};

use super::ViewerOptions;
use crate::io::{mesh as mesh_io, nifti};
use crate::loader::Registry;
use crate::scene::{NodeId, Origin, Scene};
use crate::view::slice::{Axis, Bounds, OverlayStyle, WindowLevel};

/// Which views are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    FourUp,
    Single(ViewKind),
}

impl Layout {
    /// `axial`, `coronal`, `sagittal` or `3d` as one big view.
    pub fn parse_single(s: &str) -> Option<Layout> {
        Some(Layout::Single(match s {
            "axial" => ViewKind::Slice(Axis::Axial),
            "coronal" => ViewKind::Slice(Axis::Coronal),
            "sagittal" => ViewKind::Slice(Axis::Sagittal),
            "3d" => ViewKind::ThreeD,
            _ => return None,
        }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewKind {
    Slice(Axis),
    ThreeD,
}

/// Everything the panels and views share.
#[derive(Resource)]
pub struct Viewer {
    pub scene: Scene,
    /// The volume drawn under the overlays (the first one loaded, or the user's pick).
    pub base: Option<NodeId>,
    /// Voxel values of volumes as f32, converted once.
    pub values: HashMap<NodeId, Arc<Vec<f32>>>,
    /// The linked crosshair, world mm (RAS+).
    pub crosshair: [f64; 3],
    pub window_level: WindowLevel,
    pub overlay: OverlayStyle,
    pub layout: Layout,
    pub registry: Registry,
    /// Where the registry looked (named when a plugin is not found).
    pub search: crate::loader::SearchPath,
    /// Messages for the log panel, newest last.
    pub log: Vec<String>,
    /// A path typed into the Open field.
    pub open_path: String,
    /// The Open-files window, when shown.
    pub browser: Option<super::browser::FileBrowser>,
    /// Patient, study and series of volumes read from DICOM (the title bar shows the base's).
    pub dicom: HashMap<NodeId, crate::io::volume::DicomSource>,
}

impl Viewer {
    pub fn log(&mut self, message: impl Into<String>) {
        let m = message.into();
        tracing::info!("{m}");
        self.log.push(m);
        if self.log.len() > 500 {
            self.log.remove(0);
        }
    }

    /// The base volume's bounds, if any.
    pub fn bounds(&self) -> Option<Bounds> {
        let node = self.scene.get_by_id(self.base?)?;
        match &node.data {
            NodeData::Volume(v) => Some(Bounds::of(&v.geometry)),
            _ => None,
        }
    }

    /// Opens a file into the scene: NIfTI or a DICOM series as a volume, NIfTI as a
    /// label map, PLY as a mesh. Errors go to the log; nothing already loaded is lost.
    pub fn open(&mut self, path: &Path) {
        match load_file(path) {
            Ok((data, source)) => {
                let name = node_name(path);
                let is_volume = matches!(data, NodeData::Volume(_));
                let id = self.scene.upsert(&name, Origin::File(path.to_path_buf()), data);
                if let Some(source) = source {
                    self.log(format!("{}: {} ({} DICOM file(s))", path.display(), source.label(), source.files));
                    for note in &source.notes {
                        self.log(format!("{}: {note}", path.display()));
                    }
                    self.dicom.insert(id, source);
                }
                if is_volume {
                    if let Some(NodeData::Volume(v)) = self.scene.get_by_id(id).map(|n| &n.data) {
                        self.values.insert(id, Arc::new(v.to_f32()));
                    }
                    if self.base.is_none() {
                        self.base = Some(id);
                        if let Some(b) = self.bounds() {
                            self.crosshair = b.centre();
                        }
                    }
                }
                self.log(format!("opened {}", path.display()));
            }
            Err(e) => self.log(format!("error: {e}")),
        }
    }
}

fn node_name(path: &Path) -> String {
    let f = path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
    let f = f.trim_end_matches(".gz").trim_end_matches(".nii").trim_end_matches(".ply").trim_end_matches(".dcm");
    f.trim_end_matches(".nrrd").trim_end_matches(".nhdr").trim_end_matches(".seg").to_string()
}

/// A NIfTI file is a label map when a `.labels.toml` lies beside it, or its name says
/// so (label, seg, mask, tumour, zone); otherwise a volume.
pub fn looks_like_label_map(path: &Path) -> bool {
    let name = path.file_name().map(|f| f.to_string_lossy().to_lowercase()).unwrap_or_default();
    nifti::label_table_path(path).is_file() || ["label", "seg", "mask", "tumour", "tumor", "zone"].iter().any(|k| name.contains(k))
}

fn load_file(path: &Path) -> Result<(NodeData, Option<crate::io::volume::DicomSource>), String> {
    if path.is_file() && isotherm_dicom::seg::is_seg(path) {
        return crate::io::volume::read_label_map(path).map(|m| (NodeData::LabelMap(m), None));
    }
    if crate::io::volume::is_dicom(path) {
        let read = crate::io::volume::read(path, 0, isotherm_dicom::Policy::default())?;
        return Ok((NodeData::Volume(read.volume), read.dicom));
    }
    load_nifti_or_mesh(path).map(|d| (d, None))
}

fn load_nifti_or_mesh(path: &Path) -> Result<NodeData, String> {
    let name = path.to_string_lossy().to_lowercase();
    if name.ends_with(".ply") {
        let (positions, triangles) = mesh_io::read_ply(path)?;
        let mut mesh = SdkMesh {
            positions: positions.into(),
            normals: Default::default(),
            triangles: triangles.into(),
            colour: [0.9, 0.75, 0.3, 1.0],
            scalars: abi_stable::std_types::ROption::RNone,
        };
        isotherm_sdk::volume::mesh::compute_normals(&mut mesh);
        crate::jobs::validate_output(&isotherm_sdk::abi::RunOutput {
            changes: vec![isotherm_sdk::abi::NodeChange::Upsert(isotherm_sdk::abi::SceneNode { name: "mesh".into(), data: NodeData::Mesh(mesh.clone()) })].into(),
        })
        .map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(NodeData::Mesh(mesh));
    }
    if isotherm_nrrd::is_nrrd_path(path) {
        return if name.ends_with(".seg.nrrd") || looks_like_label_map(path) {
            crate::io::volume::read_label_map(path).map(NodeData::LabelMap)
        } else {
            crate::io::volume::read(path, 0, isotherm_dicom::Policy::default()).map(|v| NodeData::Volume(v.volume))
        };
    }
    if name.ends_with(".nii") || name.ends_with(".nii.gz") || name.ends_with(".hdr") {
        return if looks_like_label_map(path) {
            nifti::read_label_map(path).map(NodeData::LabelMap).map_err(|e| e.to_string())
        } else {
            nifti::read_volume(path, 0).map(NodeData::Volume).map_err(|e| e.to_string())
        };
    }
    Err(format!("{}: not a file Isotherm opens (NIfTI .nii/.nii.gz/.hdr, NRRD .nrrd/.nhdr/.seg.nrrd, a DICOM folder or .dcm, or .ply)", path.display()))
}

pub struct StatePlugin {
    pub options: ViewerOptions,
}

impl Plugin for StatePlugin {
    fn build(&self, app: &mut App) {
        let mut viewer = Viewer {
            scene: Scene::default(),
            base: None,
            values: HashMap::new(),
            crosshair: [0.0; 3],
            window_level: WindowLevel::PRESETS[0].1,
            overlay: OverlayStyle { opacity: 0.45, outline: false },
            layout: self.options.layout,
            registry: Registry::discover(&self.options.search),
            search: self.options.search.clone(),
            log: Vec::new(),
            open_path: String::new(),
            browser: None,
            dicom: HashMap::new(),
        };
        for r in viewer.registry.refused.clone() {
            viewer.log(format!("plugin refused: {r}"));
        }
        for f in &self.options.files {
            viewer.open(f);
        }
        app.insert_resource(viewer).add_systems(Update, (dropped_files.in_set(super::IsothermSet::Jobs), title_bar));
    }
}

/// The title bar names the base volume's patient, study and series when it came from
/// DICOM, so a screen never shows one patient's images under no name.
fn title_bar(viewer: Res<Viewer>, mut windows: Query<&mut Window>) {
    if !viewer.is_changed() {
        return;
    }
    let title = match viewer.base.and_then(|b| viewer.dicom.get(&b)) {
        Some(source) => format!("Isotherm - {}", source.label()),
        None => "Isotherm".to_string(),
    };
    for mut w in &mut windows {
        if w.title != title {
            w.title = title.clone();
        }
    }
}

/// Files dropped onto the window open like the Open button.
fn dropped_files(mut drops: MessageReader<FileDragAndDrop>, mut viewer: ResMut<Viewer>) {
    for d in drops.read() {
        if let FileDragAndDrop::DroppedFile { path_buf, .. } = d {
            let p: PathBuf = path_buf.clone();
            viewer.open(&p);
        }
    }
}
