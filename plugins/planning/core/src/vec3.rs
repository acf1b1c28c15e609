//! World-space vector arithmetic (mm), written once for the planning modules.

pub fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
    dot(sub(a, b), sub(a, b)).sqrt()
}

/// `v` scaled to unit length (`v` itself when it is zero).
pub fn unit(v: [f64; 3]) -> [f64; 3] {
    let l = dot(v, v).sqrt();
    if l < 1e-12 { v } else { v.map(|x| x / l) }
}

/// Axial and radial coordinates of `p` about the line through `centre` along the unit `axis`.
pub fn along_across(p: [f64; 3], centre: [f64; 3], axis: [f64; 3]) -> (f64, f64) {
    let v = sub(p, centre);
    let z = dot(v, axis);
    (z, (dot(v, v) - z * z).max(0.0).sqrt())
}
