//! Morphological features (IBSI-1 3.1) on the ROI mask's marching-cubes surface (the
//! mesh IBSI's reference values are computed on) and its voxel centres.

use isotherm_sdk::abi::Geometry;
use isotherm_sdk::volume::mesh::{enclosed_volume, marching_cubes, surface_area};

use super::hull::{convex_hull, volume_area};
use super::{Features, Roi};

/// Eigenvalues of a symmetric 3x3 matrix, largest first (cyclic Jacobi).
fn eigenvalues(mut m: [[f64; 3]; 3]) -> [f64; 3] {
    for _ in 0..50 {
        let off = m[0][1].abs() + m[0][2].abs() + m[1][2].abs();
        if off < 1e-14 {
            break;
        }
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            if m[p][q].abs() < 1e-300 {
                continue;
            }
            let theta = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let t = if theta == 0.0 { 1.0 } else { t };
            let c = 1.0 / (t * t + 1.0).sqrt();
            let s = t * c;
            let mut r = m;
            for k in 0..3 {
                r[k][p] = c * m[k][p] - s * m[k][q];
                r[k][q] = s * m[k][p] + c * m[k][q];
            }
            let mut r2 = r;
            for k in 0..3 {
                r2[p][k] = c * r[p][k] - s * r[q][k];
                r2[q][k] = s * r[p][k] + c * r[q][k];
            }
            m = r2;
        }
    }
    let mut e = [m[0][0], m[1][1], m[2][2]];
    e.sort_by(|a, b| b.total_cmp(a));
    e
}

/// Legendre polynomial P_n(x) by the three-term recurrence.
fn legendre(n: usize, x: f64) -> f64 {
    let (mut p0, mut p1) = (1.0, x);
    if n == 0 {
        return 1.0;
    }
    for k in 1..n {
        let p2 = ((2 * k + 1) as f64 * x * p1 - k as f64 * p0) / (k + 1) as f64;
        p0 = p1;
        p1 = p2;
    }
    p1
}

/// Surface area of an ellipsoid with semi-axes a >= b >= c (IBSI's series).
fn ellipsoid_area(a: f64, b: f64, c: f64) -> f64 {
    let alpha = (1.0 - (b * b) / (a * a)).max(0.0).sqrt();
    let beta = (1.0 - (c * c) / (a * a)).max(0.0).sqrt();
    if alpha * beta < 1e-12 {
        // Degenerate series: a sphere-like or prolate limit; use Thomsen's formula.
        let p = 1.6075;
        return 4.0 * std::f64::consts::PI * (((a * b).powf(p) + (a * c).powf(p) + (b * c).powf(p)) / 3.0).powf(1.0 / p);
    }
    let x = (alpha * alpha + beta * beta) / (2.0 * alpha * beta);
    let series: f64 = (0..=20).map(|v| (alpha * beta).powi(v as i32) / (1.0 - 4.0 * (v * v) as f64) * legendre(v, x)).sum();
    4.0 * std::f64::consts::PI * a * b * series
}

/// Positions (mm) of the ROI's voxel centres, on an axis-aligned grid of `roi.spacing`.
fn centres(roi: &Roi) -> Vec<[f64; 3]> {
    roi.positions().iter().map(|p| [0, 1, 2].map(|a| p[a] as f64 * roi.spacing[a])).collect()
}

/// The morphological features that weigh intensities: the centre of mass shift
/// (geometric centre of the morphological mask, intensity-weighted centre of the
/// intensity mask), Moran's I and Geary's C (on the intensity mask), IBSI's rule when
/// re-segmentation made the two masks differ.
pub fn intensity_weighted(morphological: &Roi, intensity: &Roi, out: &mut Features) {
    let c = centres(morphological);
    let geo = [0, 1, 2].map(|k| c.iter().map(|p| p[k]).sum::<f64>() / c.len() as f64);
    let ci = centres(intensity);
    let vals = intensity.roi_values();
    let wsum: f64 = vals.iter().sum();
    let weighted = [0, 1, 2].map(|k| ci.iter().zip(&vals).map(|(p, w)| p[k] * w).sum::<f64>() / wsum);
    out.insert("morph_com".into(), ((geo[0] - weighted[0]).powi(2) + (geo[1] - weighted[1]).powi(2) + (geo[2] - weighted[2]).powi(2)).sqrt());
    let (moran, geary) = super::autocorrelation::moran_geary(intensity.dims, intensity.spacing, &intensity.mask, &intensity.values);
    out.insert("morph_moran_i".into(), moran);
    out.insert("morph_geary_c".into(), geary);
}

/// Every morphological feature of one ROI (both masks the same).
pub fn features(roi: &Roi, out: &mut Features) {
    shape(roi, out);
    intensity_weighted(roi, roi, out);
}

/// The morphological features of the mask alone (and integrated intensity on its mean).
pub fn shape(roi: &Roi, out: &mut Features) {
    // The mask's surface: marching cubes at 0.5 on the mask padded by one voxel.
    let [nx, ny, nz] = roi.dims;
    let pd = [nx + 2, ny + 2, nz + 2];
    let mut field = vec![0f32; pd.iter().product()];
    for p in roi.positions() {
        field[(p[0] as usize + 1) + pd[0] * ((p[1] as usize + 1) + pd[1] * (p[2] as usize + 1))] = 1.0;
    }
    let g = Geometry::axis_aligned(pd.map(|d| d as u32), roi.spacing, [0, 1, 2].map(|a| -roi.spacing[a]));
    let mesh = marching_cubes(&field, &g, 0.5);
    let v = enclosed_volume(&mesh);
    let a = surface_area(&mesh);
    let pi = std::f64::consts::PI;
    let mut put = |k: &str, x: f64| {
        out.insert(format!("morph_{k}"), x);
    };
    put("volume", v);
    put("vol_approx", roi.count() as f64 * roi.spacing.iter().product::<f64>());
    put("area_mesh", a);
    put("av", a / v);
    put("comp_1", v / (pi.sqrt() * a.powf(1.5)));
    put("comp_2", 36.0 * pi * v * v / a.powi(3));
    put("sph_dispr", a / (36.0 * pi * v * v).cbrt());
    put("sphericity", (36.0 * pi * v * v).cbrt() / a);
    put("asphericity", (a.powi(3) / (36.0 * pi * v * v)).cbrt() - 1.0);

    // Maximum 3D diameter: the farthest pair of surface vertices lies on the convex hull.
    let verts: Vec<[f64; 3]> = mesh.positions.iter().map(|p| p.map(|x| x as f64)).collect();
    let hull = convex_hull(&verts);
    let mut on_hull: Vec<usize> = hull.iter().flat_map(|f| f.iter().copied()).collect();
    on_hull.sort_unstable();
    on_hull.dedup();
    let candidates: Vec<usize> = if on_hull.is_empty() { (0..verts.len()).collect() } else { on_hull };
    let mut diam: f64 = 0.0;
    for (n, &i) in candidates.iter().enumerate() {
        for &j in &candidates[n + 1..] {
            let d = (0..3).map(|k| (verts[i][k] - verts[j][k]).powi(2)).sum::<f64>();
            diam = diam.max(d);
        }
    }
    put("diam", diam.sqrt());

    // Principal axes of the voxel centres (covariance with N - 1).
    let c = centres(roi);
    let n = c.len() as f64;
    let geo = [0, 1, 2].map(|k| c.iter().map(|p| p[k]).sum::<f64>() / n);
    let mut cov = [[0.0; 3]; 3];
    for p in &c {
        for r in 0..3 {
            for s in 0..3 {
                cov[r][s] += (p[r] - geo[r]) * (p[s] - geo[s]) / (n - 1.0);
            }
        }
    }
    let [l1, l2, l3] = eigenvalues(cov);
    put("pca_maj_axis", 4.0 * l1.sqrt());
    put("pca_min_axis", 4.0 * l2.sqrt());
    put("pca_least_axis", 4.0 * l3.sqrt());
    put("pca_elongation", (l2 / l1).sqrt());
    put("pca_flatness", (l3 / l1).sqrt());

    // Densities: axis-aligned bounding box, approximate enclosing ellipsoid, convex hull.
    let (mut lo, mut hi) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for p in &verts {
        for k in 0..3 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let e = [0, 1, 2].map(|k| hi[k] - lo[k]);
    put("vol_dens_aabb", v / (e[0] * e[1] * e[2]));
    put("area_dens_aabb", a / (2.0 * (e[0] * e[1] + e[1] * e[2] + e[0] * e[2])));
    let (sa, sb, sc) = (2.0 * l1.sqrt(), 2.0 * l2.sqrt(), 2.0 * l3.sqrt());
    put("vol_dens_aee", v / (4.0 * pi / 3.0 * sa * sb * sc));
    put("area_dens_aee", a / ellipsoid_area(sa, sb, sc));
    let (hv, ha) = volume_area(&verts, &hull);
    put("vol_dens_conv_hull", v / hv);
    put("area_dens_conv_hull", a / ha);

    // Integrated intensity (of_masks replaces the mean by the intensity mask's).
    let vals = roi.roi_values();
    let mean = vals.iter().sum::<f64>() / vals.len() as f64;
    put("integ_int", v * mean);
}

#[cfg(test)]
mod tests {
    #[test]
    fn eigenvalues_and_ellipsoid_area() {
        let e = super::eigenvalues([[4.0, 1.0, 0.0], [1.0, 3.0, 0.0], [0.0, 0.0, 1.0]]);
        let want = [3.5 + 1.25f64.sqrt(), 3.5 - 1.25f64.sqrt(), 1.0];
        for k in 0..3 {
            assert!((e[k] - want[k]).abs() < 1e-9, "{e:?}");
        }
        // A sphere of radius 2: 16 pi.
        let s = super::ellipsoid_area(2.0, 2.0, 2.0);
        assert!((s - 16.0 * std::f64::consts::PI).abs() < 0.05, "{s}");
    }
}
