//! Colour maps for per-vertex scalars and their legends.

use isotherm_sdk::abi::Colormap;

fn lerp(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * t.clamp(0.0, 1.0))
}

fn stops(points: &[(f32, [f32; 3])], x: f32) -> [f32; 3] {
    if x <= points[0].0 {
        return points[0].1;
    }
    for w in points.windows(2) {
        if x <= w[1].0 {
            return lerp(w[0].1, w[1].1, (x - w[0].0) / (w[1].0 - w[0].0).max(1e-6));
        }
    }
    points[points.len() - 1].1
}

const RED: [f32; 3] = [0.85, 0.1, 0.1];
const AMBER: [f32; 3] = [1.0, 0.7, 0.0];
const GREEN: [f32; 3] = [0.1, 0.7, 0.25];

/// Linear RGB in 0..1 for `value` drawn over `range`.
///
/// `Margin` is absolute, in mm, whatever the range: red below 0 (uncovered tumour),
/// amber from 0 to 5 mm, green from 5 mm (clinical-facts: MAM thresholds), blended
/// over a millimetre at each threshold so the bar stays continuous.
pub fn colour(map: Colormap, value: f32, range: [f32; 2]) -> [f32; 3] {
    let t = ((value - range[0]) / (range[1] - range[0]).max(1e-6)).clamp(0.0, 1.0);
    match map {
        Colormap::Grey => [t, t, t],
        Colormap::Viridis => stops(&[(0.0, [0.27, 0.0, 0.33]), (0.25, [0.23, 0.32, 0.55]), (0.5, [0.13, 0.57, 0.55]), (0.75, [0.37, 0.79, 0.38]), (1.0, [0.99, 0.91, 0.14])], t),
        Colormap::Diverging => stops(&[(0.0, [0.23, 0.3, 0.75]), (0.5, [0.95, 0.95, 0.95]), (1.0, [0.7, 0.02, 0.15])], t),
        Colormap::Margin => stops(&[(-0.5, RED), (0.5, AMBER), (4.5, AMBER), (5.5, GREEN)], value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_colours_follow_the_thresholds() {
        let r = [-10.0, 10.0];
        assert_eq!(colour(Colormap::Margin, -3.0, r), RED);
        assert_eq!(colour(Colormap::Margin, 2.5, r), AMBER);
        assert_eq!(colour(Colormap::Margin, 8.0, r), GREEN);
        assert_eq!(colour(Colormap::Grey, 5.0, [0.0, 10.0]), [0.5, 0.5, 0.5]);
        let v = colour(Colormap::Viridis, 1.0, [0.0, 1.0]);
        assert!(v[2] < 0.2 && v[0] > 0.9);
    }
}
