//! Our marching cubes against the classic Lorensen & Cline table (scikit-image's,
//! tests/data/lorensen_cube_areas.py): every unambiguous configuration of one cube
//! must have the same surface area on anisotropic grids, where each non-planar
//! polygon's diagonals change the area and, through it, every area-based shape
//! feature (sphericity, compactness) that IBSI's reference values were computed with.

use isotherm_sdk::abi::Geometry;
use isotherm_sdk::volume::mesh::{marching_cubes, surface_area};

#[test]
fn every_unambiguous_cube_has_the_classic_tables_area() {
    let csv = include_str!("data/lorensen_cube_areas.csv");
    let mut lines = csv.lines();
    let spacings: Vec<[f64; 3]> = lines
        .next()
        .unwrap()
        .split(',')
        .skip(1)
        .map(|s| {
            let v: Vec<f64> = s.split('x').map(|x| x.parse().unwrap()).collect();
            [v[0], v[1], v[2]]
        })
        .collect();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for line in lines {
        let mut cells = line.split(',');
        let code: u32 = cells.next().unwrap().parse().unwrap();
        let field: Vec<f32> = (0..8).map(|n| (code >> n & 1) as f32).collect();
        for (spacing, expected) in spacings.iter().zip(cells) {
            let expected: f64 = expected.parse().unwrap();
            let g = Geometry::axis_aligned([2, 2, 2], *spacing, [0.0; 3]);
            let area = surface_area(&marching_cubes(&field, &g, 0.5));
            checked += 1;
            if (area - expected).abs() > 1e-5 * expected {
                wrong.push(format!("code {code:08b} at {spacing:?}: {area:.6} vs {expected:.6}"));
            }
        }
    }
    assert_eq!(checked, 134 * 9);
    assert!(wrong.is_empty(), "{} of {checked} differ:\n{}", wrong.len(), wrong.join("\n"));
}
