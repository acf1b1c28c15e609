//! The one voxel <-> world mapping (see [`Geometry`] for the convention) and a few
//! constructors. Everything in Isotherm that turns indices into millimetres calls here.

use crate::abi::Geometry;

impl Geometry {
    /// An axis-aligned grid (identity direction) with the given spacing and origin.
    pub fn axis_aligned(dims: [u32; 3], spacing: [f64; 3], origin: [f64; 3]) -> Self {
        Geometry { dims, spacing, origin, direction: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0] }
    }

    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.dims.iter().map(|&d| d as usize).product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dims_usize(&self) -> [usize; 3] {
        [self.dims[0] as usize, self.dims[1] as usize, self.dims[2] as usize]
    }

    /// Linear storage index of voxel `(i, j, k)`.
    #[inline]
    pub fn index(&self, i: usize, j: usize, k: usize) -> usize {
        i + self.dims[0] as usize * (j + self.dims[1] as usize * k)
    }

    /// Inverse of [`Geometry::index`].
    #[inline]
    pub fn ijk(&self, index: usize) -> [usize; 3] {
        let nx = self.dims[0] as usize;
        let ny = self.dims[1] as usize;
        [index % nx, (index / nx) % ny, index / (nx * ny)]
    }

    /// The 3x3 matrix `direction * diag(spacing)`, row-major.
    pub fn linear(&self) -> [[f64; 3]; 3] {
        let d = &self.direction;
        let s = &self.spacing;
        [
            [d[0] * s[0], d[1] * s[1], d[2] * s[2]],
            [d[3] * s[0], d[4] * s[1], d[5] * s[2]],
            [d[6] * s[0], d[7] * s[1], d[8] * s[2]],
        ]
    }

    /// The 4x4 voxel-to-world affine, row-major (NIfTI's sform).
    pub fn affine(&self) -> [[f64; 4]; 4] {
        let m = self.linear();
        let o = self.origin;
        [
            [m[0][0], m[0][1], m[0][2], o[0]],
            [m[1][0], m[1][1], m[1][2], o[1]],
            [m[2][0], m[2][1], m[2][2], o[2]],
            [0.0, 0.0, 0.0, 1.0],
        ]
    }

    /// Splits a voxel-to-world affine into spacing (column norms), direction (unit
    /// columns) and origin. Returns `None` for a singular or non-finite affine.
    pub fn from_affine(dims: [u32; 3], a: &[[f64; 4]; 4]) -> Option<Self> {
        let mut spacing = [0.0; 3];
        let mut direction = [0.0; 9];
        for c in 0..3 {
            let col = [a[0][c], a[1][c], a[2][c]];
            let norm = (col[0] * col[0] + col[1] * col[1] + col[2] * col[2]).sqrt();
            if !(norm.is_finite() && norm > 0.0) {
                return None;
            }
            spacing[c] = norm;
            for r in 0..3 {
                direction[r * 3 + c] = col[r] / norm;
            }
        }
        let origin = [a[0][3], a[1][3], a[2][3]];
        if origin.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let g = Geometry { dims, spacing, origin, direction };
        invert3(&g.linear()).map(|_| g)
    }

    /// World position (mm, RAS+) of a continuous voxel index.
    #[inline]
    pub fn index_to_world(&self, ijk: [f64; 3]) -> [f64; 3] {
        let m = self.linear();
        let o = self.origin;
        [
            o[0] + m[0][0] * ijk[0] + m[0][1] * ijk[1] + m[0][2] * ijk[2],
            o[1] + m[1][0] * ijk[0] + m[1][1] * ijk[1] + m[1][2] * ijk[2],
            o[2] + m[2][0] * ijk[0] + m[2][1] * ijk[1] + m[2][2] * ijk[2],
        ]
    }

    /// A reusable world -> continuous index map (the affine inverted once).
    pub fn world_to_index_map(&self) -> WorldToIndex {
        WorldToIndex { inv: invert3(&self.linear()).unwrap_or([[0.0; 3]; 3]), origin: self.origin }
    }

    /// Continuous voxel index of a world position.
    pub fn world_to_index(&self, p: [f64; 3]) -> [f64; 3] {
        self.world_to_index_map().apply(p)
    }

    /// The grid with `spacing` that covers this one and shares its centre: IBSI's
    /// "align grid centres" (3WE3). Along each axis n' = ceil(n s / s') voxels, the first
    /// at (s (n - 1) - s' (n' - 1)) / 2 mm from this grid's first, same directions. An
    /// axis given its own spacing keeps its voxels exactly (in-plane resampling).
    pub fn centred_grid(&self, spacing: [f64; 3]) -> Geometry {
        let mut dims = self.dims;
        let mut first = [0.0; 3];
        for a in 0..3 {
            let (n, s, t) = (self.dims[a] as f64, self.spacing[a], spacing[a]);
            let cover = n * s / t;
            // Within rounding of a whole number, it is that number (2 x 1.0 / 2.0 is 1).
            let m = if (cover - cover.round()).abs() < 1e-6 { cover.round() } else { cover.ceil() };
            dims[a] = m.max(1.0) as u32;
            first[a] = (s * (n - 1.0) - t * (m.max(1.0) - 1.0)) / 2.0 / s;
        }
        Geometry { dims, spacing, origin: self.index_to_world(first), direction: self.direction }
    }

    /// Volume of one voxel in mm^3 (|det| of the linear part).
    pub fn voxel_volume_mm3(&self) -> f64 {
        det3(&self.linear()).abs()
    }

    /// True when both grids have the same dims and the same affine within `tol_mm`
    /// at the far corner.
    pub fn same_grid(&self, other: &Geometry, tol_mm: f64) -> bool {
        if self.dims != other.dims {
            return false;
        }
        let far = [self.dims[0] as f64 - 1.0, self.dims[1] as f64 - 1.0, self.dims[2] as f64 - 1.0];
        [[0.0; 3], far].iter().all(|c| dist(self.index_to_world(*c), other.index_to_world(*c)) <= tol_mm)
    }
}

/// World -> index map with the inverse precomputed; for hot loops.
#[derive(Debug, Clone, Copy)]
pub struct WorldToIndex {
    inv: [[f64; 3]; 3],
    origin: [f64; 3],
}

impl WorldToIndex {
    #[inline]
    pub fn apply(&self, p: [f64; 3]) -> [f64; 3] {
        let d = [p[0] - self.origin[0], p[1] - self.origin[1], p[2] - self.origin[2]];
        let m = &self.inv;
        [
            m[0][0] * d[0] + m[0][1] * d[1] + m[0][2] * d[2],
            m[1][0] * d[0] + m[1][1] * d[1] + m[1][2] * d[2],
            m[2][0] * d[0] + m[2][1] * d[1] + m[2][2] * d[2],
        ]
    }
}

pub fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

pub fn det3(m: &[[f64; 3]; 3]) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

pub fn invert3(m: &[[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let det = det3(m);
    if !det.is_finite() || det.abs() < 1e-12 {
        return None;
    }
    let inv_det = 1.0 / det;
    let mut r = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            // Cofactor of m[j][i] (transpose for the adjugate).
            let (a, b) = ((j + 1) % 3, (j + 2) % 3);
            let (c, d) = ((i + 1) % 3, (i + 2) % 3);
            r[i][j] = (m[a][c] * m[b][d] - m[a][d] * m[b][c]) * inv_det;
        }
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oblique() -> Geometry {
        // 30 degrees about z, then flipped y (an LPS-like axis), anisotropic spacing.
        let (c, s) = (30f64.to_radians().cos(), 30f64.to_radians().sin());
        Geometry { dims: [10, 12, 5], spacing: [0.8, 0.7, 2.5], origin: [-40.0, 12.0, 100.0], direction: [c, s, 0.0, s, -c, 0.0, 0.0, 0.0, 1.0] }
    }

    #[test]
    fn index_world_round_trip_on_oblique_anisotropic_grid() {
        let g = oblique();
        let p = g.index_to_world([3.0, 4.5, 2.0]);
        let back = g.world_to_index(p);
        for a in 0..3 {
            assert!((back[a] - [3.0, 4.5, 2.0][a]).abs() < 1e-9);
        }
        // Distance between neighbouring voxels along k is the k spacing, in mm.
        assert!((dist(g.index_to_world([0.0, 0.0, 0.0]), g.index_to_world([0.0, 0.0, 1.0])) - 2.5).abs() < 1e-12);
        assert!((g.voxel_volume_mm3() - 0.8 * 0.7 * 2.5).abs() < 1e-12);
    }

    #[test]
    fn affine_split_and_rebuild_agree() {
        let g = oblique();
        let back = Geometry::from_affine(g.dims, &g.affine()).unwrap();
        assert!(g.same_grid(&back, 1e-9));
        assert!(Geometry::from_affine(g.dims, &[[0.0; 4]; 4]).is_none());
    }

    #[test]
    fn linear_index_is_i_fastest() {
        let g = oblique();
        assert_eq!(g.index(1, 0, 0), 1);
        assert_eq!(g.index(0, 1, 0), 10);
        assert_eq!(g.index(0, 0, 1), 120);
        assert_eq!(g.ijk(g.index(7, 3, 4)), [7, 3, 4]);
    }
}
