//! The recommendation (in the manner of MWA-PS): for one tumour, the antenna path, power
//! and time that cover the tumour plus a 5 mm margin with the least energy, then the least
//! healthy liver ablated, checked by a full simulation on the patient (heat sink
//! included). Each chart setting's zone shape comes from a simulation in homogeneous liver;
//! the trajectory search scores every skin entry with it.

use isotherm_sdk::abi::{LabelMap, Volume};
use isotherm_sdk::volume::mesh::mask_surface;

use crate::ablation::{Ablation, chart_block};
use crate::antenna::{Antenna, ChartEntry};
use crate::damage::Criterion;
use crate::plan::{self, Planned, Setting};
use crate::trajectory::{self, Obstacles, Path, Search, ZoneShape};
use crate::zone::ZoneAxes;

/// The margin a recommendation must reach (clinical-facts: technical success at >= 5 mm).
pub const TARGET_MARGIN_MM: f64 = 5.0;
/// Skin entries tried per setting.
pub const CANDIDATES: usize = 12_000;

/// The tumour to treat, sampled for the search.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: u16,
    pub centroid: [f64; 3],
    pub surface: Vec<[f64; 3]>,
    pub voxels: Vec<[f64; 3]>,
    /// Points of the 5 mm shell around it (the margin a plan must cover too).
    pub shell: Vec<[f64; 3]>,
    pub volume_ml: f64,
    /// The tumour alone, on its map's grid (value 1).
    pub mask: LabelMap,
}

/// The tumour `id` of `tumours` (each value a tumour, or each 26-connected region of a
/// binary map), or the largest when `id` is 0.
pub fn target_of(tumours: &LabelMap, id: u16) -> Result<Target, String> {
    let g = tumours.geometry;
    let mut best: Option<(usize, u16, Vec<bool>)> = None;
    tumours
        .for_each_lesion(0, |_, _, lid, mask| {
            let n = mask.iter().filter(|&&m| m).count();
            if (id == 0 && best.as_ref().is_none_or(|b| n > b.0)) || lid == id {
                best = Some((n, lid, mask));
            }
            Ok::<(), ()>(())
        })
        .ok();
    let Some((count, lid, mask)) = best else {
        return Err(if id == 0 { "no tumour to plan for: give 'tumour' or a label map naming tumours".into() } else { format!("no tumour {id} in the tumour map") });
    };
    let world = |i: usize| {
        let [x, y, z] = g.ijk(i);
        g.index_to_world([x as f64, y as f64, z as f64])
    };
    let inside: Vec<usize> = (0..mask.len()).filter(|&i| mask[i]).collect();
    let mut centroid = [0.0; 3];
    for &i in &inside {
        let p = world(i);
        (0..3).for_each(|a| centroid[a] += p[a] / count as f64);
    }
    let stride = (inside.len() / 4000).max(1);
    let voxels = inside.iter().step_by(stride).map(|&i| world(i)).collect();
    let mesh = mask_surface(&mask, &g);
    let stride = (mesh.positions.len() / 1500).max(1);
    let surface = mesh.positions.iter().step_by(stride).map(|p| p.map(|v| v as f64)).collect();
    // The shell: voxels within the margin of the tumour, found in its box grown by it.
    let dims = g.dims_usize();
    let grow = (TARGET_MARGIN_MM / g.spacing.iter().cloned().fold(f64::INFINITY, f64::min)).ceil() as usize + 1;
    let mut shell_idx = Vec::new();
    if let Some(b) = isotherm_sdk::volume::VoxelBox::around(dims, |n| mask[n]).map(|b| b.grown(grow, dims)) {
        let local = b.cut(&mask, dims);
        let d = isotherm_sdk::volume::edt::distance_to(&local, b.dims(), g.spacing);
        for (gi, &di) in b.indices(dims).zip(&d) {
            if di > 0.0 && di as f64 <= TARGET_MARGIN_MM {
                shell_idx.push(gi);
            }
        }
    }
    let stride = (shell_idx.len() / 4000).max(1);
    let shell = shell_idx.iter().step_by(stride).map(|&i| world(i)).collect();
    let only = LabelMap::new(g, mask.iter().map(|&m| m as u16).collect(), vec![isotherm_sdk::abi::LabelEntry::new(1, &format!("tumour {lid}"), [240, 200, 40, 255])]);
    Ok(Target { id: lid, centroid, surface, voxels, shell, volume_ml: count as f64 * g.voxel_volume_mm3() / 1000.0, mask: only })
}

/// A chart setting's zone in homogeneous liver.
#[derive(Debug, Clone)]
pub struct SettingShape {
    pub setting: ChartEntry,
    pub shape: ZoneShape,
    pub axes: ZoneAxes,
}

/// Every chart setting's zone shape under `criterion`, one simulation per power.
pub fn setting_shapes(antenna: &Antenna, criterion: Criterion) -> Result<Vec<SettingShape>, String> {
    let sar = antenna.sar()?;
    let h = 1e-3;
    let mut powers: Vec<f64> = antenna.chart.iter().map(|c| c.power_w).collect();
    powers.sort_by(f64::total_cmp);
    powers.dedup();
    use rayon::prelude::*;
    let shapes: Vec<Vec<SettingShape>> = powers
        .par_iter()
        .map(|&p| {
            let (medium, pose) = chart_block(h);
            let dims = medium.dims;
            let mut ablation = Ablation::with_parameters(medium, sar, antenna.frequency_hz, pose, p);
            let mut settings: Vec<ChartEntry> = antenna.chart.iter().filter(|c| c.power_w == p).copied().collect();
            settings.sort_by(|a, b| a.time_min.total_cmp(&b.time_min));
            settings
                .into_iter()
                .map(|setting| {
                    ablation.run_until(setting.time_min * 60.0);
                    let axes = ablation.axes(criterion);
                    let (field, threshold) = ablation.damage.field(criterion);
                    let centre = axes.centre_behind_tip_mm;
                    // (z, r) in mm about the zone's centre, z towards the entry.
                    let inside = |z: f64, r: f64| {
                        let q = [(pose.tip[0] + r * 1e-3) / h, pose.tip[1] / h, (pose.tip[2] + (centre + z) * 1e-3) / h];
                        isotherm_sdk::volume::resample::trilinear(field, dims, q).is_some_and(|v| v >= threshold)
                    };
                    let half = 0.5 * axes.long_mm + 3.0;
                    let shape = ZoneShape::from_inside(inside, half, 0.5 * axes.short_mm + 3.0, 0.5, centre);
                    SettingShape { setting, shape, axes }
                })
                .collect()
        })
        .collect();
    let mut all: Vec<SettingShape> = shapes.into_iter().flatten().collect();
    all.sort_by(|a, b| a.setting.energy_kj().total_cmp(&b.setting.energy_kj()).then(a.axes.long_mm.total_cmp(&b.axes.long_mm)));
    Ok(all)
}

/// One setting tried: its best path by predicted margin (none when no path is feasible).
#[derive(Debug, Clone)]
pub struct Considered {
    pub setting: ChartEntry,
    pub best: Option<Path>,
    pub zone_ml: f64,
}

pub struct Recommendation {
    pub target: Target,
    pub planned: Planned,
    pub path: Path,
    /// The trajectory search of the recommended setting (its Pareto front).
    pub search: Search,
    pub considered: Vec<Considered>,
    /// The patient simulation's predicted margin reached the target.
    pub reaches_target: bool,
    pub obstacles: Obstacles,
    /// When one zone cannot cover the tumour and its margin: the antennas of the set
    /// cover and their simulations (the first is `planned`).
    pub multi: Option<(MultiPlan, Vec<Planned>)>,
}

/// Planned beyond the 5 mm target: a tip off by 1.5 mm per axis (the variability study's
/// execution error) lands 2.4 mm away on average, and the minimal margin loses about that.
pub const PLACEMENT_ALLOWANCE_MM: f64 = 3.0;

/// The settings in the order a recommendation tries them, given each one's chosen path:
/// those whose predicted margin reaches the target plus the placement allowance, least
/// energy first (at equal energy the smaller zone: less healthy liver); then those that
/// reach the target alone; when none does, the one with the largest margin.
pub fn ranked(shapes: &[SettingShape], best: &[Option<Path>]) -> Vec<usize> {
    let by_cost = |mut v: Vec<usize>| {
        v.sort_by(|&a, &b| shapes[a].setting.energy_kj().total_cmp(&shapes[b].setting.energy_kj()).then(shapes[a].axes.short_mm.total_cmp(&shapes[b].axes.short_mm)));
        v
    };
    let reaching = |m: f64| by_cost((0..shapes.len()).filter(|&i| best[i].is_some_and(|p| p.margin_mm >= m)).collect());
    let mut order = reaching(TARGET_MARGIN_MM + PLACEMENT_ALLOWANCE_MM);
    order.extend(reaching(TARGET_MARGIN_MM).into_iter().filter(|i| !order.contains(i)).collect::<Vec<_>>());
    if order.is_empty() {
        if let Some(b) = (0..shapes.len()).filter(|&i| best[i].is_some()).max_by(|&a, &b| best[a].unwrap().margin_mm.total_cmp(&best[b].unwrap().margin_mm)) {
            order.push(b);
        }
    }
    order
}

/// The path of a front to recommend: the shortest whose predicted margin reaches the
/// target and which keeps 5 mm from large vessels, else the largest margin.
pub fn choose(front: &[Path]) -> Option<Path> {
    let mut ok: Vec<&Path> = front.iter().filter(|p| p.margin_mm >= TARGET_MARGIN_MM + PLACEMENT_ALLOWANCE_MM && p.clearance_mm >= 5.0).collect();
    if ok.is_empty() {
        ok = front.iter().filter(|p| p.margin_mm >= TARGET_MARGIN_MM && p.clearance_mm >= 5.0).collect();
    }
    ok.sort_by(|a, b| a.length_mm.total_cmp(&b.length_mm));
    ok.first().copied().or_else(|| front.iter().max_by(|a, b| a.margin_mm.total_cmp(&b.margin_mm))).copied()
}

/// Recommends a setting and path for `target`; `progress(fraction, what)` as it goes.
#[allow(clippy::too_many_arguments)]
pub fn recommend(ct: &Volume, labels: Option<&LabelMap>, tumours: Option<&LabelMap>, target: Target, antenna: &Antenna, criterion: Criterion, vessel_margin_mm: f64, grid_mm: f64, mut progress: impl FnMut(f64, &str) -> bool) -> Result<Option<Recommendation>, String> {
    progress(0.0, "zone shapes per setting");
    let shapes = setting_shapes(antenna, criterion)?;
    progress(0.2, "obstacles");
    let obstacles = trajectory::obstacles(ct, labels, vessel_margin_mm, 1.5);
    let mut considered = Vec::new();
    let mut searches: Vec<(usize, Search, Option<Path>)> = Vec::new();
    for (i, s) in shapes.iter().enumerate() {
        let search = trajectory::search(&obstacles, target.centroid, &s.shape, &target.surface, &target.voxels, antenna.usable_length_mm, CANDIDATES);
        let best = choose(&search.front);
        let zone_ml = std::f64::consts::PI / 6.0 * s.axes.long_mm * s.axes.short_mm * s.axes.short_mm / 1e3;
        considered.push(Considered { setting: s.setting, best, zone_ml });
        searches.push((i, search, best));
        if !progress(0.2 + 0.3 * (i + 1) as f64 / shapes.len() as f64, "trajectories") {
            return Ok(None);
        }
    }
    let best: Vec<Option<Path>> = searches.iter().map(|s| s.2).collect();
    let order = ranked(&shapes, &best);
    let Some(&first) = order.first() else {
        return Err("no feasible path: every skin entry within the antenna's reach crosses a forbidden structure".into());
    };
    let single_reaches = considered.iter().any(|c| c.best.is_some_and(|p| p.margin_mm >= TARGET_MARGIN_MM));
    // The patient simulation decides (vessels carve the zone): the cheapest setting whose
    // predicted margin holds, trying up to three. When no single zone can reach the margin
    // even in homogeneous liver, the antennas of a set cover are simulated instead.
    let mut last: Option<(usize, Planned, f64)> = None;
    for (tries, &i) in order.iter().take(if single_reaches { 3 } else { 0 }).enumerate() {
        let path = searches[i].2.unwrap();
        let s = shapes[i].setting;
        let setting = Setting { power_w: s.power_w, time_min: s.time_min, criterion, tip: path.tip, entry: path.entry, grid_mm };
        let Some(planned) = plan::simulate(ct, labels, tumours, antenna, setting, |f| progress(0.5 + 0.15 * (tries as f64 + f), "simulating")).map_err(|e| format!("simulating the recommendation: {e}"))? else {
            return Ok(None);
        };
        let margin = planned_margin(&planned, &target);
        let reached = margin >= TARGET_MARGIN_MM;
        // None reaching it: the largest margin of those simulated.
        if reached || last.as_ref().is_none_or(|l| margin > l.2) {
            last = Some((i, planned, margin));
        }
        if reached {
            break;
        }
    }
    let mut multi = None;
    if !single_reaches {
        // No single zone covers it: antennas of the largest setting, parallel to its best path.
        let largest = (0..shapes.len()).filter(|&j| searches[j].2.is_some()).max_by(|&a, &b| considered[a].zone_ml.total_cmp(&considered[b].zone_ml));
        if let Some(j) = largest {
            let best = searches[j].2.unwrap();
            let back = crate::vec3::unit(crate::vec3::sub(best.entry, best.tip));
            if let Some(plan) = cover(&target, &shapes[j], back, &obstacles, antenna.usable_length_mm) {
                let s = shapes[j].setting;
                let mut sims = Vec::new();
                for (k, &(entry, tip)) in plan.paths.iter().enumerate() {
                    let setting = Setting { power_w: s.power_w, time_min: s.time_min, criterion, tip, entry, grid_mm };
                    let n = plan.paths.len() as f64;
                    let Some(p) = plan::simulate(ct, labels, tumours, antenna, setting, |f| progress(0.65 + 0.3 * (k as f64 + f) / n, "simulating each antenna")).map_err(|e| format!("simulating antenna {}: {e}", k + 1))? else {
                        return Ok(None);
                    };
                    sims.push(p);
                }
                multi = Some((plan, sims));
            }
        }
    }
    if let Some((plan, mut sims)) = multi {
        let first = sims.remove(0);
        let (_, search, path) = searches.swap_remove(first_index(&shapes, &first));
        let path = Path { entry: plan.paths[0].0, tip: plan.paths[0].1, ..path.unwrap_or_else(|| unreachable!("the set cover's setting has a path")) };
        return Ok(Some(Recommendation { target, planned: first, path, search, considered, reaches_target: false, obstacles, multi: Some((plan, sims)) }));
    }
    if last.is_none() {
        // No set cover either (every parallel path blocked): the best single setting.
        let path = searches[first].2.unwrap();
        let s = shapes[first].setting;
        let setting = Setting { power_w: s.power_w, time_min: s.time_min, criterion, tip: path.tip, entry: path.entry, grid_mm };
        let Some(planned) = plan::simulate(ct, labels, tumours, antenna, setting, |f| progress(0.5 + 0.4 * f, "simulating")).map_err(|e| format!("simulating the recommendation: {e}"))? else {
            return Ok(None);
        };
        let margin = planned_margin(&planned, &target);
        last = Some((first, planned, margin));
    }
    let (i, planned, margin) = last.unwrap_or_else(|| unreachable!("simulated above"));
    let (_, search, path) = searches.swap_remove(i);
    Ok(Some(Recommendation { target, planned, path: path.unwrap(), search, considered, reaches_target: margin >= TARGET_MARGIN_MM, obstacles, multi: None }))
}

/// A quick margin of `target` against a planned zone: the smallest signed distance from
/// the tumour's surface samples to the zone's voxels (positive inside), mm. The plugin's
/// report uses the margin plugin's logic; this only ranks settings.
pub fn planned_margin(p: &Planned, target: &Target) -> f64 {
    let g = p.geometry();
    let zone = p.zone_mask();
    let sd = isotherm_sdk::volume::edt::signed_distance(&zone, g.dims_usize(), g.spacing);
    let w2i = g.world_to_index_map();
    target
        .surface
        .iter()
        .map(|q| isotherm_sdk::volume::resample::trilinear(&sd, g.dims_usize(), w2i.apply(*q)).map(|v| -v as f64).unwrap_or(-100.0))
        .fold(f64::INFINITY, f64::min)
}

/// Several antennas for a tumour no single zone covers with its margin: a greedy set
/// cover (Ren et al. 2014: each ablation weighted 1 + 0.01 p, p the percent of it outside
/// tumour and margin) of the tumour's voxels and its 5 mm shell by the largest setting's
/// zone, antennas parallel to the best single path, centres on a 3 mm lattice in the
/// tumour's box; a centre whose path crosses a forbidden structure is skipped.
pub struct MultiPlan {
    pub setting: ChartEntry,
    /// (entry, tip) per antenna.
    pub paths: Vec<([f64; 3], [f64; 3])>,
    /// Share of the tumour and shell points covered by the predicted zones together, %.
    pub covered_percent: f64,
}

pub const MAX_ANTENNAS: usize = 8;

pub fn cover(target: &Target, largest: &SettingShape, back: [f64; 3], obstacles: &Obstacles, usable_length_mm: f64) -> Option<MultiPlan> {
    let points: Vec<[f64; 3]> = target.voxels.iter().chain(&target.shell).copied().collect();
    let (mut lo, mut hi) = ([f64::MAX; 3], [f64::MIN; 3]);
    for p in &target.voxels {
        for a in 0..3 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    let step = 3.0;
    let n = [0, 1, 2].map(|a| ((hi[a] - lo[a]) / step).floor() as usize + 1);
    let mut centres = Vec::new();
    for k in 0..n[2] {
        for j in 0..n[1] {
            for i in 0..n[0] {
                centres.push([lo[0] + i as f64 * step, lo[1] + j as f64 * step, lo[2] + k as f64 * step]);
            }
        }
    }
    let covers = |c: &[f64; 3], p: &[f64; 3]| {
        let (z, r) = crate::vec3::along_across(*p, *c, back);
        largest.shape.depth(z, r) > 0.0
    };
    let zone_points = {
        // Points of the zone per point of tumour and shell: the zone's volume over theirs.
        let zone_ml = std::f64::consts::PI / 6.0 * largest.axes.long_mm * largest.axes.short_mm * largest.axes.short_mm / 1e3;
        let region_ml = target.volume_ml * points.len() as f64 / target.voxels.len().max(1) as f64;
        zone_ml / region_ml.max(1e-9) * points.len() as f64
    };
    let mut uncovered = vec![true; points.len()];
    let mut chosen: Vec<([f64; 3], [f64; 3])> = Vec::new();
    let mut skipped = vec![false; centres.len()];
    use rayon::prelude::*;
    while chosen.len() < MAX_ANTENNAS && uncovered.iter().filter(|&&u| u).count() * 200 > points.len() {
        let scores: Vec<(f64, usize)> = centres
            .par_iter()
            .enumerate()
            .filter(|(i, _)| !skipped[*i])
            .map(|(i, c)| {
                let new = points.iter().zip(&uncovered).filter(|(p, u)| **u && covers(c, p)).count();
                let inside = points.iter().filter(|p| covers(c, p)).count();
                let healthy = 100.0 * (1.0 - inside as f64 / zone_points.max(1.0)).max(0.0);
                (new as f64 / (1.0 + 0.01 * healthy), i)
            })
            .collect();
        let Some(&(score, best)) = scores.iter().max_by(|a, b| a.0.total_cmp(&b.0)) else { break };
        if score <= 0.0 {
            break;
        }
        let c = centres[best];
        let tip = [0, 1, 2].map(|a| c[a] - largest.shape.centre_behind_tip_mm * back[a]);
        let entry = obstacles.skin_along(c, back, usable_length_mm);
        let ok = entry.is_some_and(|e| obstacles.walk(e, tip).is_ok() && crate::vec3::dist(e, tip) <= usable_length_mm);
        skipped[best] = true;
        if !ok {
            continue;
        }
        for (p, u) in points.iter().zip(uncovered.iter_mut()) {
            if covers(&c, p) {
                *u = false;
            }
        }
        chosen.push((entry.unwrap(), tip));
    }
    if chosen.is_empty() {
        return None;
    }
    let covered = points.len() - uncovered.iter().filter(|&&u| u).count();
    Some(MultiPlan { setting: largest.setting, paths: chosen, covered_percent: 100.0 * covered as f64 / points.len().max(1) as f64 })
}

/// The shape index of a planned setting.
fn first_index(shapes: &[SettingShape], p: &Planned) -> usize {
    shapes.iter().position(|s| s.setting.power_w == p.setting.power_w && s.setting.time_min == p.setting.time_min).unwrap_or(0)
}
