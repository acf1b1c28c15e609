//! Post-processing and the lesion list.
//!
//! Clean-up follows what a reader would do with a raw network mask: the liver is its
//! largest connected piece (tumours and ablation zone count as liver for this); tumour
//! and zone voxels outside that piece are dropped; tumour components smaller than
//! `min_lesion_ml` are returned to the liver (noise, not lesions).

use isotherm_sdk::abi::Geometry;
use isotherm_sdk::volume::components::{Connectivity, label, largest};
use isotherm_sdk::volume::VoxelBox;
use isotherm_sdk::volume::resample::Voxels;

/// Output label values: those of the phantom's truth maps (one definition), so results
/// and truth compare directly.
pub use isotherm_phantom::labels::{ABLATION_ZONE, LIVER, TUMOUR};

/// Class index of each structure in the network's output.
#[derive(Debug, Clone, Copy)]
pub struct ClassIndex {
    pub liver: u8,
    pub tumour: Option<u8>,
    pub zone: Option<u8>,
}

/// Cleaned label map (values [`LIVER`], [`TUMOUR`], [`ABLATION_ZONE`]) and the lesion map
/// (lesion n has value n, largest first).
pub struct Cleaned {
    pub labels: Vec<u16>,
    pub lesions: Vec<u16>,
    pub lesion_count: usize,
}

/// Takes the classes by value and frees each full-size array as soon as it is used:
/// at 512 x 512 x 300 every mask is 79 MB and a component labelling 315 MB.
pub fn clean(classes: Vec<u8>, geometry: &Geometry, index: ClassIndex, min_lesion_ml: f64) -> Cleaned {
    let dims = geometry.dims_usize();
    let is = |c: u8, want: Option<u8>| want == Some(c);
    // Components are found inside each structure's box (the numbering is the same: the
    // box keeps scan order), not over the whole scan.
    let organ = {
        let mut any: Vec<bool> = classes.iter().map(|&c| c == index.liver || is(c, index.tumour) || is(c, index.zone)).collect();
        if let Some(b) = VoxelBox::around(dims, |n| any[n]) {
            let local = largest(&b.cut(&any, dims), b.dims(), Connectivity::Six);
            any.fill(false);
            b.paste(&local, &mut any, dims);
        }
        any
    };
    let mut labels: Vec<u16> = classes
        .iter()
        .zip(&organ)
        .map(|(&c, &inside)| match inside {
            false => 0,
            true if is(c, index.tumour) => TUMOUR,
            true if is(c, index.zone) => ABLATION_ZONE,
            true => LIVER,
        })
        .collect();
    drop((classes, organ));
    let mut lesions = vec![0u16; labels.len()];
    let min_voxels = (min_lesion_ml * 1000.0 / geometry.voxel_volume_mm3()).ceil() as usize;
    let mut kept = 0;
    if let Some(b) = VoxelBox::around(dims, |n| labels[n] == TUMOUR) {
        let tumour: Vec<bool> = b.cut(&labels, dims).iter().map(|&l| l == TUMOUR).collect();
        let comps = label(&tumour, b.dims(), Connectivity::TwentySix);
        kept = comps.sizes.iter().take_while(|&&s| s >= min_voxels.max(1)).count();
        for (n, &c) in b.indices(dims).zip(&comps.labels) {
            if c == 0 {
                continue;
            }
            if (c as usize) <= kept {
                lesions[n] = c as u16;
            } else {
                labels[n] = LIVER;
            }
        }
    }
    Cleaned { labels, lesions, lesion_count: kept }
}

/// One row of the lesion table.
#[derive(Debug, Clone, PartialEq)]
pub struct Lesion {
    pub id: u16,
    pub voxels: usize,
    pub volume_ml: f64,
    /// Longest in-plane diameter over all axial slices (RECIST), and the longest diameter
    /// perpendicular to it on the same slice, mm.
    pub long_axis_mm: f64,
    pub short_axis_mm: f64,
    pub centroid_mm: [f64; 3],
    pub mean_hu: f64,
}

/// Measures every lesion of a lesion map (values 1..=count).
pub fn measure<D: Voxels + ?Sized>(lesions: &[u16], count: usize, ct: &D, geometry: &Geometry) -> Vec<Lesion> {
    let [nx, ny, nz] = geometry.dims_usize();
    let mut out: Vec<Lesion> = (1..=count as u16)
        .map(|id| Lesion { id, voxels: 0, volume_ml: 0.0, long_axis_mm: 0.0, short_axis_mm: 0.0, centroid_mm: [0.0; 3], mean_hu: 0.0 })
        .collect();
    for (n, &l) in lesions.iter().enumerate() {
        if l == 0 || l as usize > count {
            continue;
        }
        let e = &mut out[l as usize - 1];
        let [i, j, k] = geometry.ijk(n);
        let p = geometry.index_to_world([i as f64, j as f64, k as f64]);
        e.voxels += 1;
        e.mean_hu += ct.value(n) as f64;
        for a in 0..3 {
            e.centroid_mm[a] += p[a];
        }
    }
    // Diameters per slice from the lesion's boundary voxels in that slice.
    let in_plane = (geometry.spacing[0] + geometry.spacing[1]) / 2.0;
    let mut points: Vec<Vec<[f64; 3]>> = vec![Vec::new(); count];
    for k in 0..nz {
        for p in points.iter_mut() {
            p.clear();
        }
        for j in 0..ny {
            for i in 0..nx {
                let n = i + nx * (j + ny * k);
                let l = lesions[n] as usize;
                if l == 0 || l > count {
                    continue;
                }
                let edge = i == 0 || j == 0 || i + 1 == nx || j + 1 == ny || [n - 1, n + 1, n - nx, n + nx].iter().any(|&m| lesions[m] as usize != l);
                if edge {
                    points[l - 1].push(geometry.index_to_world([i as f64, j as f64, k as f64]));
                }
            }
        }
        for (l, pts) in points.iter().enumerate() {
            if pts.is_empty() {
                continue;
            }
            let (long, short) = axes(pts);
            // Voxel centres span one voxel less than the lesion.
            let (long, short) = (long + in_plane, short + in_plane);
            if long > out[l].long_axis_mm {
                out[l].long_axis_mm = long;
                out[l].short_axis_mm = short;
            }
        }
    }
    let voxel_ml = geometry.voxel_volume_mm3() / 1000.0;
    for e in out.iter_mut().filter(|e| e.voxels > 0) {
        let v = e.voxels as f64;
        e.volume_ml = v * voxel_ml;
        e.mean_hu /= v;
        e.centroid_mm = e.centroid_mm.map(|c| c / v);
    }
    out
}

/// Longest distance between points, and the extent perpendicular to that direction
/// within the points' plane.
fn axes(pts: &[[f64; 3]]) -> (f64, f64) {
    let mut best = (0.0, 0, 0);
    for a in 0..pts.len() {
        for b in a + 1..pts.len() {
            let d = ((pts[a][0] - pts[b][0]).powi(2) + (pts[a][1] - pts[b][1]).powi(2) + (pts[a][2] - pts[b][2]).powi(2)).sqrt();
            if d > best.0 {
                best = (d, a, b);
            }
        }
    }
    if best.0 == 0.0 {
        return (0.0, 0.0);
    }
    let (pa, pb) = (pts[best.1], pts[best.2]);
    let axis = [0, 1, 2].map(|c| (pb[c] - pa[c]) / best.0);
    // Perpendicular extent: distance of each point from the long axis line, split by side.
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    let normal = plane_normal(pts, pa, axis);
    let side = cross(normal, axis);
    for p in pts {
        let t = (0..3).map(|c| (p[c] - pa[c]) * side[c]).sum::<f64>();
        lo = lo.min(t);
        hi = hi.max(t);
    }
    (best.0, hi - lo)
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

/// Normal of the plane the (coplanar) points lie in: from the point farthest off the axis.
fn plane_normal(pts: &[[f64; 3]], origin: [f64; 3], axis: [f64; 3]) -> [f64; 3] {
    let mut best = ([0.0, 0.0, 1.0], 0.0);
    for p in pts {
        let d = [0, 1, 2].map(|c| p[c] - origin[c]);
        let n = cross(axis, d);
        let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        if len > best.1 {
            best = (n.map(|c| c / len), len);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disc_lesion(geometry: &Geometry, centre: [f64; 3], rx: f64, ry: f64, rz: f64) -> Vec<u16> {
        (0..geometry.len())
            .map(|n| {
                let [i, j, k] = geometry.ijk(n);
                let p = geometry.index_to_world([i as f64, j as f64, k as f64]);
                let q = [(p[0] - centre[0]) / rx, (p[1] - centre[1]) / ry, (p[2] - centre[2]) / rz];
                (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] <= 1.0) as u16
            })
            .collect()
    }

    #[test]
    fn ellipsoid_axes_volume_and_centroid() {
        // Semi-axes 15 x 9 x 6 mm on an anisotropic grid: long axis 30 mm, short 18 mm.
        let g = Geometry::axis_aligned([80, 80, 30], [0.7, 0.7, 2.0], [-28.0, -28.0, -30.0]);
        let lesions = disc_lesion(&g, [1.0, -2.0, 0.5], 15.0, 9.0, 6.0);
        let ct = vec![40.0f32; g.len()];
        let m = measure(&lesions, 1, &ct, &g);
        let e = &m[0];
        assert!((e.long_axis_mm - 30.0).abs() < 1.0, "long {}", e.long_axis_mm);
        assert!((e.short_axis_mm - 18.0).abs() < 1.0, "short {}", e.short_axis_mm);
        let truth_ml = 4.0 / 3.0 * std::f64::consts::PI * 15.0 * 9.0 * 6.0 / 1000.0;
        assert!((e.volume_ml - truth_ml).abs() / truth_ml < 0.05, "{} vs {truth_ml}", e.volume_ml);
        for (a, c) in [1.0, -2.0, 0.5].iter().enumerate() {
            assert!((e.centroid_mm[a] - c).abs() < 0.3, "{:?}", e.centroid_mm);
        }
        assert_eq!(e.mean_hu, 40.0);
    }

    #[test]
    fn clean_keeps_the_largest_liver_and_drops_specks() {
        let g = Geometry::axis_aligned([30, 20, 10], [1.0, 1.0, 1.0], [0.0; 3]);
        let mut classes = vec![0u8; g.len()];
        let at = |i: usize, j: usize, k: usize| i + 30 * (j + 20 * k);
        for k in 1..9 {
            for j in 1..19 {
                for i in 1..20 {
                    classes[at(i, j, k)] = 1;
                }
            }
        }
        // A lesion of 27 voxels, a 1-voxel speck inside the liver, and a "tumour" floating
        // outside the liver.
        for k in 3..6 {
            for j in 5..8 {
                for i in 5..8 {
                    classes[at(i, j, k)] = 2;
                }
            }
        }
        classes[at(15, 15, 5)] = 2;
        classes[at(26, 10, 5)] = 2;
        let index = ClassIndex { liver: 1, tumour: Some(2), zone: Some(3) };
        let c = clean(classes.clone(), &g, index, 0.01);
        assert_eq!(c.lesion_count, 1);
        assert_eq!(c.labels[at(6, 6, 4)], TUMOUR);
        assert_eq!(c.lesions[at(6, 6, 4)], 1);
        assert_eq!(c.labels[at(15, 15, 5)], LIVER);
        assert_eq!(c.labels[at(26, 10, 5)], 0);
    }
}
