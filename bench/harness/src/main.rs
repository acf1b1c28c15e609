//! `isotherm-bench ROW --out DIR`: writes the input of one row of `bench/all.sh` into
//! DIR (raw little-endian arrays with a `case.json`, or NIfTI) and times Isotherm on it,
//! best of `--repeat`. The peers read the same files (`bench/peers.py ROW DIR`).
//!
//! Rows: `mc` (marching cubes of a liver mask), `components` (26-connected labelling of
//! a mask with thousands of blobs), `nifti` (reading a 512 x 512 x 300 int16 .nii.gz),
//! `plugin-load` (each plugin of the build tree loaded in a fresh process, best of 3),
//! `dicom` (a 512 x 512 x 300 CT series read into a volume: uncompressed, and the JPEG
//! 2000 copy that `bench/dicom_peers.py prepare` makes; `--prepare` only writes the series).

use std::path::{Path, PathBuf};
use std::time::Instant;

use isotherm_phantom::{Config, Size, generate};
use isotherm_sdk::abi::Geometry;
use isotherm_sdk::volume::{components, mesh};
use serde_json::json;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let Some(row) = args.first().cloned() else {
        eprintln!("usage: isotherm-bench mc|components|nifti|plugin-load --out DIR [--repeat N]");
        std::process::exit(2);
    };
    let out = PathBuf::from(value("--out").unwrap_or_else(|| format!("bench/out-all/{row}")));
    let repeat: usize = value("--repeat").and_then(|r| r.parse().ok()).unwrap_or(3);
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    let result = match row.as_str() {
        "mc" => marching_cubes(&out, repeat),
        "components" => connected_components(&out, repeat),
        "nifti" => nifti_read(&out, repeat),
        "plugin-load" => plugin_load(&out, value("--manifest")),
        "dicom" => dicom_read(&out, repeat, args.iter().any(|a| a == "--prepare")),
        other => Err(format!("unknown row '{other}'")),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Seconds of the fastest of `n` runs, and the last result.
fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut result = None;
    for _ in 0..n.max(1) {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        result = Some(r);
    }
    (best, result.unwrap())
}

fn write_raw(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_case(out: &Path, case: serde_json::Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(&case).unwrap();
    println!("{text}");
    std::fs::write(out.join("case.json"), text).map_err(|e| format!("{}: {e}", out.display()))
}

fn geometry_json(g: &Geometry) -> serde_json::Value {
    json!({"dims": g.dims, "spacing": g.spacing, "origin": g.origin})
}

/// The liver of a full-size phantom (512 x 512 x 120 at 0.8 x 0.8 x 2.5 mm), as a 0/1
/// field meshed at 0.5: the surface a segmentation plugin hands the viewer.
fn marching_cubes(out: &Path, repeat: usize) -> Result<(), String> {
    let case = generate(&Config::new(3, Size::Full));
    let g = case.pre_ct.geometry;
    let field: Vec<f32> = case.pre_labels.labels.iter().map(|&l| if l != 0 { 1.0 } else { 0.0 }).collect();
    let bytes: Vec<u8> = field.iter().map(|&v| v as u8).collect();
    write_raw(&out.join("mask.raw"), &bytes)?;
    let (seconds, surface) = best_of(repeat, || mesh::marching_cubes(&field, &g, 0.5));
    write_case(out, json!({
        "row": "marching cubes", "input": format!("liver mask {}x{}x{} at 0.8 x 0.8 x 2.5 mm, level 0.5", g.dims[0], g.dims[1], g.dims[2]),
        "geometry": geometry_json(&g), "seconds": seconds,
        "vertices": surface.positions.len(), "triangles": surface.triangles.len(),
        "area_mm2": mesh::surface_area(&surface),
    }))
}

/// A 512 x 512 x 100 mask of smoothed noise above a threshold: thousands of blobs of
/// every shape, the worst case for a labeller (a segmentation's few large regions are
/// easy).
fn connected_components(out: &Path, repeat: usize) -> Result<(), String> {
    let dims = [512usize, 512, 100];
    let n = dims[0] * dims[1] * dims[2];
    let mut state = 0x9e3779b97f4a7c15u64;
    let mut noise: Vec<f32> = (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect();
    noise = isotherm_sdk::volume::filter::gaussian(&noise, dims, [2.0, 2.0, 2.0]);
    let mut sorted = noise.clone();
    let cut = n * 7 / 10;
    sorted.select_nth_unstable_by(cut, |a, b| a.total_cmp(b));
    let threshold = sorted[cut];
    let mask: Vec<bool> = noise.iter().map(|&v| v > threshold).collect();
    write_raw(&out.join("mask.raw"), &mask.iter().map(|&b| b as u8).collect::<Vec<_>>())?;
    let (seconds, c) = best_of(repeat, || components::label(&mask, dims, components::Connectivity::TwentySix));
    write_case(out, json!({
        "row": "connected components (26)", "input": "512x512x100 mask, 30 % of smoothed noise (many blobs)",
        "dims": dims, "seconds": seconds, "components": c.count(), "largest": c.sizes.first().copied().unwrap_or(0),
    }))
}

/// A 512 x 512 x 300 int16 CT (a thin-slice phantom) as .nii.gz, read back.
fn nifti_read(out: &Path, repeat: usize) -> Result<(), String> {
    let path = out.join("ct.nii.gz");
    if !path.is_file() {
        let case = generate(&Config::new(4, Size::Thin));
        isotherm_nifti::write_volume(&path, &case.pre_ct).map_err(|e| e.to_string())?;
    }
    let (seconds, v) = best_of(repeat, || isotherm_nifti::read_volume(&path, 0));
    let v = v.map_err(|e| e.to_string())?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    write_case(out, json!({
        "row": ".nii.gz read", "input": format!("{}x{}x{} int16 CT, {:.0} MB compressed", v.geometry.dims[0], v.geometry.dims[1], v.geometry.dims[2], bytes as f64 / 1e6),
        "file": path, "seconds": seconds, "voxels": v.geometry.len(),
    }))
}

/// Reads the series in `out/series` (written from the thin phantom when missing) and, when
/// present, its JPEG 2000 copy `out/series-j2k`, each best of `repeat`.
fn dicom_read(out: &Path, repeat: usize, prepare_only: bool) -> Result<(), String> {
    let series = out.join("series");
    if !series.join("slice-0300.dcm").is_file() {
        let case = generate(&Config::new(4, Size::Thin));
        let ids = isotherm_dicom::write::new_identifiers("bench", "BENCH", "thin CT");
        isotherm_dicom::write::write_series(&case.pre_ct, &series, &ids).map_err(|e| e.to_string())?;
    }
    if prepare_only {
        return Ok(());
    }
    let mut rows = Vec::new();
    for (name, what) in [("series", "uncompressed (Explicit VR LE)"), ("series-j2k", "JPEG 2000 lossless")] {
        let dir = out.join(name);
        if !dir.is_dir() {
            continue;
        }
        let (seconds, v) = best_of(repeat, || isotherm_dicom::read_volume(&dir, None, isotherm_dicom::Policy::Refuse));
        let v = v.map_err(|e| e.to_string())?;
        let g = &v.volume.geometry;
        rows.push(json!({"folder": dir, "what": what, "seconds": seconds, "dims": g.dims, "files": v.files.len()}));
    }
    write_case(out, json!({"rows": rows}))
}

/// Each plugin of the standard search path loaded as the host loads it (manifest, SDK
/// version, model hashes, dlopen, layout check, describe, manifest check), once, in a
/// fresh process per plugin (a library opened before is not opened again).
fn plugin_load(out: &Path, manifest: Option<String>) -> Result<(), String> {
    let search = isotherm_host::loader::SearchPath::standard(&[]);
    match manifest {
        Some(m) => {
            let t = Instant::now();
            let loaded = isotherm_host::loader::load(Path::new(&m), &search).map_err(|r| r.to_string())?;
            let seconds = t.elapsed().as_secs_f64();
            println!("{}", json!({"id": loaded.id(), "seconds": seconds, "models": loaded.models.len()}));
            Ok(())
        }
        None => {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let mut rows = Vec::new();
            for m in search.manifests() {
                // Best of 3 fresh processes, like every other row's best of 3.
                let mut best: Option<serde_json::Value> = None;
                for _ in 0..3 {
                    let o = std::process::Command::new(&exe).args(["plugin-load", "--out"]).arg(out).arg("--manifest").arg(&m).output().map_err(|e| e.to_string())?;
                    if !o.status.success() {
                        return Err(format!("{}: {}", m.display(), String::from_utf8_lossy(&o.stderr)));
                    }
                    let row: serde_json::Value = serde_json::from_slice(&o.stdout).map_err(|e| e.to_string())?;
                    if best.as_ref().is_none_or(|b| row["seconds"].as_f64() < b["seconds"].as_f64()) {
                        best = Some(row);
                    }
                }
                rows.extend(best);
            }
            write_case(out, json!({"row": "plugin load", "plugins": rows}))
        }
    }
}
