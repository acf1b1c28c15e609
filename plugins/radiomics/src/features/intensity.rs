//! First-order families: intensity statistics, intensity histogram, intensity-volume
//! histogram and local intensity peaks (IBSI-1 chapters 3.2-3.5).

use super::{Features, Roi, plogp};
use super::roi::{Discretisation, Ivh};

/// Linear-interpolation percentile of sorted data (numpy's default).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let pos = q / 100.0 * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The statistics shared by the statistical and histogram families, with `prefix`.
fn first_order(x: &[f64], prefix: &str, out: &mut Features) {
    let n = x.len() as f64;
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    let mean = x.iter().sum::<f64>() / n;
    let m = |k: i32| x.iter().map(|v| (v - mean).powi(k)).sum::<f64>() / n;
    let var = m(2);
    let (p10, p25, median, p75, p90) = (percentile(&s, 10.0), percentile(&s, 25.0), percentile(&s, 50.0), percentile(&s, 75.0), percentile(&s, 90.0));
    let robust: Vec<f64> = x.iter().copied().filter(|&v| v >= p10 && v <= p90).collect();
    let rmean = robust.iter().sum::<f64>() / robust.len() as f64;
    let mut put = |k: &str, v: f64| {
        out.insert(format!("{prefix}_{k}"), v);
    };
    put("mean", mean);
    put("var", var);
    put("skew", if var > 0.0 { m(3) / var.powf(1.5) } else { 0.0 });
    put("kurt", if var > 0.0 { m(4) / (var * var) - 3.0 } else { 0.0 });
    put("median", median);
    put("min", s[0]);
    put("p10", p10);
    put("p90", p90);
    put("max", s[s.len() - 1]);
    put("iqr", p75 - p25);
    put("range", s[s.len() - 1] - s[0]);
    put("mad", x.iter().map(|v| (v - mean).abs()).sum::<f64>() / n);
    put("rmad", robust.iter().map(|v| (v - rmean).abs()).sum::<f64>() / robust.len() as f64);
    put("medad", x.iter().map(|v| (v - median).abs()).sum::<f64>() / n);
    put("cov", var.sqrt() / mean);
    put("qcod", (p75 - p25) / (p75 + p25));
}

/// Intensity-based statistics on the ROI's intensities.
pub fn statistics(roi: &Roi, out: &mut Features) {
    let x = roi.roi_values();
    first_order(&x, "stat", out);
    let energy: f64 = x.iter().map(|v| v * v).sum();
    out.insert("stat_energy".into(), energy);
    out.insert("stat_rms".into(), (energy / x.len() as f64).sqrt());
}

/// Intensity histogram features on the discretised grey levels.
pub fn histogram(roi: &Roi, out: &mut Features) {
    let levels = roi.roi_levels();
    let x: Vec<f64> = levels.iter().map(|&l| l as f64).collect();
    first_order(&x, "ih", out);
    let ng = roi.ng as usize;
    let mut h = vec![0f64; ng + 1];
    for &l in &levels {
        h[l as usize] += 1.0;
    }
    let n = levels.len() as f64;
    let mode = (1..=ng).max_by(|&a, &b| h[a].total_cmp(&h[b]).then(b.cmp(&a))).unwrap_or(1);
    out.insert("ih_mode".into(), mode as f64);
    out.insert("ih_entropy".into(), -(1..=ng).map(|i| plogp(h[i] / n)).sum::<f64>());
    out.insert("ih_uniformity".into(), (1..=ng).map(|i| (h[i] / n).powi(2)).sum());
    // Histogram gradient: one-sided at the ends, central inside.
    let grad: Vec<f64> = (1..=ng)
        .map(|i| {
            if ng == 1 {
                0.0
            } else if i == 1 {
                h[2] - h[1]
            } else if i == ng {
                h[ng] - h[ng - 1]
            } else {
                (h[i + 1] - h[i - 1]) / 2.0
            }
        })
        .collect();
    let (imax, gmax) = grad.iter().enumerate().fold((0, f64::NEG_INFINITY), |b, (i, &g)| if g > b.1 { (i, g) } else { b });
    let (imin, gmin) = grad.iter().enumerate().fold((0, f64::INFINITY), |b, (i, &g)| if g < b.1 { (i, g) } else { b });
    out.insert("ih_max_grad".into(), gmax);
    out.insert("ih_max_grad_g".into(), (imax + 1) as f64);
    out.insert("ih_min_grad".into(), gmin);
    out.insert("ih_min_grad_g".into(), (imin + 1) as f64);
}

/// Intensity-volume histogram: volume fractions at intensity fractions and intensities
/// at volume fractions, on the intensities [`Ivh`] chooses.
pub fn volume_histogram(roi: &Roi, out: &mut Features) {
    let (mut values, lo, hi, step) = ivh_values(roi);
    values.sort_by(f64::total_cmp);
    let n = values.len() as f64;
    // Fraction of the volume at or above intensity i.
    let v = |i: f64| (values.len() - values.partition_point(|&x| x < i - 1e-9 * step)) as f64 / n;
    let count = ((hi - lo) / step + 1e-9).floor() as usize + 1;
    let steps: Vec<f64> = (0..count).map(|k| lo + k as f64 * step).collect();
    let volume_at_fraction = |gamma: f64| {
        let threshold = steps.iter().copied().find(|&i| (i - lo) / (hi - lo).max(1e-12) >= gamma - 1e-12).unwrap_or(hi);
        v(threshold)
    };
    let intensity_at_volume = |fraction: f64| steps.iter().copied().find(|&i| v(i) <= fraction).unwrap_or(hi + step);
    let (v10, v90) = (volume_at_fraction(0.1), volume_at_fraction(0.9));
    let (i10, i90) = (intensity_at_volume(0.1), intensity_at_volume(0.9));
    out.insert("ivh_v10".into(), v10);
    out.insert("ivh_v90".into(), v90);
    out.insert("ivh_i10".into(), i10);
    out.insert("ivh_i90".into(), i90);
    out.insert("ivh_diff_v10_v90".into(), v10 - v90);
    out.insert("ivh_diff_i10_i90".into(), i10 - i90);
}

/// Each ROI voxel's IVH intensity, and the histogram's range and step (IBSI's three
/// cases, [`Ivh`]).
fn ivh_values(roi: &Roi) -> (Vec<f64>, f64, f64, f64) {
    let values = roi.roi_values();
    let (min, max) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    match roi.ivh {
        Ivh::Levels => {
            let levels: Vec<f64> = roi.roi_levels().into_iter().map(f64::from).collect();
            let (lo, hi) = levels.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            (levels, lo, hi, 1.0)
        }
        Ivh::Intensities { range } => {
            let (lo, hi) = range.unwrap_or((min, max));
            (values, lo, hi, 1.0)
        }
        Ivh::BinWidth { width, lower, upper } => {
            let bins = Discretisation::BinWidth { width, lower };
            let centre = |v: f64| lower + (bins.level(v, min, max) as f64 - 0.5) * width;
            (values.into_iter().map(centre).collect(), lower + 0.5 * width, upper - 0.5 * width, width)
        }
        Ivh::BinNumber(n) => {
            let bins = Discretisation::BinNumber(n);
            (values.into_iter().map(|v| bins.level(v, min, max) as f64).collect(), 1.0, n as f64, 1.0)
        }
    }
}

/// Mean intensity in a 1 cm^3 sphere (radius 6.2 mm) around each ROI voxel: the
/// local peak is at the hottest voxel(s), the global peak is the largest anywhere.
pub fn local_peaks(roi: &Roi, out: &mut Features) {
    let r = (3.0 / (4.0 * std::f64::consts::PI) * 1000.0f64).cbrt();
    let reach = [0, 1, 2].map(|a| (r / roi.spacing[a]).floor() as i64);
    let [nx, ny, nz] = roi.dims.map(|d| d as i64);
    // The sphere is a run of voxels along i on each (dj, dk) row: its half-length, or
    // none, by the same test d^2 <= r^2 a voxel-by-voxel sum would make.
    let mut runs: Vec<(i64, i64, i64)> = Vec::new();
    for dk in -reach[2]..=reach[2] {
        for dj in -reach[1]..=reach[1] {
            let rest = (dj as f64 * roi.spacing[1]).powi(2) + (dk as f64 * roi.spacing[2]).powi(2);
            let fits = |di: i64| (di as f64 * roi.spacing[0]).powi(2) + rest <= r * r;
            if let Some(half) = (0..=reach[0]).rev().find(|&di| fits(di)) {
                runs.push((dj, dk, half));
            }
        }
    }
    // Prefix sums along i, so a run costs two reads (a 1 cm^3 sphere is ~700 voxels).
    let row_len = nx as usize + 1;
    let mut prefix = vec![0.0f64; row_len * (ny * nz) as usize];
    for row in 0..(ny * nz) as usize {
        let (src, dst) = (&roi.values[row * nx as usize..(row + 1) * nx as usize], &mut prefix[row * row_len..(row + 1) * row_len]);
        for i in 0..nx as usize {
            dst[i + 1] = dst[i] + src[i];
        }
    }
    let sphere_mean = |c: [i64; 3]| {
        let (mut s, mut n) = (0.0, 0i64);
        for &(dj, dk, half) in &runs {
            let (j, k) = (c[1] + dj, c[2] + dk);
            if j < 0 || j >= ny || k < 0 || k >= nz {
                continue;
            }
            let (lo, hi) = ((c[0] - half).max(0), (c[0] + half).min(nx - 1));
            let row = (j + ny * k) as usize * row_len;
            s += prefix[row + hi as usize + 1] - prefix[row + lo as usize];
            n += hi - lo + 1;
        }
        s / n as f64
    };
    let positions = roi.positions();
    let value = |p: &[i64; 3]| roi.values[roi.index(p[0] as usize, p[1] as usize, p[2] as usize)];
    let max = positions.iter().map(value).fold(f64::NEG_INFINITY, f64::max);
    let local = positions.iter().filter(|p| value(p) == max).map(|p| sphere_mean(*p)).fold(f64::NEG_INFINITY, f64::max);
    let global = positions.iter().map(|p| sphere_mean(*p)).fold(f64::NEG_INFINITY, f64::max);
    out.insert("loc_peak_loc".into(), local);
    out.insert("loc_peak_glob".into(), global);
}
