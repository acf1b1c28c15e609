//! Neighbourhood families (IBSI-1 3.10, 3.11): the neighbourhood grey tone difference
//! matrix and the neighbouring grey level dependence matrix, on the Chebyshev
//! distance-1 neighbourhood (26 voxels in 3D, 8 in a slice), ROI voxels only.

use super::glrlm::{CountMatrix, emphasis_features};
use super::{Features, Roi, average, insert_suffixed};

/// Per grey level: (count of voxels with a valid neighbourhood, sum of |i - mean of neighbours|).
fn ngtdm(roi: &Roi, slice: Option<usize>) -> (Vec<f64>, Vec<f64>) {
    let ng = roi.ng as usize;
    let (mut n, mut s) = (vec![0.0; ng], vec![0.0; ng]);
    let steps = roi.neighbour_steps(slice.is_some());
    for &v in roi.voxels_in(slice) {
        let (mut sum, mut count) = (0u32, 0u32);
        for &d in &steps {
            let l = roi.padded[v.wrapping_add_signed(d)];
            sum += l;
            count += u32::from(l > 0);
        }
        if count == 0 {
            continue;
        }
        let i = roi.padded[v] as usize;
        n[i - 1] += 1.0;
        s[i - 1] += (i as f64 - sum as f64 / count as f64).abs();
    }
    (n, s)
}

fn ngtdm_of(n: &[f64], s: &[f64]) -> Option<Features> {
    let nvc: f64 = n.iter().sum();
    if nvc == 0.0 {
        return None;
    }
    let p: Vec<f64> = n.iter().map(|v| v / nvc).collect();
    let present: Vec<usize> = (0..p.len()).filter(|&i| p[i] > 0.0).collect();
    let ngp = present.len() as f64;
    let ps: f64 = present.iter().map(|&i| p[i] * s[i]).sum();
    let s_total: f64 = s.iter().sum();
    let g = |i: usize| (i + 1) as f64;
    let (mut contrast, mut busy_den, mut complexity, mut strength) = (0.0, 0.0, 0.0, 0.0);
    for &i in &present {
        for &j in &present {
            let d = g(i) - g(j);
            contrast += p[i] * p[j] * d * d;
            busy_den += (g(i) * p[i] - g(j) * p[j]).abs();
            complexity += d.abs() * (p[i] * s[i] + p[j] * s[j]) / (p[i] + p[j]);
            strength += (p[i] + p[j]) * d * d;
        }
    }
    let mut f = Features::new();
    f.insert("ngt_coarseness".into(), if ps > 0.0 { 1.0 / ps } else { 1e6 });
    f.insert("ngt_contrast".into(), if ngp > 1.0 { contrast / (ngp * (ngp - 1.0)) * s_total / nvc } else { 0.0 });
    f.insert("ngt_busyness".into(), if busy_den > 0.0 { ps / busy_den } else { 0.0 });
    f.insert("ngt_complexity".into(), complexity / nvc);
    f.insert("ngt_strength".into(), if s_total > 0.0 { strength / s_total } else { 0.0 });
    Some(f)
}

pub fn ngtdm_features(roi: &Roi, out: &mut Features) {
    if roi.texture.volumetric() {
        let (n, s) = ngtdm(roi, None);
        if let Some(f) = ngtdm_of(&n, &s) {
            insert_suffixed(out, f, "_3D");
        }
    }
    if !roi.texture.planar() {
        return;
    }
    let slices: Vec<usize> = (0..roi.dims[2]).filter(|&k| roi.count_in_slice(k) > 0).collect();
    let per: Vec<(Vec<f64>, Vec<f64>)> = slices.iter().map(|&k| ngtdm(roi, Some(k))).collect();
    insert_suffixed(out, average(&per.iter().filter_map(|(n, s)| ngtdm_of(n, s)).collect::<Vec<_>>()), "_2D");
    let ng = roi.ng as usize;
    let (mut n, mut s) = (vec![0.0; ng], vec![0.0; ng]);
    for (pn, ps) in &per {
        for i in 0..ng {
            n[i] += pn[i];
            s[i] += ps[i];
        }
    }
    if let Some(f) = ngtdm_of(&n, &s) {
        insert_suffixed(out, f, "_2_5D");
    }
}

const NGL: [&str; 16] = ["lde", "hde", "lgce", "hgce", "ldlge", "ldhge", "hdlge", "hdhge", "glnu", "glnu_norm", "dcnu", "dcnu_norm", "dc_perc", "gl_var", "dc_var", "dc_entr"];

/// Dependence counts: 1 + neighbours in the ROI with the same grey level.
fn ngldm(roi: &Roi, slice: Option<usize>) -> CountMatrix {
    let steps = roi.neighbour_steps(slice.is_some());
    let mut m = CountMatrix::new(roi.ng as usize, steps.len() + 1);
    let voxels = roi.voxels_in(slice);
    m.nv = voxels.len() as f64;
    for &v in voxels {
        let l = roi.padded[v];
        let k = 1 + steps.iter().filter(|&&d| roi.padded[v.wrapping_add_signed(d)] == l).count();
        m.add(l, k, 1.0);
    }
    m
}

pub fn ngldm_features(roi: &Roi, out: &mut Features) {
    let of = |m: &CountMatrix| emphasis_features(m, "ngl", &NGL, Some("dc_energy"));
    if roi.texture.volumetric()
        && let Some(f) = of(&ngldm(roi, None))
    {
        insert_suffixed(out, f, "_3D");
    }
    if !roi.texture.planar() {
        return;
    }
    let slices: Vec<usize> = (0..roi.dims[2]).filter(|&k| roi.count_in_slice(k) > 0).collect();
    let per: Vec<CountMatrix> = slices.iter().map(|&k| ngldm(roi, Some(k))).collect();
    insert_suffixed(out, average(&per.iter().filter_map(of).collect::<Vec<_>>()), "_2D");
    if let Some(f) = of(&CountMatrix::merged(&per)) {
        insert_suffixed(out, f, "_2_5D");
    }
}
