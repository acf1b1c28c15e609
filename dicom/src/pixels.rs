//! Pixel data: decoded by dicom-pixeldata (native, deflate, RLE, JPEG baseline /
//! extended / lossless, JPEG 2000), then turned into Hounsfield units here, the same way
//! for every codec: bits above Bits Stored masked (or sign-extended), then Rescale
//! Slope and Intercept of that slice (or frame) applied.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dicom_pixeldata::{PixelDecoder, PixelRepresentation};
use rayon::prelude::*;

use crate::scan::{Instance, one_line};
use crate::{DicomError, Result, err};

/// One slice's values in HU (or the modality's unit).
#[derive(Debug, Clone, PartialEq)]
pub enum SliceValues {
    /// Whole numbers within i16 (CT with slope 1 and a whole intercept).
    I16(Vec<i16>),
    F32(Vec<f32>),
}

impl SliceValues {
    pub fn iter_f32(&self) -> Box<dyn Iterator<Item = f32> + '_> {
        match self {
            SliceValues::I16(v) => Box::new(v.iter().map(|&x| x as f32)),
            SliceValues::F32(v) => Box::new(v.iter().copied()),
        }
    }
    pub fn min(&self) -> f32 {
        self.iter_f32().fold(f32::INFINITY, f32::min)
    }
}

/// Reads the given slices (frames of one file are decoded from one read), in order.
/// Headers were scanned without pixel data (so `dicom list` and grouping never load
/// images); only the slices a volume keeps are opened again here, whole.
pub fn read_slices(slices: &[&Instance]) -> Result<Vec<SliceValues>> {
    let mut by_file: BTreeMap<&PathBuf, Vec<usize>> = BTreeMap::new();
    for (k, s) in slices.iter().enumerate() {
        by_file.entry(&s.path).or_default().push(k);
    }
    let decoded: Vec<Result<Vec<(usize, SliceValues)>>> = by_file
        .into_par_iter()
        .map(|(path, ks)| {
            let frames: Vec<&Instance> = ks.iter().map(|&k| slices[k]).collect();
            let values = read_file_frames(path, &frames)?;
            Ok(ks.into_iter().zip(values).collect())
        })
        .collect();
    let mut out: Vec<Option<SliceValues>> = vec![None; slices.len()];
    for part in decoded {
        for (k, v) in part? {
            out[k] = Some(v);
        }
    }
    Ok(out.into_iter().map(|v| v.expect("every slice decoded")).collect())
}

/// Transfer syntaxes by name, for messages.
pub fn transfer_syntax_name(uid: &str) -> &'static str {
    match uid {
        "1.2.840.10008.1.2" => "Implicit VR Little Endian",
        "1.2.840.10008.1.2.1" => "Explicit VR Little Endian",
        "1.2.840.10008.1.2.1.99" => "Deflated Explicit VR Little Endian",
        "1.2.840.10008.1.2.2" => "Explicit VR Big Endian",
        "1.2.840.10008.1.2.4.50" => "JPEG Baseline",
        "1.2.840.10008.1.2.4.51" => "JPEG Extended",
        "1.2.840.10008.1.2.4.57" => "JPEG Lossless",
        "1.2.840.10008.1.2.4.70" => "JPEG Lossless SV1",
        "1.2.840.10008.1.2.4.80" => "JPEG-LS Lossless",
        "1.2.840.10008.1.2.4.81" => "JPEG-LS Near-Lossless",
        "1.2.840.10008.1.2.4.90" => "JPEG 2000 Lossless",
        "1.2.840.10008.1.2.4.91" => "JPEG 2000",
        "1.2.840.10008.1.2.4.201" | "1.2.840.10008.1.2.4.202" | "1.2.840.10008.1.2.4.203" => "HTJ2K",
        "1.2.840.10008.1.2.5" => "RLE Lossless",
        _ => "unknown",
    }
}

fn read_file_frames(path: &Path, frames: &[&Instance]) -> Result<Vec<SliceValues>> {
    let ts = frames[0].transfer_syntax.as_str();
    if matches!(ts, "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81") {
        return err(path, format!("pixel data in transfer syntax {ts} ({}) cannot be decoded: Isotherm is built without a JPEG-LS codec; convert the series (e.g. `dcmdjpls` or `gdcmconv --raw`) first", transfer_syntax_name(ts)));
    }
    let result = std::panic::catch_unwind(|| -> Result<Vec<SliceValues>> {
        let obj = crate::scan::open_through_pixel_data(path)?;
        if obj.get(dicom_dictionary_std::tags::PIXEL_DATA).is_none() {
            return err(path, "no Pixel Data (a header-only or truncated file)");
        }
        frames.iter().map(|f| decode_frame(&obj, f)).collect()
    });
    match result {
        Ok(r) => r,
        Err(_) => err(path, format!("the pixel decoder failed on malformed data (transfer syntax {ts}, {})", transfer_syntax_name(ts))),
    }
}

fn decode_frame(obj: &dicom_object::DefaultDicomObject, inst: &Instance) -> Result<SliceValues> {
    let path = &inst.path;
    let ts = inst.transfer_syntax.as_str();
    let px = obj
        .decode_pixel_data_frame(inst.frame)
        .map_err(|e| DicomError { path: path.clone(), problem: format!("cannot decode frame {} in transfer syntax {ts} ({}): {}", inst.frame, transfer_syntax_name(ts), one_line(&e)) })?;
    let (rows, cols) = (px.rows() as usize, px.columns() as usize);
    if rows != inst.rows as usize || cols != inst.columns as usize {
        return err(path, format!("decoded frame is {cols} x {rows}, the header says {} x {}", inst.columns, inst.rows));
    }
    let n = rows * cols;
    let bytes = px.frame_data(0).map_err(|e| DicomError { path: path.clone(), problem: format!("frame {}: {}", inst.frame, one_line(&e)) })?;
    let signed = px.pixel_representation() == PixelRepresentation::Signed;
    let stored = px.bits_stored().clamp(1, 32) as u32;
    let allocated = px.bits_allocated();
    let width = match allocated {
        8 => 1,
        16 => 2,
        32 => 4,
        b => return err(path, format!("Bits Allocated {b} is not a CT image's (8, 16 or 32)")),
    };
    if bytes.len() < n * width {
        return err(path, format!("pixel data holds {} bytes, {} x {} x {} bits needs {} (truncated?)", bytes.len(), cols, rows, allocated, n * width));
    }
    let raw = |k: usize| -> u32 {
        match width {
            1 => bytes[k] as u32,
            2 => u16::from_le_bytes([bytes[2 * k], bytes[2 * k + 1]]) as u32,
            _ => u32::from_le_bytes([bytes[4 * k], bytes[4 * k + 1], bytes[4 * k + 2], bytes[4 * k + 3]]),
        }
    };
    let mask: u64 = (1u64 << stored) - 1;
    let value = |k: usize| -> i64 {
        let v = raw(k) as u64 & mask;
        if signed && v >> (stored - 1) & 1 == 1 { v as i64 - (1i64 << stored) } else { v as i64 }
    };
    let (slope, intercept) = (inst.rescale_slope, inst.rescale_intercept);
    if !(slope.is_finite() && intercept.is_finite()) || slope == 0.0 {
        return err(path, format!("Rescale Slope {slope} / Intercept {intercept} are not usable"));
    }
    if slope == 1.0 && intercept.fract() == 0.0 && intercept.abs() < 65536.0 {
        let b = intercept as i64;
        let out: Option<Vec<i16>> = (0..n).map(|k| i16::try_from(value(k) + b).ok()).collect();
        if let Some(v) = out {
            return Ok(SliceValues::I16(v));
        }
    }
    Ok(SliceValues::F32((0..n).map(|k| (value(k) as f64 * slope + intercept) as f32).collect()))
}
