//! Sub-grids: the box a structure occupies, and volumes and label maps cut to it, so
//! that work on a small lesion in a clinical-size scan costs what the lesion costs.
//! A cropped grid keeps spacing and direction; its origin is the world position of
//! the box's first voxel, so world coordinates are unchanged.

use crate::abi::{Geometry, LabelMap, Volume, VoxelData};

/// Inclusive voxel box: `lo[a] ..= hi[a]` along each axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoxelBox {
    pub lo: [usize; 3],
    pub hi: [usize; 3],
}

impl VoxelBox {
    /// The smallest box holding every voxel for which `inside(index)` is true, on a
    /// grid of `dims`; `None` when there is none.
    pub fn around(dims: [usize; 3], mut inside: impl FnMut(usize) -> bool) -> Option<VoxelBox> {
        let (mut lo, mut hi) = ([usize::MAX; 3], [0usize; 3]);
        let mut n = 0;
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    if inside(n) {
                        let p = [i, j, k];
                        for a in 0..3 {
                            lo[a] = lo[a].min(p[a]);
                            hi[a] = hi[a].max(p[a]);
                        }
                    }
                    n += 1;
                }
            }
        }
        (lo[0] != usize::MAX).then_some(VoxelBox { lo, hi })
    }

    /// Grown by `by` voxels on every side, clamped to a grid of `dims`.
    pub fn grown(self, by: usize, dims: [usize; 3]) -> VoxelBox {
        self.grown_by([by; 3], dims)
    }

    /// Grown by `by[a]` voxels on both sides along axis a, clamped to a grid of `dims`.
    pub fn grown_by(self, by: [usize; 3], dims: [usize; 3]) -> VoxelBox {
        VoxelBox { lo: [0, 1, 2].map(|a| self.lo[a].saturating_sub(by[a])), hi: [0, 1, 2].map(|a| (self.hi[a] + by[a]).min(dims[a] - 1)) }
    }

    pub fn dims(&self) -> [usize; 3] {
        [0, 1, 2].map(|a| self.hi[a] - self.lo[a] + 1)
    }

    /// Copies the box out of a grid of `dims`, x fastest.
    pub fn cut<T: Copy>(&self, data: &[T], dims: [usize; 3]) -> Vec<T> {
        let mut out = Vec::with_capacity(self.dims().iter().product());
        for k in self.lo[2]..=self.hi[2] {
            for j in self.lo[1]..=self.hi[1] {
                let row = dims[0] * (j + dims[1] * k);
                out.extend_from_slice(&data[row + self.lo[0]..=row + self.hi[0]]);
            }
        }
        out
    }

    /// Writes a box-sized `local` (as [`VoxelBox::cut`] makes it) back into a grid of
    /// `dims`.
    pub fn paste<T: Copy>(&self, local: &[T], data: &mut [T], dims: [usize; 3]) {
        let w = self.hi[0] - self.lo[0] + 1;
        let mut at = 0;
        for k in self.lo[2]..=self.hi[2] {
            for j in self.lo[1]..=self.hi[1] {
                let row = dims[0] * (j + dims[1] * k);
                data[row + self.lo[0]..=row + self.hi[0]].copy_from_slice(&local[at..at + w]);
                at += w;
            }
        }
    }

    /// The grid index of every voxel of the box, in the order [`VoxelBox::cut`] uses.
    pub fn indices(&self, dims: [usize; 3]) -> impl Iterator<Item = usize> + '_ {
        (self.lo[2]..=self.hi[2]).flat_map(move |k| (self.lo[1]..=self.hi[1]).flat_map(move |j| (self.lo[0]..=self.hi[0]).map(move |i| i + dims[0] * (j + dims[1] * k))))
    }
}

impl Geometry {
    /// The part of this scan's [`Geometry::centred_grid`] that lies inside the box `cut`
    /// of its voxels, `margin` voxels in from the box's sides (not from the scan's own
    /// edges, where the centred grid overhangs): a lesion's neighbourhood resampled on
    /// the grid the whole scan would have, from the cut alone.
    pub fn centred_grid_within(&self, cut: &VoxelBox, spacing: [f64; 3], margin: usize) -> Geometry {
        let full = self.centred_grid(spacing);
        let first = self.world_to_index(full.origin);
        let mut lo = [0usize; 3];
        let mut dims = [0u32; 3];
        for a in 0..3 {
            let n = self.dims[a] as usize;
            let scale = self.spacing[a] / spacing[a];
            let last = full.dims[a] as usize - 1;
            let start = if cut.lo[a] == 0 { 0 } else { ((((cut.lo[a] + margin) as f64 - first[a]) * scale - 1e-9).ceil().max(0.0) as usize).min(last) };
            let end = if cut.hi[a] + 1 == n { last } else { ((((cut.hi[a].saturating_sub(margin)) as f64 - first[a]) * scale + 1e-9).floor().max(0.0) as usize).min(last) };
            lo[a] = start;
            dims[a] = (end.max(start) - start + 1) as u32;
        }
        Geometry { dims, spacing, origin: full.index_to_world(lo.map(|l| l as f64)), direction: self.direction }
    }

    /// The grid of the voxels in `b` (same spacing and direction, origin moved).
    pub fn crop(&self, b: &VoxelBox) -> Geometry {
        let mut g = *self;
        g.dims = b.dims().map(|d| d as u32);
        g.origin = self.index_to_world(b.lo.map(|l| l as f64));
        g
    }
}

impl Volume {
    pub fn crop(&self, b: &VoxelBox) -> Volume {
        let dims = self.geometry.dims_usize();
        let data = match &self.data {
            VoxelData::U8(v) => VoxelData::U8(b.cut(v, dims).into()),
            VoxelData::I16(v) => VoxelData::I16(b.cut(v, dims).into()),
            VoxelData::F32(v) => VoxelData::F32(b.cut(v, dims).into()),
        };
        Volume { geometry: self.geometry.crop(b), data }
    }
}

impl LabelMap {
    pub fn crop(&self, b: &VoxelBox) -> LabelMap {
        LabelMap::new(self.geometry.crop(b), b.cut(&self.labels, self.geometry.dims_usize()), self.table.to_vec())
    }

    /// The box of the voxels labelled `only`, or of every non-zero label when `only` is 0.
    pub fn bounding_box(&self, only: u16) -> Option<VoxelBox> {
        VoxelBox::around(self.geometry.dims_usize(), |n| if only == 0 { self.labels[n] != 0 } else { self.labels[n] == only })
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn paste_undoes_cut_and_indices_follow_its_order() {
        let dims = [5, 4, 3];
        let data: Vec<u32> = (0..60).collect();
        let b = VoxelBox { lo: [1, 1, 0], hi: [3, 2, 2] };
        let local = b.cut(&data, dims);
        assert_eq!(local, b.indices(dims).map(|n| data[n]).collect::<Vec<_>>());
        let mut back = vec![0u32; 60];
        b.paste(&local, &mut back, dims);
        for n in 0..60 {
            let (i, j) = (n % 5, (n / 5) % 4);
            let inside = (1..=3).contains(&i) && (1..=2).contains(&j);
            assert_eq!(back[n], if inside { data[n] } else { 0 });
        }
    }

    use super::*;

    #[test]
    fn a_cropped_grid_keeps_world_positions_on_an_oblique_grid() {
        let mut g = Geometry::axis_aligned([10, 8, 6], [0.7, 0.9, 2.5], [-20.0, 5.0, 40.0]);
        // A rotation about z by 30 degrees (row-major; columns are the axes' directions).
        let (s, c) = (30f64.to_radians().sin(), 30f64.to_radians().cos());
        g.direction = [c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0];
        let mut labels = vec![0u16; g.len()];
        labels[g.index(3, 2, 1)] = 2;
        labels[g.index(6, 5, 4)] = 2;
        labels[g.index(9, 7, 5)] = 1;
        let map = LabelMap::new(g, labels, vec![]);
        let b = map.bounding_box(2).unwrap();
        assert_eq!(b, VoxelBox { lo: [3, 2, 1], hi: [6, 5, 4] });
        assert_eq!(map.bounding_box(0).unwrap().hi, [9, 7, 5]);
        let cropped = map.crop(&b);
        assert_eq!(cropped.geometry.dims, [4, 4, 4]);
        assert_eq!(cropped.labels[cropped.geometry.index(3, 3, 3)], 2);
        let here = cropped.geometry.index_to_world([3.0, 3.0, 3.0]);
        let there = g.index_to_world([6.0, 5.0, 4.0]);
        assert!(crate::volume::dist(here, there) < 1e-9, "{here:?} vs {there:?}");
        assert_eq!(b.grown(2, g.dims_usize()), VoxelBox { lo: [1, 0, 0], hi: [8, 7, 5] });
        assert!(LabelMap::new(g, vec![0; g.len()], vec![]).bounding_box(0).is_none());
    }
}
