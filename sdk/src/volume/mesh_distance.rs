//! Exact point-to-surface distances against a triangle mesh, signed by the surface's
//! outward normals, through a uniform grid of triangle buckets (queries look in growing
//! shells of cells until no nearer triangle can exist).

use crate::abi::Mesh;

/// Closest point on triangle `abc` to `p` (Ericson, "Real-Time Collision Detection", 5.1.5).
pub fn closest_point_on_triangle(p: [f64; 3], a: [f64; 3], b: [f64; 3], c: [f64; 3]) -> [f64; 3] {
    let sub = |x: [f64; 3], y: [f64; 3]| [x[0] - y[0], x[1] - y[1], x[2] - y[2]];
    let dot = |x: [f64; 3], y: [f64; 3]| x[0] * y[0] + x[1] * y[1] + x[2] * y[2];
    let add_scaled = |x: [f64; 3], d: [f64; 3], t: f64| [x[0] + d[0] * t, x[1] + d[1] * t, x[2] + d[2] * t];
    let (ab, ac, ap) = (sub(b, a), sub(c, a), sub(p, a));
    let (d1, d2) = (dot(ab, ap), dot(ac, ap));
    if d1 <= 0.0 && d2 <= 0.0 {
        return a;
    }
    let bp = sub(p, b);
    let (d3, d4) = (dot(ab, bp), dot(ac, bp));
    if d3 >= 0.0 && d4 <= d3 {
        return b;
    }
    let vc = d1 * d4 - d3 * d2;
    if vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0 {
        return add_scaled(a, ab, d1 / (d1 - d3));
    }
    let cp = sub(p, c);
    let (d5, d6) = (dot(ab, cp), dot(ac, cp));
    if d6 >= 0.0 && d5 <= d6 {
        return c;
    }
    let vb = d5 * d2 - d1 * d6;
    if vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0 {
        return add_scaled(a, ac, d2 / (d2 - d6));
    }
    let va = d3 * d6 - d5 * d4;
    if va <= 0.0 && (d4 - d3) >= 0.0 && (d5 - d6) >= 0.0 {
        let bc = sub(c, b);
        return add_scaled(b, bc, (d4 - d3) / ((d4 - d3) + (d5 - d6)));
    }
    let denom = 1.0 / (va + vb + vc);
    let (v, w) = (vb * denom, vc * denom);
    [a[0] + ab[0] * v + ac[0] * w, a[1] + ab[1] * v + ac[1] * w, a[2] + ab[2] * v + ac[2] * w]
}

/// The nearest surface point to a query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nearest {
    /// Positive outside the surface, negative inside (by the nearest triangle's normal).
    pub signed_distance: f64,
    pub point: [f64; 3],
}

/// A mesh prepared for distance queries.
pub struct MeshDistance {
    vertices: Vec<[f64; 3]>,
    triangles: Vec<[u32; 3]>,
    /// Area-weighted vertex normals, for the sign at edges and corners.
    vertex_normals: Vec<[f64; 3]>,
    min: [f64; 3],
    cell: f64,
    dims: [usize; 3],
    buckets: Vec<Vec<u32>>,
}

impl MeshDistance {
    /// Indexes `mesh` with cells of `cell_mm` (a few times the mean edge length works well).
    pub fn new(mesh: &Mesh, cell_mm: f64) -> MeshDistance {
        let vertices: Vec<[f64; 3]> = mesh.positions.iter().map(|p| p.map(|x| x as f64)).collect();
        let triangles: Vec<[u32; 3]> = mesh.triangles.to_vec();
        let mut min = [f64::INFINITY; 3];
        let mut max = [f64::NEG_INFINITY; 3];
        for v in &vertices {
            for a in 0..3 {
                min[a] = min[a].min(v[a]);
                max[a] = max[a].max(v[a]);
            }
        }
        if vertices.is_empty() {
            min = [0.0; 3];
            max = [0.0; 3];
        }
        let dims = [0, 1, 2].map(|a| (((max[a] - min[a]) / cell_mm).floor() as usize + 1).max(1));
        let mut buckets = vec![Vec::new(); dims[0] * dims[1] * dims[2]];
        let cell_of = |x: f64, a: usize| (((x - min[a]) / cell_mm).floor().max(0.0) as usize).min(dims[a] - 1);
        for (n, t) in triangles.iter().enumerate() {
            let pts = t.map(|v| vertices[v as usize]);
            let lo = [0, 1, 2].map(|a| cell_of(pts.iter().map(|p| p[a]).fold(f64::INFINITY, f64::min), a));
            let hi = [0, 1, 2].map(|a| cell_of(pts.iter().map(|p| p[a]).fold(f64::NEG_INFINITY, f64::max), a));
            for k in lo[2]..=hi[2] {
                for j in lo[1]..=hi[1] {
                    for i in lo[0]..=hi[0] {
                        buckets[i + dims[0] * (j + dims[1] * k)].push(n as u32);
                    }
                }
            }
        }
        let mut vertex_normals = vec![[0.0; 3]; vertices.len()];
        for t in &triangles {
            let n = face_normal(&vertices, *t);
            for &v in t {
                for a in 0..3 {
                    vertex_normals[v as usize][a] += n[a];
                }
            }
        }
        MeshDistance { vertices, triangles, vertex_normals, min, cell: cell_mm, dims, buckets }
    }

    /// The nearest point of the surface to `p`, with the signed distance. `None` for an
    /// empty mesh.
    pub fn nearest(&self, p: [f64; 3]) -> Option<Nearest> {
        if self.triangles.is_empty() {
            return None;
        }
        let centre = [0, 1, 2].map(|a| ((p[a] - self.min[a]) / self.cell).floor() as isize);
        let mut best: Option<(f64, [f64; 3], usize)> = None;
        // A query far outside the grid has no cell in its nearer rings: start at the
        // first ring that reaches the grid (starting at 0 gave up before reaching it).
        let first_ring = (0..3).map(|a| (-centre[a]).max(centre[a] - (self.dims[a] as isize - 1)).max(0)).max().unwrap_or(0);
        let max_ring = first_ring + self.dims.iter().copied().max().unwrap_or(1) as isize + 1;
        let mut ring = first_ring;
        loop {
            // Cells at Chebyshev distance `ring` from the query's cell, within the grid:
            // only the ring's shell is walked, clamped to the grid, so a query far
            // outside the surface costs the cells it passes, not (2 ring + 1)^3.
            let span = |a: usize| (-ring).max(-centre[a])..=ring.min(self.dims[a] as isize - 1 - centre[a]);
            for dk in span(2) {
                for dj in span(1) {
                    let on_shell = dk.abs() == ring || dj.abs() == ring;
                    let di_range = span(0);
                    let (lo, hi) = (*di_range.start(), *di_range.end());
                    let mut visit = |di: isize| {
                        let c = [centre[0] + di, centre[1] + dj, centre[2] + dk];
                        // A cell farther than the best so far holds nothing nearer: the
                        // nearest point of any of its triangles that is nearer lies in a
                        // nearer cell, where that triangle is bucketed too.
                        if let Some((bd, _, _)) = best {
                            let gap2: f64 = (0..3)
                                .map(|a| {
                                    let lo = self.min[a] + c[a] as f64 * self.cell;
                                    let g = (lo - p[a]).max(p[a] - (lo + self.cell)).max(0.0);
                                    g * g
                                })
                                .sum();
                            if gap2 >= bd {
                                return;
                            }
                        }
                        for &t in &self.buckets[c[0] as usize + self.dims[0] * (c[1] as usize + self.dims[1] * c[2] as usize)] {
                            let tri = self.triangles[t as usize];
                            let [a, b, cc] = tri.map(|v| self.vertices[v as usize]);
                            let q = closest_point_on_triangle(p, a, b, cc);
                            let d = dist2(p, q);
                            if best.is_none_or(|(bd, _, _)| d < bd) {
                                best = Some((d, q, t as usize));
                            }
                        }
                    };
                    if on_shell {
                        (lo..=hi).for_each(&mut visit);
                    } else {
                        // Inside the shell's faces in k and j: only its two i faces.
                        if lo <= -ring && -ring <= hi {
                            visit(-ring);
                        }
                        if ring != 0 && lo <= ring && ring <= hi {
                            visit(ring);
                        }
                    }
                }
            }
            // Anything in farther rings is at least `ring * cell` away (minus the part
            // of the query's own cell), so stop once the best beats that.
            if let Some((d, _, _)) = best {
                let guaranteed = (ring as f64) * self.cell;
                if d.sqrt() <= guaranteed || ring > max_ring {
                    break;
                }
            } else if ring > max_ring + 2 {
                break;
            }
            ring += 1;
        }
        let (d2, q, t) = best?;
        let n = self.sign_normal(q, t);
        let out = [p[0] - q[0], p[1] - q[1], p[2] - q[2]];
        let sign = if out[0] * n[0] + out[1] * n[1] + out[2] * n[2] >= 0.0 { 1.0 } else { -1.0 };
        Some(Nearest { signed_distance: sign * d2.sqrt(), point: q })
    }

    /// The face normal, or at a vertex the vertex normal (the angle between faces there
    /// makes the face normal ambiguous).
    fn sign_normal(&self, q: [f64; 3], t: usize) -> [f64; 3] {
        let tri = self.triangles[t];
        for &v in &tri {
            if dist2(self.vertices[v as usize], q) < 1e-12 {
                return self.vertex_normals[v as usize];
            }
        }
        face_normal(&self.vertices, tri)
    }
}

fn dist2(a: [f64; 3], b: [f64; 3]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

fn face_normal(v: &[[f64; 3]], t: [u32; 3]) -> [f64; 3] {
    let [a, b, c] = t.map(|i| v[i as usize]);
    let u = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
    let w = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
    [u[1] * w[2] - u[2] * w[1], u[2] * w[0] - u[0] * w[2], u[0] * w[1] - u[1] * w[0]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::Geometry;

    #[test]
    fn distances_to_a_sphere_surface_are_exact_up_to_the_tessellation() {
        let g = Geometry::axis_aligned([40, 40, 40], [1.0; 3], [-20.0; 3]);
        let field: Vec<f32> = (0..g.len()).map(|n| { let [i, j, k] = g.ijk(n); let p = g.index_to_world([i as f64, j as f64, k as f64]); (12.0 - crate::volume::dist(p, [0.0; 3])) as f32 }).collect();
        let mesh = crate::volume::mesh::isosurface(&field, &g, 0.0);
        let md = MeshDistance::new(&mesh, 3.0);
        for (p, want) in [([0.0, 0.0, 0.0], -12.0), ([20.0, 0.0, 0.0], 8.0), ([0.0, 5.0, 5.0], 5.0f64.hypot(5.0) - 12.0), ([30.0, 30.0, 0.0], 30.0f64.hypot(30.0) - 12.0), ([-150.0, 40.0, 90.0], (150.0f64.powi(2) + 40.0f64.powi(2) + 90.0f64.powi(2)).sqrt() - 12.0)] {
            let n = md.nearest(p).unwrap();
            assert!((n.signed_distance - want).abs() < 0.15, "{p:?}: {} vs {want}", n.signed_distance);
        }
        assert_eq!(closest_point_on_triangle([0.0, 0.0, 5.0], [0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]), [0.0; 3]);
        let q = closest_point_on_triangle([0.2, 0.2, 5.0], [0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]);
        assert!(crate::volume::dist(q, [0.2, 0.2, 0.0]) < 1e-12, "{q:?}");
        // Beyond an edge: the closest point is on the edge.
        let e = closest_point_on_triangle([0.5, -1.0, 0.0], [0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]);
        assert!(crate::volume::dist(e, [0.5, 0.0, 0.0]) < 1e-12, "{e:?}");
    }

    #[test]
    fn nearest_agrees_with_brute_force_near_and_far() {
        // A bumpy closed surface, queried inside, on, near and up to 120 mm away.
        let g = Geometry::axis_aligned([40, 36, 30], [1.0, 1.2, 1.5], [-20.0, -21.0, -22.0]);
        let f: Vec<f32> = (0..g.len())
            .map(|n| {
                let [i, j, k] = g.ijk(n);
                let p = g.index_to_world([i as f64, j as f64, k as f64]);
                (12.0 + 2.0 * (p[0] * 0.4).sin() * (p[1] * 0.3).cos() - crate::volume::dist(p, [0.0; 3])) as f32
            })
            .collect();
        let mesh = crate::volume::mesh::marching_cubes(&f, &g, 0.0);
        let index = MeshDistance::new(&mesh, 2.0);
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for q in 0..300 {
            let scale = [5.0, 15.0, 40.0, 120.0][q % 4];
            let p = [0, 1, 2].map(|_| (next() * 2.0 - 1.0) * scale);
            let got = index.nearest(p).unwrap();
            let brute = mesh
                .triangles
                .iter()
                .map(|t| {
                    let [a, b, c] = t.map(|v| mesh.positions[v as usize].map(|x| x as f64));
                    dist2(p, closest_point_on_triangle(p, a, b, c))
                })
                .fold(f64::INFINITY, f64::min)
                .sqrt();
            assert!((got.signed_distance.abs() - brute).abs() < 1e-9, "{p:?}: {} vs {brute}", got.signed_distance);
        }
    }
}
