//! Reports as JSON (everything) and CSV (one file per table), with numbers kept as
//! numbers.

use std::path::Path;

use isotherm_sdk::abi::{Cell, Markups, ParamValue, Report, Table};
use serde_json::{Value, json};

pub fn cell_json(c: &Cell) -> Value {
    match c {
        Cell::Empty => Value::Null,
        Cell::Text(s) => json!(s.as_str()),
        Cell::Integer(i) => json!(i),
        Cell::Number(x) => json!(x),
    }
}

/// A parameter value as typed JSON: numbers as numbers, a point as `[x, y, z]`.
pub fn param_json(v: &ParamValue) -> Value {
    match v {
        ParamValue::Number(x) => json!(x),
        ParamValue::Integer(i) => json!(i),
        ParamValue::Bool(b) => json!(b),
        ParamValue::Choice(c) | ParamValue::VolumeRef(c) => json!(c.as_str()),
        // An optional point left unset.
        ParamValue::Point(p) if isotherm_sdk::params::is_unset(p) => Value::Null,
        ParamValue::Point(p) => json!(p),
    }
}

pub fn table_json(t: &Table) -> Value {
    let rows: Vec<Value> = t
        .rows
        .iter()
        .map(|r| {
            let mut obj = serde_json::Map::new();
            for (col, cell) in t.columns.iter().zip(r.iter()) {
                obj.insert(col.to_string(), cell_json(cell));
            }
            Value::Object(obj)
        })
        .collect();
    json!({
        "name": t.name.as_str(),
        "columns": t.columns.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "units": t.units.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "rows": rows,
    })
}

pub fn report_json(r: &Report) -> Value {
    json!({
        "title": r.title.as_str(),
        "text": r.text.as_str(),
        "values": r.values.iter().map(|v| json!({"key": v.key.as_str(), "value": cell_json(&v.value), "unit": v.unit.as_str()})).collect::<Vec<_>>(),
        "tables": r.tables.iter().map(table_json).collect::<Vec<_>>(),
    })
}

pub fn markups_json(m: &Markups) -> Value {
    json!({
        "coordinates": "world mm, RAS+",
        "colour": m.colour,
        "points": m.points.iter().map(|p| json!({"label": p.label.as_str(), "position": p.position})).collect::<Vec<_>>(),
        "lines": m.lines.iter().map(|l| json!({"label": l.label.as_str(), "kind": format!("{:?}", l.kind), "start": l.start, "end": l.end})).collect::<Vec<_>>(),
    })
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

pub fn table_csv(t: &Table) -> String {
    let header: Vec<String> = t
        .columns
        .iter()
        .zip(t.units.iter().map(|u| u.as_str()).chain(std::iter::repeat("")))
        .map(|(c, u)| csv_field(&if u.is_empty() { c.to_string() } else { format!("{c} [{u}]") }))
        .collect();
    let mut s = header.join(",") + "\n";
    for row in t.rows.iter() {
        let cells: Vec<String> = row
            .iter()
            .map(|c| match c {
                Cell::Empty => String::new(),
                Cell::Text(x) => csv_field(x),
                Cell::Integer(i) => i.to_string(),
                Cell::Number(x) => format!("{x}"),
            })
            .collect();
        s += &(cells.join(",") + "\n");
    }
    s
}

pub fn write_json(path: &Path, value: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("{}: cannot write: {e}", path.display()))
}
