//! Trilinear sampling as a Candle graph: values of a volume (or of a vector field on a
//! grid) at continuous voxel indices, differentiable with respect to the indices — what
//! PyTorch calls `grid_sample`, which Candle lacks. The eight corner values are gathered
//! with `index_select`; the gradient flows through the interpolation weights.

use candle_core::{DType, Result, Tensor};

/// A table of `channels` values per voxel of a `dims` grid, as a (voxels, channels)
/// tensor (one channel for an image, three for a displacement field).
#[derive(Clone)]
pub struct GridTable {
    pub dims: [usize; 3],
    pub values: Tensor,
}

impl GridTable {
    /// Samples at `idx` (points, 3) continuous voxel indices (i, j, k). Returns the values
    /// (points, channels) and an inside mask (points,) of 1.0 where the point lies within
    /// the grid's outermost voxel centres; outside, values are those of the nearest edge.
    pub fn sample(&self, idx: &Tensor) -> Result<(Tensor, Tensor)> {
        let [nx, ny, nz] = self.dims;
        let axis = |a: usize| idx.narrow(1, a, 1).and_then(|t| t.squeeze(1));
        let (x, y, z) = (axis(0)?, axis(1)?, axis(2)?);
        let inside = |t: &Tensor, n: usize| -> Result<Tensor> { t.ge(0f32)?.to_dtype(DType::F32)?.mul(&t.le((n - 1) as f32)?.to_dtype(DType::F32)?) };
        let mask = inside(&x, nx)?.mul(&inside(&y, ny)?)?.mul(&inside(&z, nz)?)?;
        // Clamp just inside the last cell so that the "+1" corner exists.
        let prep = |t: &Tensor, n: usize| -> Result<(Tensor, Tensor, Tensor)> {
            let c = t.clamp(0f32, (n.max(2) - 1) as f32 - 1e-4)?;
            let base = c.floor()?.detach();
            let frac = (c - &base)?;
            let one = Tensor::ones_like(&frac)?;
            Ok((base, frac, one))
        };
        let (bx, fx, one) = prep(&x, nx)?;
        let (by, fy, _) = prep(&y, ny)?;
        let (bz, fz, _) = prep(&z, nz)?;
        let gx = (&one - &fx)?;
        let gy = (&one - &fy)?;
        let gz = (&one - &fz)?;
        let mut total: Option<Tensor> = None;
        for corner in 0..8usize {
            let (dx, dy, dz) = (corner & 1, corner >> 1 & 1, corner >> 2 & 1);
            let lin = ((&bx + dx as f64)? + ((&by + dy as f64)? * nx as f64)?)?;
            let lin = (lin + ((&bz + dz as f64)? * (nx * ny) as f64)?)?;
            let lin = lin.to_dtype(DType::U32)?;
            let w = [if dx == 1 { &fx } else { &gx }, if dy == 1 { &fy } else { &gy }, if dz == 1 { &fz } else { &gz }];
            let w = w[0].mul(w[1])?.mul(w[2])?.unsqueeze(1)?;
            let v = self.values.index_select(&lin, 0)?.broadcast_mul(&w)?;
            total = Some(match total {
                None => v,
                Some(t) => (t + v)?,
            });
        }
        Ok((total.expect("eight corners"), mask))
    }
}

/// World millimetres (points, 3) -> continuous voxel indices of `g`, as a Candle graph.
pub fn world_to_index(points: &Tensor, g: &isotherm_sdk::abi::Geometry) -> Result<Tensor> {
    // Column c of the inverse affine is the index of origin + unit step along world axis c.
    let cols: Vec<[f64; 3]> = (0..3).map(|c| g.world_to_index(std::array::from_fn(|a| g.origin[a] + (a == c) as u8 as f64))).collect();
    let m: Vec<f32> = (0..3).flat_map(|c| (0..3).map(|r| cols[c][r] as f32).collect::<Vec<_>>()).collect();
    let m = Tensor::from_vec(m, (3, 3), points.device())?; // (inv)^T: points are rows
    let origin = Tensor::from_vec(g.origin.map(|v| v as f32).to_vec(), (1, 3), points.device())?;
    points.broadcast_sub(&origin)?.matmul(&m)
}

/// Mean over points of `weights * (a - b)^2`, normalised by the weights' sum.
pub fn weighted_ssd(a: &Tensor, b: &Tensor, weights: &Tensor) -> Result<Tensor> {
    let d = (a - b)?.sqr()?.mul(weights)?;
    d.sum_all()? / (weights.sum_all()?.to_scalar::<f32>()? as f64 + 1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};
    use isotherm_sdk::volume::resample::trilinear;

    #[test]
    fn matches_the_sdk_sampler_and_its_gradient_is_the_slope() {
        let dims = [5usize, 4, 3];
        let data: Vec<f32> = (0..60).map(|n| ((n * 37) % 11) as f32).collect();
        let table = GridTable { dims, values: Tensor::from_vec(data.clone(), (60, 1), &Device::Cpu).unwrap() };
        let pts = [[1.3f32, 2.1, 0.4], [3.9, 0.0, 1.7], [0.0, 3.0, 2.0], [2.5, 1.5, 1.0]];
        let idx = Var::from_vec(pts.concat(), (4, 3), &Device::Cpu).unwrap();
        let (v, mask) = table.sample(idx.as_tensor()).unwrap();
        let v: Vec<f32> = v.squeeze(1).unwrap().to_vec1().unwrap();
        for (p, got) in pts.iter().zip(&v) {
            let want = trilinear(&data, dims, [p[0] as f64, p[1] as f64, p[2] as f64]).unwrap();
            assert!((want - got).abs() < 2e-3, "{p:?}: {got} vs {want}");
        }
        assert_eq!(mask.to_vec1::<f32>().unwrap(), vec![1.0; 4]);
        // d value / d x at the fourth point equals the finite difference of the SDK sampler.
        let (v, _) = table.sample(idx.as_tensor()).unwrap();
        let grads = v.sum_all().unwrap().backward().unwrap();
        let g: Vec<f32> = grads.get(idx.as_tensor()).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let f = |x: f64| trilinear(&data, dims, [x, 1.5, 1.0]).unwrap() as f64;
        let slope = (f(2.51) - f(2.49)) / 0.02;
        assert!((g[9] as f64 - slope).abs() < 1e-3, "{} vs {slope}", g[9]);
        // Outside the grid: mask 0.
        let (_, m) = table.sample(&Tensor::from_vec(vec![-1f32, 0.0, 0.0], (1, 3), &Device::Cpu).unwrap()).unwrap();
        assert_eq!(m.to_vec1::<f32>().unwrap(), vec![0.0]);
    }
}
