//! Straight antenna paths from the skin to a target through the patient's own anatomy:
//! every skin point within the antenna's reach is a candidate; a path is refused where it
//! crosses a forbidden structure (bone, air-filled lung or bowel, gallbladder, bowel, or a
//! large vessel dilated by a margin) or is longer than the antenna; the rest are scored on
//! length, vessel clearance and the tumour's predicted coverage and margin with the
//! setting's zone (a [`ZoneShape`]), and the Pareto front of those is returned.

use isotherm_sdk::abi::{Geometry, LabelMap, Volume};
use isotherm_sdk::volume::{components, edt, resample};
use rayon::prelude::*;

use crate::anatomy::{SINK_MIN_DIAMETER_MM, Structure, structure_of};
use crate::vec3::{along_across, dist, sub, unit};

/// Bone on CT (cancellous bone from about 250 HU; cortical 700 and more).
pub const BONE_HU: f32 = 250.0;
/// Air: outside the body, in the lungs and in bowel gas.
pub const AIR_HU: f32 = -400.0;

/// Why a voxel may not be crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Forbidden {
    Free = 0,
    Bone = 1,
    Air = 2,
    Gallbladder = 3,
    Bowel = 4,
    Vessel = 5,
}

impl Forbidden {
    pub fn name(self) -> &'static str {
        match self {
            Forbidden::Free => "free",
            Forbidden::Bone => "bone",
            Forbidden::Air => "air (lung, pleura or bowel gas)",
            Forbidden::Gallbladder => "gallbladder",
            Forbidden::Bowel => "bowel",
            Forbidden::Vessel => "large vessel",
        }
    }
    fn from_u8(v: u8) -> Forbidden {
        [Forbidden::Free, Forbidden::Bone, Forbidden::Air, Forbidden::Gallbladder, Forbidden::Bowel, Forbidden::Vessel][v as usize]
    }
}

/// Structures a label table names that a path must avoid, beyond `anatomy`'s.
pub fn forbidden_of(name: &str) -> Option<Forbidden> {
    let n = name.to_ascii_lowercase();
    if n.contains("gall") {
        Some(Forbidden::Gallbladder)
    } else if ["bowel", "colon", "intestin", "duoden", "stomach"].iter().any(|w| n.contains(w)) {
        Some(Forbidden::Bowel)
    } else if ["bone", "rib", "spine", "vertebra"].iter().any(|w| n.contains(w)) {
        Some(Forbidden::Bone)
    } else if ["lung", "pleura"].iter().any(|w| n.contains(w)) {
        Some(Forbidden::Air)
    } else {
        None
    }
}

/// A stretch of a path inside a forbidden structure, world mm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crossing {
    pub what: Forbidden,
    pub from: [f64; 3],
    pub to: [f64; 3],
}

/// The forbidden map, the distance to large vessels and the skin, on one grid.
pub struct Obstacles {
    pub geometry: Geometry,
    forbidden: Vec<u8>,
    /// Distance from each voxel to the lumen of the nearest large vessel, mm.
    vessel_distance: Vec<f32>,
    /// Skin points (world mm): body voxels with a face neighbour outside the body.
    pub skin: Vec<[f64; 3]>,
    /// Where each forbidden structure came from.
    pub sources: Vec<(Forbidden, String)>,
    outside: Vec<bool>,
}

impl Obstacles {
    fn voxel(&self, p: [f64; 3]) -> Option<usize> {
        let d = self.geometry.dims_usize();
        let c = self.geometry.world_to_index(p).map(|v| v.round());
        if c.iter().zip(d).any(|(&v, n)| v < 0.0 || v >= n as f64) {
            return None;
        }
        Some(c[0] as usize + d[0] * (c[1] as usize + d[1] * c[2] as usize))
    }

    /// The straight path from `entry` to `tip` at half-voxel steps, from one step in
    /// (the skin voxel itself is where the path starts): each step's fraction of the
    /// way and its voxel, `None` outside the grid.
    fn steps(&self, entry: [f64; 3], tip: [f64; 3]) -> impl Iterator<Item = (f64, Option<usize>)> + '_ {
        let step = 0.5 * self.geometry.spacing[0];
        let n = (dist(entry, tip) / step).ceil().max(1.0) as usize;
        (1..=n).map(move |s| {
            let f = s as f64 / n as f64;
            (f, self.voxel([0, 1, 2].map(|a| entry[a] + f * (tip[a] - entry[a]))))
        })
    }

    /// Walks the straight path from `entry` to `tip`: the first forbidden structure it
    /// meets, or its closest approach to a large vessel (mm).
    pub fn walk(&self, entry: [f64; 3], tip: [f64; 3]) -> Result<f64, Forbidden> {
        let mut clearance = f64::INFINITY;
        for (_, i) in self.steps(entry, tip) {
            let Some(i) = i else { continue };
            let forbidden = Forbidden::from_u8(self.forbidden[i]);
            if forbidden != Forbidden::Free {
                return Err(forbidden);
            }
            clearance = clearance.min(self.vessel_distance[i] as f64);
        }
        Ok(clearance)
    }

    /// Every stretch of the path from `entry` to `tip` that crosses a forbidden
    /// structure, entry side first, as world points: what a trainee sees in red.
    pub fn crossings(&self, entry: [f64; 3], tip: [f64; 3]) -> Vec<Crossing> {
        let at = |f: f64| [0, 1, 2].map(|a| entry[a] + f * (tip[a] - entry[a]));
        let mut out: Vec<Crossing> = Vec::new();
        let mut previous = 0.0;
        let mut open: Option<(Forbidden, f64)> = None;
        for (f, i) in self.steps(entry, tip) {
            let here = i.map(|i| Forbidden::from_u8(self.forbidden[i])).unwrap_or(Forbidden::Free);
            match open {
                Some((what, _)) if what == here => {}
                _ => {
                    if let Some((what, start)) = open.take() {
                        out.push(Crossing { what, from: at(start), to: at(previous) });
                    }
                    if here != Forbidden::Free {
                        open = Some((here, previous));
                    }
                }
            }
            previous = f;
        }
        if let Some((what, start)) = open {
            out.push(Crossing { what, from: at(start), to: tip });
        }
        out
    }

    /// Where a line from `inside` (in the body) along `direction` leaves the body: the
    /// last body point before the outside air, within `reach` mm.
    pub fn skin_along(&self, inside: [f64; 3], direction: [f64; 3], reach: f64) -> Option<[f64; 3]> {
        let step = 0.5 * self.geometry.spacing[0];
        let mut last = inside;
        let mut t = 0.0;
        while t <= reach {
            let p = [0, 1, 2].map(|a| inside[a] + t * direction[a]);
            match self.voxel(p) {
                Some(i) if !self.outside[i] => last = p,
                _ => return Some(last),
            }
            t += step;
        }
        None
    }
}

/// Builds the obstacles on an isotropic grid of `h_mm` covering the CT.
pub fn obstacles(ct: &Volume, labels: Option<&LabelMap>, vessel_margin_mm: f64, h_mm: f64) -> Obstacles {
    let g = &ct.geometry;
    let extent = [0, 1, 2].map(|a| (g.dims[a] as f64 - 1.0) * g.spacing[a]);
    let dims = extent.map(|e| (e / h_mm).floor() as u32 + 1);
    let grid = Geometry { dims, spacing: [h_mm; 3], origin: g.origin, direction: g.direction };
    let n = grid.len();
    let d = grid.dims_usize();
    let hu = resample::resample_linear(&ct.data, g, &grid, -1000.0);
    let mut forbidden = vec![0u8; n];
    let mut sources = Vec::new();
    // Outside the body: the air connected to the grid's border; inside it, air is lung or gas.
    let air: Vec<bool> = hu.iter().map(|&v| v < AIR_HU).collect();
    let comps = components::label(&air, d, components::Connectivity::Six);
    let mut border = vec![false; comps.count() + 1];
    for (i, &c) in comps.labels.iter().enumerate() {
        let [x, y, z] = grid.ijk(i);
        if c != 0 && (x == 0 || y == 0 || z == 0 || x == d[0] - 1 || y == d[1] - 1 || z == d[2] - 1) {
            border[c as usize] = true;
        }
    }
    let outside: Vec<bool> = comps.labels.iter().map(|&c| c != 0 && border[c as usize]).collect();
    let mut vessel = vec![false; n];
    let (mut labelled_bone, mut labelled_air, mut labelled_vessels) = (false, false, false);
    if let Some(map) = labels {
        let mut lut = vec![(Forbidden::Free, false); 65536];
        for e in map.table.iter() {
            let f = forbidden_of(e.name.as_str()).unwrap_or(Forbidden::Free);
            let v = structure_of(e.name.as_str()) == Some(Structure::Vessel);
            lut[e.value as usize] = (f, v);
            if f != Forbidden::Free {
                sources.push((f, format!("label map ('{}')", e.name)));
            }
            labelled_bone |= f == Forbidden::Bone;
            labelled_air |= f == Forbidden::Air;
            labelled_vessels |= v;
        }
        let on_grid = resample::resample_nearest(&map.labels, &map.geometry, &grid);
        for (i, &v) in on_grid.iter().enumerate() {
            let (f, is_vessel) = lut[v as usize];
            forbidden[i] = f as u8;
            vessel[i] = is_vessel;
        }
    }
    for i in 0..n {
        if forbidden[i] == 0 && hu[i] >= BONE_HU {
            forbidden[i] = Forbidden::Bone as u8;
        } else if forbidden[i] == 0 && air[i] && !outside[i] {
            forbidden[i] = Forbidden::Air as u8;
        }
    }
    if !labelled_bone {
        sources.push((Forbidden::Bone, format!("CT threshold (>= {BONE_HU} HU)")));
    }
    if !labelled_air {
        sources.push((Forbidden::Air, format!("CT threshold (< {AIR_HU} HU inside the body)")));
    }
    // Large vessels: the part of the vessel mask a 3 mm ball fits in, dilated by the margin.
    let (lumen, _) = crate::anatomy::large_vessel_lumen(&vessel, d, h_mm);
    let vessel_distance = edt::distance_to(&lumen, d, grid.spacing);
    if labelled_vessels {
        sources.push((Forbidden::Vessel, format!("label map, lumen of vessels >= {SINK_MIN_DIAMETER_MM} mm dilated by {vessel_margin_mm} mm")));
        for i in 0..n {
            if (vessel_distance[i] as f64) <= vessel_margin_mm + 0.5 * h_mm && forbidden[i] == 0 {
                forbidden[i] = Forbidden::Vessel as u8;
            }
        }
    } else {
        sources.push((Forbidden::Vessel, "none: no label map names vessels".into()));
    }
    let mut skin = Vec::new();
    for i in 0..n {
        if outside[i] {
            continue;
        }
        let [x, y, z] = grid.ijk(i);
        let neighbours = [(x > 0).then(|| i - 1), (x + 1 < d[0]).then(|| i + 1), (y > 0).then(|| i - d[0]), (y + 1 < d[1]).then(|| i + d[0]), (z > 0).then(|| i - d[0] * d[1]), (z + 1 < d[2]).then(|| i + d[0] * d[1])];
        if neighbours.iter().flatten().any(|&j| outside[j]) {
            skin.push(grid.index_to_world([x as f64, y as f64, z as f64]));
        }
    }
    Obstacles { geometry: grid, forbidden, vessel_distance, skin, sources, outside }
}

/// The zone of a setting in its own (z, r) frame, as a signed distance (mm, positive
/// inside) on a fine grid: z along the antenna from the zone's centre (positive towards
/// the entry), r from the axis.
#[derive(Debug, Clone)]
pub struct ZoneShape {
    pub step_mm: f64,
    pub nz: usize,
    pub nr: usize,
    /// z of row 0, mm.
    pub z0: f64,
    pub signed: Vec<f32>,
    /// Where the centre sits behind the antenna tip, mm.
    pub centre_behind_tip_mm: f64,
}

impl ZoneShape {
    /// From an inside test on (z, r), mm, over |z| <= `half_z` and r <= `max_r`.
    pub fn from_inside(inside: impl Fn(f64, f64) -> bool, half_z: f64, max_r: f64, step_mm: f64, centre_behind_tip_mm: f64) -> Self {
        let nz = (2.0 * half_z / step_mm).ceil() as usize + 1;
        let nr = (max_r / step_mm).ceil() as usize + 1;
        let z0 = -half_z;
        let mask: Vec<bool> = (0..nz * nr).map(|i| inside(z0 + (i / nr) as f64 * step_mm, (i % nr) as f64 * step_mm)).collect();
        let sd = edt::signed_distance(&mask, [nr, nz, 1], [step_mm, step_mm, 1.0]);
        // The SDK's signed distance is negative inside: margins are positive inside.
        ZoneShape { step_mm, nz, nr, z0, signed: sd.iter().map(|v| -v).collect(), centre_behind_tip_mm }
    }

    /// Signed distance (mm, positive inside) of a point at `z` along and `r` off the axis.
    #[inline]
    pub fn depth(&self, z: f64, r: f64) -> f32 {
        let (gz, gr) = ((z - self.z0) / self.step_mm, r / self.step_mm);
        if gz < 0.0 || gz > (self.nz - 1) as f64 || gr > (self.nr - 1) as f64 {
            // Outside the table: at least as far out as its edge.
            let edge_z = (z.abs() - (self.nz as f64 - 1.0) * self.step_mm / 2.0).max(0.0);
            let edge_r = (r - (self.nr as f64 - 1.0) * self.step_mm).max(0.0);
            return -((edge_z * edge_z + edge_r * edge_r).sqrt() as f32) - 1.0;
        }
        // Bilinear between the four nearest table entries.
        let (iz, ir) = ((gz as usize).min(self.nz - 2), (gr as usize).min(self.nr - 2));
        let (fz, fr) = ((gz - iz as f64) as f32, (gr - ir as f64) as f32);
        let at = |z: usize, r: usize| self.signed[z * self.nr + r];
        (at(iz, ir) * (1.0 - fr) + at(iz, ir + 1) * fr) * (1.0 - fz) + (at(iz + 1, ir) * (1.0 - fr) + at(iz + 1, ir + 1) * fr) * fz
    }
}

/// One candidate path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Path {
    pub entry: [f64; 3],
    pub tip: [f64; 3],
    pub length_mm: f64,
    /// Closest approach to a large vessel's lumen, mm (infinite when none).
    pub clearance_mm: f64,
    /// Predicted minimal margin and tumour coverage with the zone centred on the target.
    pub margin_mm: f64,
    pub covered_percent: f64,
}

/// Outcome of a search.
pub struct Search {
    pub evaluated: usize,
    pub feasible: usize,
    /// Refused candidates per reason.
    pub refused: Vec<(Forbidden, usize)>,
    pub too_long: usize,
    /// Non-dominated paths (shorter, clearer, larger margin, more covered), best margin first.
    pub front: Vec<Path>,
}

/// Searches straight paths to `target` (world mm, the zone's centre): `tumour_points`
/// (world mm) are the tumour's surface samples for the margin, `tumour_voxels` its voxel
/// centres for coverage. At most `max_candidates` skin points are tried (evenly spread).
pub fn search(obstacles: &Obstacles, target: [f64; 3], zone: &ZoneShape, tumour_points: &[[f64; 3]], tumour_voxels: &[[f64; 3]], max_length_mm: f64, max_candidates: usize) -> Search {
    let reach = max_length_mm - zone.centre_behind_tip_mm;
    let mut candidates: Vec<[f64; 3]> = obstacles.skin.iter().copied().filter(|p| dist(*p, target) <= reach).collect();
    let too_long = obstacles.skin.len() - candidates.len();
    if candidates.len() > max_candidates {
        let stride = candidates.len() as f64 / max_candidates as f64;
        candidates = (0..max_candidates).map(|i| candidates[(i as f64 * stride) as usize]).collect();
    }
    let results: Vec<Result<Path, Forbidden>> = candidates
        .par_iter()
        .map(|&entry| {
            let back = unit(sub(entry, target));
            let tip = [0, 1, 2].map(|a| target[a] - zone.centre_behind_tip_mm * back[a]);
            let length = dist(entry, tip);
            let clearance = obstacles.walk(entry, tip)?;
            let local = |p: &[f64; 3]| {
                let (z, r) = along_across(*p, target, back);
                zone.depth(z, r)
            };
            let margin = tumour_points.iter().map(local).fold(f32::INFINITY, f32::min) as f64;
            let covered = tumour_voxels.iter().filter(|p| local(p) > 0.0).count();
            Ok(Path { entry, tip, length_mm: length, clearance_mm: clearance, margin_mm: margin, covered_percent: 100.0 * covered as f64 / tumour_voxels.len().max(1) as f64 })
        })
        .collect();
    let mut refused: Vec<(Forbidden, usize)> = Vec::new();
    let mut feasible: Vec<Path> = Vec::new();
    for r in results {
        match r {
            Ok(p) => feasible.push(p),
            Err(f) => match refused.iter_mut().find(|(g, _)| *g == f) {
                Some(e) => e.1 += 1,
                None => refused.push((f, 1)),
            },
        }
    }
    let evaluated = candidates.len();
    let count = feasible.len();
    Search { evaluated, feasible: count, refused, too_long, front: pareto(feasible) }
}

/// The non-dominated paths: none other is at least as short, as clear, with as large a
/// margin and as much coverage, and better in one. Best margin first.
pub fn pareto(mut paths: Vec<Path>) -> Vec<Path> {
    // Vessel clearances beyond 30 mm do not matter; rounding keeps near-ties from filling the front.
    let key = |p: &Path| [p.length_mm, -p.clearance_mm.min(30.0), -p.margin_mm, -p.covered_percent];
    paths.sort_by(|a, b| key(a).partial_cmp(&key(b)).unwrap_or(std::cmp::Ordering::Equal));
    let mut front: Vec<Path> = Vec::new();
    for p in paths {
        let kp = key(&p);
        let dominated = front.iter().any(|q| {
            let kq = key(q);
            kq.iter().zip(&kp).all(|(a, b)| a <= b) && kq.iter().zip(&kp).any(|(a, b)| a < b)
        });
        if !dominated && !front.iter().any(|q| key(q) == kp) {
            front.push(p);
        }
    }
    front.sort_by(|a, b| b.margin_mm.total_cmp(&a.margin_mm).then(a.length_mm.total_cmp(&b.length_mm)));
    front
}
