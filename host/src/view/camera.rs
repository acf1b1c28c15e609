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

/// Vertical field of view of the 3D camera (Bevy's default perspective), radians.
pub const FOV_Y: f64 = std::f64::consts::FRAC_PI_4;

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn unit(v: [f64; 3]) -> [f64; 3] {
    let l = dot(v, v).sqrt().max(1e-12);
    v.map(|x| x / l)
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

    /// The camera's forward, right and up directions, world (RAS+), as the renderer's
    /// `looking_at(target, superior)` makes them.
    pub fn basis(&self) -> ([f64; 3], [f64; 3], [f64; 3]) {
        let eye = self.eye();
        let forward = unit([0, 1, 2].map(|a| self.target[a] - eye[a]));
        let right = unit(cross(forward, [0.0, 0.0, 1.0]));
        (forward, right, cross(right, forward))
    }

    /// Pans the target in the view plane by a drag in pixels (`mm_per_pixel` at the target).
    pub fn pan(&mut self, dx: f64, dy: f64, mm_per_pixel: f64) {
        let (_, right, up) = self.basis();
        for a in 0..3 {
            self.target[a] += (-dx * right[a] + dy * up[a]) * mm_per_pixel;
        }
    }

    /// Where a world point lands in a view of this `aspect` (width / height), as
    /// fractions of the view from its top-left corner; `None` behind the camera.
    pub fn project(&self, p: [f64; 3], aspect: f64) -> Option<[f64; 2]> {
        let (forward, right, up) = self.basis();
        let eye = self.eye();
        let v = [0, 1, 2].map(|a| p[a] - eye[a]);
        let depth = dot(v, forward);
        if depth <= 1e-6 {
            return None;
        }
        let half_h = (FOV_Y / 2.0).tan() * depth;
        let (x, y) = (dot(v, right) / (half_h * aspect), dot(v, up) / half_h);
        Some([0.5 + 0.5 * x, 0.5 - 0.5 * y])
    }

    /// The world point under a view position (fractions, as [`Orbit::project`] gives)
    /// at the depth of `through`: how an end dragged in 3D moves, in the plane facing
    /// the camera.
    pub fn unproject(&self, at: [f64; 2], aspect: f64, through: [f64; 3]) -> [f64; 3] {
        let (forward, right, up) = self.basis();
        let eye = self.eye();
        let depth = dot([0, 1, 2].map(|a| through[a] - eye[a]), forward);
        let half_h = (FOV_Y / 2.0).tan() * depth;
        let (x, y) = ((at[0] - 0.5) * 2.0 * half_h * aspect, (0.5 - at[1]) * 2.0 * half_h);
        [0, 1, 2].map(|a| eye[a] + depth * forward[a] + x * right[a] + y * up[a])
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

    #[test]
    fn points_project_into_the_view_and_back_at_their_depth() {
        let o = Orbit { target: [10.0, -20.0, 30.0], yaw: 0.7, pitch: 0.3, distance: 400.0 };
        // The target is the view's centre; superior is up, the patient's right on the
        // left when seen from the front.
        let c = o.project(o.target, 1.5).unwrap();
        assert!((c[0] - 0.5).abs() < 1e-12 && (c[1] - 0.5).abs() < 1e-12);
        let above = o.project([10.0, -20.0, 60.0], 1.5).unwrap();
        assert!(above[1] < 0.5);
        let front = Orbit { pitch: 0.0, ..Orbit::anterior([0.0; 3], 300.0) };
        assert!(front.project([20.0, 0.0, 0.0], 1.0).unwrap()[0] < 0.5, "the patient's right (+x) on the screen's left");
        // A point 50 mm off the target, and back.
        let p = [40.0, 5.0, 12.0];
        let s = o.project(p, 1.5).unwrap();
        let q = o.unproject(s, 1.5, p);
        assert!((0..3).all(|a| (p[a] - q[a]).abs() < 1e-9), "{p:?} -> {s:?} -> {q:?}");
        // The screen edge at the target's depth is tan(fov/2) * distance away.
        let top = o.unproject([0.5, 0.0], 1.5, o.target);
        let d = (0..3).map(|a| (top[a] - o.target[a]).powi(2)).sum::<f64>().sqrt();
        assert!((d - (FOV_Y / 2.0).tan() * 400.0).abs() < 1e-9);
        // Behind the camera: nothing.
        let behind = [0, 1, 2].map(|a| 2.0 * o.eye()[a] - o.target[a]);
        assert_eq!(o.project(behind, 1.5), None);
    }
}
