//! The region of interest: voxel intensities inside a mask, discretised grey levels,
//! and the voxel grid they sit on.

/// A mask's voxels on their grid. `levels` are the grey levels used by histogram and
/// texture features (1..=`ng`, 0 outside the ROI); `values` the intensities of the whole
/// grid (features that look outside the mask, local intensity peaks, read them there).
#[derive(Debug, Clone)]
pub struct Roi {
    pub dims: [usize; 3],
    /// mm, (x, y, z).
    pub spacing: [f64; 3],
    pub mask: Vec<bool>,
    pub values: Vec<f64>,
    pub levels: Vec<u32>,
    pub ng: u32,
    /// What the intensity-volume histogram is computed on.
    pub ivh: Ivh,
    /// The morphological mask, when re-segmentation made the intensity mask (`mask`)
    /// differ from it: distance zones measure to its edge.
    pub morphological: Option<Vec<bool>>,
    /// Which texture aggregations are computed.
    pub texture: Texture,
    /// Which families are computed.
    pub families: Families,
    /// `levels` on the grid padded by one voxel of level 0 on every side: a neighbour
    /// one step away is one add away, with no bounds check, and a walk along a
    /// direction stops at the border by itself.
    pub padded: Vec<u32>,
    /// Indices into `padded` of the ROI's voxels in scan order; slice k's are
    /// `voxels[slice_starts[k]..slice_starts[k + 1]]`.
    pub voxels: Vec<usize>,
    pub slice_starts: Vec<usize>,
}

/// Which texture aggregations the families compute. An IBSI configuration is either 2D
/// (its reference values are the 2D and 2.5D aggregations) or 3D; a study may want all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Texture {
    /// Slice by slice (2D) and slices merged (2.5D).
    Planar,
    /// The volume (3D).
    Volumetric,
    /// 2D, 2.5D and 3D.
    All,
}

/// Which feature families are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Families {
    /// Every IBSI family.
    All,
    /// The families pyradiomics computes, for studies compared with it (and less work):
    /// statistics, intensity histogram, morphology without Moran's I, Geary's C, the
    /// centre-of-mass shift and integrated intensity, GLCM, GLRLM, GLSZM, NGTDM and
    /// NGLDM (its GLDM); no intensity-volume histogram, local intensity or GLDZM.
    Pyradiomics,
}

impl Families {
    /// The choice by its parameter name (`all`, `pyradiomics`).
    pub fn named(name: &str) -> Option<Families> {
        match name {
            "all" => Some(Families::All),
            "pyradiomics" => Some(Families::Pyradiomics),
            _ => None,
        }
    }

    /// Whether the feature with this IBSI tag is computed.
    pub fn includes(self, tag: &str) -> bool {
        match self {
            Families::All => true,
            Families::Pyradiomics => {
                !(["ivh_", "loc_", "dzm_"].iter().any(|p| tag.starts_with(p)) || ["morph_moran_i", "morph_geary_c", "morph_com", "morph_integ_int"].contains(&tag))
            }
        }
    }
}

/// What is computed: the texture aggregations and the families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub texture: Texture,
    pub families: Families,
}

impl Texture {
    pub fn planar(self) -> bool {
        self != Texture::Volumetric
    }

    pub fn volumetric(self) -> bool {
        self != Texture::Planar
    }
}

/// The intensities of the intensity-volume histogram and the range it spans (IBSI,
/// "Intensity-volume histogram features": three cases).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ivh {
    /// The texture grey levels, over their range in the ROI (the digital phantom).
    Levels,
    /// Calibrated, discrete intensities (CT in HU) as they are, step 1, over `range`
    /// (the re-segmentation range) or, without one, the ROI's own min..max.
    Intensities { range: Option<(f64, f64)> },
    /// Calibrated, continuous: bins of `width` from `lower` to `upper`, each voxel at
    /// its bin's centre, the range from the first to the last centre.
    BinWidth { width: f64, lower: f64, upper: f64 },
    /// Arbitrary units: `n` bins between the ROI's min and max, the range 1..n.
    BinNumber(u32),
}

/// How intensities become grey levels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Discretisation {
    /// Intensities are already integer grey levels (the IBSI digital phantom).
    None,
    /// Fixed bin number over the ROI's range.
    BinNumber(u32),
    /// Fixed bin width from a lower bound (e.g. -1000 HU), IBSI's FBS.
    BinWidth { width: f64, lower: f64 },
}

impl Discretisation {
    /// The grey level (1, 2, ...) of intensity `v` in an ROI whose intensities span
    /// `lo..=hi` (IBSI FBN and FBS).
    pub fn level(self, v: f64, lo: f64, hi: f64) -> u32 {
        match self {
            Discretisation::None => v.round().max(1.0) as u32,
            Discretisation::BinNumber(n) => {
                if hi > lo { ((n as f64 * (v - lo) / (hi - lo)).floor() as u32 + 1).min(n) } else { 1 }
            }
            Discretisation::BinWidth { width, lower } => ((v - lower) / width).floor().max(0.0) as u32 + 1,
        }
    }
}

impl Roi {
    pub fn new(dims: [usize; 3], spacing: [f64; 3], image: &[f64], mask: &[bool], d: Discretisation) -> Roi {
        assert_eq!(image.len(), dims.iter().product::<usize>());
        let in_roi: Vec<f64> = image.iter().zip(mask).filter(|(_, m)| **m).map(|(v, _)| *v).collect();
        let (lo, hi) = in_roi.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let levels: Vec<u32> = image.iter().zip(mask).map(|(&v, &m)| if m { d.level(v, lo, hi) } else { 0 }).collect();
        let ng = levels.iter().copied().max().unwrap_or(0);
        let [nx, ny, nz] = dims;
        let (px, py) = (nx + 2, ny + 2);
        let mut padded = vec![0u32; px * py * (nz + 2)];
        let mut voxels = Vec::with_capacity(in_roi.len());
        let mut slice_starts = Vec::with_capacity(nz + 1);
        for k in 0..nz {
            slice_starts.push(voxels.len());
            for j in 0..ny {
                let row = &levels[nx * (j + ny * k)..][..nx];
                let at = 1 + px * (j + 1 + py * (k + 1));
                padded[at..at + nx].copy_from_slice(row);
                voxels.extend(row.iter().enumerate().filter(|(_, l)| **l > 0).map(|(i, _)| at + i));
            }
        }
        slice_starts.push(voxels.len());
        Roi { dims, spacing, mask: mask.to_vec(), values: image.to_vec(), levels, ng, ivh: Ivh::Levels, morphological: None, texture: Texture::All, families: Families::All, padded, voxels, slice_starts }
    }

    /// The offset in `padded` of a step `d` (voxels along i, j, k).
    pub fn padded_step(&self, d: [i64; 3]) -> isize {
        let (px, py) = (self.dims[0] as isize + 2, self.dims[1] as isize + 2);
        d[0] as isize + px * (d[1] as isize + py * d[2] as isize)
    }

    /// The ROI's voxels as indices into `padded`, all or one axial slice's.
    pub fn voxels_in(&self, slice: Option<usize>) -> &[usize] {
        match slice {
            Some(k) => &self.voxels[self.slice_starts[k]..self.slice_starts[k + 1]],
            None => &self.voxels,
        }
    }

    /// The steps to the Chebyshev distance-1 neighbours (8 in a slice, 26 in 3D) as
    /// offsets in `padded`.
    pub fn neighbour_steps(&self, planar: bool) -> Vec<isize> {
        let dz = if planar { 0 } else { 1 };
        let mut out = Vec::new();
        for z in -dz..=dz {
            for y in -1..=1 {
                for x in -1..=1 {
                    if (x, y, z) != (0, 0, 0) {
                        out.push(self.padded_step([x, y, z]));
                    }
                }
            }
        }
        out
    }

    /// The same ROI with the morphological mask it was re-segmented from.
    pub fn with_morphological(mut self, mask: &[bool]) -> Roi {
        self.morphological = (mask != self.mask.as_slice()).then(|| mask.to_vec());
        self
    }

    /// The same ROI with only the aggregations and families of `scope` computed.
    pub fn with_scope(mut self, scope: Scope) -> Roi {
        self.texture = scope.texture;
        self.families = scope.families;
        self
    }

    /// The same ROI with its intensity-volume histogram computed as `ivh` says.
    pub fn with_ivh(mut self, ivh: Ivh) -> Roi {
        self.ivh = ivh;
        self
    }

    pub fn index(&self, i: usize, j: usize, k: usize) -> usize {
        i + self.dims[0] * (j + self.dims[1] * k)
    }

    /// Intensities inside the ROI.
    pub fn roi_values(&self) -> Vec<f64> {
        self.values.iter().zip(&self.mask).filter(|(_, m)| **m).map(|(v, _)| *v).collect()
    }

    /// Grey levels inside the ROI.
    pub fn roi_levels(&self) -> Vec<u32> {
        self.levels.iter().copied().filter(|&l| l > 0).collect()
    }

    /// ROI voxel count.
    pub fn count(&self) -> usize {
        self.mask.iter().filter(|m| **m).count()
    }

    /// ROI voxel count in axial slice `k`.
    pub fn count_in_slice(&self, k: usize) -> usize {
        self.slice_starts[k + 1] - self.slice_starts[k]
    }

    /// The voxel (i, j, k) at index `p` of `padded`.
    pub fn unpadded(&self, p: usize) -> [usize; 3] {
        let (px, py) = (self.dims[0] + 2, self.dims[1] + 2);
        [p % px - 1, (p / px) % py - 1, p / (px * py) - 1]
    }

    /// All positions in the ROI, in scan order.
    pub fn positions(&self) -> Vec<[i64; 3]> {
        self.voxels.iter().map(|&p| self.unpadded(p).map(|c| c as i64)).collect()
    }
}
