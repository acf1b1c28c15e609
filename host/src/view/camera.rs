//! The 3D view's orbit camera, in world millimetres (RAS+), and the one mapping from
//! RAS+ to the renderer's Y-up frame.

/// RAS+ (x right, y anterior, z superior) -> renderer (x, y up, z towards the viewer
/// who stands in front of the patient): (x, z, -y). A proper rotation (det = +1), so
/// mesh winding and normals keep their meaning.
pub fn ras_to_render(p: [f64; 3]) -> [f32; 3] {
    [p[0] as f32, p[2] as f32, -p[1] as f32]
}

/// Inverse of [`ras_to_render`].
pub fn render_to_ras(p: [f32; 3]) -> [f64; 3] {
    [p[0] as f64, -p[2] as f64, p[1] as f64]
}

/// Orbit around a target: yaw about the superior axis, pitch up/down, distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Orbit {
    /// Target, world mm (RAS+).
    pub target: [f64; 3],
    pub yaw: f64,
    pub pitch: f64,
    pub distance: f64,
}

impl Orbit {
    /// Looking at `target` from the patient's front (anterior), from `distance` mm.
    pub fn anterior(target: [f64; 3], distance: f64) -> Orbit {
        Orbit { target, yaw: 0.0, pitch: 0.2, distance }
    }

    /// Camera position, world mm (RAS+).
    pub fn eye(&self) -> [f64; 3] {
        let (cp, sp) = (self.pitch.cos(), self.pitch.sin());
        let (cy, sy) = (self.yaw.cos(), self.yaw.sin());
        // yaw 0 looks from +y (anterior) towards -y.
        let dir = [sy * cp, cy * cp, sp];
        [0, 1, 2].map(|a| self.target[a] + self.distance * dir[a])
    }

    /// Mouse drag in pixels rotates; pitch stays short of the poles.
    pub fn rotate(&mut self, dx: f64, dy: f64) {
        self.yaw -= dx * 0.01;
        self.pitch = (self.pitch + dy * 0.01).clamp(-1.5, 1.5);
    }

    /// Scroll zooms by a factor per notch.
    pub fn zoom(&mut self, notches: f64) {
        self.distance = (self.distance * 0.9f64.powf(notches)).clamp(10.0, 5000.0);
    }

    /// Pans the target in the view plane by a drag in pixels (`mm_per_pixel` at the target).
    pub fn pan(&mut self, dx: f64, dy: f64, mm_per_pixel: f64) {
        let eye = self.eye();
        let f = [0, 1, 2].map(|a| self.target[a] - eye[a]);
        let len = (f[0] * f[0] + f[1] * f[1] + f[2] * f[2]).sqrt();
        let f = f.map(|x| x / len);
        let up = [0.0, 0.0, 1.0];
        let right = [f[1] * up[2] - f[2] * up[1], f[2] * up[0] - f[0] * up[2], f[0] * up[1] - f[1] * up[0]];
        let rl = (right[0] * right[0] + right[1] * right[1] + right[2] * right[2]).sqrt().max(1e-9);
        let right = right.map(|x| x / rl);
        let cam_up = [right[1] * f[2] - right[2] * f[1], right[2] * f[0] - right[0] * f[2], right[0] * f[1] - right[1] * f[0]];
        for a in 0..3 {
            self.target[a] += (-dx * right[a] + dy * cam_up[a]) * mm_per_pixel;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_is_a_rotation_and_the_default_view_is_anterior() {
        let p = [1.0, 2.0, 3.0];
        let q = ras_to_render(p);
        assert_eq!(q, [1.0, 3.0, -2.0]);
        assert_eq!(render_to_ras(q), p);
        let o = Orbit { pitch: 0.0, ..Orbit::anterior([0.0; 3], 100.0) };
        let eye = o.eye();
        assert!((eye[1] - 100.0).abs() < 1e-9, "the camera stands anterior: {eye:?}");
        let mut z = o;
        z.zoom(1.0);
        assert!(z.distance < o.distance);
        let mut r = o;
        r.rotate(157.08, 0.0);
        assert!(r.eye()[0] < -99.0, "a quarter turn brings the eye to the patient's left (-x)... {:?}", r.eye());
    }
}
