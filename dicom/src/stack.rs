//! From a series' slices to a volume's geometry: sort along the slice normal, measure
//! spacing from positions, find gantry tilt, uneven spacing and missing slices, and
//! apply the [`Policy`].
//!
//! Tolerances (stated once): slice gaps within 0.2 mm of the series' spacing are even
//! (dcm2niix's `kSliceTolerance`; rounded positions in real files wobble by less), with
//! a note above 0.01 mm (Slicer's `spacingEpsilon`) giving the largest slice-centre
//! error that the regular grid makes. A stack whose in-plane position drifts steadily
//! with depth by more than 0.05 mm end to end is tilted (or sheared) and is resampled;
//! a wobble without trend, within 0.2 mm, is rounding (oblique series with positions
//! rounded to 0.1 mm wobble by ~0.09 mm) and is read as a straight stack, with a note.

use std::path::PathBuf;

use isotherm_sdk::abi::{Geometry, Volume};

use crate::pixels::{self, SliceValues};
use crate::regular::{self, Slice};
use crate::series::Series;
use crate::{DicomVolume, Result, err, lps_to_ras};

pub const SPACING_TOLERANCE_MM: f64 = 0.2;
pub const SPACING_NOTE_MM: f64 = 0.01;
pub const IN_PLANE_TOLERANCE_MM: f64 = 0.05;

/// What to do with a stack that is not a regular grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Gantry tilt and uneven spacing are resampled (linear interpolation) onto a
    /// regular orthogonal grid at the series' median slice gap, with a note; missing
    /// slices (a gap that is a whole multiple of the spacing) are refused, because
    /// interpolating across them would invent anatomy.
    #[default]
    Resample,
    /// Anything but a regular, untilted stack is refused.
    Refuse,
    /// The stack is cut at every change of spacing and at missing slices; the longest
    /// even part is read (tilt still corrected), the others are named in a note.
    Split,
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "resample" => Ok(Policy::Resample),
            "refuse" => Ok(Policy::Refuse),
            "split" => Ok(Policy::Split),
            _ => Err(format!("unknown DICOM geometry policy \"{s}\" (resample, refuse or split)")),
        }
    }
}

/// The measured geometry of a sorted stack (LPS).
#[derive(Debug, Clone)]
pub struct Plan {
    /// Indices into the series' instances, sorted along +normal.
    pub order: Vec<usize>,
    /// Row direction (i), column direction (j), normal (k), LPS unit vectors.
    pub axes: [[f64; 3]; 3],
    /// In-plane spacing along i and along j, mm.
    pub pixel_spacing: [f64; 2],
    /// LPS position of the first sorted slice's first pixel.
    pub first_position: [f64; 3],
    /// Each sorted slice's position along the normal, mm.
    pub depth: Vec<f64>,
    /// Each sorted slice's in-plane offset from the first, along i and j, mm.
    pub offset: Vec<[f64; 2]>,
    /// Regular slice spacing (ITK's: first to last over N-1), or the median gap when
    /// the stack is uneven.
    pub spacing: f64,
    pub uneven: Vec<String>,
    pub missing: Vec<String>,
    pub tilt_degrees: Option<f64>,
    pub notes: Vec<String>,
}

impl Plan {
    pub fn is_regular(&self) -> bool {
        self.uneven.is_empty() && self.missing.is_empty() && self.tilt_degrees.is_none()
    }
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}
fn unit(a: [f64; 3]) -> Option<[f64; 3]> {
    let n = dot(a, a).sqrt();
    (n > 1e-6).then(|| [a[0] / n, a[1] / n, a[2] / n])
}

/// Measures the stack; refuses what no policy can read (no geometry, two slices at one
/// position, changing pixel spacing).
pub fn plan(series: &Series) -> Result<Plan> {
    let inst = &series.instances;
    let first = &inst[0];
    let Some(iop) = first.orientation else {
        return err(&first.path, "no Image Orientation (Patient): the image has no geometry (a secondary capture or a stripped export?); a volume cannot be placed in the patient");
    };
    let (Some(r), Some(c)) = (unit([iop[0], iop[1], iop[2]]), unit([iop[3], iop[4], iop[5]])) else {
        return err(&first.path, format!("Image Orientation (Patient) {iop:?} has a zero direction"));
    };
    if dot(r, c).abs() > 1e-3 {
        return err(&first.path, format!("Image Orientation (Patient) {iop:?}: row and column directions are not perpendicular"));
    }
    let n = cross(r, c);
    for i in inst {
        if i.position.is_none() {
            return err(&i.path, "no Image Position (Patient): the slice cannot be placed in the patient");
        }
        match (i.pixel_spacing, first.pixel_spacing) {
            (Some(a), Some(b)) if (a[0] - b[0]).abs() < 1e-4 && (a[1] - b[1]).abs() < 1e-4 && a[0] > 0.0 && a[1] > 0.0 => {}
            (Some(a), Some(b)) => return err(&i.path, format!("Pixel Spacing {a:?} differs from {b:?} of {} (or is not positive)", first.path.display())),
            _ => return err(&i.path, "no Pixel Spacing: the image has no physical size"),
        }
    }
    let ps = first.pixel_spacing.unwrap();
    let mut order: Vec<usize> = (0..inst.len()).collect();
    let depth_of = |k: usize| dot(inst[k].position.unwrap(), n);
    order.sort_by(|&a, &b| depth_of(a).total_cmp(&depth_of(b)).then(inst[a].instance_number.cmp(&inst[b].instance_number)));
    let depth: Vec<f64> = order.iter().map(|&k| depth_of(k)).collect();
    let p0 = inst[order[0]].position.unwrap();
    let offset: Vec<[f64; 2]> = order.iter().map(|&k| {
        let d = sub(inst[k].position.unwrap(), p0);
        [dot(d, r), dot(d, c)]
    }).collect();
    let name = |s: usize| inst[order[s]].path.display().to_string();
    let mut notes = Vec::new();
    for s in 1..depth.len() {
        if depth[s] - depth[s - 1] < SPACING_NOTE_MM {
            return err(
                &inst[order[s]].path,
                format!(
                    "at the same position along the slice normal as {} ({:.3} mm): several phases, echoes or repeats in one series; Isotherm reads one 3D volume per series (choose the files of one phase)",
                    name(s - 1),
                    depth[s]
                ),
            );
        }
    }
    let gaps: Vec<f64> = depth.windows(2).map(|w| w[1] - w[0]).collect();
    let mut sorted = gaps.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied();
    let mut uneven = Vec::new();
    let mut missing = Vec::new();
    let spacing = match median {
        None => {
            let t = first.slice_thickness.filter(|t| *t > 0.0).unwrap_or(1.0);
            notes.push(format!("a single slice: its thickness {t} mm is the volume's third spacing"));
            t
        }
        Some(m) => {
            for (s, &g) in gaps.iter().enumerate() {
                if (g - m).abs() <= SPACING_TOLERANCE_MM {
                    continue;
                }
                let k = (g / m).round();
                if k >= 2.0 && (g - k * m).abs() <= SPACING_TOLERANCE_MM * k {
                    missing.push(format!("{} slice(s) missing between {} and {} (a {g:.2} mm gap where slices are {m:.2} mm apart)", k as i64 - 1, name(s), name(s + 1)));
                } else {
                    uneven.push(format!("{g:.2} mm between {} and {} (the series' spacing is {m:.2} mm)", name(s), name(s + 1)));
                }
            }
            if uneven.is_empty() && missing.is_empty() {
                let even = (depth[depth.len() - 1] - depth[0]) / gaps.len() as f64;
                let worst = depth.iter().enumerate().map(|(s, d)| (d - depth[0] - s as f64 * even).abs()).fold(0.0, f64::max);
                if worst > SPACING_NOTE_MM {
                    notes.push(format!("slice positions are uneven by up to {worst:.3} mm (rounded positions?); read on a regular {even:.4} mm grid"));
                }
                even
            } else {
                m
            }
        }
    };
    let in_plane = shear(&depth, &offset);
    let tilt_degrees = in_plane.sheared().then(|| {
        let last = offset.len() - 1;
        let shift = offset[last][0].hypot(offset[last][1]);
        (shift / (depth[last] - depth[0])).atan().to_degrees()
    });
    if tilt_degrees.is_none() && in_plane.wobble > SPACING_NOTE_MM {
        notes.push(format!("in-plane slice positions wobble by up to {:.3} mm without a trend (rounded positions?); read as a straight stack", in_plane.wobble));
    }
    if let (Some(t), Some(g)) = (tilt_degrees, first.gantry_tilt) {
        notes.push(format!("gantry tilt of {t:.1} degrees measured from the slice positions (Gantry/Detector Tilt says {g})"));
    } else if let Some(t) = tilt_degrees {
        notes.push(format!("slices are sheared by {t:.1} degrees (gantry tilt) measured from the slice positions"));
    }
    Ok(Plan { order, axes: [r, c, n], pixel_spacing: [ps[1], ps[0]], first_position: p0, depth, offset, spacing, uneven, missing, tilt_degrees, notes })
}

/// Reads one series into a volume under `policy`.
pub fn read(series: &Series, policy: Policy) -> Result<DicomVolume> {
    let plan = plan(series)?;
    let first = &series.instances[plan.order[0]];
    let mut notes = series.notes.clone();
    notes.extend(plan.notes.iter().cloned());
    let mut keep: Vec<usize> = (0..plan.order.len()).collect();
    if !plan.is_regular() {
        let what = describe(&plan);
        match policy {
            Policy::Refuse => return err(&first.path, format!("not a regular grid, refused (policy \"refuse\"): {what}")),
            Policy::Resample if !plan.missing.is_empty() => {
                return err(&first.path, format!("{what}; refused rather than interpolated across missing slices (load the parts separately with the \"split\" policy)"));
            }
            Policy::Resample => notes.push(format!("resampled onto a regular orthogonal grid ({:.3} mm slices, linear interpolation): {what}", plan.spacing)),
            Policy::Split => {
                let parts = even_runs(&plan);
                let longest = parts.iter().max_by_key(|p| p.len()).cloned().unwrap_or_default();
                let name = |s: usize| series.instances[plan.order[s]].path.display().to_string();
                let others: Vec<String> = parts.iter().filter(|p| **p != longest).map(|p| format!("{}..{} ({} slices)", name(p[0]), name(*p.last().unwrap()), p.len())).collect();
                notes.push(format!(
                    "split at uneven spacing or missing slices ({what}): read {}..{} ({} slices){}",
                    name(longest[0]),
                    name(*longest.last().unwrap()),
                    longest.len(),
                    if others.is_empty() { String::new() } else { format!("; not read: {}", others.join(", ")) }
                ));
                keep = longest;
            }
        }
    }
    let files: Vec<PathBuf> = keep.iter().map(|&s| series.instances[plan.order[s]].path.clone()).collect();
    let sop_instance_uids = keep.iter().map(|&s| series.instances[plan.order[s]].sop_instance_uid.clone()).collect();
    let values: Vec<SliceValues> = pixels::read_slices(&keep.iter().map(|&s| &series.instances[plan.order[s]]).collect::<Vec<_>>())?;
    let (volume, resampled) = assemble(&plan, &keep, values, first.columns, first.rows);
    Ok(DicomVolume { volume, identifiers: series.identifiers.clone(), files, sop_instance_uids, notes, resampled })
}

fn describe(plan: &Plan) -> String {
    let mut parts = Vec::new();
    if let Some(t) = plan.tilt_degrees {
        parts.push(format!("gantry tilt {t:.1} degrees"));
    }
    if !plan.uneven.is_empty() {
        parts.push(format!("uneven slice spacing: {}", plan.uneven.join("; ")));
    }
    parts.extend(plan.missing.iter().cloned());
    parts.join("; ")
}

/// Runs of consecutive slices whose gaps agree (within tolerance) with each other; a
/// gap of missing slices always ends a run.
fn even_runs(plan: &Plan) -> Vec<Vec<usize>> {
    let missing = |g: f64| {
        let k = (g / plan.spacing).round();
        k >= 2.0 && (g - k * plan.spacing).abs() <= SPACING_TOLERANCE_MM * k
    };
    let mut runs: Vec<Vec<usize>> = vec![vec![0]];
    for s in 1..plan.depth.len() {
        let gap = plan.depth[s] - plan.depth[s - 1];
        let run = runs.last_mut().unwrap();
        let fits = match run.len() {
            1 => !missing(gap),
            _ => (gap - (plan.depth[run[1]] - plan.depth[run[0]])).abs() <= SPACING_TOLERANCE_MM,
        };
        if fits {
            run.push(s);
        } else {
            runs.push(vec![s]);
        }
    }
    runs
}

/// How slice positions move in-plane with depth: a least-squares line per in-plane
/// axis; its end-to-end shift (a tilt) and the largest distance from it (a wobble).
struct InPlane {
    shift: f64,
    wobble: f64,
}

impl InPlane {
    fn sheared(&self) -> bool {
        self.shift > IN_PLANE_TOLERANCE_MM || self.wobble > SPACING_TOLERANCE_MM
    }
}

fn shear(depth: &[f64], offset: &[[f64; 2]]) -> InPlane {
    let n = depth.len() as f64;
    if depth.len() < 2 {
        return InPlane { shift: 0.0, wobble: 0.0 };
    }
    let mean_d = depth.iter().sum::<f64>() / n;
    let var = depth.iter().map(|d| (d - mean_d).powi(2)).sum::<f64>();
    let span = depth[depth.len() - 1] - depth[0];
    let (mut shift, mut line) = ([0.0; 2], [[0.0; 2]; 2]);
    for a in 0..2 {
        let mean_o = offset.iter().map(|o| o[a]).sum::<f64>() / n;
        let slope = if var > 0.0 { depth.iter().zip(offset).map(|(d, o)| (d - mean_d) * (o[a] - mean_o)).sum::<f64>() / var } else { 0.0 };
        shift[a] = slope * span;
        line[a] = [mean_o - slope * mean_d, slope];
    }
    let wobble = depth.iter().zip(offset).map(|(d, o)| (o[0] - line[0][0] - line[0][1] * d).hypot(o[1] - line[1][0] - line[1][1] * d)).fold(0.0, f64::max);
    InPlane { shift: shift[0].hypot(shift[1]), wobble }
}

/// The volume, and whether it was resampled (its slices are then not the files' slices).
fn assemble(plan: &Plan, keep: &[usize], values: Vec<SliceValues>, columns: u32, rows: u32) -> (Volume, bool) {
    let [r, c, n] = plan.axes;
    let depth: Vec<f64> = keep.iter().map(|&s| plan.depth[s]).collect();
    let offset: Vec<[f64; 2]> = keep.iter().map(|&s| plan.offset[s]).collect();
    let straight = !shear(&depth, &offset).sheared();
    let gaps_even = depth.windows(2).all(|w| (w[1] - w[0] - (depth[depth.len() - 1] - depth[0]) / (depth.len() - 1) as f64).abs() <= SPACING_TOLERANCE_MM);
    let slices: Vec<Slice> = values.into_iter().zip(depth.iter().zip(&offset)).map(|(v, (&d, &o))| Slice { depth: d, offset: o, values: v }).collect();
    let origin_lps = origin_of(plan, keep[0]);
    if straight && gaps_even {
        let spacing_z = if depth.len() > 1 { (depth[depth.len() - 1] - depth[0]) / (depth.len() - 1) as f64 } else { plan.spacing };
        let geometry = geometry(columns, rows, slices.len() as u32, plan.pixel_spacing, spacing_z, [r, c, n], origin_lps);
        return (regular::stack(geometry, slices), false);
    }
    let base = regular::Base { position: plan.first_position, depth: plan.depth[0] };
    (regular::resample(plan.pixel_spacing, plan.spacing, [r, c, n], base, columns, rows, slices), true)
}

/// LPS position of sorted slice `s`'s first pixel.
fn origin_of(plan: &Plan, s: usize) -> [f64; 3] {
    let [r, c, n] = plan.axes;
    let o = plan.offset[s];
    let d = plan.depth[s];
    let base = plan.first_position;
    let mut p = [0.0; 3];
    for a in 0..3 {
        p[a] = base[a] + o[0] * r[a] + o[1] * c[a] + (d - plan.depth[0]) * n[a];
    }
    p
}

/// The RAS+ geometry of an LPS-described orthogonal grid.
pub fn geometry(columns: u32, rows: u32, slices: u32, pixel_spacing: [f64; 2], spacing_z: f64, axes: [[f64; 3]; 3], origin_lps: [f64; 3]) -> Geometry {
    let [r, c, n] = axes.map(lps_to_ras);
    Geometry {
        dims: [columns, rows, slices],
        spacing: [pixel_spacing[0], pixel_spacing[1], spacing_z],
        origin: lps_to_ras(origin_lps),
        direction: [r[0], c[0], n[0], r[1], c[1], n[1], r[2], c[2], n[2]],
    }
}
