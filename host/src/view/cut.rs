//! Where a scene mesh crosses a slice view: the contour Slicer draws of a model in its
//! slice views. Each triangle that straddles the plane gives one segment, coloured as
//! the mesh is in 3D (its per-vertex scalars through their colour map, else its own
//! colour), so a margin-coloured tumour shows the same red, amber and green in the
//! slices, and an isotherm or the chart's ellipsoid shows as an outline.

use abi_stable::std_types::ROption;
use isotherm_sdk::abi::Mesh;

use super::colormap;
use super::slice::SliceFrame;

/// One piece of a contour, in the frame's pixel coordinates, with linear RGB at each end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CutSegment {
    pub a: (f64, f64),
    pub b: (f64, f64),
    pub colour: [[f32; 3]; 2],
}

/// The segments where `mesh` crosses the plane of `frame`. `colour` overrides the
/// mesh's own colour (not its scalars), as the scene tree's colour does in 3D.
pub fn cut(mesh: &Mesh, frame: &SliceFrame, colour: Option<[f32; 3]>) -> Vec<CutSegment> {
    let n = frame.axis.normal_index();
    let depth = frame.depth();
    let plain = colour.unwrap_or([mesh.colour[0], mesh.colour[1], mesh.colour[2]]);
    let vertex_colour = |i: usize| -> [f32; 3] {
        match &mesh.scalars {
            ROption::RSome(s) => colormap::colour(s.colormap, s.values[i], s.range),
            ROption::RNone => plain,
        }
    };
    let position = |i: usize| mesh.positions[i].map(|v| v as f64);
    let mut out = Vec::new();
    for t in mesh.triangles.iter() {
        let idx = t.map(|v| v as usize);
        let d = idx.map(|i| position(i)[n] - depth);
        // A vertex exactly on the plane counts as above it, so an edge is cut once.
        let above = d.map(|x| x >= 0.0);
        if above[0] == above[1] && above[1] == above[2] {
            continue;
        }
        let mut ends = Vec::with_capacity(2);
        for (p, q) in [(0, 1), (1, 2), (2, 0)] {
            if above[p] != above[q] {
                let f = d[p] / (d[p] - d[q]);
                let (a, b) = (position(idx[p]), position(idx[q]));
                let world = [0, 1, 2].map(|k| a[k] + f * (b[k] - a[k]));
                let (ca, cb) = (vertex_colour(idx[p]), vertex_colour(idx[q]));
                let c = [0, 1, 2].map(|k| ca[k] + f as f32 * (cb[k] - ca[k]));
                ends.push((frame.world_to_pixel(world), c));
            }
        }
        if let [(a, ca), (b, cb)] = ends[..] {
            out.push(CutSegment { a, b, colour: [ca, cb] });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::slice::{Axis, Bounds};
    use isotherm_sdk::abi::{Colormap, Geometry, VertexScalars};

    /// A sphere of radius 12 mm at (5, -3, 20) as marching cubes make it, on a 1 mm grid.
    fn sphere() -> (Mesh, Geometry) {
        let g = Geometry::axis_aligned([48, 48, 48], [1.0; 3], [-19.0, -27.0, -4.0]);
        let centre = [5.0, -3.0, 20.0];
        let field: Vec<f32> = (0..g.len())
            .map(|i| {
                let [x, y, z] = g.ijk(i);
                let p = g.index_to_world([x as f64, y as f64, z as f64]);
                (12.0 - ((0..3).map(|a| (p[a] - centre[a]).powi(2)).sum::<f64>()).sqrt()) as f32
            })
            .collect();
        (isotherm_sdk::volume::mesh::marching_cubes(&field, &g, 0.0), g)
    }

    #[test]
    fn a_sphere_cut_through_its_centre_is_a_circle_of_its_radius() {
        let (mesh, g) = sphere();
        let bounds = Bounds::of(&g);
        // Planes between the grid's nodes (a plane through mesh vertices is the
        // degenerate case; each vertex is counted above it, and still only once).
        let r = |off: f64| (144.0f64 - off * off).sqrt();
        for (axis, at, radius) in [(Axis::Axial, 20.3, r(0.3)), (Axis::Coronal, -3.0 + 7.4, r(7.4)), (Axis::Sagittal, 5.3, r(0.3))] {
            let mut through = [5.0, -3.0, 20.0];
            through[axis.normal_index()] = at;
            let frame = SliceFrame::new(axis, &bounds, 0.5, through);
            let segments = cut(&mesh, &frame, None);
            assert!(segments.len() > 40, "{axis:?}: {} segments", segments.len());
            let centre = frame.world_to_pixel([5.0, -3.0, 20.0]);
            for s in &segments {
                for p in [s.a, s.b] {
                    let r_mm = ((p.0 - centre.0).powi(2) + (p.1 - centre.1).powi(2)).sqrt() * frame.pixel_mm;
                    assert!((r_mm - radius).abs() < 0.3, "{axis:?}: a contour point {r_mm:.2} mm from the centre, not {radius:.2}");
                }
            }
            // The contour closes: every end is shared by two segments (four where marching
            // cubes put a vertex on a grid node the field is zero at: a pinch, still closed).
            let key = |p: (f64, f64)| ((p.0 * 1e4).round() as i64, (p.1 * 1e4).round() as i64);
            let mut ends = std::collections::HashMap::new();
            for s in &segments {
                *ends.entry(key(s.a)).or_insert(0) += 1;
                *ends.entry(key(s.b)).or_insert(0) += 1;
            }
            let odd: Vec<_> = ends.iter().filter(|(_, c)| **c % 2 != 0).collect();
            assert!(odd.is_empty(), "{axis:?}: an open contour at {odd:?} of {}", ends.len());
        }
        // A plane that misses the sphere cuts nothing.
        let frame = SliceFrame::new(Axis::Axial, &bounds, 0.5, [0.0, 0.0, 40.0]);
        assert!(cut(&mesh, &frame, None).is_empty());
    }

    #[test]
    fn contours_take_the_colours_of_the_mesh_scalars() {
        let (mut mesh, g) = sphere();
        // Margin scalars by height: the top of the sphere green (8 mm), the bottom red (-2).
        let values: Vec<f32> = mesh.positions.iter().map(|p| if p[2] > 20.0 { 8.0 } else { -2.0 }).collect();
        mesh.scalars = ROption::RSome(VertexScalars { name: "margin".into(), unit: "mm".into(), values: values.into(), colormap: Colormap::Margin, range: [-10.0, 10.0] });
        let bounds = Bounds::of(&g);
        let top = cut(&mesh, &SliceFrame::new(Axis::Axial, &bounds, 0.5, [0.0, 0.0, 26.0]), None);
        let bottom = cut(&mesh, &SliceFrame::new(Axis::Axial, &bounds, 0.5, [0.0, 0.0, 14.0]), Some([0.0, 0.0, 1.0]));
        let green = colormap::colour(Colormap::Margin, 8.0, [-10.0, 10.0]);
        let red = colormap::colour(Colormap::Margin, -2.0, [-10.0, 10.0]);
        assert!(top.iter().all(|s| s.colour == [green, green]));
        // Scalars win over an override colour, as in 3D.
        assert!(bottom.iter().all(|s| s.colour == [red, red]));
    }
}
