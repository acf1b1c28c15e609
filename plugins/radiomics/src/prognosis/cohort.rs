//! Cohort tables: one row per patient, `id`, `time` (months), `event` (1 = progression
//! or death, 0 = censored), then covariates. Clinical covariates are encoded here, once:
//! `afp` (ng/ml) enters as log10(afp + 1), `child_pugh` as A/B/C -> 0/1/2, `bclc` as
//! 0/A/B/C/D -> 0..4; every other column is a number (e.g. radiomics features by IBSI
//! name, `tumour_count`, `tumour_size_mm`, `age`).

use std::path::Path;

/// The encoded name of a covariate column (what the model stores).
pub fn encoded_name(column: &str) -> String {
    match column {
        "afp" => "log10_afp".into(),
        other => other.into(),
    }
}

/// Encodes one covariate value; the error says what was expected.
pub fn encode(column: &str, text: &str) -> Result<f64, String> {
    let t = text.trim();
    let v = match column {
        "child_pugh" => match t.to_ascii_uppercase().as_str() {
            "A" | "0" => 0.0,
            "B" | "1" => 1.0,
            "C" | "2" => 2.0,
            _ => return Err(format!("child_pugh '{t}' is not A, B or C")),
        },
        "bclc" => match t.to_ascii_uppercase().as_str() {
            "0" => 0.0,
            "A" | "1" => 1.0,
            "B" | "2" => 2.0,
            "C" | "3" => 3.0,
            "D" | "4" => 4.0,
            _ => return Err(format!("bclc '{t}' is not 0, A, B, C or D")),
        },
        "afp" => {
            let afp: f64 = t.parse().map_err(|_| format!("afp '{t}' is not a number (ng/ml)"))?;
            if afp < 0.0 {
                return Err(format!("afp {afp} is negative"));
            }
            (afp + 1.0).log10()
        }
        _ => t.parse().map_err(|_| format!("{column} '{t}' is not a number"))?,
    };
    if !v.is_finite() {
        return Err(format!("{column} '{t}' is not finite"));
    }
    Ok(v)
}

#[derive(Debug, Clone)]
pub struct Cohort {
    pub ids: Vec<String>,
    pub time: Vec<f64>,
    pub event: Vec<bool>,
    /// Encoded covariate names and values (rows are patients).
    pub names: Vec<String>,
    pub x: Vec<Vec<f64>>,
}

/// Reads a cohort CSV. With `needs_outcome` false (prediction), `time` and `event` may
/// be absent.
pub fn read(path: &Path, needs_outcome: bool) -> Result<Cohort, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text, needs_outcome).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn parse(text: &str, needs_outcome: bool) -> Result<Cohort, String> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let (_, header) = lines.next().ok_or("empty file")?;
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    let find = |name: &str| columns.iter().position(|c| *c == name);
    let (id_col, time_col, event_col) = (find("id"), find("time"), find("event"));
    if needs_outcome && (time_col.is_none() || event_col.is_none()) {
        return Err("needs columns 'time' (months) and 'event' (0/1)".into());
    }
    let covariate_cols: Vec<usize> = (0..columns.len()).filter(|c| Some(*c) != id_col && Some(*c) != time_col && Some(*c) != event_col).collect();
    if covariate_cols.is_empty() {
        return Err("no covariate columns".into());
    }
    let mut cohort = Cohort { ids: vec![], time: vec![], event: vec![], names: covariate_cols.iter().map(|&c| encoded_name(columns[c])).collect(), x: vec![] };
    for (n, line) in lines {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != columns.len() {
            return Err(format!("line {}: {} cells, the header has {}", n + 1, cells.len(), columns.len()));
        }
        cohort.ids.push(id_col.map(|c| cells[c].trim().to_string()).unwrap_or_else(|| format!("{}", cohort.ids.len() + 1)));
        if let (Some(t), Some(e)) = (time_col, event_col) {
            let time: f64 = cells[t].trim().parse().map_err(|_| format!("line {}: time '{}' is not a number", n + 1, cells[t]))?;
            if !(time.is_finite() && time >= 0.0) {
                return Err(format!("line {}: time {time} must be >= 0", n + 1));
            }
            let event = match cells[e].trim() {
                "1" | "true" => true,
                "0" | "false" => false,
                other => return Err(format!("line {}: event '{other}' is not 0 or 1", n + 1)),
            };
            cohort.time.push(time);
            cohort.event.push(event);
        }
        let row = covariate_cols.iter().map(|&c| encode(columns[c], cells[c]).map_err(|e| format!("line {}: {e}", n + 1))).collect::<Result<Vec<_>, _>>()?;
        cohort.x.push(row);
    }
    if cohort.x.is_empty() {
        return Err("no patients".into());
    }
    Ok(cohort)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_clinical_columns_and_names_bad_cells() {
        let c = parse("id,time,event,age,afp,child_pugh,bclc\np1,12.5,1,64,99,B,C\np2,30,0,70,0,A,0\n", true).unwrap();
        assert_eq!(c.names, vec!["age", "log10_afp", "child_pugh", "bclc"]);
        assert_eq!(c.x[0], vec![64.0, 2.0, 1.0, 3.0]);
        assert_eq!(c.event, vec![true, false]);
        let err = parse("id,time,event,child_pugh\np1,3,1,E\n", true).unwrap_err();
        assert!(err.contains("line 2") && err.contains("child_pugh 'E'"), "{err}");
        let err = parse("id,age\np1,50\n", true).unwrap_err();
        assert!(err.contains("'time'"), "{err}");
        assert!(parse("id,age\np1,50\n", false).is_ok());
        assert!(parse("id,time,event,age\np1,3,2,50\n", true).unwrap_err().contains("event '2'"));
    }
}
