//! Survival plots as PNG: step curves on a white canvas with axes, grid lines at every
//! 12 months and 0.25 survival, and numeric tick labels (a built-in 3x5 digit font, so
//! nothing is needed at run time). What each curve is goes in the file name and the
//! caller's report.

use std::path::Path;

pub const COLOURS: [[u8; 3]; 4] = [[33, 113, 181], [230, 150, 20], [203, 24, 29], [90, 90, 90]];

struct Canvas {
    w: usize,
    h: usize,
    rgb: Vec<u8>,
}

/// 3x5 glyphs for 0-9 and '.', one row of 3 bits per line.
const DIGITS: [[u8; 5]; 11] = [
    [7, 5, 5, 5, 7], [2, 6, 2, 2, 7], [7, 1, 7, 4, 7], [7, 1, 7, 1, 7], [5, 5, 7, 1, 1],
    [7, 4, 7, 1, 7], [7, 4, 7, 5, 7], [7, 1, 1, 1, 1], [7, 5, 7, 5, 7], [7, 5, 7, 1, 7],
    [0, 0, 0, 0, 2],
];

impl Canvas {
    fn new(w: usize, h: usize) -> Self {
        Canvas { w, h, rgb: vec![255; w * h * 3] }
    }
    fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            let i = (y as usize * self.w + x as usize) * 3;
            self.rgb[i..i + 3].copy_from_slice(&c);
        }
    }
    fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), c: [u8; 3], width: i64) {
        let steps = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
        for s in 0..=steps {
            let t = s as f64 / steps as f64;
            let (x, y) = ((x0 + t * (x1 - x0)).round() as i64, (y0 + t * (y1 - y0)).round() as i64);
            for dx in 0..width {
                for dy in 0..width {
                    self.set(x + dx - width / 2, y + dy - width / 2, c);
                }
            }
        }
    }
    fn text(&mut self, s: &str, x: i64, y: i64, scale: i64) {
        let mut cx = x;
        for ch in s.chars() {
            let glyph = match ch {
                '0'..='9' => DIGITS[ch as usize - '0' as usize],
                '.' => DIGITS[10],
                _ => [0; 5],
            };
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..3 {
                    if bits >> (2 - col) & 1 == 1 {
                        for a in 0..scale {
                            for b in 0..scale {
                                self.set(cx + col * scale + a, y + row as i64 * scale + b, [0, 0, 0]);
                            }
                        }
                    }
                }
            }
            cx += 4 * scale;
        }
    }
}

/// Draws step curves (time in months, survival 0-1) up to `max_months` and writes a PNG.
pub fn survival_png(curves: &[Vec<(f64, f64)>], max_months: f64, path: &Path) -> Result<(), String> {
    let (w, h) = (640usize, 400usize);
    let (left, right, top, bottom) = (56.0, 16.0, 16.0, 40.0);
    let mut c = Canvas::new(w, h);
    let px = |t: f64| left + (t / max_months).clamp(0.0, 1.0) * (w as f64 - left - right);
    let py = |s: f64| top + (1.0 - s.clamp(0.0, 1.0)) * (h as f64 - top - bottom);
    let grey = [225, 225, 225];
    let mut t = 0.0;
    while t <= max_months + 1e-9 {
        c.line((px(t), py(0.0)), (px(t), py(1.0)), grey, 1);
        let label = format!("{}", t as i64);
        c.text(&label, px(t) as i64 - 4 * label.len() as i64, py(0.0) as i64 + 8, 2);
        t += 12.0;
    }
    for q in 0..=4 {
        let s = q as f64 * 0.25;
        c.line((px(0.0), py(s)), (px(max_months), py(s)), grey, 1);
        let label = if q == 4 { "1".to_string() } else { format!("{s:.2}") };
        c.text(&label, 4, py(s) as i64 - 5, 2);
    }
    c.line((px(0.0), py(0.0)), (px(max_months), py(0.0)), [0, 0, 0], 2);
    c.line((px(0.0), py(0.0)), (px(0.0), py(1.0)), [0, 0, 0], 2);
    for (i, curve) in curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut prev = (0.0, 1.0);
        for &(t, s) in curve.iter().filter(|(t, _)| *t <= max_months) {
            c.line((px(prev.0), py(prev.1)), (px(t), py(prev.1)), colour, 2);
            c.line((px(t), py(prev.1)), (px(t), py(s)), colour, 2);
            prev = (t, s);
        }
        c.line((px(prev.0), py(prev.1)), (px(max_months), py(prev.1)), colour, 2);
    }
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w as u32, h as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| format!("{}: {e}", path.display()))?;
    writer.write_image_data(&c.rgb).map_err(|e| format!("{}: {e}", path.display()))
}
