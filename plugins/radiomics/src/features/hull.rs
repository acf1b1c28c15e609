//! 3D convex hull (incremental, with a horizon walk): volume and area for the
//! morphological convex-hull densities.

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}
fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Triangles (outward) of the convex hull of `pts`; empty when the points are flat.
///
/// Mesh vertices lie on a voxel lattice, so many are exactly coplanar; the points are
/// first moved by a deterministic jitter a million times smaller than the object
/// (general position: strict visibility tests then stay consistent), which changes
/// hull volume and area by far less than any reported digit.
pub fn convex_hull(input: &[[f64; 3]]) -> Vec<[usize; 3]> {
    let keep = line_extremes(input);
    let subset: Vec<[f64; 3]> = keep.iter().map(|&i| input[i]).collect();
    hull_of(&subset).into_iter().map(|f| f.map(|i| keep[i])).collect()
}

/// The points that are the first or last along every axis-parallel line through them.
/// A hull vertex cannot lie strictly between two other points of the set, so the rest
/// cannot be hull vertices; on a surface mesh's lattice-aligned vertices this drops
/// most of them before the (superlinear) hull search.
fn line_extremes(pts: &[[f64; 3]]) -> Vec<usize> {
    use std::collections::HashMap;
    let mut keep = vec![true; pts.len()];
    for axis in 0..3 {
        let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
        let mut ends: HashMap<(u64, u64), (usize, usize)> = HashMap::new();
        for (i, p) in pts.iter().enumerate() {
            let e = ends.entry((p[u].to_bits(), p[v].to_bits())).or_insert((i, i));
            if p[axis] < pts[e.0][axis] {
                e.0 = i;
            }
            if p[axis] > pts[e.1][axis] {
                e.1 = i;
            }
        }
        for (i, p) in pts.iter().enumerate() {
            let (lo, hi) = ends[&(p[u].to_bits(), p[v].to_bits())];
            if p[axis] != pts[lo][axis] && p[axis] != pts[hi][axis] {
                keep[i] = false;
            }
        }
    }
    (0..pts.len()).filter(|&i| keep[i]).collect()
}

fn hull_of(input: &[[f64; 3]]) -> Vec<[usize; 3]> {
    let n = input.len();
    if n < 4 {
        return vec![];
    }
    let scale = input.iter().flat_map(|p| p.iter()).fold(0.0f64, |m, v| m.max(v.abs())).max(1.0);
    let mut state = 0x2545F4914F6CDD1Du64;
    let mut jitter = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 1e-6 * scale
    };
    let pts: Vec<[f64; 3]> = input.iter().map(|p| [p[0] + jitter(), p[1] + jitter(), p[2] + jitter()]).collect();
    let pts = &pts[..];
    let eps = 0.0;
    // A first tetrahedron from extreme points.
    let a = (0..n).min_by(|&i, &j| pts[i][0].total_cmp(&pts[j][0])).unwrap();
    let b = (0..n).max_by(|&i, &j| dot(sub(pts[i], pts[a]), sub(pts[i], pts[a])).total_cmp(&dot(sub(pts[j], pts[a]), sub(pts[j], pts[a])))).unwrap();
    let ab = sub(pts[b], pts[a]);
    let c = (0..n).max_by(|&i, &j| { let ci = cross(ab, sub(pts[i], pts[a])); let cj = cross(ab, sub(pts[j], pts[a])); dot(ci, ci).total_cmp(&dot(cj, cj)) }).unwrap();
    let normal = cross(ab, sub(pts[c], pts[a]));
    let d = (0..n).max_by(|&i, &j| dot(normal, sub(pts[i], pts[a])).abs().total_cmp(&dot(normal, sub(pts[j], pts[a])).abs())).unwrap();
    if dot(normal, sub(pts[d], pts[a])).abs() <= eps {
        return vec![];
    }
    let mut faces: Vec<[usize; 3]> = vec![[a, b, c], [a, b, d], [a, c, d], [b, c, d]];
    let centre = [0, 1, 2].map(|k| (pts[a][k] + pts[b][k] + pts[c][k] + pts[d][k]) / 4.0);
    let orient = |f: [usize; 3]| {
        let nrm = cross(sub(pts[f[1]], pts[f[0]]), sub(pts[f[2]], pts[f[0]]));
        if dot(nrm, sub(pts[f[0]], centre)) < 0.0 { [f[0], f[2], f[1]] } else { f }
    };
    faces = faces.into_iter().map(orient).collect();
    // Random insertion order keeps the expected work near O(n log n); raster-ordered
    // points (mesh vertices) would make most faces visible again and again.
    let mut order: Vec<usize> = (0..n).filter(|p| ![a, b, c, d].contains(p)).collect();
    let mut state = 0x9E3779B97F4A7C15u64;
    for i in (1..order.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    for p in order {
        let visible: Vec<bool> = faces
            .iter()
            .map(|f| dot(cross(sub(pts[f[1]], pts[f[0]]), sub(pts[f[2]], pts[f[0]])), sub(pts[p], pts[f[0]])) > eps)
            .collect();
        if !visible.iter().any(|&v| v) {
            continue;
        }
        // Horizon: edges of visible faces whose reverse belongs to no visible face.
        let mut edges: std::collections::HashSet<[usize; 2]> = std::collections::HashSet::new();
        for (f, _) in faces.iter().zip(&visible).filter(|(_, v)| **v) {
            for e in 0..3 {
                edges.insert([f[e], f[(e + 1) % 3]]);
            }
        }
        let mut horizon: Vec<[usize; 2]> = edges.iter().copied().filter(|e| !edges.contains(&[e[1], e[0]])).collect();
        // In a fixed order, not the set's: the same faces in the same order every run, so
        // the hull's volume and area are the same to the last bit.
        horizon.sort_unstable();
        faces = faces.into_iter().zip(visible).filter(|(_, v)| !v).map(|(f, _)| f).collect();
        for e in horizon {
            faces.push([e[0], e[1], p]);
        }
    }
    faces
}

/// (volume, area) of a closed, outward triangle set.
pub fn volume_area(pts: &[[f64; 3]], faces: &[[usize; 3]]) -> (f64, f64) {
    let (mut v, mut a) = (0.0, 0.0);
    for f in faces {
        let (p, q, r) = (pts[f[0]], pts[f[1]], pts[f[2]]);
        v += dot(p, cross(q, r)) / 6.0;
        let c = cross(sub(q, p), sub(r, p));
        a += 0.5 * dot(c, c).sqrt();
    }
    (v, a)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hull_of_a_cube_with_interior_points() {
        let mut pts = vec![];
        for x in [0.0, 2.0] {
            for y in [0.0, 2.0] {
                for z in [0.0, 2.0] {
                    pts.push([x, y, z]);
                }
            }
        }
        pts.push([1.0, 1.0, 1.0]);
        pts.push([1.0, 0.0, 1.0]); // on a face
        let faces = super::convex_hull(&pts);
        let (v, a) = super::volume_area(&pts, &faces);
        assert!((v - 8.0).abs() < 1e-4 && (a - 24.0).abs() < 1e-4, "{v} {a}");
    }

    #[test]
    fn hull_of_a_lattice_stays_small_and_exact() {
        // Every point of a 9^3 lattice: massively coplanar, the case that breaks naive
        // incremental hulls. A hull has at most 2n - 4 faces.
        let pts: Vec<[f64; 3]> = (0..729).map(|n| [(n % 9) as f64, ((n / 9) % 9) as f64, (n / 81) as f64]).collect();
        let faces = super::convex_hull(&pts);
        assert!(faces.len() <= 2 * pts.len() - 4, "{} faces", faces.len());
        let (v, a) = super::volume_area(&pts, &faces);
        assert!((v - 512.0).abs() < 1e-3 && (a - 384.0).abs() < 1e-3, "{v} {a}");
    }
}
