//! NIfTI-1 and NIfTI-2 reading and writing: `.nii`, `.nii.gz`, `.hdr`/`.img` (and
//! `.img.gz`), either byte order, every common integer and float datatype,
//! `scl_slope`/`scl_inter`, qform and sform (sform preferred when set, as nibabel does),
//! 3D and 4D+ (one volume chosen).
//!
//! World coordinates are NIfTI's RAS+ millimetres, which is also Isotherm's convention
//! (see `isotherm_sdk::abi::Geometry`): no axis flips happen here.
//!
//! Hostile files are expected. Every header field is checked before any voxel buffer
//! is allocated, buffers grow only as bytes actually arrive (a header that claims
//! terabytes over a short file fails with "truncated", not with an allocation), and
//! every error names the file.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::bufread::MultiGzDecoder;
use flate2::write::GzEncoder;
use isotherm_sdk::abi::{Geometry, LabelEntry, LabelMap, Volume, VoxelData};
use isotherm_sdk::volume::validate_geometry;

/// The most voxels one volume may have (2^31, e.g. 1024 x 1024 x 2048).
pub const MAX_VOXELS: u64 = 1 << 31;

/// A NIfTI problem, always tied to the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct NiftiError {
    pub path: PathBuf,
    pub problem: String,
}

impl std::fmt::Display for NiftiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for NiftiError {}

type Result<T> = std::result::Result<T, NiftiError>;

fn err<T>(path: &Path, problem: impl Into<String>) -> Result<T> {
    Err(NiftiError { path: path.to_path_buf(), problem: problem.into() })
}

/// Which NIfTI flavour a header was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Nifti1,
    Nifti2,
}

/// The parts of a header Isotherm uses, after validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub version: Version,
    pub little_endian: bool,
    /// `dim[1..=dim[0]]`, all >= 1.
    pub dims: Vec<u64>,
    pub datatype: i16,
    pub bitpix: i16,
    pub pixdim: [f64; 8],
    pub vox_offset: u64,
    pub scl_slope: f64,
    pub scl_inter: f64,
    pub qform_code: i32,
    pub sform_code: i32,
    pub quatern: [f64; 3],
    pub qoffset: [f64; 3],
    pub srow: [[f64; 4]; 3],
    pub intent_code: i32,
    /// True for a single-file `n+1`/`n+2` header, false for a `.hdr` pair.
    pub single_file: bool,
}

impl Header {
    /// Voxels in one 3D volume.
    pub fn voxels_per_volume(&self) -> u64 {
        self.dims.iter().take(3).product::<u64>()
    }
    /// Volumes along dimensions 4 and up (time, components...), flattened.
    pub fn volume_count(&self) -> u64 {
        self.dims.iter().skip(3).product::<u64>().max(1)
    }
    fn dims3(&self) -> [u32; 3] {
        let d = |a: usize| self.dims.get(a).copied().unwrap_or(1) as u32;
        [d(0), d(1), d(2)]
    }
    fn bytes_per_voxel(&self) -> u64 {
        (self.bitpix as u64) / 8
    }

    /// The voxel-to-world geometry: sform if `sform_code > 0`, else qform if
    /// `qform_code > 0`, else NIfTI's "method 1" (pixdim scaling only).
    pub fn geometry(&self) -> std::result::Result<Geometry, String> {
        let dims = self.dims3();
        let affine = if self.sform_code > 0 {
            let s = &self.srow;
            [s[0], s[1], s[2], [0.0, 0.0, 0.0, 1.0]]
        } else if self.qform_code > 0 {
            self.qform_affine()
        } else {
            let p = &self.pixdim;
            [[p[1], 0.0, 0.0, 0.0], [0.0, p[2], 0.0, 0.0], [0.0, 0.0, p[3], 0.0], [0.0, 0.0, 0.0, 1.0]]
        };
        let g = Geometry::from_affine(dims, &affine).ok_or_else(|| {
            let which = if self.sform_code > 0 { "sform" } else if self.qform_code > 0 { "qform" } else { "pixdim" };
            format!("the {which} affine is singular or not finite ({affine:?})")
        })?;
        validate_geometry(&g)?;
        Ok(g)
    }

    /// nifti1.h, "Method 2": rotation from the quaternion (b, c, d), a = sqrt(1 - b²-c²-d²),
    /// scaled by pixdim with qfac = pixdim[0] (= -1 flips k).
    fn qform_affine(&self) -> [[f64; 4]; 4] {
        let [b, c, d] = self.quatern;
        let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
        let r = [
            [a * a + b * b - c * c - d * d, 2.0 * (b * c - a * d), 2.0 * (b * d + a * c)],
            [2.0 * (b * c + a * d), a * a + c * c - b * b - d * d, 2.0 * (c * d - a * b)],
            [2.0 * (b * d - a * c), 2.0 * (c * d + a * b), a * a + d * d - c * c - b * b],
        ];
        let qfac = if self.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
        let s = [self.pixdim[1], self.pixdim[2], self.pixdim[3] * qfac];
        let o = self.qoffset;
        let mut m = [[0.0; 4]; 4];
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] = r[i][j] * s[j];
            }
            m[i][3] = o[i];
        }
        m[3][3] = 1.0;
        m
    }
}

/// Byte-order aware reads out of a header buffer.
struct Fields<'a> {
    bytes: &'a [u8],
    le: bool,
}

impl Fields<'_> {
    fn take<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut b: [u8; N] = self.bytes[at..at + N].try_into().unwrap();
        if !self.le {
            b.reverse();
        }
        b
    }
    fn i16(&self, at: usize) -> i16 { i16::from_le_bytes(self.take(at)) }
    fn i32(&self, at: usize) -> i32 { i32::from_le_bytes(self.take(at)) }
    fn i64(&self, at: usize) -> i64 { i64::from_le_bytes(self.take(at)) }
    fn f32(&self, at: usize) -> f64 { f32::from_le_bytes(self.take(at)) as f64 }
    fn f64(&self, at: usize) -> f64 { f64::from_le_bytes(self.take(at)) }
}

/// Parses and validates a header from its first bytes (348 for NIfTI-1, 540 for NIfTI-2).
pub fn parse_header(bytes: &[u8], path: &Path) -> Result<Header> {
    if bytes.len() < 4 {
        return err(path, format!("too short to be NIfTI ({} bytes)", bytes.len()));
    }
    let size_le = i32::from_le_bytes(bytes[0..4].try_into().unwrap());
    let size_be = i32::from_be_bytes(bytes[0..4].try_into().unwrap());
    let (version, le) = match (size_le, size_be) {
        (348, _) => (Version::Nifti1, true),
        (_, 348) => (Version::Nifti1, false),
        (540, _) => (Version::Nifti2, true),
        (_, 540) => (Version::Nifti2, false),
        _ => return err(path, format!("not a NIfTI file: sizeof_hdr is {size_le}, expected 348 (NIfTI-1) or 540 (NIfTI-2)")),
    };
    let need = if version == Version::Nifti1 { 348 } else { 540 };
    if bytes.len() < need {
        return err(path, format!("truncated header: {} of {need} bytes", bytes.len()));
    }
    let f = Fields { bytes, le };
    let (magic_at, magic_len) = if version == Version::Nifti1 { (344, 4) } else { (4, 8) };
    let magic = &bytes[magic_at..magic_at + magic_len];
    let single_file = match (version, magic) {
        (Version::Nifti1, b"n+1\0") => true,
        (Version::Nifti1, b"ni1\0") => false,
        (Version::Nifti2, b"n+2\0\r\n\x1a\n") => true,
        (Version::Nifti2, b"ni2\0\r\n\x1a\n") => false,
        _ => return err(path, format!("bad magic {:?} for a {version:?} header", String::from_utf8_lossy(magic))),
    };
    let mut raw_dim = [0i64; 8];
    let mut pixdim = [0f64; 8];
    for a in 0..8 {
        if version == Version::Nifti1 {
            raw_dim[a] = f.i16(40 + 2 * a) as i64;
            pixdim[a] = f.f32(76 + 4 * a);
        } else {
            raw_dim[a] = f.i64(16 + 8 * a);
            pixdim[a] = f.f64(104 + 8 * a);
        }
    }
    let h = if version == Version::Nifti1 {
        Header {
            version, little_endian: le, dims: vec![], datatype: f.i16(70), bitpix: f.i16(72), pixdim,
            vox_offset: { let v = f.f32(108); if v.is_finite() && v >= 0.0 { v as u64 } else { return err(path, format!("vox_offset {v} is not a non-negative number")) } },
            scl_slope: f.f32(112), scl_inter: f.f32(116),
            qform_code: f.i16(252) as i32, sform_code: f.i16(254) as i32,
            quatern: [f.f32(256), f.f32(260), f.f32(264)], qoffset: [f.f32(268), f.f32(272), f.f32(276)],
            srow: [0, 1, 2].map(|r| [0, 1, 2, 3].map(|c| f.f32(280 + 16 * r + 4 * c))),
            intent_code: f.i16(68) as i32, single_file,
        }
    } else {
        let vo = f.i64(168);
        if vo < 0 {
            return err(path, format!("vox_offset {vo} is negative"));
        }
        Header {
            version, little_endian: le, dims: vec![], datatype: f.i16(12), bitpix: f.i16(14), pixdim,
            vox_offset: vo as u64, scl_slope: f.f64(176), scl_inter: f.f64(184),
            qform_code: f.i32(344), sform_code: f.i32(348),
            quatern: [f.f64(352), f.f64(360), f.f64(368)], qoffset: [f.f64(376), f.f64(384), f.f64(392)],
            srow: [0, 1, 2].map(|r| [0, 1, 2, 3].map(|c| f.f64(400 + 32 * r + 8 * c))),
            intent_code: f.i32(504), single_file,
        }
    };
    let ndim = raw_dim[0];
    if !(1..=7).contains(&ndim) {
        return err(path, format!("dim[0] is {ndim}, must be 1 to 7"));
    }
    let mut dims = Vec::new();
    for a in 1..=ndim as usize {
        let d = raw_dim[a];
        if d < 1 {
            return err(path, format!("dim[{a}] is {d}, must be at least 1"));
        }
        dims.push(d as u64);
    }
    while dims.len() < 3 {
        dims.push(1);
    }
    let mut h = Header { dims, ..h };
    let expected_bits = match h.datatype {
        2 | 256 => 8,
        4 | 512 => 16,
        8 | 16 | 768 => 32,
        64 | 1024 | 1280 => 64,
        other => return err(path, format!("unsupported datatype code {other} (Isotherm reads integer and float scalars: 2, 4, 8, 16, 64, 256, 512, 768, 1024, 1280)")),
    };
    if h.bitpix != expected_bits {
        // Some writers leave bitpix wrong; the datatype is authoritative.
        h.bitpix = expected_bits;
    }
    let per_volume = h.dims.iter().take(3).try_fold(1u64, |acc, &d| acc.checked_mul(d));
    let total = h.dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d));
    match (per_volume, total) {
        (Some(v), Some(t)) if v <= MAX_VOXELS && t.checked_mul(h.bytes_per_voxel()).is_some() => {}
        _ => return err(path, format!("absurd size: dims {:?} exceed the limit of {MAX_VOXELS} voxels per volume", h.dims)),
    }
    if h.single_file && h.vox_offset < need as u64 {
        return err(path, format!("vox_offset {} points inside the {need}-byte header", h.vox_offset));
    }
    if !h.scl_slope.is_finite() || !h.scl_inter.is_finite() {
        // nibabel: a NaN slope means "no scaling"; anything else non-finite is an error.
        if h.scl_slope.is_nan() {
            h.scl_slope = 0.0;
            h.scl_inter = 0.0;
        } else {
            return err(path, format!("scl_slope {} / scl_inter {} are not finite", h.scl_slope, h.scl_inter));
        }
    }
    if h.sform_code <= 0 && h.qform_code <= 0 && (1..=3).any(|a| !(h.pixdim[a].is_finite() && h.pixdim[a] > 0.0)) {
        return err(path, format!("no sform or qform, and pixdim {:?} has a non-positive spacing", &h.pixdim[1..4]));
    }
    h.geometry().map_err(|e| NiftiError { path: path.to_path_buf(), problem: e })?;
    Ok(h)
}

/// The file's bytes, inflated when it is gzip; and whether it was.
fn open_maybe_gz(path: &Path) -> Result<(Box<dyn Read>, bool)> {
    let file = File::open(path).map_err(|e| NiftiError { path: path.to_path_buf(), problem: format!("cannot open: {e}") })?;
    // One buffer of 1 MiB feeds the inflater directly (bufread decoder: no second buffer).
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let head = reader.fill_buf().map_err(|e| NiftiError { path: path.to_path_buf(), problem: e.to_string() })?;
    let gz = head.starts_with(&[0x1f, 0x8b]);
    Ok((if gz { Box::new(MultiGzDecoder::new(reader)) } else { Box::new(reader) }, gz))
}

/// Reads until `buf` is full or the stream ends; returns the count.
fn read_fully(r: &mut (impl Read + ?Sized), buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn io_problem(path: &Path, what: &str, e: std::io::Error) -> NiftiError {
    let problem = if e.kind() == std::io::ErrorKind::InvalidInput || e.kind() == std::io::ErrorKind::InvalidData {
        format!("corrupt compressed data while reading {what}: {e}")
    } else {
        format!("read error in {what}: {e}")
    };
    NiftiError { path: path.to_path_buf(), problem }
}

/// The image file of a `.hdr`: `.img` or `.img.gz` beside it.
fn image_file_for(header_path: &Path) -> Result<PathBuf> {
    let s = header_path.to_string_lossy();
    let stem = s.strip_suffix(".hdr.gz").or_else(|| s.strip_suffix(".hdr")).unwrap_or(&s).to_string();
    for cand in [format!("{stem}.img"), format!("{stem}.img.gz")] {
        if Path::new(&cand).exists() {
            return Ok(PathBuf::from(cand));
        }
    }
    err(header_path, format!("header of a .hdr/.img pair, but {stem}.img is missing"))
}

/// The header of a pair given by its image file (`.img`, `.img.gz`): nibabel and ITK
/// accept either file of a pair, so do we. Any other path is its own header.
fn header_file_for(path: &Path) -> Result<PathBuf> {
    let s = path.to_string_lossy();
    let Some(stem) = s.strip_suffix(".img.gz").or_else(|| s.strip_suffix(".img")) else {
        return Ok(path.to_path_buf());
    };
    for cand in [format!("{stem}.hdr"), format!("{stem}.hdr.gz")] {
        if Path::new(&cand).is_file() {
            return Ok(PathBuf::from(cand));
        }
    }
    err(path, format!("image file of a .hdr/.img pair, but its header {stem}.hdr is missing"))
}

/// Reads the header only.
pub fn read_header(path: &Path) -> Result<Header> {
    let header_path = header_file_for(path)?;
    let path = header_path.as_path();
    let (mut r, _) = open_maybe_gz(path)?;
    let mut buf = vec![0u8; 540];
    let n = read_fully(&mut r, &mut buf).map_err(|e| io_problem(path, "the header", e))?;
    parse_header(&buf[..n], path)
}

/// The header, a reader positioned at the voxel data of volume `index`, and the file it
/// reads. A header declaring more data than that file can hold (its length, or the
/// deflate limit of ~1032:1 for gzip) is refused here, before anything is allocated.
fn open_voxel_data(path: &Path, index: u64) -> Result<(Header, Box<dyn Read>, PathBuf)> {
    let header_path = header_file_for(path)?;
    let path = header_path.as_path();
    let (mut r, header_gz) = open_maybe_gz(path)?;
    let mut head = vec![0u8; 540];
    let n = read_fully(&mut r, &mut head).map_err(|e| io_problem(path, "the header", e))?;
    let h = parse_header(&head[..n], path)?;
    if index >= h.volume_count() {
        return err(path, format!("volume {index} requested, the file has {} (dims {:?})", h.volume_count(), h.dims));
    }
    let volume_bytes = h.voxels_per_volume() * h.bytes_per_voxel();
    let (mut data, start, data_path, gz): (Box<dyn Read>, u64, PathBuf, bool) = if h.single_file {
        // `head` consumed up to 540 bytes; go on from there.
        let consumed = n as u64;
        let offset = h.vox_offset.saturating_add(index * volume_bytes);
        if offset < consumed {
            let rest = head[offset as usize..n].to_vec();
            (Box::new(std::io::Cursor::new(rest).chain(r)), 0, path.to_path_buf(), header_gz)
        } else {
            (r, offset - consumed, path.to_path_buf(), header_gz)
        }
    } else {
        let img = image_file_for(path)?;
        let (r, gz) = open_maybe_gz(&img)?;
        (r, h.vox_offset.saturating_add(index * volume_bytes), img, gz)
    };
    let on_disk = std::fs::metadata(&data_path).map(|m| m.len()).unwrap_or(u64::MAX);
    let holds_at_most = if gz { on_disk.saturating_mul(1100) } else { on_disk };
    if volume_bytes > holds_at_most {
        return err(&data_path, format!("truncated: expected {volume_bytes} bytes of voxel data for dims {:?}, the file is only {on_disk} bytes", &h.dims[..3]));
    }
    let skipped = std::io::copy(&mut (&mut data).take(start), &mut std::io::sink()).map_err(|e| io_problem(&data_path, "the data offset", e))?;
    if skipped < start {
        return err(&data_path, format!("truncated: voxel data should start at byte {} but the file ends first", start));
    }
    Ok((h, data, data_path))
}

/// Fills `buf` from the voxel data, or says how short it came up.
fn fill(data: &mut dyn Read, buf: &mut [u8], h: &Header, data_path: &Path) -> Result<()> {
    let got = read_fully(data, buf).map_err(|e| io_problem(data_path, "the voxel data", e))?;
    if got < buf.len() {
        return err(data_path, format!("truncated: expected {} bytes of voxel data for dims {:?}, found {got}", buf.len(), &h.dims[..3]));
    }
    Ok(())
}

/// Raw voxel bytes of volume `index` (0-based along dims 4+), in file byte order.
fn read_volume_bytes(path: &Path, index: u64) -> Result<(Header, Vec<u8>)> {
    let (h, mut data, data_path) = open_voxel_data(path, index)?;
    let bytes = read_bytes(&h, &mut *data, &data_path)?;
    Ok((h, bytes))
}

fn read_bytes(h: &Header, data: &mut dyn Read, data_path: &Path) -> Result<Vec<u8>> {
    let mut bytes = vec![0u8; (h.voxels_per_volume() * h.bytes_per_voxel()) as usize];
    fill(data, &mut bytes, h, data_path)?;
    Ok(bytes)
}

/// 16-bit voxels (`i16` or `u16`) of the opened volume, read straight into their final
/// buffer (a CT is 10^8 bytes: no second copy), swapped in place when the file's byte
/// order differs from this machine's.
fn read_words_16<T: Copy + Default>(h: &Header, data: &mut dyn Read, data_path: &Path, swap: fn(T) -> T) -> Result<Vec<T>> {
    const { assert!(std::mem::size_of::<T>() == 2) };
    debug_assert_eq!(h.bytes_per_voxel(), 2);
    let mut words = vec![T::default(); h.voxels_per_volume() as usize];
    // SAFETY: only called with i16 and u16, which have no invalid bit patterns; the
    // byte view covers exactly `words`.
    let bytes = unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 2) };
    fill(data, bytes, h, data_path)?;
    if h.little_endian != cfg!(target_endian = "little") {
        words.iter_mut().for_each(|w| *w = swap(*w));
    }
    Ok(words)
}

fn decode(h: &Header, bytes: &[u8]) -> Vec<f64> {
    let le = h.little_endian;
    macro_rules! conv {
        ($t:ty, $n:expr) => {
            bytes.chunks_exact($n).map(|c| {
                let mut b: [u8; $n] = c.try_into().unwrap();
                if !le { b.reverse(); }
                <$t>::from_le_bytes(b) as f64
            }).collect()
        };
    }
    match h.datatype {
        2 => bytes.iter().map(|&b| b as f64).collect(),
        256 => bytes.iter().map(|&b| b as i8 as f64).collect(),
        4 => conv!(i16, 2),
        512 => conv!(u16, 2),
        8 => conv!(i32, 4),
        768 => conv!(u32, 4),
        16 => conv!(f32, 4),
        64 => conv!(f64, 8),
        1024 => conv!(i64, 8),
        1280 => conv!(u64, 8),
        _ => unreachable!("datatype checked in parse_header"),
    }
}

fn has_scaling(h: &Header) -> bool {
    h.scl_slope != 0.0 && !(h.scl_slope == 1.0 && h.scl_inter == 0.0)
}

/// Reads volume `index` of a scalar image. u8 and i16 stay as they are (CT in HU is
/// usually i16); everything else, and anything with `scl_slope`, becomes f32.
pub fn read_volume(path: &Path, index: u64) -> Result<Volume> {
    let (h, mut source, data_path) = open_voxel_data(path, index)?;
    if h.datatype == 4 && !has_scaling(&h) {
        // The common CT case (i16 in HU): read straight into the volume's buffer.
        let words = read_words_16(&h, &mut *source, &data_path, i16::swap_bytes)?;
        let geometry = h.geometry().map_err(|e| NiftiError { path: path.to_path_buf(), problem: e })?;
        return Ok(Volume { geometry, data: VoxelData::I16(words.into()) });
    }
    let bytes = read_bytes(&h, &mut *source, &data_path)?;
    let geometry = h.geometry().map_err(|e| NiftiError { path: path.to_path_buf(), problem: e })?;
    let data = match (h.datatype, has_scaling(&h)) {
        (2, false) => VoxelData::U8(bytes.into()),
        _ => {
            let (slope, inter) = if has_scaling(&h) { (h.scl_slope, h.scl_inter) } else { (1.0, 0.0) };
            let values: Vec<f32> = decode(&h, &bytes).into_iter().map(|v| (v * slope + inter) as f32).collect();
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return err(path, format!("voxel {:?} is {} (NaN or infinite values are not accepted)", geometry.ijk(i), values[i]));
            }
            VoxelData::F32(values.into())
        }
    };
    Ok(Volume { geometry, data })
}

/// Reads a segmentation: every voxel must be a whole number in 0..=65535.
/// The label table is read from a `.labels.toml` beside the file when present,
/// otherwise it names each value present "label N".
pub fn read_label_map(path: &Path) -> Result<LabelMap> {
    let (h, bytes) = read_volume_bytes(path, 0)?;
    let geometry = h.geometry().map_err(|e| NiftiError { path: path.to_path_buf(), problem: e })?;
    let (slope, inter) = if has_scaling(&h) { (h.scl_slope, h.scl_inter) } else { (1.0, 0.0) };
    let mut labels = Vec::with_capacity(geometry.len());
    // Label maps are usually u8/u16 without scaling: take those directly.
    if slope == 1.0 && inter == 0.0 && (h.datatype == 2 || h.datatype == 512) {
        let le = h.little_endian;
        let labels: Vec<u16> = if h.datatype == 2 {
            bytes.iter().map(|&b| b as u16).collect()
        } else {
            bytes.chunks_exact(2).map(|c| if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) }).collect()
        };
        let table = read_label_table(&label_table_path(path)).unwrap_or_else(|| isotherm_sdk::volume::default_label_table(&labels));
        return Ok(LabelMap::new(geometry, labels, table));
    }
    for (i, v) in decode(&h, &bytes).into_iter().enumerate() {
        let v = v * slope + inter;
        if !(v >= 0.0 && v <= 65535.0 && v.fract() == 0.0) {
            return err(path, format!("not a label map: voxel {:?} is {v}, labels must be whole numbers 0..65535", geometry.ijk(i)));
        }
        labels.push(v as u16);
    }
    let table = read_label_table(&label_table_path(path)).unwrap_or_else(|| isotherm_sdk::volume::default_label_table(&labels));
    Ok(LabelMap::new(geometry, labels, table))
}


/// `case/liver.nii.gz` -> `case/liver.labels.toml`.
pub fn label_table_path(path: &Path) -> PathBuf {
    let s = path.to_string_lossy();
    let stem = [".nii.gz", ".nii", ".hdr.gz", ".hdr", ".img.gz", ".img"].iter().find_map(|ext| s.strip_suffix(ext)).unwrap_or(&s);
    PathBuf::from(format!("{stem}.labels.toml"))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct LabelTableFile {
    labels: Vec<LabelRow>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct LabelRow {
    value: u16,
    name: String,
    colour: [u8; 4],
}

fn read_label_table(path: &Path) -> Option<Vec<LabelEntry>> {
    let text = std::fs::read_to_string(path).ok()?;
    let file: LabelTableFile = toml::from_str(&text).ok()?;
    Some(file.labels.into_iter().map(|r| LabelEntry::new(r.value, &r.name, r.colour)).collect())
}

fn write_label_table(path: &Path, table: &[LabelEntry]) -> std::io::Result<()> {
    let file = LabelTableFile {
        labels: table.iter().map(|e| LabelRow { value: e.value, name: e.name.to_string(), colour: e.colour }).collect(),
    };
    std::fs::write(path, toml::to_string(&file).map_err(std::io::Error::other)?)
}

/// Voxel payload to write.
pub enum WriteData<'a> {
    U8(&'a [u8]),
    I16(&'a [i16]),
    U16(&'a [u16]),
    F32(&'a [f32]),
}

/// Builds a little-endian NIfTI-1 single-file header for `geometry` with both sform
/// and qform set (qform only when the direction is orthonormal).
pub fn nifti1_header(geometry: &Geometry, datatype: i16, bitpix: i16, extra_dims: &[u32], intent_code: i16) -> Vec<u8> {
    let mut h = vec![0u8; 352];
    let put_i16 = |h: &mut Vec<u8>, at: usize, v: i16| h[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let put_f32 = |h: &mut Vec<u8>, at: usize, v: f64| h[at..at + 4].copy_from_slice(&(v as f32).to_le_bytes());
    h[0..4].copy_from_slice(&348i32.to_le_bytes());
    let mut dims: Vec<u32> = geometry.dims.to_vec();
    dims.extend_from_slice(extra_dims);
    put_i16(&mut h, 40, dims.len() as i16);
    for (a, d) in dims.iter().enumerate() {
        put_i16(&mut h, 42 + 2 * a, *d as i16);
    }
    for a in dims.len()..7 {
        put_i16(&mut h, 42 + 2 * a, 1);
    }
    put_i16(&mut h, 68, intent_code);
    put_i16(&mut h, 70, datatype);
    put_i16(&mut h, 72, bitpix);
    let quat = rotation_to_quaternion(geometry);
    put_f32(&mut h, 76, quat.map(|q| q.3).unwrap_or(1.0)); // qfac
    for a in 0..3 {
        put_f32(&mut h, 80 + 4 * a, geometry.spacing[a]);
    }
    for a in 3..7 {
        put_f32(&mut h, 80 + 4 * a, 1.0);
    }
    put_f32(&mut h, 108, 352.0); // vox_offset: header + 4-byte empty extension flag
    put_f32(&mut h, 112, 1.0); // scl_slope
    put_f32(&mut h, 116, 0.0);
    h[123] = 2 | 8; // xyzt_units: mm, s
    let descrip = b"Isotherm";
    h[148..148 + descrip.len()].copy_from_slice(descrip);
    if let Some((b, c, d, _)) = quat {
        put_i16(&mut h, 252, 1); // qform_code: scanner
        put_f32(&mut h, 256, b);
        put_f32(&mut h, 260, c);
        put_f32(&mut h, 264, d);
        for a in 0..3 {
            put_f32(&mut h, 268 + 4 * a, geometry.origin[a]);
        }
    }
    put_i16(&mut h, 254, 1); // sform_code: scanner
    let aff = geometry.affine();
    for r in 0..3 {
        for c in 0..4 {
            put_f32(&mut h, 280 + 16 * r + 4 * c, aff[r][c]);
        }
    }
    h[344..348].copy_from_slice(b"n+1\0");
    h
}

/// Quaternion (b, c, d) and qfac of an orthonormal direction matrix, as nifti1.h
/// defines them; `None` when the direction is not orthonormal (sheared).
fn rotation_to_quaternion(g: &Geometry) -> Option<(f64, f64, f64, f64)> {
    let d = &g.direction;
    let mut r = [[d[0], d[1], d[2]], [d[3], d[4], d[5]], [d[6], d[7], d[8]]];
    for i in 0..3 {
        for j in 0..3 {
            let dot: f64 = (0..3).map(|k| r[k][i] * r[k][j]).sum();
            if (dot - if i == j { 1.0 } else { 0.0 }).abs() > 1e-4 {
                return None;
            }
        }
    }
    let mut qfac = 1.0;
    if isotherm_sdk::volume::det3(&r) < 0.0 {
        qfac = -1.0;
        for row in &mut r {
            row[2] = -row[2];
        }
    }
    // Proper rotation to quaternion (nifti_mat44_to_quatern).
    let trace = r[0][0] + r[1][1] + r[2][2] + 1.0;
    let (a, b, c, dd);
    if trace > 0.5 {
        let s = trace.sqrt() * 2.0;
        a = 0.25 * s;
        b = (r[2][1] - r[1][2]) / s;
        c = (r[0][2] - r[2][0]) / s;
        dd = (r[1][0] - r[0][1]) / s;
    } else {
        let xd = 1.0 + r[0][0] - (r[1][1] + r[2][2]);
        let yd = 1.0 + r[1][1] - (r[0][0] + r[2][2]);
        let zd = 1.0 + r[2][2] - (r[0][0] + r[1][1]);
        if xd > 1.0 {
            let bb = 0.5 * xd.sqrt();
            b = bb;
            c = 0.25 * (r[0][1] + r[1][0]) / bb;
            dd = 0.25 * (r[0][2] + r[2][0]) / bb;
            a = 0.25 * (r[2][1] - r[1][2]) / bb;
        } else if yd > 1.0 {
            let cc = 0.5 * yd.sqrt();
            c = cc;
            b = 0.25 * (r[0][1] + r[1][0]) / cc;
            dd = 0.25 * (r[1][2] + r[2][1]) / cc;
            a = 0.25 * (r[0][2] - r[2][0]) / cc;
        } else {
            let d2 = 0.5 * zd.sqrt();
            dd = d2;
            b = 0.25 * (r[0][2] + r[2][0]) / d2;
            c = 0.25 * (r[1][2] + r[2][1]) / d2;
            a = 0.25 * (r[1][0] - r[0][1]) / d2;
        }
    }
    // a must be >= 0 for the (b, c, d) encoding.
    let sign = if a < 0.0 { -1.0 } else { 1.0 };
    Some((b * sign, c * sign, dd * sign, qfac))
}

/// Writes a NIfTI-1 file (`.nii` or, by extension, `.nii.gz`) in `geometry`.
pub fn write(path: &Path, geometry: &Geometry, data: WriteData<'_>) -> Result<()> {
    write_with_dims(path, geometry, &[], 0, data)
}

/// Like [`write`], with extra dimensions beyond 3 (e.g. `[1, 3]` and intent 1007 for
/// a displacement field) and an intent code.
pub fn write_with_dims(path: &Path, geometry: &Geometry, extra_dims: &[u32], intent: i16, data: WriteData<'_>) -> Result<()> {
    let expected = geometry.len() * extra_dims.iter().map(|&d| d as usize).product::<usize>();
    let (datatype, bitpix, n) = match &data {
        WriteData::U8(v) => (2, 8, v.len()),
        WriteData::I16(v) => (4, 16, v.len()),
        WriteData::U16(v) => (512, 16, v.len()),
        WriteData::F32(v) => (16, 32, v.len()),
    };
    if n != expected {
        return err(path, format!("{n} values to write for {expected} voxels"));
    }
    if geometry.dims.iter().chain(extra_dims).any(|&d| d > i16::MAX as u32) {
        return err(path, "a dimension exceeds NIfTI-1's 32767 limit");
    }
    let header = nifti1_header(geometry, datatype, bitpix, extra_dims, intent);
    let io = |e: std::io::Error| NiftiError { path: path.to_path_buf(), problem: format!("cannot write: {e}") };
    let file = File::create(path).map_err(io)?;
    let gz = path.to_string_lossy().ends_with(".gz");
    let mut out: Box<dyn Write> = if gz {
        Box::new(GzEncoder::new(BufWriter::new(file), Compression::new(6)))
    } else {
        Box::new(BufWriter::new(file))
    };
    out.write_all(&header).map_err(io)?;
    // Voxels go out in 1 MiB pieces: no byte copy of the whole volume (157 MB for a
    // 512 x 512 x 300 label map).
    const CHUNK: usize = 1 << 20;
    fn pieces<T: Copy, const B: usize>(out: &mut dyn Write, v: &[T], bytes: impl Fn(T) -> [u8; B]) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(CHUNK);
        for part in v.chunks(CHUNK / B) {
            buf.clear();
            part.iter().for_each(|&x| buf.extend_from_slice(&bytes(x)));
            out.write_all(&buf)?;
        }
        Ok(())
    }
    match data {
        WriteData::U8(v) => out.write_all(v),
        WriteData::I16(v) => pieces(&mut *out, v, i16::to_le_bytes),
        WriteData::U16(v) => pieces(&mut *out, v, u16::to_le_bytes),
        WriteData::F32(v) => pieces(&mut *out, v, f32::to_le_bytes),
    }
    .map_err(io)?;
    out.flush().map_err(io)?;
    Ok(())
}

/// Writes a scalar volume in its own datatype.
pub fn write_volume(path: &Path, volume: &Volume) -> Result<()> {
    let data = match &volume.data {
        VoxelData::U8(v) => WriteData::U8(v),
        VoxelData::I16(v) => WriteData::I16(v),
        VoxelData::F32(v) => WriteData::F32(v),
    };
    write(path, &volume.geometry, data)
}

/// Writes a label map as u16, with its label table beside it (`.labels.toml`).
pub fn write_label_map(path: &Path, map: &LabelMap) -> Result<()> {
    write(path, &map.geometry, WriteData::U16(&map.labels))?;
    write_label_table(&label_table_path(path), &map.table)
        .map_err(|e| NiftiError { path: label_table_path(path), problem: format!("cannot write: {e}") })
}
