//! Region statistics every plugin writes by hand otherwise: the voxels within a radius
//! of a world point, and a volume's statistics inside a mask.

use crate::abi::{Geometry, Volume};

/// The voxels whose centres lie within `radius_mm` of `centre` (world mm, RAS+), as a
/// mask on `g`: physical distance, so anisotropic and oblique grids give a ball, not a
/// box of voxels. Only the voxels in the ball's bounding box are visited.
pub fn within_radius(g: &Geometry, centre: [f64; 3], radius_mm: f64) -> Vec<bool> {
    let mut mask = vec![false; g.len()];
    if !(radius_mm >= 0.0) {
        return mask;
    }
    let to_index = g.world_to_index_map();
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for corner in 0..8 {
        let offset = [0, 1, 2].map(|a| if corner >> a & 1 == 1 { radius_mm } else { -radius_mm });
        let ijk = to_index.apply([centre[0] + offset[0], centre[1] + offset[1], centre[2] + offset[2]]);
        for a in 0..3 {
            lo[a] = lo[a].min(ijk[a]);
            hi[a] = hi[a].max(ijk[a]);
        }
    }
    let dims = g.dims_usize();
    let range = |a: usize| {
        let first = lo[a].floor().max(0.0) as usize;
        let last = (hi[a].ceil().min(dims[a] as f64 - 1.0)).max(-1.0);
        first..(last + 1.0) as usize
    };
    let r2 = radius_mm * radius_mm;
    for k in range(2) {
        for j in range(1) {
            for i in range(0) {
                let p = g.index_to_world([i as f64, j as f64, k as f64]);
                let d2 = (0..3).map(|a| (p[a] - centre[a]).powi(2)).sum::<f64>();
                if d2 <= r2 {
                    mask[i + dims[0] * (j + dims[1] * k)] = true;
                }
            }
        }
    }
    mask
}

/// The world position (mm, RAS+) of a mask's centre of mass, if it has any voxel.
pub fn centroid(g: &Geometry, mask: &[bool]) -> Option<[f64; 3]> {
    let (mut sum, mut n) = ([0.0; 3], 0usize);
    for (idx, _) in mask.iter().enumerate().filter(|(_, b)| **b) {
        let [i, j, k] = g.ijk(idx);
        let p = g.index_to_world([i as f64, j as f64, k as f64]);
        (0..3).for_each(|a| sum[a] += p[a]);
        n += 1;
    }
    (n > 0).then(|| sum.map(|s| s / n as f64))
}

/// A volume's values inside a mask.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaskedStats {
    pub voxels: usize,
    /// Voxel count times voxel volume, millilitres.
    pub volume_ml: f64,
    /// Mean, standard deviation (population), minimum and maximum; 0 for an empty mask.
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

impl Volume {
    /// Statistics of the voxels where `mask` is true (`mask` on this volume's grid).
    pub fn stats_in(&self, mask: &[bool]) -> MaskedStats {
        assert_eq!(mask.len(), self.data.len(), "the mask is not on the volume's grid");
        let (mut n, mut sum, mut sum2, mut min, mut max) = (0usize, 0.0f64, 0.0f64, f64::INFINITY, f64::NEG_INFINITY);
        for (idx, _) in mask.iter().enumerate().filter(|(_, m)| **m) {
            let v = self.data.get_f32(idx) as f64;
            n += 1;
            sum += v;
            sum2 += v * v;
            min = min.min(v);
            max = max.max(v);
        }
        let volume_ml = n as f64 * self.geometry.voxel_volume_mm3() / 1000.0;
        if n == 0 {
            return MaskedStats { voxels: 0, volume_ml, mean: 0.0, std: 0.0, min: 0.0, max: 0.0 };
        }
        let mean = sum / n as f64;
        let std = (sum2 / n as f64 - mean * mean).max(0.0).sqrt();
        MaskedStats { voxels: n, volume_ml, mean, std, min, max }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ball_on_an_anisotropic_grid_has_the_ball_volume() {
        // 0.5 x 0.5 x 1 mm voxels: a 10 mm ball is 4/3 pi r^3 = 4188.8 mm3.
        let g = Geometry::axis_aligned([64, 64, 32], [0.5, 0.5, 1.0], [-16.0, -16.0, -16.0]);
        let mask = within_radius(&g, [0.1, -0.2, 0.3], 10.0);
        let mm3 = mask.iter().filter(|&&b| b).count() as f64 * g.voxel_volume_mm3();
        assert!((mm3 / (4.0 / 3.0 * std::f64::consts::PI * 1000.0) - 1.0).abs() < 0.01, "{mm3}");
        // Every voxel in the mask is within the radius, every other one outside.
        for (n, &inside) in mask.iter().enumerate() {
            let [i, j, k] = g.ijk(n);
            let d = crate::volume::dist(g.index_to_world([i as f64, j as f64, k as f64]), [0.1, -0.2, 0.3]);
            assert_eq!(inside, d <= 10.0, "voxel {n} at {d} mm");
        }
        let c = centroid(&g, &mask).unwrap();
        assert!(crate::volume::dist(c, [0.1, -0.2, 0.3]) < 0.1, "{c:?}");
        assert_eq!(centroid(&g, &vec![false; g.len()]), None);
        // A ball off the grid selects nothing; one across its edge is cut.
        assert!(!within_radius(&g, [500.0, 0.0, 0.0], 10.0).iter().any(|&b| b));
        assert!(within_radius(&g, [-16.0, 0.0, 0.0], 3.0).iter().any(|&b| b));
    }

    #[test]
    fn statistics_inside_a_mask() {
        let g = Geometry::axis_aligned([4, 1, 1], [2.0, 1.0, 1.0], [0.0; 3]);
        let v = Volume::from_i16(g, vec![10, 20, 30, -100]);
        let s = v.stats_in(&[true, true, true, false]);
        assert_eq!((s.voxels, s.mean, s.min, s.max), (3, 20.0, 10.0, 30.0));
        assert!((s.std - (200.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((s.volume_ml - 0.006).abs() < 1e-12);
        assert_eq!(v.stats_in(&[false; 4]).voxels, 0);
    }
}
