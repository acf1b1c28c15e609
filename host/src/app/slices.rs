//! The three slice views: reslice the base volume and overlays when anything they
//! show changes (in `IsothermSet::Sync`), and draw them with egui (called by the
//! layout in `panels`). The maths lives in `crate::view::slice`.

use bevy::asset::RenderAssetUsages;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use bevy_egui::egui;
use isotherm_sdk::abi::NodeData;

use super::ablation::Educator;
use super::state::Viewer;
use crate::view::slice::{self, Axis, SliceFrame, ViewTransform, WindowLevel};

/// One slice view's image and how it is shown.
pub struct SliceImage {
    pub axis: Axis,
    pub frame: Option<SliceFrame>,
    pub rgba: Vec<u8>,
    /// Where the visible meshes cross this slice, in image pixels: made with the image,
    /// drawn every frame.
    pub contours: Vec<crate::view::cut::CutSegment>,
    /// What the image was made from; a change means re-render.
    key: Option<(u64, Option<u64>, [u64; 3], [u64; 2], [u32; 2])>,
    pub transform: ViewTransform,
    /// Centre the view on this world point with this field (mm) at the next draw, when
    /// the rectangle's size is known.
    pub look_at: Option<([f64; 3], f64)>,
    /// egui's copy, refreshed when `egui_stale`.
    pub texture: Option<egui::TextureHandle>,
    pub egui_stale: bool,
    /// The same pixels as a Bevy image, for the plane in the 3D view.
    pub image: Handle<Image>,
    pub renders: u64,
}

#[derive(Resource)]
pub struct SliceImages(pub Vec<SliceImage>);

impl SliceImages {
    pub fn get_mut(&mut self, axis: Axis) -> &mut SliceImage {
        self.0.iter_mut().find(|s| s.axis == axis).unwrap()
    }
}

pub struct SlicesPlugin;

impl Plugin for SlicesPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, setup).add_systems(Update, reslice.in_set(super::IsothermSet::Sync));
    }
}

fn blank_image() -> Image {
    Image::new_fill(
        Extent3d { width: 1, height: 1, depth_or_array_layers: 1 },
        TextureDimension::D2,
        &[0, 0, 0, 255],
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::default(),
    )
}

fn setup(mut commands: Commands, mut images: ResMut<Assets<Image>>) {
    let views = Axis::ALL
        .iter()
        .map(|&axis| SliceImage {
            axis,
            frame: None,
            rgba: Vec::new(),
            contours: Vec::new(),
            key: None,
            transform: ViewTransform::default(),
            look_at: None,
            texture: None,
            egui_stale: true,
            image: images.add(blank_image()),
            renders: 0,
        })
        .collect();
    commands.insert_resource(SliceImages(views));
}

fn bits(x: f64) -> u64 {
    x.to_bits()
}

/// Re-renders each slice whose inputs changed.
fn reslice(viewer: Res<Viewer>, mut slices: ResMut<SliceImages>, mut images: ResMut<Assets<Image>>) {
    let Some(base) = viewer.base else { return };
    let Some(node) = viewer.scene.get_by_id(base) else { return };
    let NodeData::Volume(volume) = &node.data else { return };
    let Some(values) = viewer.values.get(&base) else { return };
    let bounds = slice::Bounds::of(&volume.geometry);
    let wl = viewer.window_level;
    for view in slices.0.iter_mut() {
        let n = view.axis.normal_index();
        let key = (
            viewer.scene.revision(),
            Some(base),
            [bits(viewer.crosshair[n]), bits(wl.level), bits(wl.width)],
            [bits(viewer.overlay.opacity as f64), viewer.overlay.outline as u64],
            [0, 0],
        );
        if view.key == Some(key) {
            continue;
        }
        let frame = SliceFrame::new(view.axis, &bounds, slice::natural_pixel_mm(&volume.geometry), viewer.crosshair);
        let overlays: Vec<_> = viewer
            .scene
            .nodes()
            .iter()
            .filter(|n| n.visible)
            .filter_map(|n| match &n.data {
                NodeData::LabelMap(m) => Some((m, slice::OverlayStyle { opacity: viewer.overlay.opacity * n.opacity, outline: viewer.overlay.outline })),
                _ => None,
            })
            .collect();
        view.rgba = slice::render(&frame, values, &volume.geometry, wl, &overlays);
        view.contours = viewer
            .scene
            .nodes()
            .iter()
            .filter(|n| n.visible)
            .filter_map(|n| match &n.data {
                NodeData::Mesh(m) => Some(crate::view::cut::cut(m, &frame, n.colour)),
                _ => None,
            })
            .flatten()
            .collect();
        view.frame = Some(frame);
        view.key = Some(key);
        view.egui_stale = true;
        view.renders += 1;
        if let Some(mut img) = images.get_mut(&view.image) {
            *img = Image::new(
                Extent3d { width: frame.width as u32, height: frame.height as u32, depth_or_array_layers: 1 },
                TextureDimension::D2,
                view.rgba.clone(),
                TextureFormat::Rgba8UnormSrgb,
                RenderAssetUsages::default(),
            );
        }
    }
}

fn to_pos(p: [f64; 2]) -> egui::Pos2 {
    egui::pos2(p[0] as f32, p[1] as f32)
}

/// Draws one slice view into `rect` and handles its mouse input: left button sets the
/// crosshair (all views follow), right drag adjusts window/level, middle drag pans,
/// wheel changes slice, ctrl+wheel zooms.
pub fn draw(ui: &mut egui::Ui, rect: egui::Rect, axis: Axis, viewer: &mut Viewer, slices: &mut SliceImages, educator: &mut Educator) {
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, egui::Color32::BLACK);
    let response = ui.allocate_rect(rect, egui::Sense::click_and_drag());
    let view = slices.get_mut(axis);
    let Some(frame) = view.frame else {
        painter.text(rect.center(), egui::Align2::CENTER_CENTER, "Open a CT (File > Open, or drop a .nii.gz here)", egui::FontId::proportional(14.0), egui::Color32::GRAY);
        return;
    };
    if view.egui_stale || view.texture.is_none() {
        let image = egui::ColorImage::from_rgba_unmultiplied([frame.width, frame.height], &view.rgba);
        match &mut view.texture {
            Some(t) => t.set(image, egui::TextureOptions::LINEAR),
            None => view.texture = Some(ui.ctx().load_texture(format!("slice-{}", axis.name()), image, egui::TextureOptions::LINEAR)),
        }
        view.egui_stale = false;
    }
    let (min, size) = ([rect.min.x as f64, rect.min.y as f64], [rect.width() as f64, rect.height() as f64]);
    if let Some((p, fov_mm)) = view.look_at.take() {
        view.transform = ViewTransform::centred_on(&frame, size, frame.world_to_pixel(p), fov_mm);
    }
    let t = view.transform;
    let a = to_pos(t.to_screen(&frame, min, size, (0.0, 0.0)));
    let b = to_pos(t.to_screen(&frame, min, size, (frame.width as f64, frame.height as f64)));
    if let Some(tex) = &view.texture {
        painter.image(tex.id(), egui::Rect::from_min_max(a, b), egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)), egui::Color32::WHITE);
    }
    // Crosshair.
    let c = t.to_screen(&frame, min, size, frame.world_to_pixel(viewer.crosshair));
    let stroke = egui::Stroke::new(1.0, egui::Color32::from_rgba_unmultiplied(255, 220, 0, 160));
    painter.line_segment([egui::pos2(rect.min.x, c[1] as f32), egui::pos2(rect.max.x, c[1] as f32)], stroke);
    painter.line_segment([egui::pos2(c[0] as f32, rect.min.y), egui::pos2(c[0] as f32, rect.max.y)], stroke);
    // Markups near this plane.
    let step = viewer.bounds().map(|_| frame.pixel_mm.max(1.0)).unwrap_or(1.0);
    for node in viewer.scene.nodes().iter().filter(|n| n.visible) {
        if let NodeData::Markups(m) = &node.data {
            let colour = egui::Color32::from_rgb((m.colour[0] * 255.0) as u8, (m.colour[1] * 255.0) as u8, (m.colour[2] * 255.0) as u8);
            for p in m.points.iter() {
                if (p.position[axis.normal_index()] - frame.depth()).abs() <= step * 2.0 {
                    painter.circle_filled(to_pos(t.to_screen(&frame, min, size, frame.world_to_pixel(p.position))), 4.0, colour);
                }
            }
            for l in m.lines.iter() {
                // Only lines that reach this slice (within two steps or crossing it).
                let (a, b) = (l.start[axis.normal_index()] - frame.depth(), l.end[axis.normal_index()] - frame.depth());
                if a.abs().min(b.abs()) > step * 2.0 && a.signum() == b.signum() {
                    continue;
                }
                let s = to_pos(t.to_screen(&frame, min, size, frame.world_to_pixel(l.start)));
                let e = to_pos(t.to_screen(&frame, min, size, frame.world_to_pixel(l.end)));
                painter.line_segment([s, e], egui::Stroke::new(2.0, colour));
                painter.text(e + egui::vec2(4.0, 0.0), egui::Align2::LEFT_CENTER, l.label.as_str(), egui::FontId::proportional(12.0), colour);
            }
        }
    }
    // Where meshes cross this plane, in their 3D colours (margin, isotherms, chart zone).
    let rgb = |c: [f32; 3]| egui::Color32::from_rgb((c[0] * 255.0) as u8, (c[1] * 255.0) as u8, (c[2] * 255.0) as u8);
    for s in &view.contours {
        let (a, b) = (to_pos(t.to_screen(&frame, min, size, s.a)), to_pos(t.to_screen(&frame, min, size, s.b)));
        painter.line_segment([a, b], egui::Stroke::new(1.5, rgb(s.colour[0])));
    }
    // The live ablation's antenna: handles, placing clicks and drags.
    let to_screen = |p: [f64; 3]| Some(to_pos(t.to_screen(&frame, min, size, frame.world_to_pixel(p))));
    let to_world = |pos: egui::Pos2, old: Option<[f64; 3]>| {
        let px = t.to_pixel(&frame, min, size, [pos.x as f64, pos.y as f64]);
        let mut p = frame.pixel_to_world(px.0, px.1);
        // A dragged end moves within this view's plane, keeping its own depth.
        if let Some(old) = old {
            p[axis.normal_index()] = old[axis.normal_index()];
        }
        Some(p)
    };
    let antenna_took_pointer = super::ablation::pointer(educator, &response, &painter, &to_screen, &to_world);

    // Orientation letters and the view's name.
    let [left, right, top, bottom] = axis.letters();
    let font = egui::FontId::proportional(14.0);
    let letter = egui::Color32::from_rgb(230, 200, 80);
    painter.text(rect.left_center() + egui::vec2(6.0, 0.0), egui::Align2::LEFT_CENTER, left, font.clone(), letter);
    painter.text(rect.right_center() - egui::vec2(6.0, 0.0), egui::Align2::RIGHT_CENTER, right, font.clone(), letter);
    painter.text(rect.center_top() + egui::vec2(0.0, 4.0), egui::Align2::CENTER_TOP, top, font.clone(), letter);
    painter.text(rect.center_bottom() - egui::vec2(0.0, 4.0), egui::Align2::CENTER_BOTTOM, bottom, font.clone(), letter);
    painter.text(rect.left_top() + egui::vec2(6.0, 4.0), egui::Align2::LEFT_TOP, format!("{}  {:.1} mm", axis.name(), frame.depth()), font.clone(), egui::Color32::LIGHT_GRAY);

    // Cursor readout.
    if let Some(pos) = response.hover_pos() {
        let px = t.to_pixel(&frame, min, size, [pos.x as f64, pos.y as f64]);
        let world = frame.pixel_to_world(px.0, px.1);
        let mut text = format!("R {:.1}  A {:.1}  S {:.1} mm", world[0], world[1], world[2]);
        if let (Some(base), Some(NodeData::Volume(v))) = (viewer.base, viewer.base.and_then(|b| viewer.scene.get_by_id(b)).map(|n| &n.data)) {
            if let Some((ijk, value)) = viewer.values.get(&base).and_then(|vals| slice::probe(vals, &v.geometry, world)) {
                text = format!("{text}   voxel {:?}   {value:.0} HU", ijk);
            }
        }
        painter.text(rect.left_bottom() + egui::vec2(6.0, -4.0), egui::Align2::LEFT_BOTTOM, text, egui::FontId::monospace(12.0), egui::Color32::LIGHT_GRAY);
        let scroll = super::wheel_notches(ui);
        let ctrl = ui.input(|i| i.modifiers.ctrl);
        if scroll != 0.0 {
            if ctrl {
                view.transform.zoom_at(&frame, min, size, [pos.x as f64, pos.y as f64], if scroll > 0.0 { 1.15 } else { 1.0 / 1.15 });
            } else if let (Some(bounds), Some(NodeData::Volume(v))) = (viewer.bounds(), viewer.base.and_then(|b| viewer.scene.get_by_id(b)).map(|n| &n.data)) {
                let step = slice::slice_step_mm(&v.geometry, axis);
                viewer.crosshair = slice::scroll(viewer.crosshair, axis, scroll.signum() as f64, step, &bounds);
            }
        }
        if !antenna_took_pointer && (response.dragged_by(egui::PointerButton::Primary) || response.clicked()) {
            if let Some(b) = viewer.bounds() {
                viewer.crosshair = slice::click(&frame, px, viewer.crosshair, &b);
            }
        }
    }
    if response.dragged_by(egui::PointerButton::Secondary) {
        let d = response.drag_delta();
        let mut wl: WindowLevel = viewer.window_level;
        wl.drag(d.x as f64, d.y as f64);
        viewer.window_level = wl;
    }
    if response.dragged_by(egui::PointerButton::Middle) {
        let d = response.drag_delta();
        view.transform.drag(&frame, size, [d.x as f64, d.y as f64]);
    }
    if response.double_clicked() {
        view.transform = ViewTransform::default();
    }
}
