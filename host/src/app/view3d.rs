//! The 3D view: a camera rendering into a texture that the layout shows as an egui
//! image (so egui owns the window layout), with the scene's meshes, the three slice
//! planes carrying the slice images, and markups as gizmo lines.
//!
//! World millimetres (RAS+) become render coordinates through
//! `crate::view::camera::ras_to_render`, the one place that mapping lives.

use std::collections::HashMap;

use abi_stable::std_types::ROption;
use bevy::asset::RenderAssetUsages;
use bevy::camera::RenderTarget;
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat, TextureUsages};
use bevy_egui::{EguiTextureHandle, EguiUserTextures, egui};
use isotherm_sdk::abi::{Mesh as SdkMesh, NodeData};

use super::slices::SliceImages;
use super::state::Viewer;
use crate::scene::NodeId;
use crate::view::camera::{Orbit, ras_to_render};
use crate::view::colormap;
use crate::view::slice::Axis;

#[derive(Resource)]
pub struct ThreeD {
    pub orbit: Orbit,
    pub target: Handle<Image>,
    pub size: [u32; 2],
    pub texture: Option<egui::TextureId>,
    pub show_planes: bool,
    camera: Entity,
    light: Entity,
    meshes: HashMap<NodeId, (Entity, u64)>,
    planes: HashMap<Axis, (Entity, u64)>,
    framed: bool,
}

#[derive(Component)]
struct SlicePlane;

/// Opacity of the slice planes in 3D.
const PLANE_ALPHA: f32 = 0.55;

pub struct View3dPlugin {
    /// Initial render-target size (the layout resizes it to the 3D view's rectangle).
    pub size: [u32; 2],
}

#[derive(Resource)]
struct InitialSize([u32; 2]);

impl Plugin for View3dPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(InitialSize(self.size))
            .add_systems(Startup, setup).add_systems(Update, (sync_meshes, sync_planes, update_camera, draw_markups).in_set(super::IsothermSet::Sync));
    }
}

fn target_image(size: [u32; 2]) -> Image {
    let extent = Extent3d { width: size[0].max(1), height: size[1].max(1), depth_or_array_layers: 1 };
    let mut image = Image::new_fill(extent, TextureDimension::D2, &[0, 0, 0, 255], TextureFormat::Bgra8UnormSrgb, RenderAssetUsages::default());
    image.texture_descriptor.usage = TextureUsages::TEXTURE_BINDING | TextureUsages::COPY_DST | TextureUsages::RENDER_ATTACHMENT;
    image
}

fn setup(mut commands: Commands, mut images: ResMut<Assets<Image>>, textures: Option<ResMut<EguiUserTextures>>, initial: Res<InitialSize>) {
    let size = initial.0;
    let target = images.add(target_image(size));
    // No egui without a window (offscreen runs): the texture is then only rendered.
    let texture = textures.map(|mut t| t.add_image(EguiTextureHandle::Strong(target.clone())));
    let camera = commands
        .spawn((
            Camera3d::default(),
            Camera { order: -1, clear_color: ClearColorConfig::Custom(Color::srgb(0.08, 0.09, 0.12)), ..default() },
            RenderTarget::Image(target.clone().into()),
            Transform::from_xyz(0.0, 0.0, 500.0).looking_at(Vec3::ZERO, Vec3::Y),
        ))
        .id();
    let light = commands.spawn((DirectionalLight { illuminance: 6000.0, ..default() }, Transform::default())).id();
    commands.insert_resource(ThreeD {
        orbit: Orbit::anterior([0.0; 3], 500.0),
        target,
        size,
        texture,
        show_planes: true,
        camera,
        light,
        meshes: HashMap::new(),
        planes: HashMap::new(),
        framed: false,
    });
}

/// A Bevy mesh from an SDK mesh: positions and normals into render coordinates, and
/// per-vertex colours when the mesh carries scalars.
pub fn to_bevy_mesh(m: &SdkMesh) -> Mesh {
    let positions: Vec<[f32; 3]> = m.positions.iter().map(|p| ras_to_render([p[0] as f64, p[1] as f64, p[2] as f64])).collect();
    let normals: Vec<[f32; 3]> = if m.normals.len() == m.positions.len() {
        m.normals.iter().map(|n| ras_to_render([n[0] as f64, n[1] as f64, n[2] as f64])).collect()
    } else {
        let mut copy = m.clone();
        isotherm_sdk::volume::mesh::compute_normals(&mut copy);
        copy.normals.iter().map(|n| ras_to_render([n[0] as f64, n[1] as f64, n[2] as f64])).collect()
    };
    let indices: Vec<u32> = m.triangles.iter().flat_map(|t| t.iter().copied()).collect();
    let mut mesh = Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::default())
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
        .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, normals)
        .with_inserted_indices(Indices::U32(indices));
    if let ROption::RSome(s) = &m.scalars {
        let colours: Vec<[f32; 4]> = s.values.iter().map(|&v| { let c = colormap::colour(s.colormap, v, s.range); [c[0], c[1], c[2], 1.0] }).collect();
        mesh.insert_attribute(Mesh::ATTRIBUTE_COLOR, colours);
    }
    mesh
}

fn material_for(m: &SdkMesh, opacity: f32, colour: Option<[f32; 3]>) -> StandardMaterial {
    let has_scalars = matches!(m.scalars, ROption::RSome(_));
    let alpha = (m.colour[3] * opacity).clamp(0.0, 1.0);
    let base = if has_scalars { [1.0, 1.0, 1.0] } else { colour.unwrap_or([m.colour[0], m.colour[1], m.colour[2]]) };
    StandardMaterial {
        base_color: Color::srgba(base[0], base[1], base[2], alpha),
        alpha_mode: if alpha < 0.999 { AlphaMode::Blend } else { AlphaMode::Opaque },
        perceptual_roughness: 0.6,
        double_sided: true,
        cull_mode: None,
        ..default()
    }
}

/// Mirrors mesh nodes into entities: spawn new ones, rebuild changed ones, update
/// display properties, despawn removed ones. The only place scene meshes become
/// entities.
fn sync_meshes(
    mut commands: Commands,
    viewer: Res<Viewer>,
    mut three: ResMut<ThreeD>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut last_revision: Local<u64>,
) {
    if viewer.scene.revision() == *last_revision {
        return;
    }
    *last_revision = viewer.scene.revision();
    let mut alive = Vec::new();
    for node in viewer.scene.nodes() {
        let NodeData::Mesh(m) = &node.data else { continue };
        // An empty mesh (an isotherm not yet reached, a zone not yet formed) has nothing to
        // draw, and Bevy 0.19's mesh allocator logs errors for one.
        if m.triangles.is_empty() {
            continue;
        }
        alive.push(node.id);
        let material = materials.add(material_for(m, node.opacity, node.colour));
        let visibility = if node.visible { Visibility::Visible } else { Visibility::Hidden };
        match three.meshes.get(&node.id) {
            Some(&(entity, generation)) if generation == node.generation => {
                commands.entity(entity).insert((MeshMaterial3d(material), visibility));
            }
            existing => {
                if let Some(&(entity, _)) = existing {
                    commands.entity(entity).despawn();
                }
                let entity = commands.spawn((Mesh3d(meshes.add(to_bevy_mesh(m))), MeshMaterial3d(material), Transform::default(), visibility)).id();
                three.meshes.insert(node.id, (entity, node.generation));
            }
        }
    }
    let gone: Vec<NodeId> = three.meshes.keys().copied().filter(|id| !alive.contains(id)).collect();
    for id in gone {
        if let Some((entity, _)) = three.meshes.remove(&id) {
            commands.entity(entity).despawn();
        }
    }
    // Frame the camera on the data the first time there is some.
    if !three.framed {
        if let Some(b) = viewer.bounds() {
            let extent = (0..3).map(|a| b.max[a] - b.min[a]).fold(0.0, f64::max);
            three.orbit = Orbit::anterior(b.centre(), extent * 1.25);
            three.framed = true;
        }
    }
}

/// The three slice planes, textured with the slice images, placed where they cut.
fn sync_planes(
    mut commands: Commands,
    slices: Res<SliceImages>,
    mut three: ResMut<ThreeD>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
    mut planes: Query<&mut Visibility, With<SlicePlane>>,
) {
    let show = three.show_planes;
    for view in &slices.0 {
        let Some(frame) = view.frame else { continue };
        if let Some(&(entity, renders)) = three.planes.get(&view.axis) {
            if let Ok(mut vis) = planes.get_mut(entity) {
                *vis = if show { Visibility::Visible } else { Visibility::Hidden };
            }
            if renders == view.renders {
                continue;
            }
            commands.entity(entity).despawn();
        }
        let corners = [(0.0, 0.0), (frame.width as f64, 0.0), (frame.width as f64, frame.height as f64), (0.0, frame.height as f64)];
        let positions: Vec<[f32; 3]> = corners.iter().map(|&(u, v)| ras_to_render(frame.pixel_to_world(u, v))).collect();
        let uvs: Vec<[f32; 2]> = vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
        let (_, _, n) = view.axis.basis();
        let normal = ras_to_render(n);
        let quad = Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::default())
            .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
            .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, vec![normal; 4])
            .with_inserted_attribute(Mesh::ATTRIBUTE_UV_0, uvs)
            .with_inserted_indices(Indices::U32(vec![0, 1, 2, 0, 2, 3]));
        // Slightly see-through, so meshes behind a plane stay visible (opaque meshes
        // draw first; the planes blend over them).
        let material = materials.add(StandardMaterial {
            base_color: Color::srgba(1.0, 1.0, 1.0, PLANE_ALPHA),
            alpha_mode: AlphaMode::Blend,
            base_color_texture: Some(view.image.clone()),
            unlit: true,
            double_sided: true,
            cull_mode: None,
            ..default()
        });
        let visibility = if show { Visibility::Visible } else { Visibility::Hidden };
        let entity = commands.spawn((Mesh3d(meshes.add(quad)), MeshMaterial3d(material), Transform::default(), visibility, SlicePlane)).id();
        three.planes.insert(view.axis, (entity, view.renders));
    }
}

/// Camera and headlight follow the orbit; the render target follows the view's size.
fn update_camera(three: Res<ThreeD>, mut transforms: Query<&mut Transform>, mut images: ResMut<Assets<Image>>) {
    let eye = ras_to_render(three.orbit.eye());
    let target = ras_to_render(three.orbit.target);
    let look = Transform::from_translation(Vec3::from(eye)).looking_at(Vec3::from(target), Vec3::Y);
    if let Ok(mut t) = transforms.get_mut(three.camera) {
        *t = look;
    }
    if let Ok(mut t) = transforms.get_mut(three.light) {
        *t = look;
    }
    if let Some(mut image) = images.get_mut(&three.target) {
        let want = Extent3d { width: three.size[0].max(16), height: three.size[1].max(16), depth_or_array_layers: 1 };
        if image.texture_descriptor.size != want {
            image.resize(want);
        }
    }
}

fn draw_markups(viewer: Res<Viewer>, mut gizmos: Gizmos) {
    for node in viewer.scene.nodes().iter().filter(|n| n.visible) {
        if let NodeData::Markups(m) = &node.data {
            let colour = Color::srgb(m.colour[0], m.colour[1], m.colour[2]);
            for l in m.lines.iter() {
                gizmos.line(Vec3::from(ras_to_render(l.start)), Vec3::from(ras_to_render(l.end)), colour);
            }
            for p in m.points.iter() {
                gizmos.sphere(Isometry3d::from_translation(Vec3::from(ras_to_render(p.position))), 2.0, colour);
            }
        }
    }
}

/// Draws the 3D view into `rect` and handles its input: left drag orbits, right drag
/// pans, the wheel zooms. Also draws the colour bar of the first visible mesh with
/// scalars.
pub fn draw(ui: &mut egui::Ui, rect: egui::Rect, three: &mut ThreeD, viewer: &Viewer, educator: &mut super::ablation::Educator) {
    let ppp = ui.ctx().pixels_per_point();
    three.size = [(rect.width() * ppp).round() as u32, (rect.height() * ppp).round() as u32];
    let response = ui.allocate_rect(rect, egui::Sense::click_and_drag());
    if let Some(id) = three.texture {
        ui.painter_at(rect).image(id, rect, egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)), egui::Color32::WHITE);
    }
    ui.painter_at(rect).text(rect.left_top() + egui::vec2(6.0, 4.0), egui::Align2::LEFT_TOP, "3D", egui::FontId::proportional(14.0), egui::Color32::LIGHT_GRAY);
    // The live ablation's antenna ends, dragged in the plane facing the camera.
    let orbit = three.orbit;
    let aspect = (rect.width() / rect.height().max(1.0)) as f64;
    let to_screen = |p: [f64; 3]| orbit.project(p, aspect).map(|f| rect.min + egui::vec2(f[0] as f32 * rect.width(), f[1] as f32 * rect.height()));
    let to_world = |pos: egui::Pos2, old: Option<[f64; 3]>| {
        let at = [((pos.x - rect.min.x) / rect.width()) as f64, ((pos.y - rect.min.y) / rect.height()) as f64];
        old.map(|old| orbit.unproject(at, aspect, old))
    };
    let painter = ui.painter_at(rect);
    let antenna_took_pointer = super::ablation::pointer(educator, &response, &painter, &to_screen, &to_world);
    if !antenna_took_pointer && response.dragged_by(egui::PointerButton::Primary) {
        let d = response.drag_delta();
        three.orbit.rotate(d.x as f64, d.y as f64);
    }
    if response.dragged_by(egui::PointerButton::Secondary) {
        let d = response.drag_delta();
        let mm_per_pixel = three.orbit.distance / rect.height().max(1.0) as f64;
        three.orbit.pan(d.x as f64, d.y as f64, mm_per_pixel);
    }
    if response.hovered() {
        let scroll = super::wheel_notches(ui);
        if scroll != 0.0 {
            three.orbit.zoom(scroll.signum() as f64);
        }
    }
    // Colour bar.
    let scalars = viewer.scene.nodes().iter().filter(|n| n.visible).find_map(|n| match &n.data {
        NodeData::Mesh(m) => match &m.scalars {
            ROption::RSome(s) => Some(s.clone()),
            ROption::RNone => None,
        },
        _ => None,
    });
    if let Some(s) = scalars {
        let painter = ui.painter_at(rect);
        let bar = egui::Rect::from_min_size(rect.right_top() + egui::vec2(-40.0, 30.0), egui::vec2(14.0, rect.height() * 0.5));
        let steps = 48;
        for i in 0..steps {
            let t = 1.0 - i as f32 / steps as f32;
            let v = s.range[0] + t * (s.range[1] - s.range[0]);
            let c = colormap::colour(s.colormap, v, s.range);
            let y0 = bar.top() + bar.height() * i as f32 / steps as f32;
            let r = egui::Rect::from_min_max(egui::pos2(bar.left(), y0), egui::pos2(bar.right(), y0 + bar.height() / steps as f32 + 0.5));
            painter.rect_filled(r, 0.0, egui::Color32::from_rgb((c[0] * 255.0) as u8, (c[1] * 255.0) as u8, (c[2] * 255.0) as u8));
        }
        let font = egui::FontId::proportional(11.0);
        painter.text(bar.right_top() + egui::vec2(-2.0, -4.0), egui::Align2::RIGHT_BOTTOM, format!("{} [{}]", s.name, s.unit), font.clone(), egui::Color32::WHITE);
        painter.text(bar.left_top() - egui::vec2(4.0, 0.0), egui::Align2::RIGHT_CENTER, format!("{:.1}", s.range[1]), font.clone(), egui::Color32::WHITE);
        painter.text(bar.left_bottom() - egui::vec2(4.0, 0.0), egui::Align2::RIGHT_CENTER, format!("{:.1}", s.range[0]), font, egui::Color32::WHITE);
    }
}
