//! Grey level run length matrix features (IBSI-1 3.7), and the shared "emphasis"
//! formulas that size-zone, distance-zone and dependence matrices reuse.

use super::{DIRS_2D, DIRS_3D, Features, Roi, average, insert_suffixed, plogp};

/// A count matrix: rows are grey levels 1..=ng, columns a length/size/distance/count
/// 1..=cols; `nv` is the voxel count it was built from (summed when merged).
#[derive(Debug, Clone)]
pub struct CountMatrix {
    pub ng: usize,
    pub cols: usize,
    pub counts: Vec<f64>,
    pub nv: f64,
}

impl CountMatrix {
    pub fn new(ng: usize, cols: usize) -> Self {
        CountMatrix { ng, cols, counts: vec![0.0; ng * cols], nv: 0.0 }
    }
    pub fn add(&mut self, level: u32, j: usize, n: f64) {
        if j > self.cols {
            let mut grown = CountMatrix::new(self.ng, j);
            for i in 0..self.ng {
                for c in 0..self.cols {
                    grown.counts[i * j + c] = self.counts[i * self.cols + c];
                }
            }
            grown.nv = self.nv;
            *self = grown;
        }
        self.counts[(level as usize - 1) * self.cols + (j - 1)] += n;
    }
    pub fn merged(ms: &[CountMatrix]) -> CountMatrix {
        let cols = ms.iter().map(|m| m.cols).max().unwrap_or(1);
        let mut out = CountMatrix::new(ms.first().map(|m| m.ng).unwrap_or(1), cols);
        for m in ms {
            for i in 0..m.ng {
                for c in 0..m.cols {
                    out.counts[i * cols + c] += m.counts[i * m.cols + c];
                }
            }
            out.nv += m.nv;
        }
        out
    }
}

/// The 16 emphasis/non-uniformity/variance/entropy features (plus energy when asked)
/// under the family's names: short, long, low grey, high grey, the four combinations,
/// grey non-uniformity (and normalised), column non-uniformity (and normalised),
/// percentage, grey variance, column variance, entropy.
pub fn emphasis_features(m: &CountMatrix, prefix: &str, names: &[&str; 16], energy: Option<&str>) -> Option<Features> {
    let ns: f64 = m.counts.iter().sum();
    if ns == 0.0 {
        return None;
    }
    let mut v = [0.0f64; 8];
    let mut rows = vec![0.0; m.ng];
    let mut cols = vec![0.0; m.cols];
    let (mut mu_i, mut mu_j) = (0.0, 0.0);
    for i in 0..m.ng {
        for j in 0..m.cols {
            let c = m.counts[i * m.cols + j];
            if c == 0.0 {
                continue;
            }
            let (gi, gj) = ((i + 1) as f64, (j + 1) as f64);
            let (i2, j2) = (gi * gi, gj * gj);
            v[0] += c / j2;
            v[1] += c * j2;
            v[2] += c / i2;
            v[3] += c * i2;
            v[4] += c / (i2 * j2);
            v[5] += c * i2 / j2;
            v[6] += c * j2 / i2;
            v[7] += c * i2 * j2;
            rows[i] += c;
            cols[j] += c;
            mu_i += gi * c / ns;
            mu_j += gj * c / ns;
        }
    }
    let (mut var_i, mut var_j, mut entr, mut en) = (0.0, 0.0, 0.0, 0.0);
    for i in 0..m.ng {
        for j in 0..m.cols {
            let p = m.counts[i * m.cols + j] / ns;
            var_i += ((i + 1) as f64 - mu_i).powi(2) * p;
            var_j += ((j + 1) as f64 - mu_j).powi(2) * p;
            entr -= plogp(p);
            en += p * p;
        }
    }
    let gl_nu: f64 = rows.iter().map(|r| r * r).sum();
    let col_nu: f64 = cols.iter().map(|c| c * c).sum();
    let values = [v[0] / ns, v[1] / ns, v[2] / ns, v[3] / ns, v[4] / ns, v[5] / ns, v[6] / ns, v[7] / ns, gl_nu / ns, gl_nu / (ns * ns), col_nu / ns, col_nu / (ns * ns), ns / m.nv, var_i, var_j, entr];
    let mut f: Features = names.iter().zip(values).map(|(n, v)| (format!("{prefix}_{n}"), v)).collect();
    if let Some(e) = energy {
        f.insert(format!("{prefix}_{e}"), en);
    }
    Some(f)
}

const NAMES: [&str; 16] = ["sre", "lre", "lgre", "hgre", "srlge", "srhge", "lrlge", "lrhge", "glnu", "glnu_norm", "rlnu", "rlnu_norm", "r_perc", "gl_var", "rl_var", "rl_entr"];

/// Runs of equal grey level along `dir`, over the ROI or one slice of it.
fn matrix(roi: &Roi, dir: [i64; 3], slice: Option<usize>) -> CountMatrix {
    // No run is longer than the grid along the direction's longest axis.
    let longest = (0..3).filter(|&a| dir[a] != 0).map(|a| roi.dims[a]).max().unwrap_or(1);
    let mut m = CountMatrix::new(roi.ng as usize, longest);
    let voxels = roi.voxels_in(slice);
    m.nv = voxels.len() as f64;
    let step = roi.padded_step(dir);
    for &v in voxels {
        let level = roi.padded[v];
        if roi.padded[v.wrapping_add_signed(-step)] == level {
            continue; // not the start of a run
        }
        // The padding's level 0 ends every run inside the grid.
        let mut len = 1;
        while roi.padded[v.wrapping_add_signed(step * len as isize)] == level {
            len += 1;
        }
        m.add(level, len, 1.0);
    }
    m
}

fn of(m: &CountMatrix) -> Option<Features> {
    emphasis_features(m, "rlm", &NAMES, None)
}

/// The six aggregations (IBSI tags `rlm_*_{2D,2_5D,3D}_{avg,comb}`), those of
/// `roi.texture`.
pub fn features(roi: &Roi, out: &mut Features) {
    if roi.texture.volumetric() {
        let vol: Vec<CountMatrix> = DIRS_3D.iter().map(|&d| matrix(roi, d, None)).collect();
        insert_suffixed(out, average(&vol.iter().filter_map(of).collect::<Vec<_>>()), "_3D_avg");
        if let Some(f) = of(&CountMatrix::merged(&vol)) {
            insert_suffixed(out, f, "_3D_comb");
        }
    }
    if !roi.texture.planar() {
        return;
    }
    let slices: Vec<usize> = (0..roi.dims[2]).filter(|&k| roi.count_in_slice(k) > 0).collect();
    let per: Vec<Vec<CountMatrix>> = slices.iter().map(|&k| DIRS_2D.iter().map(|&d| matrix(roi, d, Some(k))).collect()).collect();
    insert_suffixed(out, average(&per.iter().flatten().filter_map(of).collect::<Vec<_>>()), "_2D_avg");
    insert_suffixed(out, average(&per.iter().filter_map(|ms| of(&CountMatrix::merged(ms))).collect::<Vec<_>>()), "_2D_comb");
    let dir_merged: Vec<Features> = (0..DIRS_2D.len()).filter_map(|d| of(&CountMatrix::merged(&per.iter().map(|ms| ms[d].clone()).collect::<Vec<_>>()))).collect();
    insert_suffixed(out, average(&dir_merged), "_2_5D_avg");
    if let Some(f) = of(&CountMatrix::merged(&per.iter().flatten().cloned().collect::<Vec<_>>())) {
        insert_suffixed(out, f, "_2_5D_comb");
    }
}
