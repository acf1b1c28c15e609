//! Mesh files. PLY (ASCII) keeps everything a plugin returns: normals, the mesh colour
//! and a per-vertex scalar (e.g. the signed margin); OBJ keeps geometry and normals
//! for tools that read nothing else.

use std::fmt::Write as _;
use std::path::Path;

use abi_stable::std_types::ROption;
use isotherm_sdk::abi::Mesh;

fn write_text(path: &Path, text: String) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

pub fn write_ply(path: &Path, mesh: &Mesh) -> Result<(), String> {
    let mut s = String::with_capacity(mesh.positions.len() * 64 + mesh.triangles.len() * 24);
    let has_normals = mesh.normals.len() == mesh.positions.len();
    let scalars = match &mesh.scalars {
        ROption::RSome(v) if v.values.len() == mesh.positions.len() => Some(v),
        _ => None,
    };
    let c = mesh.colour.map(|x| (x.clamp(0.0, 1.0) * 255.0).round() as u8);
    s.push_str("ply\nformat ascii 1.0\ncomment Isotherm mesh, world mm RAS+\n");
    if let Some(v) = scalars {
        let _ = writeln!(s, "comment scalar {} [{}] range {} {}", v.name, v.unit, v.range[0], v.range[1]);
    }
    let _ = writeln!(s, "element vertex {}", mesh.positions.len());
    s.push_str("property float x\nproperty float y\nproperty float z\n");
    if has_normals {
        s.push_str("property float nx\nproperty float ny\nproperty float nz\n");
    }
    s.push_str("property uchar red\nproperty uchar green\nproperty uchar blue\nproperty uchar alpha\n");
    if scalars.is_some() {
        s.push_str("property float quality\n");
    }
    let _ = writeln!(s, "element face {}", mesh.triangles.len());
    s.push_str("property list uchar int vertex_indices\nend_header\n");
    for (i, p) in mesh.positions.iter().enumerate() {
        let _ = write!(s, "{} {} {}", p[0], p[1], p[2]);
        if has_normals {
            let n = mesh.normals[i];
            let _ = write!(s, " {} {} {}", n[0], n[1], n[2]);
        }
        let _ = write!(s, " {} {} {} {}", c[0], c[1], c[2], c[3]);
        if let Some(v) = scalars {
            let _ = write!(s, " {}", v.values[i]);
        }
        s.push('\n');
    }
    for t in mesh.triangles.iter() {
        let _ = writeln!(s, "3 {} {} {}", t[0], t[1], t[2]);
    }
    write_text(path, s)
}

pub fn write_obj(path: &Path, mesh: &Mesh) -> Result<(), String> {
    let mut s = String::from("# Isotherm mesh, world mm RAS+\n");
    for p in mesh.positions.iter() {
        let _ = writeln!(s, "v {} {} {}", p[0], p[1], p[2]);
    }
    let has_normals = mesh.normals.len() == mesh.positions.len();
    if has_normals {
        for n in mesh.normals.iter() {
            let _ = writeln!(s, "vn {} {} {}", n[0], n[1], n[2]);
        }
    }
    for t in mesh.triangles.iter() {
        let [a, b, c] = t.map(|v| v + 1);
        if has_normals {
            let _ = writeln!(s, "f {a}//{a} {b}//{b} {c}//{c}");
        } else {
            let _ = writeln!(s, "f {a} {b} {c}");
        }
    }
    write_text(path, s)
}

/// Reads positions and triangles back from an ASCII PLY written by [`write_ply`].
pub fn read_ply(path: &Path) -> Result<(Vec<[f32; 3]>, Vec<[u32; 3]>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let bad = |what: &str| format!("{}: {what}", path.display());
    let (header, body) = text.split_once("end_header\n").ok_or_else(|| bad("no end_header"))?;
    let count = |element: &str| -> Result<usize, String> {
        header
            .lines()
            .find_map(|l| l.strip_prefix(&format!("element {element} ")))
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| bad(&format!("no element {element}")))
    };
    let (nv, nf) = (count("vertex")?, count("face")?);
    let mut lines = body.lines();
    let mut positions = Vec::with_capacity(nv);
    for _ in 0..nv {
        let v: Vec<f32> = lines.next().ok_or_else(|| bad("truncated vertices"))?.split_whitespace().take(3).filter_map(|x| x.parse().ok()).collect();
        positions.push([v[0], v[1], v[2]]);
    }
    let mut triangles = Vec::with_capacity(nf);
    for _ in 0..nf {
        let f: Vec<u32> = lines.next().ok_or_else(|| bad("truncated faces"))?.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
        triangles.push([f[0], f[1], f[2]]);
    }
    Ok((positions, triangles))
}
