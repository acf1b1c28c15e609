//! Zone-based families (IBSI-1 3.8, 3.9): grey level size zones and distance zones.
//! A zone is a connected set of voxels of one grey level (26-connected in 3D,
//! 8-connected in 2D); its distance is the smallest distance of its voxels to the
//! ROI's edge (city block: 6-/4-connected steps, 1 on the edge).

use super::glrlm::{CountMatrix, emphasis_features};
use super::{Features, Roi, average, insert_suffixed};

const SZM: [&str; 16] = ["sze", "lze", "lgze", "hgze", "szlge", "szhge", "lzlge", "lzhge", "glnu", "glnu_norm", "zsnu", "zsnu_norm", "z_perc", "gl_var", "zs_var", "zs_entr"];
const DZM: [&str; 16] = ["sde", "lde", "lgze", "hgze", "sdlge", "sdhge", "ldlge", "ldhge", "glnu", "glnu_norm", "zdnu", "zdnu_norm", "z_perc", "gl_var", "zd_var", "zd_entr"];

/// Zones of the ROI (or one slice): (grey level, voxel positions).
fn zones(roi: &Roi, slice: Option<usize>) -> Vec<(u32, Vec<[i64; 3]>)> {
    let mut seen = vec![false; roi.levels.len()];
    let mut out = Vec::new();
    let dk = if slice.is_some() { 0 } else { 1 };
    for start in roi.positions(slice) {
        let s = roi.index(start[0] as usize, start[1] as usize, start[2] as usize);
        if seen[s] {
            continue;
        }
        let level = roi.levels[s];
        let mut stack = vec![start];
        let mut members = Vec::new();
        seen[s] = true;
        while let Some(p) = stack.pop() {
            members.push(p);
            for z in -dk..=dk {
                for y in -1..=1i64 {
                    for x in -1..=1i64 {
                        let q = [p[0] + x, p[1] + y, p[2] + z];
                        if roi.level_at(q) != level {
                            continue;
                        }
                        let qi = roi.index(q[0] as usize, q[1] as usize, q[2] as usize);
                        if !seen[qi] {
                            seen[qi] = true;
                            stack.push(q);
                        }
                    }
                }
            }
        }
        out.push((level, members));
    }
    out
}

/// City-block distance of each ROI voxel to the nearest non-ROI voxel (the grid's
/// outside counts as non-ROI), in-plane only for 2D.
/// The distances are to the morphological mask's edge when the ROI has one (IBSI: the
/// intensity mask may have holes after re-segmentation that are not the ROI's edge).
fn edge_distance(roi: &Roi, planar: bool) -> Vec<u32> {
    let mask = roi.morphological.as_deref().unwrap_or(&roi.mask);
    let mut d: Vec<u32> = mask.iter().map(|&m| if m { u32::MAX } else { 0 }).collect();
    let positions: Vec<[i64; 3]> = (0..mask.len()).filter(|&i| mask[i]).map(|i| {
        let (nx, ny) = (roi.dims[0], roi.dims[1]);
        [(i % nx) as i64, ((i / nx) % ny) as i64, (i / (nx * ny)) as i64]
    }).collect();
    let steps: Vec<[i64; 3]> = if planar { vec![[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]] } else { vec![[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]] };
    let mut changed = true;
    while changed {
        changed = false;
        for p in &positions {
            let i = roi.index(p[0] as usize, p[1] as usize, p[2] as usize);
            let best = steps
                .iter()
                .map(|s| {
                    let q = [p[0] + s[0], p[1] + s[1], p[2] + s[2]];
                    if (0..3).any(|a| q[a] < 0 || q[a] >= roi.dims[a] as i64) { 0 } else { d[roi.index(q[0] as usize, q[1] as usize, q[2] as usize)] }
                })
                .min()
                .unwrap_or(0)
                .saturating_add(1);
            if best < d[i] {
                d[i] = best;
                changed = true;
            }
        }
    }
    d
}

fn size_matrix(roi: &Roi, slice: Option<usize>) -> CountMatrix {
    let mut m = CountMatrix::new(roi.ng as usize, 1);
    m.nv = roi.positions(slice).len() as f64;
    for (level, members) in zones(roi, slice) {
        m.add(level, members.len(), 1.0);
    }
    m
}

fn distance_matrix(roi: &Roi, slice: Option<usize>, dist: &[u32]) -> CountMatrix {
    let mut m = CountMatrix::new(roi.ng as usize, 1);
    m.nv = roi.positions(slice).len() as f64;
    for (level, members) in zones(roi, slice) {
        let d = members.iter().map(|p| dist[roi.index(p[0] as usize, p[1] as usize, p[2] as usize)]).min().unwrap_or(1);
        m.add(level, d as usize, 1.0);
    }
    m
}

/// 2D (per slice, averaged), 2.5D (slices merged) and 3D, those of `roi.texture`, with
/// `build` making a matrix.
fn three_ways(roi: &Roi, out: &mut Features, prefix: &str, names: &[&str; 16], build: impl Fn(Option<usize>, bool) -> CountMatrix) {
    if roi.texture.planar() {
        let slices: Vec<usize> = (0..roi.dims[2]).filter(|&k| roi.count_in_slice(k) > 0).collect();
        let per: Vec<CountMatrix> = slices.iter().map(|&k| build(Some(k), true)).collect();
        insert_suffixed(out, average(&per.iter().filter_map(|m| emphasis_features(m, prefix, names, None)).collect::<Vec<_>>()), "_2D");
        if let Some(f) = emphasis_features(&CountMatrix::merged(&per), prefix, names, None) {
            insert_suffixed(out, f, "_2_5D");
        }
    }
    if roi.texture.volumetric()
        && let Some(f) = emphasis_features(&build(None, false), prefix, names, None)
    {
        insert_suffixed(out, f, "_3D");
    }
}

pub fn size_zone_features(roi: &Roi, out: &mut Features) {
    three_ways(roi, out, "szm", &SZM, |slice, _| size_matrix(roi, slice));
}

pub fn distance_zone_features(roi: &Roi, out: &mut Features) {
    // Each distance map only where its aggregation is computed.
    let planar = if roi.texture.planar() { edge_distance(roi, true) } else { Vec::new() };
    let volume = if roi.texture.volumetric() { edge_distance(roi, false) } else { Vec::new() };
    three_ways(roi, out, "dzm", &DZM, |slice, is_2d| distance_matrix(roi, slice, if is_2d { &planar } else { &volume }));
}
