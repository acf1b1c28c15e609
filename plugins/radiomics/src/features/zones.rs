//! Zone-based families (IBSI-1 3.8, 3.9): grey level size zones and distance zones.
//! A zone is a connected set of voxels of one grey level (26-connected in 3D,
//! 8-connected in 2D); its distance is the smallest distance of its voxels to the
//! ROI's edge (city block: 6-/4-connected steps, 1 on the edge).

use super::glrlm::{CountMatrix, emphasis_features};
use super::{Features, Roi, average, insert_suffixed};

const SZM: [&str; 16] = ["sze", "lze", "lgze", "hgze", "szlge", "szhge", "lzlge", "lzhge", "glnu", "glnu_norm", "zsnu", "zsnu_norm", "z_perc", "gl_var", "zs_var", "zs_entr"];
const DZM: [&str; 16] = ["sde", "lde", "lgze", "hgze", "sdlge", "sdhge", "ldlge", "ldhge", "glnu", "glnu_norm", "zdnu", "zdnu_norm", "z_perc", "gl_var", "zd_var", "zd_entr"];

/// One zone: its grey level, the axial slice it starts in (all of it, for planar
/// zones), its voxel count and the smallest edge distance among its voxels.
struct Zone {
    level: u32,
    slice: usize,
    size: usize,
    distance: u32,
}

/// The ROI's zones, 8-connected within each slice (`planar`) or 26-connected, in scan
/// order of their first voxel (so planar zones come grouped by slice), with each zone's
/// smallest value of `distance`.
fn zones(roi: &Roi, planar: bool, distance: &[u32]) -> Vec<Zone> {
    // On the padded grid: the border's level 0 stops every zone without a bounds check.
    let steps = roi.neighbour_steps(planar);
    let mut seen = vec![false; roi.padded.len()];
    let mut stack = Vec::new();
    let mut out = Vec::new();
    for &start in &roi.voxels {
        if seen[start] {
            continue;
        }
        let level = roi.padded[start];
        seen[start] = true;
        stack.push(start);
        let mut zone = Zone { level, slice: roi.unpadded(start)[2], size: 0, distance: u32::MAX };
        while let Some(p) = stack.pop() {
            zone.size += 1;
            let [i, j, k] = roi.unpadded(p);
            zone.distance = zone.distance.min(distance[roi.index(i, j, k)]);
            for &d in &steps {
                let q = p.wrapping_add_signed(d);
                if !seen[q] && roi.padded[q] == level {
                    seen[q] = true;
                    stack.push(q);
                }
            }
        }
        out.push(zone);
    }
    out
}

/// City-block distance of each ROI voxel to the nearest non-ROI voxel (the grid's
/// outside counts as non-ROI), in-plane only for 2D: two raster passes (forward with
/// the -x, -y, -z neighbours, backward with the +), exact for this metric.
/// The distances are to the morphological mask's edge when the ROI has one (IBSI: the
/// intensity mask may have holes after re-segmentation that are not the ROI's edge).
fn edge_distance(roi: &Roi, planar: bool) -> Vec<u32> {
    let mask = roi.morphological.as_deref().unwrap_or(&roi.mask);
    let [nx, ny, nz] = roi.dims;
    let plane = nx * ny;
    let mut d: Vec<u32> = mask.iter().map(|&m| if m { u32::MAX } else { 0 }).collect();
    for s in 0..d.len() {
        if d[s] == 0 {
            continue;
        }
        let (i, j, k) = (s % nx, (s / nx) % ny, s / plane);
        let mut best = if i > 0 { d[s - 1] } else { 0 };
        best = best.min(if j > 0 { d[s - nx] } else { 0 });
        if !planar {
            best = best.min(if k > 0 { d[s - plane] } else { 0 });
        }
        d[s] = d[s].min(best.saturating_add(1));
    }
    for s in (0..d.len()).rev() {
        if d[s] == 0 {
            continue;
        }
        let (i, j, k) = (s % nx, (s / nx) % ny, s / plane);
        let mut best = if i + 1 < nx { d[s + 1] } else { 0 };
        best = best.min(if j + 1 < ny { d[s + nx] } else { 0 });
        if !planar {
            best = best.min(if k + 1 < nz { d[s + plane] } else { 0 });
        }
        d[s] = d[s].min(best.saturating_add(1));
    }
    d
}

/// The count matrix of `zones` with column `column(zone)` (1-based).
fn matrix(roi: &Roi, zones: &[Zone], column: fn(&Zone) -> usize) -> CountMatrix {
    let mut m = CountMatrix::new(roi.ng as usize, zones.iter().map(column).max().unwrap_or(1));
    for z in zones {
        m.add(z.level, column(z), 1.0);
    }
    m.nv = zones.iter().map(|z| z.size).sum::<usize>() as f64;
    m
}

/// Size zones (GLSZM) and distance zones (GLDZM) in the aggregations of
/// `roi.texture`: 2D (per slice, averaged), 2.5D (slices merged) and 3D. The two
/// families share their zones, so each aggregation labels the ROI once.
pub fn zone_features(roi: &Roi, out: &mut Features) {
    let families: [(&str, &[&str; 16], fn(&Zone) -> usize); 2] = [("szm", &SZM, |z| z.size), ("dzm", &DZM, |z| z.distance as usize)];
    if roi.texture.planar() {
        let zones = zones(roi, true, &edge_distance(roi, true));
        let slices: Vec<&[Zone]> = zones.chunk_by(|a, b| a.slice == b.slice).collect();
        for (prefix, names, column) in families {
            let per: Vec<CountMatrix> = slices.iter().map(|z| matrix(roi, z, column)).collect();
            insert_suffixed(out, average(&per.iter().filter_map(|m| emphasis_features(m, prefix, names, None)).collect::<Vec<_>>()), "_2D");
            if let Some(f) = emphasis_features(&CountMatrix::merged(&per), prefix, names, None) {
                insert_suffixed(out, f, "_2_5D");
            }
        }
    }
    if roi.texture.volumetric() {
        let zones = zones(roi, false, &edge_distance(roi, false));
        for (prefix, names, column) in families {
            if let Some(f) = emphasis_features(&matrix(roi, &zones, column), prefix, names, None) {
                insert_suffixed(out, f, "_3D");
            }
        }
    }
}
