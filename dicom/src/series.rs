//! Which instances form one volume. Key: Series Instance UID, then orientation and
//! matrix size (a series holding two orientations or two matrix sizes is split, never
//! stacked: dcm2niix stacks scouts of different orientation, we do not). Localizers are
//! skipped; derived images are skipped when the series also holds original ones (a
//! screen capture dropped into a scan); a repeated SOP Instance UID is dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::scan::{self, Instance};
use crate::{Identifiers, Result, err};

/// One candidate volume: the instances of one series with one orientation and size.
#[derive(Debug, Clone)]
pub struct Series {
    pub identifiers: Identifiers,
    pub instances: Vec<Instance>,
    /// What was skipped or split on the way, in words naming files.
    pub notes: Vec<String>,
}

impl Series {
    /// One line for listings: number, modality, description, size, instance count.
    pub fn summary(&self) -> String {
        let first = &self.instances[0];
        let id = &self.identifiers;
        let desc = if id.series_description.is_empty() { "(no description)".to_string() } else { format!("\"{}\"", id.series_description) };
        format!(
            "{} series {} {desc}: {} x {} x {} image(s), patient {}, study {}, UID {}",
            if id.modality.is_empty() { "?" } else { &id.modality },
            if id.series_number.is_empty() { "-" } else { &id.series_number },
            first.columns,
            first.rows,
            self.instances.len(),
            if id.patient_id.is_empty() { "-" } else { &id.patient_id },
            if id.study_date.is_empty() { "-" } else { &id.study_date },
            id.series_instance_uid
        )
    }
}

/// What a folder holds: candidate volumes, and files skipped with why.
#[derive(Debug, Default)]
pub struct Found {
    pub series: Vec<Series>,
    pub skipped: Vec<(PathBuf, String)>,
}

/// Scans `inputs` and groups what it finds.
pub fn find(inputs: &[PathBuf]) -> Result<Found> {
    let scanned = scan::scan(inputs)?;
    let mut skipped = scanned.skipped;
    let mut by_uid: BTreeMap<String, Vec<Instance>> = BTreeMap::new();
    for inst in scanned.instances {
        by_uid.entry(inst.ids.series_instance_uid.clone()).or_default().push(inst);
    }
    let mut series = Vec::new();
    for (uid, instances) in by_uid {
        series.extend(split_series(&uid, instances, &mut skipped));
    }
    // Largest first: the scan, not its scout, is the series a user means.
    series.sort_by(|a: &Series, b: &Series| b.instances.len().cmp(&a.instances.len()).then(a.identifiers.series_number.cmp(&b.identifiers.series_number)));
    Ok(Found { series, skipped })
}

fn split_series(uid: &str, instances: Vec<Instance>, skipped: &mut Vec<(PathBuf, String)>) -> Vec<Series> {
    let mut notes = Vec::new();
    let uid_name = if uid.is_empty() { "(no Series Instance UID)".to_string() } else { uid.to_string() };
    let has_original = instances.iter().any(|i| i.image_type.first().is_some_and(|t| t == "ORIGINAL"));
    let mut kept = Vec::new();
    let mut seen: BTreeMap<(String, u32), PathBuf> = BTreeMap::new();
    let mut dropped = Vec::new();
    for inst in instances {
        // Duplicates first: a repeated instance is worth saying even when both copies
        // are then skipped for another reason.
        if !inst.sop_instance_uid.is_empty() {
            let key = (inst.sop_instance_uid.clone(), inst.frame);
            if let Some(first) = seen.get(&key) {
                notes.push(format!("duplicate dropped: {} repeats SOP Instance UID {} of {}", inst.path.display(), inst.sop_instance_uid, first.display()));
                dropped.push((inst.path.clone(), format!("duplicate dropped (repeats SOP Instance UID {} of {})", inst.sop_instance_uid, first.display())));
                continue;
            }
            seen.insert(key, inst.path.clone());
        }
        let kind = inst.image_type.join("\\");
        if inst.image_type.iter().any(|t| t == "LOCALIZER") {
            skipped.push((inst.path.clone(), format!("localizer skipped (ImageType {kind})")));
            continue;
        }
        if has_original && inst.image_type.first().is_some_and(|t| t == "DERIVED") {
            skipped.push((inst.path.clone(), format!("derived image skipped from an original series (ImageType {kind})")));
            continue;
        }
        if inst.samples_per_pixel != 1 {
            skipped.push((inst.path.clone(), format!("colour image skipped (Samples per Pixel {}): a CT volume has one sample per pixel", inst.samples_per_pixel)));
            continue;
        }
        kept.push(inst);
    }
    if kept.is_empty() {
        // No series is left to carry the notes: they go with the skipped files.
        skipped.extend(dropped);
        notes.clear();
    }
    // Sub-series by orientation (to 1e-4) and matrix size.
    let mut groups: Vec<(String, Vec<Instance>)> = Vec::new();
    for inst in kept {
        let key = match inst.orientation {
            Some(o) => format!("{}x{} [{}]", inst.columns, inst.rows, o.iter().map(|v| format!("{:.4}", v + 0.0)).collect::<Vec<_>>().join(", ")),
            None => format!("{}x{} [no orientation]", inst.columns, inst.rows),
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(inst),
            None => groups.push((key, vec![inst])),
        }
    }
    if groups.len() > 1 {
        let parts: Vec<String> = groups.iter().map(|(k, g)| format!("{} image(s) {k} (first {})", g.len(), g[0].path.display())).collect();
        notes.push(format!("series {uid_name} mixes orientations or matrix sizes; split, not stacked: {}", parts.join("; ")));
    }
    groups
        .into_iter()
        .map(|(_, instances)| Series { identifiers: instances[0].ids.clone(), instances, notes: notes.clone() })
        .collect()
}

/// Picks the series to read: the only one, or the one `select` names (its 1-based
/// number in [`Found::series`] or its Series Instance UID).
pub fn choose<'a>(path: &Path, found: &'a Found, select: Option<&str>) -> Result<&'a Series> {
    if found.series.is_empty() {
        let why: Vec<String> = found.skipped.iter().take(5).map(|(p, w)| format!("{}: {w}", p.display())).collect();
        return err(path, format!("no image series found ({} file(s) skipped{}{})", found.skipped.len(), if why.is_empty() { "" } else { ": " }, why.join("; ")));
    }
    if let Some(sel) = select {
        if let Ok(n) = sel.parse::<usize>()
            && (1..=found.series.len()).contains(&n)
            && !sel.contains('.')
        {
            return Ok(&found.series[n - 1]);
        }
        return found.series.iter().find(|s| s.identifiers.series_instance_uid == sel).map_or_else(|| err(path, format!("no series {sel} here; there are:\n{}", listing(found))), Ok);
    }
    if found.series.len() == 1 {
        return Ok(&found.series[0]);
    }
    err(path, format!("{} series here; choose one with PATH#N (N as listed) or PATH#<Series Instance UID>:\n{}", found.series.len(), listing(found)))
}

/// The numbered list of series, as `isotherm dicom list` prints it.
pub fn listing(found: &Found) -> String {
    found.series.iter().enumerate().map(|(i, s)| format!("  {}. {}", i + 1, s.summary())).collect::<Vec<_>>().join("\n")
}

