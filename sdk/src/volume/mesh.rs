//! Isosurfaces to triangle meshes in world millimetres, and mesh utilities.
//!
//! Surface extraction is marching *tetrahedra*, the marching-cubes variant that splits
//! each cube into six tetrahedra around its main diagonal (Freudenthal/Kuhn split).
//! It needs no 256-case table, has no ambiguous cases, and the split is consistent
//! between neighbouring cubes, so every surface of a closed region is watertight.
//! It makes about twice as many triangles as classic marching cubes; use
//! [`smooth_taubin`] for the staircase of binary masks.

use std::collections::HashMap;

use abi_stable::std_types::{ROption, RVec};

use crate::abi::{Geometry, Mesh};

/// Corner offsets of a cube, bit 0 = +i, bit 1 = +j, bit 2 = +k.
const CORNER: [[usize; 3]; 8] = [
    [0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1],
];

/// The six tetrahedra of the Kuhn split: corner 0, then add the axis bits in each order.
const TETS: [[usize; 4]; 6] = [
    [0, 1, 3, 7], [0, 1, 5, 7], [0, 2, 3, 7], [0, 2, 6, 7], [0, 4, 5, 7], [0, 4, 6, 7],
];

/// Extracts the surface `field == iso` from a scalar field on `geometry`'s grid, with
/// the region `field >= iso` inside. Vertices are shared (edge-keyed), triangles are
/// wound counter-clockwise seen from outside, normals point outward.
pub fn isosurface(field: &[f32], geometry: &Geometry, iso: f32) -> Mesh {
    let [nx, ny, nz] = geometry.dims_usize();
    assert_eq!(field.len(), nx * ny * nz, "field length does not match the geometry");
    let mut positions: Vec<[f32; 3]> = Vec::new();
    let mut triangles: Vec<[u32; 3]> = Vec::new();
    let mut edge_vertex: HashMap<(u32, u32), u32> = HashMap::new();
    let index = |p: [usize; 3]| p[0] + nx * (p[1] + ny * p[2]);

    let mut vertex_on = |a: usize, b: usize, positions: &mut Vec<[f32; 3]>| -> u32 { shared_vertex(&mut edge_vertex, positions, field, geometry, iso, a, b) };

    for k in 0..nz.saturating_sub(1) {
        for j in 0..ny.saturating_sub(1) {
            for i in 0..nx.saturating_sub(1) {
                let corners: [usize; 8] = CORNER.map(|o| index([i + o[0], j + o[1], k + o[2]]));
                let inside: [bool; 8] = corners.map(|c| field[c] >= iso);
                if inside.iter().all(|&x| x) || inside.iter().all(|&x| !x) {
                    continue;
                }
                for tet in &TETS {
                    let v = tet.map(|c| corners[c]);
                    let ins: Vec<usize> = v.iter().copied().filter(|&c| field[c] >= iso).collect();
                    let outs: Vec<usize> = v.iter().copied().filter(|&c| field[c] < iso).collect();
                    let (a_in, a_out) = (ins.first().copied(), outs.first().copied());
                    let tris: Vec<[u32; 3]> = match ins.len() {
                        1 | 3 => {
                            // One corner separated from three: one triangle.
                            let (lone, others) = if ins.len() == 1 { (ins[0], &outs) } else { (outs[0], &ins) };
                            vec![[0, 1, 2].map(|n| vertex_on(lone, others[n], &mut positions))]
                        }
                        2 => {
                            // Two and two: a quad, split into two triangles.
                            let q = [
                                vertex_on(ins[0], outs[0], &mut positions),
                                vertex_on(ins[0], outs[1], &mut positions),
                                vertex_on(ins[1], outs[1], &mut positions),
                                vertex_on(ins[1], outs[0], &mut positions),
                            ];
                            vec![[q[0], q[1], q[2]], [q[0], q[2], q[3]]]
                        }
                        _ => continue,
                    };
                    // Orient each triangle so its normal points from inside to outside.
                    let (pin, pout) = (
                        geometry.index_to_world(ijk(a_in.unwrap(), nx, ny).map(|x| x as f64)),
                        geometry.index_to_world(ijk(a_out.unwrap(), nx, ny).map(|x| x as f64)),
                    );
                    let outward = [pout[0] - pin[0], pout[1] - pin[1], pout[2] - pin[2]];
                    for t in tris {
                        if t[0] == t[1] || t[1] == t[2] || t[0] == t[2] {
                            continue; // degenerate (iso exactly at a corner)
                        }
                        let n = face_normal(&positions, t);
                        let dot = n[0] as f64 * outward[0] + n[1] as f64 * outward[1] + n[2] as f64 * outward[2];
                        triangles.push(if dot >= 0.0 { t } else { [t[0], t[2], t[1]] });
                    }
                }
            }
        }
    }
    let mut mesh = Mesh {
        positions: positions.into(),
        normals: RVec::new(),
        triangles: triangles.into(),
        colour: [0.8, 0.8, 0.8, 1.0],
        scalars: ROption::RNone,
    };
    compute_normals(&mut mesh);
    mesh
}

/// Surface of a binary mask (iso 0.5 on the 0/1 field), padded by one voxel so that
/// regions touching the border are closed too. Vertices sit half-way between inside
/// and outside voxel centres: a staircase, see [`mask_surface_smooth`].
pub fn mask_surface(mask: &[bool], geometry: &Geometry) -> Mesh {
    mask_surface_smooth(mask, geometry, 0.0)
}

/// Surface of a binary mask after a Gaussian blur of `sigma_voxels` (per axis, in
/// voxels) of its 0/1 field: the anti-aliased iso-surface lies within a fraction of a
/// voxel of a smooth object's true surface (inward by about sigma^2 / radius), where
/// the plain [`mask_surface`] staircase is off by up to half a voxel.
pub fn mask_surface_smooth(mask: &[bool], geometry: &Geometry, sigma_voxels: f64) -> Mesh {
    // Only the mask's bounding box (plus the blur's reach) is meshed: a small lesion in a
    // clinical-size scan costs what the lesion costs.
    let [nx, ny, _] = geometry.dims_usize();
    let Some(crate::volume::VoxelBox { lo, hi }) = crate::volume::VoxelBox::around(geometry.dims_usize(), |n| mask[n]) else {
        return Mesh { positions: RVec::new(), normals: RVec::new(), triangles: RVec::new(), colour: [0.8, 0.8, 0.8, 1.0], scalars: ROption::RNone };
    };
    let pad = if sigma_voxels > 0.0 { (3.0 * sigma_voxels).ceil() as usize + 1 } else { 1 };
    let padded_dims = [0, 1, 2].map(|a| hi[a] - lo[a] + 1 + 2 * pad);
    let mut field = vec![0f32; padded_dims.iter().product()];
    for k in lo[2]..=hi[2] {
        for j in lo[1]..=hi[1] {
            for i in lo[0]..=hi[0] {
                if mask[i + nx * (j + ny * k)] {
                    field[(i - lo[0] + pad) + padded_dims[0] * ((j - lo[1] + pad) + padded_dims[1] * (k - lo[2] + pad))] = 1.0;
                }
            }
        }
    }
    if sigma_voxels > 0.0 {
        field = crate::volume::filter::gaussian(&field, padded_dims, [sigma_voxels; 3]);
    }
    let mut padded = *geometry;
    padded.dims = padded_dims.map(|d| d as u32);
    padded.origin = geometry.index_to_world([0, 1, 2].map(|a| lo[a] as f64 - pad as f64));
    isosurface(&field, &padded, 0.5)
}

/// The vertex where the iso-surface crosses the lattice edge between voxels `a` and
/// `b` (linear interpolation), created once and shared by every cell that meets it.
fn shared_vertex(cache: &mut HashMap<(u32, u32), u32>, positions: &mut Vec<[f32; 3]>, field: &[f32], geometry: &Geometry, iso: f32, a: usize, b: usize) -> u32 {
    let key = if a < b { (a as u32, b as u32) } else { (b as u32, a as u32) };
    *cache.entry(key).or_insert_with(|| {
        let [nx, ny, _] = geometry.dims_usize();
        let (fa, fb) = (field[a], field[b]);
        let t = if (fb - fa).abs() > f32::EPSILON { ((iso - fa) / (fb - fa)).clamp(0.0, 1.0) } else { 0.5 };
        let (pa, pb) = (ijk(a, nx, ny), ijk(b, nx, ny));
        let p = [0, 1, 2].map(|c| pa[c] as f64 + t as f64 * (pb[c] as f64 - pa[c] as f64));
        let w = geometry.index_to_world(p);
        positions.push([w[0] as f32, w[1] as f32, w[2] as f32]);
        positions.len() as u32 - 1
    })
}

fn ijk(index: usize, nx: usize, ny: usize) -> [usize; 3] {
    [index % nx, (index / nx) % ny, index / (nx * ny)]
}

fn face_normal(p: &[[f32; 3]], t: [u32; 3]) -> [f32; 3] {
    let (a, b, c) = (p[t[0] as usize], p[t[1] as usize], p[t[2] as usize]);
    let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let v = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]
}

/// Area-weighted vertex normals, normalised.
pub fn compute_normals(mesh: &mut Mesh) {
    let mut normals = vec![[0f32; 3]; mesh.positions.len()];
    for t in mesh.triangles.iter() {
        let n = face_normal(&mesh.positions, *t);
        for &v in t {
            for c in 0..3 {
                normals[v as usize][c] += n[c];
            }
        }
    }
    for n in &mut normals {
        let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        if len > 0.0 {
            n.iter_mut().for_each(|c| *c /= len);
        }
    }
    mesh.normals = normals.into();
}

/// Taubin's lambda/mu smoothing (SIGGRAPH 1995): removes the voxel staircase without
/// the shrinkage of plain Laplacian smoothing. Recomputes normals.
pub fn smooth_taubin(mesh: &mut Mesh, iterations: usize) {
    let n = mesh.positions.len();
    let mut neighbours: Vec<Vec<u32>> = vec![Vec::new(); n];
    for t in mesh.triangles.iter() {
        for e in 0..3 {
            let (a, b) = (t[e], t[(e + 1) % 3]);
            neighbours[a as usize].push(b);
            neighbours[b as usize].push(a);
        }
    }
    for list in &mut neighbours {
        list.sort_unstable();
        list.dedup();
    }
    let mut p: Vec<[f32; 3]> = mesh.positions.to_vec();
    let mut next = p.clone();
    for _ in 0..iterations {
        for factor in [0.5f32, -0.53] {
            for v in 0..n {
                let nb = &neighbours[v];
                if nb.is_empty() {
                    continue;
                }
                let mut mean = [0f32; 3];
                for &u in nb {
                    for c in 0..3 {
                        mean[c] += p[u as usize][c];
                    }
                }
                for c in 0..3 {
                    next[v][c] = p[v][c] + factor * (mean[c] / nb.len() as f32 - p[v][c]);
                }
            }
            std::mem::swap(&mut p, &mut next);
        }
    }
    mesh.positions = p.into();
    compute_normals(mesh);
}

/// Enclosed volume in mm^3 (divergence theorem); positive when triangles face outward.
pub fn enclosed_volume(mesh: &Mesh) -> f64 {
    mesh.triangles
        .iter()
        .map(|t| {
            let [a, b, c] = t.map(|v| mesh.positions[v as usize].map(|x| x as f64));
            (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0])) / 6.0
        })
        .sum()
}

/// Surface area in mm^2.
pub fn surface_area(mesh: &Mesh) -> f64 {
    mesh.triangles
        .iter()
        .map(|t| {
            let n = face_normal(&mesh.positions, *t);
            0.5 * ((n[0] as f64).powi(2) + (n[1] as f64).powi(2) + (n[2] as f64).powi(2)).sqrt()
        })
        .sum()
}

/// True when every edge is shared by exactly two triangles, once in each direction
/// (closed and consistently oriented).
pub fn is_closed_and_oriented(mesh: &Mesh) -> bool {
    let mut directed: HashMap<(u32, u32), u32> = HashMap::new();
    for t in mesh.triangles.iter() {
        for e in 0..3 {
            *directed.entry((t[e], t[(e + 1) % 3])).or_insert(0) += 1;
        }
    }
    directed.iter().all(|(&(a, b), &count)| count == 1 && directed.get(&(b, a)) == Some(&1))
}

/// First non-finite coordinate, if any: the host refuses such meshes.
pub fn first_non_finite(mesh: &Mesh) -> Option<(usize, [f32; 3])> {
    mesh.positions.iter().enumerate().find(|(_, p)| p.iter().any(|c| !c.is_finite())).map(|(i, p)| (i, *p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sphere(geometry: &Geometry, centre: [f64; 3], r: f64) -> Vec<f32> {
        (0..geometry.len())
            .map(|n| {
                let [i, j, k] = geometry.ijk(n);
                let p = geometry.index_to_world([i as f64, j as f64, k as f64]);
                (r - crate::volume::dist(p, centre)) as f32 // >= 0 inside
            })
            .collect()
    }

    #[test]
    fn sphere_isosurface_is_closed_outward_and_has_the_right_volume() {
        // Oblique, anisotropic, with a flipped axis: winding must still face outward.
        let (c, s) = (0.3f64.cos(), 0.3f64.sin());
        let g = Geometry { dims: [40, 40, 16], spacing: [0.8, 0.8, 2.0], origin: [-16.0, 16.0, -15.0], direction: [c, s, 0.0, s, -c, 0.0, 0.0, 0.0, 1.0] };
        let centre = g.index_to_world([20.0, 20.0, 7.5]);
        let mesh = isosurface(&sphere(&g, centre, 10.0), &g, 0.0);
        assert!(is_closed_and_oriented(&mesh));
        let v = enclosed_volume(&mesh);
        let exact = 4.0 / 3.0 * std::f64::consts::PI * 1000.0;
        assert!((v - exact).abs() / exact < 0.03, "volume {v} vs {exact}");
        let area = surface_area(&mesh);
        assert!((area - 4.0 * std::f64::consts::PI * 100.0).abs() / (400.0 * std::f64::consts::PI) < 0.05, "area {area}");
        // Normals point away from the centre.
        let p = mesh.positions[0];
        let n = mesh.normals[0];
        let out = [p[0] as f64 - centre[0], p[1] as f64 - centre[1], p[2] as f64 - centre[2]];
        assert!(out[0] * n[0] as f64 + out[1] * n[1] as f64 + out[2] * n[2] as f64 > 0.0);
    }

    #[test]
    fn mask_touching_the_border_is_closed_and_smoothing_keeps_volume() {
        let g = Geometry::axis_aligned([12, 12, 12], [1.0; 3], [0.0; 3]);
        let mask: Vec<bool> = (0..g.len()).map(|n| { let [i, j, k] = g.ijk(n); i < 6 && j < 8 && k < 5 }).collect();
        let mut mesh = mask_surface(&mask, &g);
        assert!(is_closed_and_oriented(&mesh));
        let v0 = enclosed_volume(&mesh);
        // The 0.5 iso cuts halfway between voxel centres: the 6x8x5 box, less its
        // corners' tetrahedral bevels.
        assert!(v0 > 0.8 * 240.0 && v0 < 240.0, "{v0}");
        smooth_taubin(&mut mesh, 10);
        let v1 = enclosed_volume(&mesh);
        assert!((v1 - v0).abs() / v0 < 0.15, "{v0} -> {v1}");
        assert!(first_non_finite(&mesh).is_none());
    }
}

/// The cube's 12 edges as corner pairs (corner bits: 1 = +i, 2 = +j, 4 = +k).
const MC_EDGES: [[usize; 2]; 12] = [
    [0, 1], [2, 3], [4, 5], [6, 7], // along i
    [0, 2], [1, 3], [4, 6], [5, 7], // along j
    [0, 4], [1, 5], [2, 6], [3, 7], // along k
];

/// The cube's 6 faces as corners in cyclic order.
const MC_FACES: [[usize; 4]; 6] = [[0, 1, 3, 2], [4, 5, 7, 6], [0, 1, 5, 4], [2, 3, 7, 6], [0, 2, 6, 4], [1, 3, 7, 5]];

fn mc_edge(a: usize, b: usize) -> usize {
    MC_EDGES.iter().position(|e| (e[0] == a && e[1] == b) || (e[0] == b && e[1] == a)).expect("cube edge")
}

/// Loops of intersected edges for one corner configuration: on every face the
/// crossing edges pair up into segments (on a face with two diagonal inside corners,
/// each inside corner is cut off on its own), and segments chain into closed loops.
fn mc_loops(inside: [bool; 8]) -> Vec<Vec<usize>> {
    let mut segments: Vec<[usize; 2]> = Vec::new();
    for f in &MC_FACES {
        let crossing: Vec<usize> = (0..4).filter(|&k| inside[f[k]] != inside[f[(k + 1) % 4]]).map(|k| mc_edge(f[k], f[(k + 1) % 4])).collect();
        match crossing.len() {
            2 => segments.push([crossing[0], crossing[1]]),
            4 => {
                for k in 0..4 {
                    if inside[f[k]] {
                        segments.push([mc_edge(f[(k + 3) % 4], f[k]), mc_edge(f[k], f[(k + 1) % 4])]);
                    }
                }
            }
            _ => {}
        }
    }
    let mut loops = Vec::new();
    while let Some(first) = segments.pop() {
        let mut lp = vec![first[0], first[1]];
        loop {
            let last = *lp.last().unwrap();
            let Some(pos) = segments.iter().position(|s| s[0] == last || s[1] == last) else { break };
            let s = segments.swap_remove(pos);
            let next = if s[0] == last { s[1] } else { s[0] };
            if next == lp[0] {
                break;
            }
            lp.push(next);
        }
        loops.push(lp);
    }
    loops
}

/// One iso-contour loop of a cube: its intersected edges in order, and its triangles
/// (positions in the loop, in loop order) where the classic triangulation fixes them.
struct McLoop {
    edges: Vec<usize>,
    classic: Option<Vec<[usize; 3]>>,
}

/// Every configuration's loops (index = the 8-bit corner code), traced once.
fn mc_table() -> &'static [Vec<McLoop>] {
    static TABLE: std::sync::OnceLock<Vec<Vec<McLoop>>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=255u16)
            .map(|code| {
                if code == 0 || code == 255 {
                    return Vec::new();
                }
                let inside: [bool; 8] = std::array::from_fn(|n| code >> n & 1 == 1);
                let (pentagon, zigzag) = (mc_pentagon_corner(inside), mc_zigzag_centre(inside));
                mc_loops(inside)
                    .into_iter()
                    .map(|edges| {
                        let n = edges.len();
                        let at = |e: Option<usize>| e.and_then(|e| edges.iter().position(|&x| x == e));
                        let classic = match n {
                            5 => at(pentagon).map(|s| (1..4).map(|k| [s, (s + k) % 5, (s + k + 1) % 5]).collect()),
                            6 => at(zigzag).map(|s| {
                                let p = |k: usize| (s + k) % 6;
                                vec![[p(0), p(2), p(4)], [p(0), p(1), p(2)], [p(2), p(3), p(4)], [p(4), p(5), p(0)]]
                            }),
                            _ => None,
                        };
                        McLoop { edges, classic }
                    })
                    .collect()
            })
            .collect()
    })
}

/// The fan centre of the classic (Lorensen & Cline) triangulation of a pentagon, the
/// loop of three corners of one face that differ from the other five: the pentagon is
/// not planar, so its area (and with it every area-based shape feature) depends on the
/// diagonals, and on an anisotropic grid differently for each orientation. The classic
/// table fans from the edge that leaves the face at one end corner of the three, the
/// same end in every rotation of the cube: the end `x` for which (b - d, x - d, n) is
/// right-handed, with `d` the face's fourth corner, `b` the corner diagonal to it and
/// `n` pointing into the cube. scikit-image's Lorensen and Lewiner tables agree on this
/// case, and with it IBSI's lung-CT sphericity and compactness are reproduced.
fn mc_pentagon_corner(inside: [bool; 8]) -> Option<usize> {
    for axis in 0..3 {
        for side in 0..2 {
            let face: Vec<usize> = (0..8).filter(|&n| (n >> axis) & 1 == side).collect();
            for &d in &face {
                let state = !inside[d];
                let rest_differs = (0..8).filter(|&n| face.iter().all(|&f| f != n) || n == d).all(|n| inside[n] != state);
                if !rest_differs || face.iter().any(|&f| f != d && inside[f] != state) {
                    continue;
                }
                let in_face = 7 & !(1 << axis);
                let b = d ^ in_face;
                let into = if side == 0 { 1.0 } else { -1.0 };
                let at = |n: usize| CORNER[n].map(|c| c as f64);
                let sub = |p: [f64; 3], q: [f64; 3]| [p[0] - q[0], p[1] - q[1], p[2] - q[2]];
                let mut normal = [0.0; 3];
                normal[axis] = into;
                let end = face.iter().copied().filter(|&x| x != b && x != d).find(|&x| {
                    let (u, v) = (sub(at(b), at(d)), sub(at(x), at(d)));
                    let cross = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]];
                    cross[0] * normal[0] + cross[1] * normal[1] + cross[2] * normal[2] > 0.0
                })?;
                return Some(mc_edge(end, end ^ (1 << axis)));
            }
        }
    }
    None
}

/// The classic triangulation of the zigzag hexagon (four inside corners in a chain
/// e-m-m'-e' along three different axes): a central triangle over every other vertex
/// and three ears. Which three is not symmetric under the chain's half-turn, so no
/// rotation rule fixes it; the classic table's choice is this one: with `a` the axis of
/// the middle edge m-m' and `q` that edge's side along axis (a + 1) mod 3, the central
/// triangle holds the vertex on the outside edge of the middle corner whose outside
/// edge runs along the lower of the two other axes when q = 0 and the higher when q = 1.
/// Returns that vertex's edge.
fn mc_zigzag_centre(inside: [bool; 8]) -> Option<usize> {
    let corners: Vec<usize> = (0..8).filter(|&n| inside[n]).collect();
    if corners.len() != 4 {
        return None;
    }
    let neighbours = |n: usize| [n ^ 1, n ^ 2, n ^ 4];
    let degree = |n: usize| neighbours(n).iter().filter(|&&m| inside[m]).count();
    let middles: Vec<usize> = corners.iter().copied().filter(|&n| degree(n) == 2).collect();
    let ends = corners.iter().filter(|&&n| degree(n) == 1).count();
    let [m, m2] = middles[..] else { return None };
    // Two ends and two adjacent middles: a chain of four on three axes (on two it would
    // close into a face's square, whose corners all have two inside neighbours).
    if ends != 2 || neighbours(m).iter().all(|&x| x != m2) {
        return None;
    }
    // A middle corner has one outside neighbour; this is the axis towards it.
    let outside_axis = |n: usize| (0..3).find(|&a| !inside[n ^ (1 << a)]);
    let (oa, ob) = (outside_axis(m)?, outside_axis(m2)?);
    let a = (m ^ m2).trailing_zeros() as usize;
    let q = (m >> ((a + 1) % 3)) & 1;
    let want = if q == 0 { oa.min(ob) } else { oa.max(ob) };
    let middle = if oa == want { m } else { m2 };
    Some(mc_edge(middle, middle ^ (1 << want)))
}

/// What one slab of cubes (between slices k and k+1) produced, with each vertex's edge
/// (the two voxel indices it lies between) so that slabs can be joined.
struct McSlab {
    positions: Vec<[f32; 3]>,
    edges: Vec<(u32, u32)>,
    triangles: Vec<[u32; 3]>,
}

/// Corner bit of the cube for a column bit (bit 0: j, k; 1: j+1, k; 2: j, k+1;
/// 3: j+1, k+1) at the cube's -i side; the +i side is this shifted by one.
const MC_SPREAD: [u8; 16] = {
    let mut t = [0u8; 16];
    let mut c = 0;
    while c < 16 {
        t[c] = (c & 1) as u8 | (((c >> 1) & 1) << 2) as u8 | (((c >> 2) & 1) << 4) as u8 | (((c >> 3) & 1) << 6) as u8;
        c += 1;
    }
    t
};

/// Classic marching cubes (Lorensen & Cline 1987) with the triangulation derived from
/// the configuration rather than a 256-entry table: each cube's iso-contour loops are
/// traced over its faces and triangulated, the non-planar pentagons and zigzag hexagons
/// as the classic table does (so that surface area, and the shape features built on it,
/// equal the reference implementations' on anisotropic grids: tests/marching_cubes.rs),
/// the rest as convex fans. On a face whose inside corners are diagonal, each inside
/// corner is cut off on its own, in both cubes that share the face, so the surface is
/// closed where the classic table leaves holes. This is the surface IBSI's morphological
/// features are defined on; [`isosurface`] (tetrahedra) is finer.
///
/// Slabs of cubes run side by side and are joined in order, sharing the vertices of
/// the slices between them, so the mesh (vertex and triangle order included) is the one
/// a single pass over the cubes would make.
pub fn marching_cubes(field: &[f32], geometry: &Geometry, iso: f32) -> Mesh {
    use rayon::prelude::*;
    let [nx, ny, nz] = geometry.dims_usize();
    assert_eq!(field.len(), nx * ny * nz, "field length does not match the geometry");
    let table = mc_table();
    let slabs: Vec<McSlab> = (0..nz.saturating_sub(1)).into_par_iter().map(|k| mc_slab(field, geometry, iso, k, table)).collect();
    let mut positions: Vec<[f32; 3]> = Vec::new();
    let mut triangles: Vec<[u32; 3]> = Vec::new();
    let mut shared: HashMap<(u32, u32), u32> = HashMap::new();
    for slab in slabs {
        let remap: Vec<u32> = slab
            .edges
            .iter()
            .zip(&slab.positions)
            .map(|(edge, p)| {
                *shared.entry(*edge).or_insert_with(|| {
                    positions.push(*p);
                    positions.len() as u32 - 1
                })
            })
            .collect();
        triangles.extend(slab.triangles.iter().map(|t| t.map(|v| remap[v as usize])));
    }
    let mut mesh = Mesh { positions: positions.into(), normals: RVec::new(), triangles: triangles.into(), colour: [0.8, 0.8, 0.8, 1.0], scalars: ROption::RNone };
    compute_normals(&mut mesh);
    mesh
}

/// The cubes between slices `k` and `k + 1`. Each column's four corners (j, j+1 by
/// k, k+1) are classified once; a cube is skipped when both its columns are all inside
/// or all outside, which is nearly every cube of a CT-sized field.
fn mc_slab(field: &[f32], geometry: &Geometry, iso: f32, k: usize, table: &[Vec<McLoop>]) -> McSlab {
    let [nx, ny, _] = geometry.dims_usize();
    let mut slab = McSlab { positions: Vec::new(), edges: Vec::new(), triangles: Vec::new() };
    let mut local: HashMap<(u32, u32), u32> = HashMap::new();
    let index = |p: [usize; 3]| p[0] + nx * (p[1] + ny * p[2]);
    let mut columns = vec![0u8; nx];
    for j in 0..ny.saturating_sub(1) {
        let rows = [index([0, j, k]), index([0, j + 1, k]), index([0, j, k + 1]), index([0, j + 1, k + 1])];
        for (i, c) in columns.iter_mut().enumerate() {
            *c = (field[rows[0] + i] >= iso) as u8
                | ((field[rows[1] + i] >= iso) as u8) << 1
                | ((field[rows[2] + i] >= iso) as u8) << 2
                | ((field[rows[3] + i] >= iso) as u8) << 3;
        }
        for i in 0..nx.saturating_sub(1) {
            let (a, b) = (columns[i], columns[i + 1]);
            if (a == 0 && b == 0) || (a == 15 && b == 15) {
                continue;
            }
            let code = MC_SPREAD[a as usize] | MC_SPREAD[b as usize] << 1;
            let corners: [usize; 8] = CORNER.map(|o| index([i + o[0], j + o[1], k + o[2]]));
            let inside: [bool; 8] = std::array::from_fn(|n| code >> n & 1 == 1);
            for lp in &table[code as usize] {
                let ids: Vec<u32> = lp
                    .edges
                    .iter()
                    .map(|&e| {
                        let (a, b) = (corners[MC_EDGES[e][0]], corners[MC_EDGES[e][1]]);
                        let key = if a < b { (a as u32, b as u32) } else { (b as u32, a as u32) };
                        let before = slab.positions.len();
                        let id = shared_vertex(&mut local, &mut slab.positions, field, geometry, iso, a, b);
                        if slab.positions.len() > before {
                            slab.edges.push(key);
                        }
                        id
                    })
                    .collect();
                mc_fan(&slab.positions, &ids, lp, &inside, &corners, geometry, &mut slab.triangles);
            }
        }
    }
    slab
}

/// Triangles for one loop of vertex ids, oriented outward.
fn mc_fan(positions: &[[f32; 3]], ids: &[u32], lp: &McLoop, inside: &[bool; 8], corners: &[usize; 8], geometry: &Geometry, triangles: &mut Vec<[u32; 3]>) {
    let [nx, ny, _] = geometry.dims_usize();
    // Outward: from the inside corner to the outside corner of the loop's first edge.
    let e = MC_EDGES[lp.edges[0]];
    let (cin, cout) = if inside[e[0]] { (e[0], e[1]) } else { (e[1], e[0]) };
    let (pin, pout) = (
        geometry.index_to_world(ijk(corners[cin], nx, ny).map(|x| x as f64)),
        geometry.index_to_world(ijk(corners[cout], nx, ny).map(|x| x as f64)),
    );
    let outward = [pout[0] - pin[0], pout[1] - pin[1], pout[2] - pin[2]];
    // Triangles: the classic ones where the table fixes them, otherwise a fan over the
    // loop from the vertex whose fan bulges out the most (largest volume towards the
    // outside corner), the convex choice at the remaining non-planar loops.
    let volume_from = |start: usize| -> f64 {
        (1..ids.len() - 1)
            .map(|n| {
                let t = [ids[start], ids[(start + n) % ids.len()], ids[(start + n + 1) % ids.len()]];
                let nrm = face_normal(positions, t);
                let a = positions[t[0] as usize];
                let d = [a[0] as f64 - pin[0], a[1] as f64 - pin[1], a[2] as f64 - pin[2]];
                (nrm[0] as f64 * d[0] + nrm[1] as f64 * d[1] + nrm[2] as f64 * d[2]).abs()
            })
            .sum()
    };
    let fan: Vec<[u32; 3]> = match &lp.classic {
        Some(classic) => classic.iter().map(|t| t.map(|k| ids[k])).collect(),
        None => {
            let start = (0..ids.len()).max_by(|&a, &b| volume_from(a).total_cmp(&volume_from(b))).unwrap_or(0);
            (1..ids.len() - 1).map(|n| [ids[start], ids[(start + n) % ids.len()], ids[(start + n + 1) % ids.len()]]).collect()
        }
    };
    // One orientation for the whole loop, from its summed normal.
    let mut total = [0f64; 3];
    for t in &fan {
        let n = face_normal(positions, *t);
        for c in 0..3 {
            total[c] += n[c] as f64;
        }
    }
    let flip = total[0] * outward[0] + total[1] * outward[1] + total[2] * outward[2] < 0.0;
    for t in fan {
        triangles.push(if flip { [t[0], t[2], t[1]] } else { t });
    }
}

#[cfg(test)]
mod marching_cubes_tests {
    use super::*;

    #[test]
    fn marching_cubes_is_closed_and_matches_a_single_voxel_octahedron() {
        // One voxel: the classic result is an octahedron with vertices at the six
        // half-way points, volume (4/3) * 0.5^3 = 1/6 voxel.
        let g = Geometry::axis_aligned([3, 3, 3], [1.0; 3], [0.0; 3]);
        let mut field = vec![0f32; 27];
        field[13] = 1.0;
        let m = marching_cubes(&field, &g, 0.5);
        assert_eq!(m.positions.len(), 6);
        assert!(is_closed_and_oriented(&m));
        assert!((enclosed_volume(&m) - 1.0 / 6.0).abs() < 1e-9, "{}", enclosed_volume(&m));
        // A sphere: closed, outward, near the analytic volume.
        let g = Geometry::axis_aligned([30, 30, 30], [1.0; 3], [-14.5; 3]);
        let f: Vec<f32> = (0..g.len()).map(|n| { let [i, j, k] = g.ijk(n); (10.0 - crate::volume::dist(g.index_to_world([i as f64, j as f64, k as f64]), [0.0; 3])) as f32 }).collect();
        let s = marching_cubes(&f, &g, 0.0);
        assert!(is_closed_and_oriented(&s));
        let exact = 4.0 / 3.0 * std::f64::consts::PI * 1000.0;
        assert!((enclosed_volume(&s) - exact).abs() / exact < 0.02);
    }
}
