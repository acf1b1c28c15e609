//! The host-owned scene: named data nodes, like Slicer's MRML. Inputs loaded from
//! files and plugin outputs both live here; the CLI writes them out, the viewer draws
//! them. Plugins never see this type: they return `NodeChange`s, applied here.

use isotherm_sdk::abi::{NodeChange, NodeData};

pub type NodeId = u64;

/// Where a node came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// Loaded from a file.
    File(std::path::PathBuf),
    /// Produced by a plugin run.
    Run { plugin: String, run: u64 },
}

#[derive(Debug, Clone)]
pub struct Node {
    pub id: NodeId,
    /// Unique within the scene.
    pub name: String,
    pub origin: Origin,
    pub data: NodeData,
    pub visible: bool,
    pub opacity: f32,
    /// The scene revision at which `data` last changed (display changes do not count).
    pub generation: u64,
    /// A colour chosen in the viewer, overriding the producer's (RGB, 0..1).
    pub colour: Option<[f32; 3]>,
}

#[derive(Debug, Default)]
pub struct Scene {
    nodes: Vec<Node>,
    next_id: NodeId,
    revision: u64,
}

impl Scene {
    /// Grows on every change, so views can tell when to redraw.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn get_by_id(&self, id: NodeId) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Overrides the node's display colour.
    pub fn set_colour(&mut self, id: NodeId, colour: [f32; 3]) {
        if let Some(n) = self.nodes.iter_mut().find(|n| n.id == id) {
            if n.colour != Some(colour) {
                n.colour = Some(colour);
                self.revision += 1;
            }
        }
    }

    /// Display properties; data stays as the producer made it.
    pub fn set_display(&mut self, id: NodeId, visible: bool, opacity: f32) {
        if let Some(n) = self.nodes.iter_mut().find(|n| n.id == id) {
            if n.visible != visible || n.opacity != opacity {
                n.visible = visible;
                n.opacity = opacity.clamp(0.0, 1.0);
                self.revision += 1;
            }
        }
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn get(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Adds (or replaces, by name) a node; returns its id.
    pub fn upsert(&mut self, name: &str, origin: Origin, data: NodeData) -> NodeId {
        self.revision += 1;
        if let Some(n) = self.nodes.iter_mut().find(|n| n.name == name) {
            n.data = data;
            n.origin = origin;
            n.generation = self.revision;
            return n.id;
        }
        self.next_id += 1;
        self.nodes.push(Node { id: self.next_id, name: name.to_string(), origin, data, visible: true, opacity: 1.0, generation: self.revision, colour: None });
        self.next_id
    }

    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.nodes.len();
        self.nodes.retain(|n| n.name != name);
        self.revision += 1;
        before != self.nodes.len()
    }

    /// Applies a validated plugin output. Node names are prefixed with the plugin id
    /// (`template/surface`) so two plugins cannot overwrite each other's nodes.
    pub fn apply(&mut self, plugin: &str, run: u64, changes: &[NodeChange]) -> Vec<NodeId> {
        let mut touched = Vec::new();
        for change in changes {
            match change {
                NodeChange::Upsert(node) => {
                    let name = format!("{plugin}/{}", node.name);
                    touched.push(self.upsert(&name, Origin::Run { plugin: plugin.to_string(), run }, node.data.clone()));
                }
                NodeChange::Remove(name) => {
                    self.remove(&format!("{plugin}/{name}"));
                }
            }
        }
        touched
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use isotherm_sdk::abi::{Report, SceneNode};

    fn report(title: &str) -> NodeData {
        NodeData::Report(Report { title: title.into(), text: "".into(), values: Default::default(), tables: Default::default() })
    }

    #[test]
    fn runs_replace_their_own_nodes_and_remove_by_name() {
        let mut scene = Scene::default();
        let first = [NodeChange::Upsert(SceneNode { name: "summary".into(), data: report("a") })];
        let id = scene.apply("template", 1, &first)[0];
        let second = [NodeChange::Upsert(SceneNode { name: "summary".into(), data: report("b") })];
        assert_eq!(scene.apply("template", 2, &second)[0], id);
        assert_eq!(scene.nodes().len(), 1);
        scene.apply("other", 3, &first);
        assert_eq!(scene.nodes().len(), 2);
        scene.apply("template", 4, &[NodeChange::Remove("summary".into())]);
        assert!(scene.get("template/summary").is_none() && scene.get("other/summary").is_some());
    }
}
