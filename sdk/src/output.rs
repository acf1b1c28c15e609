//! Builders for what every plugin returns, so a run reads as what it gives:
//!
//! ```ignore
//! let report = Report::new("Lesions").text("2 lesions").number("volume", 12.5, "ml");
//! Ok(RunOutput::new().label_map("lesions", map).mesh("surface", mesh).report("summary", report).focus(centroid))
//! ```
//!
//! The same values as writing `NodeChange::Upsert(SceneNode { .. })` by hand.

use abi_stable::std_types::RVec;

use crate::abi::{
    Cell, KeyValue, LabelMap, Markups, Mesh, NodeChange, NodeData, PointMarkup, Report, RunOutput, SceneNode, Table,
    Volume,
};

/// The node name the viewer centres its slices on (see [`RunOutput::focus`]).
pub const FOCUS_NODE: &str = "focus";

impl RunOutput {
    pub fn new() -> Self {
        RunOutput::default()
    }
    /// Adds a node of any kind, or replaces the one of the same name already added.
    pub fn node(mut self, name: &str, data: NodeData) -> Self {
        let same = self.changes.iter_mut().find_map(|c| match c {
            NodeChange::Upsert(n) if n.name.as_str() == name => Some(n),
            _ => None,
        });
        match same {
            Some(n) => n.data = data,
            None => self.changes.push(NodeChange::Upsert(SceneNode { name: name.into(), data })),
        }
        self
    }
    /// A scalar map (probability, distance, temperature...) in its own geometry.
    pub fn volume(self, name: &str, volume: Volume) -> Self {
        self.node(name, NodeData::Volume(volume))
    }
    /// A segmentation, drawn as an overlay with its label table's colours.
    pub fn label_map(self, name: &str, map: LabelMap) -> Self {
        self.node(name, NodeData::LabelMap(map))
    }
    pub fn mesh(self, name: &str, mesh: Mesh) -> Self {
        self.node(name, NodeData::Mesh(mesh))
    }
    pub fn markups(self, name: &str, markups: Markups) -> Self {
        self.node(name, NodeData::Markups(markups))
    }
    pub fn report(self, name: &str, report: Report) -> Self {
        self.node(name, NodeData::Report(report))
    }
    /// Removes the node of this name left by an earlier run, if any.
    pub fn remove(mut self, name: &str) -> Self {
        self.changes.push(NodeChange::Remove(name.into()));
        self
    }
    /// Where the viewer should look when the run finishes (world mm, RAS+): its slices
    /// move to this point. Sent as a one-point markups node named [`FOCUS_NODE`], so a
    /// host that knows no focus still shows it as a point. Without a focus the viewer
    /// moves to the start of the first line markup (e.g. a margin's closest points).
    pub fn focus(self, point: [f64; 3]) -> Self {
        self.markups(
            FOCUS_NODE,
            Markups { points: vec![PointMarkup { label: "focus".into(), position: point }].into(), lines: RVec::new(), colour: [1.0, 1.0, 0.2, 1.0] },
        )
    }
    /// The focus point, if the run set one.
    pub fn focus_point(&self) -> Option<[f64; 3]> {
        self.changes.iter().find_map(|c| match c {
            NodeChange::Upsert(SceneNode { name, data: NodeData::Markups(m) }) if name.as_str() == FOCUS_NODE => m.points.first().map(|p| p.position),
            _ => None,
        })
    }
}

impl Report {
    /// An empty report with a title.
    pub fn new(title: &str) -> Self {
        Report { title: title.into(), text: "".into(), values: RVec::new(), tables: RVec::new() }
    }
    /// The one-paragraph summary shown above the values.
    pub fn text(mut self, text: impl AsRef<str>) -> Self {
        self.text = text.as_ref().into();
        self
    }
    /// A key figure with its unit ("" for none).
    pub fn value(mut self, key: &str, value: Cell, unit: &str) -> Self {
        self.values.push(KeyValue { key: key.into(), value, unit: unit.into() });
        self
    }
    pub fn number(self, key: &str, value: f64, unit: &str) -> Self {
        self.value(key, Cell::Number(value), unit)
    }
    pub fn integer(self, key: &str, value: i64, unit: &str) -> Self {
        self.value(key, Cell::Integer(value), unit)
    }
    pub fn label(self, key: &str, value: &str) -> Self {
        self.value(key, Cell::Text(value.into()), "")
    }
    pub fn table(mut self, table: Table) -> Self {
        self.tables.push(table);
        self
    }
}

impl Table {
    /// An empty table; add columns, then rows.
    pub fn new(name: &str) -> Self {
        Table { name: name.into(), columns: RVec::new(), units: RVec::new(), rows: RVec::new() }
    }
    /// A column with its unit ("" for none).
    pub fn column(mut self, name: &str, unit: &str) -> Self {
        self.columns.push(name.into());
        self.units.push(unit.into());
        self
    }
    /// A row, one cell per column. Panics when the count differs: a bug in the plugin,
    /// which `export_plugin!` turns into an error naming the line.
    pub fn row(mut self, cells: Vec<Cell>) -> Self {
        assert_eq!(cells.len(), self.columns.len(), "table '{}': a row of {} cells for {} columns", self.name, cells.len(), self.columns.len());
        self.rows.push(cells.into());
        self
    }
}

impl From<f64> for Cell {
    fn from(x: f64) -> Cell {
        Cell::Number(x)
    }
}

impl From<i64> for Cell {
    fn from(x: i64) -> Cell {
        Cell::Integer(x)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_make_the_nodes_written_by_hand() {
        let table = Table::new("lesions").column("lesion", "").column("volume", "ml").row(vec![1i64.into(), 2.5.into()]);
        let report = Report::new("Lesions").text("one lesion").number("volume", 2.5, "ml").integer("count", 1, "").table(table.clone());
        let by_hand = Report {
            title: "Lesions".into(),
            text: "one lesion".into(),
            values: vec![
                KeyValue { key: "volume".into(), value: Cell::Number(2.5), unit: "ml".into() },
                KeyValue { key: "count".into(), value: Cell::Integer(1), unit: "".into() },
            ]
            .into(),
            tables: vec![table].into(),
        };
        assert_eq!(report, by_hand);
        let out = RunOutput::new().report("summary", report.clone()).remove("old").focus([1.0, 2.0, 3.0]);
        assert_eq!(out.changes.len(), 3);
        assert_eq!(out.changes[0], NodeChange::Upsert(SceneNode { name: "summary".into(), data: NodeData::Report(report) }));
        assert_eq!(out.changes[1], NodeChange::Remove("old".into()));
        assert_eq!(out.focus_point(), Some([1.0, 2.0, 3.0]));
        assert_eq!(RunOutput::new().focus_point(), None);
        // A second node of the same name replaces the first, in its place.
        let again = out.report("summary", Report::new("Second"));
        assert_eq!(again.changes.len(), 3);
        assert!(matches!(&again.changes[0], NodeChange::Upsert(SceneNode { data: NodeData::Report(r), .. }) if r.title.as_str() == "Second"));
    }

    #[test]
    #[should_panic(expected = "a row of 1 cells for 2 columns")]
    fn a_short_row_is_a_bug() {
        let _ = Table::new("t").column("a", "").column("b", "").row(vec![Cell::Empty]);
    }
}
