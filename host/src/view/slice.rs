//! Slice views in world coordinates. Each view is a plane of constant world x, y or z
//! (like Slicer's Red/Yellow/Green views), sampled on a regular grid of world points;
//! every layer (CT, label overlays from any geometry) is sampled at those same points,
//! so an oblique or anisotropic volume and its overlays always line up.
//!
//! Screen orientation follows the radiological convention: in axial and coronal views
//! the patient's right is on the screen's left; anterior (axial) and superior
//! (coronal, sagittal) are up; in sagittal views anterior is on the left.

use isotherm_sdk::abi::{Geometry, LabelMap};
use isotherm_sdk::volume::resample::trilinear;
use rayon::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Axis {
    Axial,
    Coronal,
    Sagittal,
}

impl Axis {
    pub const ALL: [Axis; 3] = [Axis::Axial, Axis::Coronal, Axis::Sagittal];

    /// World directions (RAS+) of screen right, screen down, and the plane normal.
    pub fn basis(self) -> ([f64; 3], [f64; 3], [f64; 3]) {
        match self {
            Axis::Axial => ([-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]),
            Axis::Coronal => ([-1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]),
            Axis::Sagittal => ([0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]),
        }
    }

    /// The world coordinate (0 = x, 1 = y, 2 = z) that is constant on this view.
    pub fn normal_index(self) -> usize {
        match self {
            Axis::Axial => 2,
            Axis::Coronal => 1,
            Axis::Sagittal => 0,
        }
    }

    /// Orientation letters at the left, right, top and bottom edges.
    pub fn letters(self) -> [&'static str; 4] {
        match self {
            Axis::Axial => ["R", "L", "A", "P"],
            Axis::Coronal => ["R", "L", "S", "I"],
            Axis::Sagittal => ["A", "P", "S", "I"],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Axis::Axial => "Axial",
            Axis::Coronal => "Coronal",
            Axis::Sagittal => "Sagittal",
        }
    }
}

/// Axis-aligned world box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub min: [f64; 3],
    pub max: [f64; 3],
}

impl Bounds {
    /// The world box covered by a grid's voxels (corners at +-half a voxel).
    pub fn of(g: &Geometry) -> Bounds {
        let mut min = [f64::INFINITY; 3];
        let mut max = [f64::NEG_INFINITY; 3];
        for c in 0..8 {
            let ijk = [0, 1, 2].map(|a| if c & (1 << a) != 0 { g.dims[a] as f64 - 0.5 } else { -0.5 });
            let p = g.index_to_world(ijk);
            for a in 0..3 {
                min[a] = min[a].min(p[a]);
                max[a] = max[a].max(p[a]);
            }
        }
        Bounds { min, max }
    }
    pub fn centre(&self) -> [f64; 3] {
        [0, 1, 2].map(|a| 0.5 * (self.min[a] + self.max[a]))
    }
    pub fn clamp(&self, p: [f64; 3]) -> [f64; 3] {
        [0, 1, 2].map(|a| p[a].clamp(self.min[a], self.max[a]))
    }
}

/// The sampling grid of one slice view: pixel (u, v) sits at `corner + (u + 0.5) * pixel_mm
/// * right + (v + 0.5) * pixel_mm * down`, in the plane at `depth` along the normal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SliceFrame {
    pub axis: Axis,
    pub corner: [f64; 3],
    pub pixel_mm: f64,
    pub width: usize,
    pub height: usize,
}

/// Largest slice image side, in pixels (keeps reslicing interactive on full-size CT).
pub const MAX_PIXELS: usize = 768;

impl SliceFrame {
    /// A frame covering `bounds` at `pixel_mm` (enlarged if the image would exceed
    /// [`MAX_PIXELS`]), through the point `at`.
    pub fn new(axis: Axis, bounds: &Bounds, pixel_mm: f64, at: [f64; 3]) -> SliceFrame {
        let (right, down, normal) = axis.basis();
        let extent = |dir: [f64; 3]| (0..3).map(|a| (bounds.max[a] - bounds.min[a]) * dir[a].abs()).sum::<f64>();
        let (w_mm, h_mm) = (extent(right), extent(down));
        let pixel_mm = pixel_mm.max(w_mm.max(h_mm) / MAX_PIXELS as f64);
        let width = (w_mm / pixel_mm).ceil().max(1.0) as usize;
        let height = (h_mm / pixel_mm).ceil().max(1.0) as usize;
        // The corner is the box corner that is most "left" and "up" on screen.
        let mut corner = [0.0; 3];
        for a in 0..3 {
            let towards_max = right[a] < 0.0 || down[a] < 0.0;
            corner[a] = if normal[a] != 0.0 { at[a] } else if towards_max { bounds.max[a] } else { bounds.min[a] };
        }
        SliceFrame { axis, corner, pixel_mm, width, height }
    }

    /// World point of a (continuous) pixel position; (0.5, 0.5) is the first pixel's centre.
    pub fn pixel_to_world(&self, u: f64, v: f64) -> [f64; 3] {
        let (right, down, _) = self.axis.basis();
        [0, 1, 2].map(|a| self.corner[a] + u * self.pixel_mm * right[a] + v * self.pixel_mm * down[a])
    }

    /// Pixel position of a world point (its distance from the plane is ignored).
    pub fn world_to_pixel(&self, p: [f64; 3]) -> (f64, f64) {
        let (right, down, _) = self.axis.basis();
        let d = [0, 1, 2].map(|a| p[a] - self.corner[a]);
        let dot = |x: [f64; 3]| d[0] * x[0] + d[1] * x[1] + d[2] * x[2];
        (dot(right) / self.pixel_mm, dot(down) / self.pixel_mm)
    }

    /// Position of the plane along its normal, mm.
    pub fn depth(&self) -> f64 {
        self.corner[self.axis.normal_index()]
    }
}

/// Zoom and pan of a slice image inside its screen rectangle. At zoom 1 the image
/// fits the rectangle with its aspect kept (square pixels in mm), centred.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewTransform {
    pub zoom: f64,
    /// Offset of the image centre from the rectangle centre, image pixels (so that a
    /// resized view stays on the same anatomy).
    pub pan: [f64; 2],
}

impl Default for ViewTransform {
    fn default() -> Self {
        ViewTransform { zoom: 1.0, pan: [0.0, 0.0] }
    }
}

impl ViewTransform {
    /// Screen points per image pixel for a rectangle of `size` (width, height).
    pub fn scale(&self, frame: &SliceFrame, size: [f64; 2]) -> f64 {
        (size[0] / frame.width as f64).min(size[1] / frame.height as f64) * self.zoom
    }
    /// Screen position of an image pixel position, in a rectangle at `min` of `size`.
    pub fn to_screen(&self, frame: &SliceFrame, min: [f64; 2], size: [f64; 2], pixel: (f64, f64)) -> [f64; 2] {
        let s = self.scale(frame, size);
        [
            min[0] + size[0] / 2.0 + (self.pan[0] + pixel.0 - frame.width as f64 / 2.0) * s,
            min[1] + size[1] / 2.0 + (self.pan[1] + pixel.1 - frame.height as f64 / 2.0) * s,
        ]
    }
    /// Inverse of [`ViewTransform::to_screen`].
    pub fn to_pixel(&self, frame: &SliceFrame, min: [f64; 2], size: [f64; 2], screen: [f64; 2]) -> (f64, f64) {
        let s = self.scale(frame, size);
        (
            (screen[0] - min[0] - size[0] / 2.0) / s - self.pan[0] + frame.width as f64 / 2.0,
            (screen[1] - min[1] - size[1] / 2.0) / s - self.pan[1] + frame.height as f64 / 2.0,
        )
    }
    /// The transform that centres image pixel `pixel` in a rectangle of `size` with
    /// `fov_mm` across its shorter side (the slice views' jump to the antenna).
    pub fn centred_on(frame: &SliceFrame, size: [f64; 2], pixel: (f64, f64), fov_mm: f64) -> ViewTransform {
        let fit = ViewTransform::default().scale(frame, size);
        let s = size[0].min(size[1]) / (fov_mm / frame.pixel_mm);
        let zoom = (s / fit).clamp(0.2, 40.0);
        ViewTransform { zoom, pan: [frame.width as f64 / 2.0 - pixel.0, frame.height as f64 / 2.0 - pixel.1] }
    }

    /// Pans by a drag of `delta` screen points.
    pub fn drag(&mut self, frame: &SliceFrame, size: [f64; 2], delta: [f64; 2]) {
        let s = self.scale(frame, size);
        self.pan[0] += delta[0] / s;
        self.pan[1] += delta[1] / s;
    }

    /// Zooms by `factor` keeping the point under `screen` fixed.
    pub fn zoom_at(&mut self, frame: &SliceFrame, min: [f64; 2], size: [f64; 2], screen: [f64; 2], factor: f64) {
        let before = self.to_pixel(frame, min, size, screen);
        self.zoom = (self.zoom * factor).clamp(0.2, 40.0);
        let after = self.to_screen(frame, min, size, before);
        let s = self.scale(frame, size);
        self.pan[0] += (screen[0] - after[0]) / s;
        self.pan[1] += (screen[1] - after[1]) / s;
    }
}

/// Moves a crosshair along a view's normal by `steps` slices of `step_mm`, staying
/// inside `bounds` (the scroll wheel in a slice view).
pub fn scroll(crosshair: [f64; 3], axis: Axis, steps: f64, step_mm: f64, bounds: &Bounds) -> [f64; 3] {
    let n = axis.normal_index();
    let mut p = crosshair;
    p[n] += steps * step_mm;
    bounds.clamp(p)
}

/// A click at image pixel `pixel` in a view moves the linked crosshair to that world
/// point, keeping its coordinate along the view's normal (so this view stays on its
/// slice while the two others jump to the clicked point).
pub fn click(frame: &SliceFrame, pixel: (f64, f64), crosshair: [f64; 3], bounds: &Bounds) -> [f64; 3] {
    let n = frame.axis.normal_index();
    let mut p = frame.pixel_to_world(pixel.0, pixel.1);
    p[n] = crosshair[n];
    bounds.clamp(p)
}

/// Window/level in HU.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowLevel {
    pub level: f64,
    pub width: f64,
}

impl WindowLevel {
    /// Presets (clinical-facts.md "Usual HU windows", and the usual bone/lung windows).
    pub const PRESETS: [(&'static str, WindowLevel); 4] = [
        ("Abdomen", WindowLevel { level: 40.0, width: 400.0 }),
        ("Liver", WindowLevel { level: 80.0, width: 180.0 }),
        ("Bone", WindowLevel { level: 400.0, width: 1800.0 }),
        ("Lung", WindowLevel { level: -600.0, width: 1500.0 }),
    ];

    pub fn grey(&self, hu: f32) -> u8 {
        let lo = self.level - self.width / 2.0;
        (((hu as f64 - lo) / self.width).clamp(0.0, 1.0) * 255.0).round() as u8
    }

    /// Mouse drag: right widens the window, up raises the level; the step scales with
    /// the current width so both narrow and wide windows feel the same.
    pub fn drag(&mut self, dx_pixels: f64, dy_pixels: f64) {
        let step = (self.width / 400.0).max(0.25);
        self.width = (self.width + dx_pixels * 2.0 * step).clamp(1.0, 8000.0);
        self.level = (self.level - dy_pixels * step).clamp(-1500.0, 4000.0);
    }
}

/// How a label map is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverlayStyle {
    pub opacity: f32,
    pub outline: bool,
}

/// The step between slices along a view's normal: the spacing of the volume axis most
/// aligned with it (so one scroll step is one slice of the data).
pub fn slice_step_mm(g: &Geometry, axis: Axis) -> f64 {
    let n = axis.normal_index();
    (0..3).max_by(|&a, &b| g.direction[n * 3 + a].abs().total_cmp(&g.direction[n * 3 + b].abs())).map(|a| g.spacing[a]).unwrap_or(1.0)
}

/// The in-plane pixel size that shows a volume at its own resolution.
pub fn natural_pixel_mm(g: &Geometry) -> f64 {
    g.spacing.iter().cloned().fold(f64::INFINITY, f64::min)
}

/// Reslices `data` (on `g`) into an RGBA image for `frame`, with window/level, then
/// blends each label overlay on top. Pixels outside the volume are black.
pub fn render(frame: &SliceFrame, data: &[f32], g: &Geometry, wl: WindowLevel, overlays: &[(&LabelMap, OverlayStyle)]) -> Vec<u8> {
    let mut rgba = vec![0u8; frame.width * frame.height * 4];
    let map = g.world_to_index_map();
    let dims = g.dims_usize();
    rgba.par_chunks_mut(frame.width * 4).enumerate().for_each(|(v, row)| {
        for u in 0..frame.width {
            let p = frame.pixel_to_world(u as f64 + 0.5, v as f64 + 0.5);
            let px = &mut row[u * 4..][..4];
            px[3] = 255;
            if let Some(hu) = trilinear(data, dims, map.apply(p)) {
                let grey = wl.grey(hu);
                px[0] = grey;
                px[1] = grey;
                px[2] = grey;
            }
        }
    });
    for (labels, style) in overlays {
        let values = sample_labels(frame, labels);
        for v in 0..frame.height {
            for u in 0..frame.width {
                let l = values[v * frame.width + u];
                if l == 0 {
                    continue;
                }
                if style.outline {
                    let same = |du: isize, dv: isize| {
                        let (uu, vv) = (u as isize + du, v as isize + dv);
                        uu < 0 || vv < 0 || uu >= frame.width as isize || vv >= frame.height as isize || values[vv as usize * frame.width + uu as usize] == l
                    };
                    if same(-1, 0) && same(1, 0) && same(0, -1) && same(0, 1) {
                        continue;
                    }
                }
                let c = label_colour(labels, l);
                let a = style.opacity * c[3] as f32 / 255.0;
                let px = &mut rgba[(v * frame.width + u) * 4..][..3];
                for ch in 0..3 {
                    px[ch] = (px[ch] as f32 * (1.0 - a) + c[ch] as f32 * a).round() as u8;
                }
            }
        }
    }
    rgba
}

/// Nearest-neighbour label values of `labels` at each pixel centre of `frame`.
pub fn sample_labels(frame: &SliceFrame, labels: &LabelMap) -> Vec<u16> {
    let map = labels.geometry.world_to_index_map();
    let [nx, ny, nz] = labels.geometry.dims_usize();
    let mut out = vec![0u16; frame.width * frame.height];
    for v in 0..frame.height {
        for u in 0..frame.width {
            let i = map.apply(frame.pixel_to_world(u as f64 + 0.5, v as f64 + 0.5)).map(|x| x.round());
            if i.iter().all(|&x| x >= 0.0) && (i[0] as usize) < nx && (i[1] as usize) < ny && (i[2] as usize) < nz {
                out[v * frame.width + u] = labels.labels[labels.geometry.index(i[0] as usize, i[1] as usize, i[2] as usize)];
            }
        }
    }
    out
}

/// The table's colour for a label value, or a stable fallback.
pub fn label_colour(labels: &LabelMap, value: u16) -> [u8; 4] {
    labels.table.iter().find(|e| e.value == value).map(|e| e.colour).unwrap_or_else(|| isotherm_sdk::volume::lesion_colour(value as usize))
}

/// The voxel under a world point: its index (rounded) and value, if inside.
pub fn probe(data: &[f32], g: &Geometry, p: [f64; 3]) -> Option<([usize; 3], f32)> {
    let i = g.world_to_index(p).map(|x| x.round());
    let d = g.dims;
    if i.iter().zip(d.iter()).all(|(&x, &n)| x >= 0.0 && x < n as f64) {
        let ijk = [i[0] as usize, i[1] as usize, i[2] as usize];
        Some((ijk, data[g.index(ijk[0], ijk[1], ijk[2])]))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use isotherm_sdk::abi::LabelEntry;

    fn oblique() -> Geometry {
        let (c, s) = (0.4f64.cos(), 0.4f64.sin());
        Geometry { dims: [20, 18, 9], spacing: [0.8, 0.8, 2.5], origin: [10.0, -5.0, 30.0], direction: [c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0] }
    }

    #[test]
    fn pixels_and_world_round_trip_and_follow_radiological_orientation() {
        let b = Bounds::of(&oblique());
        let f = SliceFrame::new(Axis::Axial, &b, 0.5, b.centre());
        let p = f.pixel_to_world(12.5, 7.25);
        let (u, v) = f.world_to_pixel(p);
        assert!((u - 12.5).abs() < 1e-9 && (v - 7.25).abs() < 1e-9);
        // Screen right = patient left = world -x; screen down = posterior = world -y.
        let a = f.pixel_to_world(0.0, 0.0);
        let r = f.pixel_to_world(10.0, 0.0);
        let d = f.pixel_to_world(0.0, 10.0);
        assert!(r[0] < a[0] && (r[1] - a[1]).abs() < 1e-12);
        assert!(d[1] < a[1]);
        assert_eq!(f.depth(), b.centre()[2]);
        assert_eq!(Axis::Sagittal.letters(), ["A", "P", "S", "I"]);
    }

    #[test]
    fn overlay_lines_up_with_the_ct_on_an_oblique_grid() {
        // A CT whose bright voxels and a label map of the *same voxels* on a different
        // (axis-aligned, finer) grid must coincide in the rendered slice.
        let g = oblique();
        let centre = Bounds::of(&g).centre();
        let inside = |p: [f64; 3]| isotherm_sdk::volume::dist(p, centre) < 4.0;
        let ct: Vec<f32> = (0..g.len()).map(|n| { let [i, j, k] = g.ijk(n); if inside(g.index_to_world([i as f64, j as f64, k as f64])) { 1000.0 } else { 0.0 } }).collect();
        let lg = Geometry::axis_aligned([60, 60, 30], [0.4, 0.4, 1.0], [centre[0] - 12.0, centre[1] - 12.0, centre[2] - 15.0]);
        let labels: Vec<u16> = (0..lg.len()).map(|n| { let [i, j, k] = lg.ijk(n); inside(lg.index_to_world([i as f64, j as f64, k as f64])) as u16 }).collect();
        let map = LabelMap::new(lg, labels, vec![LabelEntry::new(1, "ball", [255, 0, 0, 255])]);
        let b = Bounds::of(&g);
        let f = SliceFrame::new(Axis::Axial, &b, 0.4, centre);
        let wl = WindowLevel { level: 500.0, width: 1000.0 };
        let plain = render(&f, &ct, &g, wl, &[]);
        let with = render(&f, &ct, &g, wl, &[(&map, OverlayStyle { opacity: 1.0, outline: false })]);
        let (mut both, mut ct_only, mut label_only) = (0, 0, 0);
        for px in 0..f.width * f.height {
            let bright = plain[px * 4] > 128;
            let red = with[px * 4] == 255 && with[px * 4 + 1] == 0;
            match (bright, red) {
                (true, true) => both += 1,
                (true, false) => ct_only += 1,
                (false, true) => label_only += 1,
                _ => {}
            }
        }
        assert!(both > 200, "{both}");
        // Only the edge differs (interpolation vs nearest, different grids).
        assert!((ct_only + label_only) as f64 / (both as f64) < 0.35, "{both} {ct_only} {label_only}");
    }

    #[test]
    fn centring_on_a_point_puts_it_mid_view_with_the_asked_field() {
        let g = Geometry::axis_aligned([200, 160, 60], [1.5, 1.5, 2.5], [-150.0, -120.0, -75.0]);
        let frame = SliceFrame::new(Axis::Axial, &Bounds::of(&g), 1.5, [0.0; 3]);
        let (min, size) = ([100.0, 50.0], [300.0, 240.0]);
        let p = frame.world_to_pixel([40.0, -30.0, 0.0]);
        let t = ViewTransform::centred_on(&frame, size, p, 120.0);
        let c = t.to_screen(&frame, min, size, p);
        assert!((c[0] - 250.0).abs() < 1e-9 && (c[1] - 170.0).abs() < 1e-9, "{c:?}");
        // 120 mm spans the shorter side (240 points).
        let q = t.to_screen(&frame, min, size, frame.world_to_pixel([40.0, -30.0 - 120.0, 0.0]));
        assert!(((q[1] - c[1]).abs() - 240.0).abs() < 1e-9, "{q:?}");
        // A resized view stays on the point.
        let bigger = [420.0, 330.0];
        let c = t.to_screen(&frame, min, bigger, p);
        assert!((c[0] - 310.0).abs() < 1e-9 && (c[1] - 215.0).abs() < 1e-9, "{c:?}");
        // A drag of 30 points moves the image 30 points.
        let mut dragged = t;
        dragged.drag(&frame, size, [30.0, -12.0]);
        let d = dragged.to_screen(&frame, min, size, p);
        assert!((d[0] - 280.0).abs() < 1e-9 && (d[1] - 158.0).abs() < 1e-9, "{d:?}");
    }

    #[test]
    fn view_transform_round_trips_and_zoom_keeps_the_cursor_point() {
        let b = Bounds::of(&oblique());
        let f = SliceFrame::new(Axis::Coronal, &b, 0.5, b.centre());
        let (min, size) = ([10.0, 20.0], [300.0, 200.0]);
        let mut t = ViewTransform::default();
        let px = (7.0, 3.5);
        let s = t.to_screen(&f, min, size, px);
        let back = t.to_pixel(&f, min, size, s);
        assert!((back.0 - px.0).abs() < 1e-9 && (back.1 - px.1).abs() < 1e-9);
        let cursor = [100.0, 90.0];
        let under = t.to_pixel(&f, min, size, cursor);
        t.zoom_at(&f, min, size, cursor, 2.0);
        let after = t.to_pixel(&f, min, size, cursor);
        assert!((under.0 - after.0).abs() < 1e-9 && (under.1 - after.1).abs() < 1e-9);
        assert_eq!(t.zoom, 2.0);
        // Scrolling moves along the normal only, and stops at the volume's edge.
        let c = b.centre();
        let up = scroll(c, Axis::Axial, 2.0, 2.5, &b);
        assert_eq!((up[0], up[1], up[2]), (c[0], c[1], c[2] + 5.0));
        assert_eq!(scroll(c, Axis::Axial, 1000.0, 2.5, &b)[2], b.max[2]);
    }

    #[test]
    fn clicking_in_one_view_moves_the_other_two() {
        let g = oblique();
        let b = Bounds::of(&g);
        let start = b.centre();
        let axial = SliceFrame::new(Axis::Axial, &b, 0.5, start);
        let target = [start[0] - 3.0, start[1] + 2.0, start[2]];
        let (u, v) = axial.world_to_pixel(target);
        let moved = click(&axial, (u, v), start, &b);
        assert!((moved[0] - target[0]).abs() < 1e-9 && (moved[1] - target[1]).abs() < 1e-9);
        assert_eq!(moved[2], start[2], "the axial view keeps its slice");
        // The coronal and sagittal views now cut through the clicked point.
        assert!((SliceFrame::new(Axis::Coronal, &b, 0.5, moved).depth() - target[1]).abs() < 1e-9);
        assert!((SliceFrame::new(Axis::Sagittal, &b, 0.5, moved).depth() - target[0]).abs() < 1e-9);
        assert!((SliceFrame::new(Axis::Axial, &b, 0.5, moved).depth() - start[2]).abs() < 1e-9);
    }

    #[test]
    fn window_level_and_slice_step() {
        let wl = WindowLevel { level: 40.0, width: 400.0 };
        assert_eq!((wl.grey(-160.0), wl.grey(40.0), wl.grey(240.0), wl.grey(1000.0)), (0, 128, 255, 255));
        let mut d = wl;
        d.drag(100.0, 0.0);
        assert!(d.width > wl.width && d.level == wl.level);
        d.drag(0.0, -50.0);
        assert!(d.level > wl.level);
        let g = oblique();
        assert_eq!(slice_step_mm(&g, Axis::Axial), 2.5);
        assert_eq!(slice_step_mm(&g, Axis::Sagittal), 0.8);
        assert_eq!(natural_pixel_mm(&g), 0.8);
        let data: Vec<f32> = (0..g.len()).map(|n| n as f32).collect();
        let p = g.index_to_world([3.0, 4.0, 5.0]);
        assert_eq!(probe(&data, &g, p), Some(([3, 4, 5], g.index(3, 4, 5) as f32)));
    }
}
