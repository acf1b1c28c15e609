//! NRRD, 3D Slicer's native format: `.nrrd` (header and data in one file) and `.nhdr`
//! (detached data), raw or gzip, either byte order, every scalar type; and Slicer's
//! segmentations (`.seg.nrrd`: a label map with `SegmentN_*` fields naming each label,
//! or a 4D list of overlapping layers).
//!
//! World: NRRD's `space` is usually `left-posterior-superior` (Slicer, ITK); Isotherm's
//! `Geometry` is RAS+, so LPS directions and origins are flipped here (x and y negated).
//! `right-anterior-superior` is taken as it is; other spaces are refused by name.
//! Every error names the file.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::bufread::MultiGzDecoder;
use flate2::write::GzEncoder;
use isotherm_sdk::abi::{Geometry, LabelEntry, LabelMap, Volume, VoxelData};
use isotherm_sdk::volume::validate_geometry;

/// The most voxels one image may have (2^31).
pub const MAX_VOXELS: u64 = 1 << 31;

#[derive(Debug, Clone, PartialEq)]
pub struct NrrdError {
    pub path: PathBuf,
    pub problem: String,
}

impl std::fmt::Display for NrrdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for NrrdError {}

pub type Result<T> = std::result::Result<T, NrrdError>;

fn err<T>(path: &Path, problem: impl Into<String>) -> Result<T> {
    Err(NrrdError { path: path.to_path_buf(), problem: problem.into() })
}

/// A parsed header: the fields Isotherm uses, plus every `key:=value` pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub kind: ScalarType,
    pub sizes: Vec<u64>,
    /// Per axis: a direction vector in `space` (None for a list axis such as layers).
    pub directions: Vec<Option<[f64; 3]>>,
    pub origin: [f64; 3],
    pub lps: bool,
    pub little_endian: bool,
    pub gzip: bool,
    pub data_file: Option<PathBuf>,
    pub key_values: Vec<(String, String)>,
    /// Where the data starts in the file (attached data).
    pub data_offset: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarType {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl ScalarType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "signed char" | "int8" | "int8_t" => ScalarType::I8,
            "uchar" | "unsigned char" | "uint8" | "uint8_t" => ScalarType::U8,
            "short" | "short int" | "signed short" | "signed short int" | "int16" | "int16_t" => ScalarType::I16,
            "ushort" | "unsigned short" | "unsigned short int" | "uint16" | "uint16_t" => ScalarType::U16,
            "int" | "signed int" | "int32" | "int32_t" => ScalarType::I32,
            "uint" | "unsigned int" | "uint32" | "uint32_t" => ScalarType::U32,
            "longlong" | "long long" | "long long int" | "signed long long" | "signed long long int" | "int64" | "int64_t" => ScalarType::I64,
            "ulonglong" | "unsigned long long" | "unsigned long long int" | "uint64" | "uint64_t" => ScalarType::U64,
            "float" => ScalarType::F32,
            "double" => ScalarType::F64,
            _ => return None,
        })
    }
    pub fn bytes(self) -> usize {
        match self {
            ScalarType::I8 | ScalarType::U8 => 1,
            ScalarType::I16 | ScalarType::U16 => 2,
            ScalarType::I32 | ScalarType::U32 | ScalarType::F32 => 4,
            ScalarType::I64 | ScalarType::U64 | ScalarType::F64 => 8,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            ScalarType::I8 => "int8",
            ScalarType::U8 => "uint8",
            ScalarType::I16 => "int16",
            ScalarType::U16 => "uint16",
            ScalarType::I32 => "int32",
            ScalarType::U32 => "uint32",
            ScalarType::I64 => "int64",
            ScalarType::U64 => "uint64",
            ScalarType::F32 => "float",
            ScalarType::F64 => "double",
        }
    }
}

fn vector(path: &Path, s: &str) -> Result<Option<[f64; 3]>> {
    let s = s.trim();
    if s == "none" {
        return Ok(None);
    }
    let inner = s.strip_prefix('(').and_then(|x| x.strip_suffix(')')).ok_or_else(|| NrrdError { path: path.to_path_buf(), problem: format!("vector \"{s}\" is not (x,y,z)") })?;
    let v: Vec<f64> = inner.split(',').map(|x| x.trim().parse::<f64>()).collect::<std::result::Result<_, _>>().map_err(|_| NrrdError { path: path.to_path_buf(), problem: format!("vector \"{s}\" has a non-number") })?;
    match v.as_slice() {
        [x, y, z] if v.iter().all(|c| c.is_finite()) => Ok(Some([*x, *y, *z])),
        _ => err(path, format!("vector \"{s}\" needs three finite numbers")),
    }
}

/// Reads and checks a header (and, for `.nrrd`, finds where the data starts).
pub fn read_header(path: &Path) -> Result<Header> {
    let file = std::fs::File::open(path).map_err(|e| NrrdError { path: path.to_path_buf(), problem: format!("cannot open: {e}") })?;
    let mut r = BufReader::new(file);
    let mut line = String::new();
    let mut offset = 0u64;
    let next = |r: &mut BufReader<std::fs::File>, line: &mut String, offset: &mut u64| -> Result<bool> {
        line.clear();
        let n = r.read_line(line).map_err(|_| NrrdError { path: path.to_path_buf(), problem: "the header is not text".into() })?;
        *offset += n as u64;
        Ok(n > 0)
    };
    if !next(&mut r, &mut line, &mut offset)? || !line.starts_with("NRRD000") {
        return err(path, "not a NRRD file (no \"NRRD000x\" magic on the first line)");
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut key_values = Vec::new();
    while next(&mut r, &mut line, &mut offset)? {
        let l = line.trim_end_matches(['\n', '\r']);
        if l.is_empty() {
            break;
        }
        if l.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = l.split_once(":=") {
            key_values.push((k.to_string(), v.to_string()));
        } else if let Some((k, v)) = l.split_once(": ") {
            fields.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        } else {
            return err(path, format!("header line \"{l}\" is neither \"field: value\" nor \"key:=value\""));
        }
        if offset > 1 << 20 {
            return err(path, "header longer than 1 MiB (not a NRRD header?)");
        }
    }
    let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
    let kind_text = get("type").ok_or_else(|| NrrdError { path: path.to_path_buf(), problem: "no \"type\" field".into() })?;
    let kind = ScalarType::parse(kind_text).ok_or_else(|| NrrdError { path: path.to_path_buf(), problem: format!("type \"{kind_text}\" is not a scalar type Isotherm reads") })?;
    let dimension: usize = get("dimension").and_then(|d| d.parse().ok()).filter(|d| (1..=16).contains(d)).ok_or_else(|| NrrdError { path: path.to_path_buf(), problem: "no valid \"dimension\"".into() })?;
    let sizes: Vec<u64> = get("sizes").map(|s| s.split_whitespace().filter_map(|x| x.parse().ok()).collect()).unwrap_or_default();
    if sizes.len() != dimension || sizes.contains(&0) {
        return err(path, format!("sizes {sizes:?} do not match dimension {dimension} (or one is 0)"));
    }
    if sizes.iter().try_fold(1u64, |a, &s| a.checked_mul(s)).is_none_or(|n| n > MAX_VOXELS) {
        return err(path, format!("sizes {sizes:?} exceed {MAX_VOXELS} voxels"));
    }
    let space = get("space").unwrap_or("");
    let lps = match space {
        "left-posterior-superior" | "LPS" => true,
        "right-anterior-superior" | "RAS" => false,
        "" => return err(path, "no \"space\" field: the image has no placement in the patient"),
        other => return err(path, format!("space \"{other}\" is not a patient space Isotherm reads (LPS or RAS)")),
    };
    let directions: Vec<Option<[f64; 3]>> = match get("space directions") {
        Some(d) => {
            let parts: Vec<&str> = d.split_whitespace().collect();
            parts.iter().map(|p| vector(path, p)).collect::<Result<_>>()?
        }
        None => return err(path, "no \"space directions\" field"),
    };
    if directions.len() != dimension {
        return err(path, format!("{} space directions for {dimension} axes", directions.len()));
    }
    let origin = match get("space origin") {
        Some(o) => vector(path, o)?.unwrap_or([0.0; 3]),
        None => [0.0; 3],
    };
    let encoding = get("encoding").unwrap_or("raw");
    let gzip = match encoding {
        "raw" => false,
        "gzip" | "gz" => true,
        other => return err(path, format!("encoding \"{other}\" is not read (raw or gzip)")),
    };
    let little_endian = get("endian").is_none_or(|e| e != "big");
    let data_file = get("data file").or_else(|| get("datafile")).map(|f| path.parent().unwrap_or(Path::new(".")).join(f));
    Ok(Header { kind, sizes, directions, origin, lps, little_endian, gzip, data_file, key_values, data_offset: offset })
}

impl Header {
    /// The RAS+ geometry of the three spatial axes.
    pub fn geometry(&self, path: &Path) -> Result<Geometry> {
        let spatial: Vec<(usize, [f64; 3])> = self.directions.iter().enumerate().filter_map(|(a, d)| d.map(|d| (a, d))).collect();
        if spatial.len() != 3 {
            return err(path, format!("{} spatial axes; Isotherm reads 3D images (plus at most one list axis)", spatial.len()));
        }
        let flip = |v: [f64; 3]| if self.lps { [-v[0], -v[1], v[2]] } else { v };
        let dims = [self.sizes[spatial[0].0] as u32, self.sizes[spatial[1].0] as u32, self.sizes[spatial[2].0] as u32];
        let cols: Vec<[f64; 3]> = spatial.iter().map(|(_, d)| flip(*d)).collect();
        let o = flip(self.origin);
        let affine = [
            [cols[0][0], cols[1][0], cols[2][0], o[0]],
            [cols[0][1], cols[1][1], cols[2][1], o[1]],
            [cols[0][2], cols[1][2], cols[2][2], o[2]],
            [0.0, 0.0, 0.0, 1.0],
        ];
        let g = Geometry::from_affine(dims, &affine).ok_or_else(|| NrrdError { path: path.to_path_buf(), problem: "space directions are singular".into() })?;
        validate_geometry(&g).map_err(|e| NrrdError { path: path.to_path_buf(), problem: e })?;
        Ok(g)
    }

    /// Index of the list (non-spatial) axis, if any: must come first, as Slicer writes it.
    fn list_axis(&self, path: &Path) -> Result<Option<usize>> {
        match self.directions.iter().position(|d| d.is_none()) {
            None => Ok(None),
            Some(0) if self.directions.len() == 4 => Ok(Some(0)),
            Some(a) => err(path, format!("a list axis at position {a}; only a first one (Slicer's layers) is read")),
        }
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.key_values.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Every value of the image as f64, in file order.
fn read_values(path: &Path, h: &Header) -> Result<Vec<f64>> {
    let n: u64 = h.sizes.iter().product();
    let want = n as usize * h.kind.bytes();
    let (data_path, offset) = match &h.data_file {
        Some(f) => (f.clone(), 0),
        None => (path.to_path_buf(), h.data_offset),
    };
    let mut file = std::fs::File::open(&data_path).map_err(|e| NrrdError { path: data_path.clone(), problem: format!("cannot open the data file: {e}") })?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(offset)).map_err(|e| NrrdError { path: data_path.clone(), problem: e.to_string() })?;
    let mut source: Box<dyn Read> = if h.gzip { Box::new(MultiGzDecoder::new(BufReader::new(file))) } else { Box::new(BufReader::new(file)) };
    let mut bytes = Vec::new();
    source
        .by_ref()
        .take(want as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| NrrdError { path: data_path.clone(), problem: format!("cannot read the data ({e})") })?;
    if bytes.len() < want {
        return err(&data_path, format!("truncated: {} of {want} data bytes", bytes.len()));
    }
    let le = h.little_endian;
    macro_rules! conv {
        ($t:ty, $n:expr) => {
            bytes.chunks_exact($n).map(|c| { let a: [u8; $n] = c.try_into().unwrap(); (if le { <$t>::from_le_bytes(a) } else { <$t>::from_be_bytes(a) }) as f64 }).collect()
        };
    }
    Ok(match h.kind {
        ScalarType::I8 => bytes.iter().map(|&b| b as i8 as f64).collect(),
        ScalarType::U8 => bytes.iter().map(|&b| b as f64).collect(),
        ScalarType::I16 => conv!(i16, 2),
        ScalarType::U16 => conv!(u16, 2),
        ScalarType::I32 => conv!(i32, 4),
        ScalarType::U32 => conv!(u32, 4),
        ScalarType::I64 => conv!(i64, 8),
        ScalarType::U64 => conv!(u64, 8),
        ScalarType::F32 => conv!(f32, 4),
        ScalarType::F64 => conv!(f64, 8),
    })
}

/// Reads a 3D scalar image: whole numbers within i16 stay i16 (CT), else f32.
pub fn read_volume(path: &Path) -> Result<Volume> {
    let h = read_header(path)?;
    if h.list_axis(path)?.is_some() {
        return err(path, "a 4D image (a list axis): read it as a segmentation, or one volume at a time");
    }
    let geometry = h.geometry(path)?;
    let values = read_values(path, &h)?;
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return err(path, format!("voxel {:?} is not finite", geometry.ijk(i)));
    }
    if values.iter().all(|&v| v.fract() == 0.0 && (i16::MIN as f64..=i16::MAX as f64).contains(&v)) {
        return Ok(Volume { geometry, data: VoxelData::I16(values.iter().map(|&v| v as i16).collect::<Vec<_>>().into()) });
    }
    Ok(Volume { geometry, data: VoxelData::F32(values.iter().map(|&v| v as f32).collect::<Vec<_>>().into()) })
}

/// Reads a label map (`.nrrd` of whole numbers, or a `.seg.nrrd`): one per layer; the
/// segment table comes from the `SegmentN_*` fields when present.
pub fn read_label_maps(path: &Path) -> Result<Vec<LabelMap>> {
    let h = read_header(path)?;
    let geometry = h.geometry(path)?;
    let values = read_values(path, &h)?;
    let layers = match h.list_axis(path)? {
        Some(_) => h.sizes[0] as usize,
        None => 1,
    };
    let mut maps = Vec::with_capacity(layers);
    for layer in 0..layers {
        let mut labels = Vec::with_capacity(geometry.len());
        for n in 0..geometry.len() {
            let v = values[n * layers + layer];
            if !(v >= 0.0 && v <= 65535.0 && v.fract() == 0.0) {
                return err(path, format!("not a label map: voxel {:?} is {v}", geometry.ijk(n)));
            }
            labels.push(v as u16);
        }
        let table = segment_table(&h, layer).unwrap_or_else(|| isotherm_sdk::volume::default_label_table(&labels));
        maps.push(LabelMap::new(geometry, labels, table));
    }
    Ok(maps)
}

/// The coded meaning of each segment of a `.seg.nrrd` (Slicer's `TerminologyEntry` tag:
/// category, type and anatomic region), as (layer, label value, codes); segments without
/// the tag are left out.
pub fn read_terminology(path: &Path) -> Result<Vec<(usize, u16, isotherm_sdk::terminology::SegmentCode)>> {
    use isotherm_sdk::terminology::{Code, SegmentCode};
    let h = read_header(path)?;
    let code = |s: &str| {
        let mut parts = s.splitn(3, '^');
        let (scheme, value, meaning) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        (!value.is_empty()).then(|| Code::new(value, scheme, meaning))
    };
    let mut out = Vec::new();
    for n in 0.. {
        let Some(name) = h.value(&format!("Segment{n}_Name")) else { break };
        let layer: usize = h.value(&format!("Segment{n}_Layer")).and_then(|l| l.trim().parse().ok()).unwrap_or(0);
        let value: u16 = h.value(&format!("Segment{n}_LabelValue")).and_then(|l| l.trim().parse().ok()).unwrap_or(n as u16 + 1);
        let Some(entry) = h.value(&format!("Segment{n}_Tags")).and_then(|t| t.split('|').find_map(|tag| tag.strip_prefix("TerminologyEntry:")).map(str::to_string)) else { continue };
        let items: Vec<&str> = entry.split('~').collect();
        let (Some(category), Some(kind)) = (items.get(1).and_then(|c| code(c)), items.get(2).and_then(|c| code(c))) else {
            return err(path, format!("segment {n} ({name}): a TerminologyEntry without category and type: {entry:?}"));
        };
        out.push((layer, value, SegmentCode { label: name.to_string(), category, kind, region: items.get(5).and_then(|c| code(c)) }));
    }
    Ok(out)
}

/// Slicer's `SegmentN_Name/_LabelValue/_Layer/_Color` fields for one layer.
fn segment_table(h: &Header, layer: usize) -> Option<Vec<LabelEntry>> {
    let mut table = Vec::new();
    for n in 0.. {
        let Some(name) = h.value(&format!("Segment{n}_Name")) else { break };
        let seg_layer: usize = h.value(&format!("Segment{n}_Layer")).and_then(|l| l.trim().parse().ok()).unwrap_or(0);
        if seg_layer != layer {
            continue;
        }
        let value: u16 = h.value(&format!("Segment{n}_LabelValue")).and_then(|l| l.trim().parse().ok()).unwrap_or(n as u16 + 1);
        let rgb: Vec<f64> = h.value(&format!("Segment{n}_Color")).map(|c| c.split_whitespace().filter_map(|x| x.parse().ok()).collect()).unwrap_or_default();
        let colour = match rgb.as_slice() {
            [r, g, b] => [(r * 255.0).round() as u8, (g * 255.0).round() as u8, (b * 255.0).round() as u8, 255],
            _ => isotherm_sdk::volume::lesion_colour(value as usize),
        };
        table.push(LabelEntry::new(value, name, colour));
    }
    (!table.is_empty()).then_some(table)
}


/// The header of a 3D LPS gzip NRRD; `extra` holds `key:=value` lines (each ending in a
/// newline); the blank line that ends every header is added here.
fn header_text(kind: &str, g: &Geometry, extra: &str) -> String {
    let m = g.linear();
    let dir = |c: usize| format!("({},{},{})", -m[0][c], -m[1][c], m[2][c]);
    let o = g.origin;
    format!(
        "NRRD0004\n# Complete NRRD file format specification at:\n# http://teem.sourceforge.net/nrrd/format.html\ntype: {kind}\ndimension: 3\nspace: left-posterior-superior\nsizes: {} {} {}\nspace directions: {} {} {}\nkinds: domain domain domain\nendian: little\nencoding: gzip\nspace origin: ({},{},{})\n{extra}\n",
        g.dims[0], g.dims[1], g.dims[2], dir(0), dir(1), dir(2), -o[0], -o[1], o[2]
    )
}

fn write_file(path: &Path, header: &str, data: &[u8]) -> Result<()> {
    let io = |e: std::io::Error| NrrdError { path: path.to_path_buf(), problem: format!("cannot write: {e}") };
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    f.write_all(header.as_bytes()).map_err(io)?;
    let mut gz = GzEncoder::new(f, Compression::new(6));
    gz.write_all(data).map_err(io)?;
    gz.finish().map_err(io)?.flush().map_err(io)
}

/// Writes a volume as `.nrrd` (LPS, gzip; i16 as short, u8 as uchar, f32 as float).
pub fn write_volume(path: &Path, v: &Volume) -> Result<()> {
    let (kind, data): (&str, Vec<u8>) = match &v.data {
        VoxelData::U8(d) => ("unsigned char", d.to_vec()),
        VoxelData::I16(d) => ("short", d.iter().flat_map(|x| x.to_le_bytes()).collect()),
        VoxelData::F32(d) => ("float", d.iter().flat_map(|x| x.to_le_bytes()).collect()),
    };
    write_file(path, &header_text(kind, &v.geometry, ""), &data)
}

/// Slicer's `TerminologyEntry` tag for a label (the segment's category, type and
/// anatomic region, `~`-separated, each `scheme^value^meaning`): the same SNOMED CT
/// codes our DICOM SEGs carry.
fn terminology_tag(name: &str) -> String {
    let t = isotherm_sdk::terminology::segment_code(name);
    let code = |c: &isotherm_sdk::terminology::Code| format!("{}^{}^{}", c.scheme, c.value, c.meaning);
    let region = t.region.as_ref().map(code).unwrap_or_else(|| "^^".into());
    format!("TerminologyEntry:Segmentation category and type - DICOM master list~{}~{}~^^~Anatomic codes - DICOM master list~{region}~^^", code(&t.category), code(&t.kind))
}

/// Writes a label map as a Slicer segmentation (`.seg.nrrd`, one layer): each label a
/// segment with its name, value, colour and terminology, so Slicer shows the same names
/// and codes.
pub fn write_segmentation(path: &Path, m: &LabelMap) -> Result<()> {
    let mut extra = String::new();
    let g = &m.geometry;
    for (n, e) in m.table.iter().enumerate() {
        extra.push_str(&format!("Segment{n}_Tags:={}|\n", terminology_tag(&e.name)));
        let c = e.colour;
        extra.push_str(&format!(
            "Segment{n}_Color:={} {} {}\nSegment{n}_ID:=Segment_{}\nSegment{n}_LabelValue:={}\nSegment{n}_Layer:=0\nSegment{n}_Name:={}\nSegment{n}_Extent:=0 {} 0 {} 0 {}\n",
            c[0] as f64 / 255.0,
            c[1] as f64 / 255.0,
            c[2] as f64 / 255.0,
            e.value,
            e.value,
            e.name,
            g.dims[0] - 1,
            g.dims[1] - 1,
            g.dims[2] - 1
        ));
    }
    extra.push_str("Segmentation_MasterRepresentation:=Binary labelmap\nSegmentation_ContainedRepresentationNames:=Binary labelmap|\n");
    let max = m.labels.iter().copied().max().unwrap_or(0);
    let (kind, data): (&str, Vec<u8>) = if max <= 255 { ("unsigned char", m.labels.iter().map(|&l| l as u8).collect()) } else { ("unsigned short", m.labels.iter().flat_map(|l| l.to_le_bytes()).collect()) };
    write_file(path, &header_text(kind, g, &extra), &data)
}

/// `.nrrd`, `.nhdr` (and `.seg.nrrd`): is this path NRRD by its name?
pub fn is_nrrd_path(path: &Path) -> bool {
    let name = path.to_string_lossy().to_ascii_lowercase();
    name.ends_with(".nrrd") || name.ends_with(".nhdr")
}
