//! Grey level co-occurrence matrix features (IBSI-1 3.6): symmetric matrices at
//! distance 1 for each direction, aggregated six ways.

use super::{DIRS_2D, DIRS_3D, Features, Roi, average, insert_suffixed, plogp};

/// Symmetric co-occurrence counts (ng x ng, row-major, level 1 at index 0) for one
/// direction, over the ROI or one slice of it.
fn matrix(roi: &Roi, dir: [i64; 3], slice: Option<usize>) -> Vec<f64> {
    let ng = roi.ng as usize;
    let mut m = vec![0.0; ng * ng];
    let step = roi.padded_step(dir);
    for &v in roi.voxels_in(slice) {
        let a = roi.padded[v] as usize;
        let b = roi.padded[v.wrapping_add_signed(step)] as usize;
        if b > 0 {
            m[(a - 1) * ng + (b - 1)] += 1.0;
            m[(b - 1) * ng + (a - 1)] += 1.0;
        }
    }
    m
}

fn sum(ms: &[Vec<f64>]) -> Vec<f64> {
    let mut out = vec![0.0; ms[0].len()];
    for m in ms {
        for (o, v) in out.iter_mut().zip(m) {
            *o += v;
        }
    }
    out
}

/// The 25 GLCM features of one matrix; `None` when it is empty.
fn of(counts: &[f64], ng: usize) -> Option<Features> {
    let total: f64 = counts.iter().sum();
    if total == 0.0 {
        return None;
    }
    let p: Vec<f64> = counts.iter().map(|c| c / total).collect();
    let at = |i: usize, j: usize| p[i * ng + j];
    let g = |i: usize| (i + 1) as f64; // grey level of index i
    let px: Vec<f64> = (0..ng).map(|i| (0..ng).map(|j| at(i, j)).sum()).collect();
    let mu: f64 = (0..ng).map(|i| g(i) * px[i]).sum();
    let var: f64 = (0..ng).map(|i| (g(i) - mu).powi(2) * px[i]).sum();
    let mut diff = vec![0.0; ng];
    let mut summ = vec![0.0; 2 * ng + 1];
    let mut f = Features::new();
    let (mut joint_max, mut joint_entr, mut energy, mut contrast, mut dissim) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
    let (mut inv_diff, mut inv_diff_norm, mut idm, mut idm_norm, mut auto, mut tend, mut shade, mut prom, mut cross) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut hxy1, mut hxy2) = (0.0, 0.0);
    let n = ng as f64;
    for i in 0..ng {
        for j in 0..ng {
            let v = at(i, j);
            let (gi, gj) = (g(i), g(j));
            let d = (gi - gj).abs();
            diff[d as usize] += v;
            summ[(gi + gj) as usize] += v;
            joint_max = joint_max.max(v);
            joint_entr -= plogp(v);
            energy += v * v;
            contrast += d * d * v;
            dissim += d * v;
            inv_diff += v / (1.0 + d);
            inv_diff_norm += v / (1.0 + d / n);
            idm += v / (1.0 + d * d);
            idm_norm += v / (1.0 + d * d / (n * n));
            auto += gi * gj * v;
            cross += (gi - mu) * (gj - mu) * v;
            let c = gi + gj - 2.0 * mu;
            tend += c * c * v;
            shade += c.powi(3) * v;
            prom += c.powi(4) * v;
            let pp = px[i] * px[j];
            if pp > 0.0 {
                hxy1 -= v * pp.log2();
                hxy2 -= pp * pp.log2();
            }
        }
    }
    let hx: f64 = -px.iter().map(|&v| plogp(v)).sum::<f64>();
    let diff_avg: f64 = (0..ng).map(|k| k as f64 * diff[k]).sum();
    let sum_avg: f64 = (2..=2 * ng).map(|k| k as f64 * summ[k]).sum();
    let mut put = |k: &str, v: f64| {
        f.insert(format!("cm_{k}"), v);
    };
    put("joint_max", joint_max);
    put("joint_avg", mu);
    put("joint_var", var);
    put("joint_entr", joint_entr);
    put("diff_avg", diff_avg);
    put("diff_var", (0..ng).map(|k| (k as f64 - diff_avg).powi(2) * diff[k]).sum());
    put("diff_entr", -diff.iter().map(|&v| plogp(v)).sum::<f64>());
    put("sum_avg", sum_avg);
    put("sum_var", (2..=2 * ng).map(|k| (k as f64 - sum_avg).powi(2) * summ[k]).sum());
    put("sum_entr", -summ.iter().map(|&v| plogp(v)).sum::<f64>());
    put("energy", energy);
    put("contrast", contrast);
    put("dissimilarity", dissim);
    put("inv_diff", inv_diff);
    put("inv_diff_norm", inv_diff_norm);
    put("inv_diff_mom", idm);
    put("inv_diff_mom_norm", idm_norm);
    put("inv_var", (1..ng).map(|k| diff[k] / (k * k) as f64).sum());
    put("corr", if var > 0.0 { cross / var } else { 0.0 });
    put("auto_corr", auto);
    put("clust_tend", tend);
    put("clust_shade", shade);
    put("clust_prom", prom);
    put("info_corr1", if hx > 0.0 { (joint_entr - hxy1) / hx } else { 0.0 });
    put("info_corr2", (1.0 - (-2.0 * (hxy2 - joint_entr)).exp()).max(0.0).sqrt());
    Some(f)
}

/// The six aggregations (IBSI tags `cm_*_{2D,2_5D,3D}_{avg,comb}`), those of
/// `roi.texture`.
pub fn features(roi: &Roi, out: &mut Features) {
    let ng = roi.ng as usize;
    if roi.texture.volumetric() {
        let vol: Vec<Vec<f64>> = DIRS_3D.iter().map(|&d| matrix(roi, d, None)).collect();
        insert_suffixed(out, average(&vol.iter().filter_map(|m| of(m, ng)).collect::<Vec<_>>()), "_3D_avg");
        if let Some(f) = of(&sum(&vol), ng) {
            insert_suffixed(out, f, "_3D_comb");
        }
    }
    if !roi.texture.planar() {
        return;
    }
    let slices: Vec<usize> = (0..roi.dims[2]).filter(|&k| roi.count_in_slice(k) > 0).collect();
    let per: Vec<Vec<Vec<f64>>> = slices.iter().map(|&k| DIRS_2D.iter().map(|&d| matrix(roi, d, Some(k))).collect()).collect();
    let each: Vec<Features> = per.iter().flatten().filter_map(|m| of(m, ng)).collect();
    insert_suffixed(out, average(&each), "_2D_avg");
    let slice_merged: Vec<Features> = per.iter().filter_map(|ms| of(&sum(ms), ng)).collect();
    insert_suffixed(out, average(&slice_merged), "_2D_comb");
    let dir_merged: Vec<Features> = (0..DIRS_2D.len()).filter_map(|d| of(&sum(&per.iter().map(|ms| ms[d].clone()).collect::<Vec<_>>()), ng)).collect();
    insert_suffixed(out, average(&dir_merged), "_2_5D_avg");
    let all: Vec<Vec<f64>> = per.iter().flatten().cloned().collect();
    if let Some(f) = of(&sum(&all), ng) {
        insert_suffixed(out, f, "_2_5D_comb");
    }
}
