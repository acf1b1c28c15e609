//! The egui side of the window: toolbar, scene tree, plugin list with refusals,
//! generated parameter form with Run/Cancel and progress, report and log, and the
//! four-up (or single) layout of the views. Everything here only forwards to the
//! state and the logic modules.

use abi_stable::std_types::ROption;
use bevy::camera::visibility::RenderLayers;
use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiGlobalSettings, EguiPrimaryContextPass, PrimaryEguiContext, egui};
use isotherm_sdk::abi::{Cell, NodeData, ParamKind};

use super::ablation::Educator;
use super::jobs_ui::{self, JobStatus, Jobs};
use super::slices::{self, SliceImages};
use super::state::{Layout, ViewKind, Viewer};
use super::view3d::{self, ThreeD};
use crate::loader::tier_name;
use crate::view::slice::{Axis, WindowLevel};

pub struct PanelsPlugin;

impl Plugin for PanelsPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(PreStartup, egui_camera).add_systems(EguiPrimaryContextPass, ui);
    }
}

/// egui gets its own full-window camera; the 3D camera renders into a texture.
fn egui_camera(mut commands: Commands, mut settings: ResMut<EguiGlobalSettings>) {
    settings.auto_create_primary_context = false;
    commands.spawn((PrimaryEguiContext, Camera2d, RenderLayers::none(), Camera { order: 1, clear_color: ClearColorConfig::Custom(Color::srgb(0.1, 0.1, 0.1)), ..default() }));
}

fn ui(mut contexts: EguiContexts, mut viewer: ResMut<Viewer>, mut slices: ResMut<SliceImages>, mut three: ResMut<ThreeD>, mut jobs: ResMut<Jobs>, mut educator: ResMut<Educator>) -> Result {
    let ctx = contexts.ctx_mut()?.clone();
    let mut root = egui::Ui::new(ctx.clone(), "root".into(), egui::UiBuilder::new().layer_id(egui::LayerId::background()).max_rect(ctx.viewport_rect()));
    egui::Panel::top("toolbar").show(&mut root, |ui| toolbar(ui, &mut viewer, &mut three));
    egui::Panel::left("scene").resizable(true).default_size(300.0).max_size(420.0).show(&mut root, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            scene_tree(ui, &mut viewer);
            ui.separator();
            plugin_list(ui, &viewer, &mut jobs);
        });
    });
    egui::Panel::right("plugin").resizable(true).default_size(270.0).max_size(420.0).show(&mut root, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            if viewer.registry.get(super::ablation::PLUGIN).is_some() {
                super::ablation::panel(ui, &mut educator, &mut viewer);
                ui.separator();
            }
            plugin_form(ui, &mut viewer, &mut jobs)
        });
    });
    egui::Panel::bottom("report").resizable(true).min_size(160.0).show(&mut root, |ui| report_and_log(ui, &viewer));
    egui::CentralPanel::default().frame(egui::Frame::NONE).show(&mut root, |ui| views(ui, &mut viewer, &mut slices, &mut three, &mut educator));
    let mut browser = viewer.browser.take();
    super::browser::show(&ctx, &mut browser, &mut viewer);
    viewer.browser = browser;
    Ok(())
}

fn toolbar(ui: &mut egui::Ui, viewer: &mut Viewer, three: &mut ThreeD) {
    ui.horizontal(|ui| {
        ui.strong("Isotherm");
        ui.separator();
        if ui.button("Open files…").clicked() && viewer.browser.is_none() {
            let dir = std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("/"));
            viewer.browser = Some(super::browser::FileBrowser { dir });
        }
        ui.add(egui::TextEdit::singleline(&mut viewer.open_path).hint_text("path, or drop files on the window").desired_width(220.0));
        if ui.button("Open").clicked() && !viewer.open_path.trim().is_empty() {
            let p = std::path::PathBuf::from(viewer.open_path.trim());
            viewer.open(&p);
        }
        ui.separator();
        ui.label("Layout:");
        let mut layout = viewer.layout;
        egui::ComboBox::from_id_salt("layout").selected_text(layout_name(layout)).show_ui(ui, |ui| {
            for l in [Layout::FourUp, Layout::Single(ViewKind::Slice(Axis::Axial)), Layout::Single(ViewKind::Slice(Axis::Coronal)), Layout::Single(ViewKind::Slice(Axis::Sagittal)), Layout::Single(ViewKind::ThreeD)] {
                ui.selectable_value(&mut layout, l, layout_name(l));
            }
        });
        viewer.layout = layout;
        ui.separator();
        ui.label("Window:");
        let mut wl = viewer.window_level;
        egui::ComboBox::from_id_salt("wl").selected_text(format!("W {:.0} L {:.0}", wl.width, wl.level)).show_ui(ui, |ui| {
            for (name, preset) in WindowLevel::PRESETS {
                if ui.selectable_label(wl == preset, name).clicked() {
                    wl = preset;
                }
            }
        });
        viewer.window_level = wl;
        ui.separator();
        ui.label("Overlay");
        ui.add(egui::Slider::new(&mut viewer.overlay.opacity, 0.0..=1.0).show_value(false));
        ui.checkbox(&mut viewer.overlay.outline, "outline");
        ui.checkbox(&mut three.show_planes, "planes in 3D");
    });
}

fn layout_name(l: Layout) -> &'static str {
    match l {
        Layout::FourUp => "Four-up",
        Layout::Single(ViewKind::Slice(a)) => a.name(),
        Layout::Single(ViewKind::ThreeD) => "3D",
    }
}

fn node_kind(d: &NodeData) -> &'static str {
    match d {
        NodeData::Volume(_) => "volume",
        NodeData::LabelMap(_) => "label map",
        NodeData::Mesh(_) => "mesh",
        NodeData::Markups(_) => "markups",
        NodeData::Report(_) => "report",
    }
}

fn scene_tree(ui: &mut egui::Ui, viewer: &mut Viewer) {
    ui.heading("Scene");
    let rows: Vec<(u64, String, &'static str, bool, f32, Option<[f32; 3]>)> = viewer
        .scene
        .nodes()
        .iter()
        .map(|n| {
            let colour = match &n.data {
                NodeData::Mesh(m) => Some(n.colour.unwrap_or([m.colour[0], m.colour[1], m.colour[2]])),
                _ => None,
            };
            (n.id, n.name.clone(), node_kind(&n.data), n.visible, n.opacity, colour)
        })
        .collect();
    if rows.is_empty() {
        ui.weak("Nothing loaded yet.");
    }
    for (id, name, kind, mut visible, mut opacity, colour) in rows {
        let mut new_colour = None;
        ui.horizontal(|ui| {
            ui.checkbox(&mut visible, "");
            let is_base = viewer.base == Some(id);
            let label = ui.selectable_label(is_base, format!("{name}  ({kind})"));
            if label.clicked() && kind == "volume" {
                viewer.base = Some(id);
            }
            if kind == "mesh" || kind == "label map" {
                ui.add(egui::Slider::new(&mut opacity, 0.0..=1.0).show_value(false));
            }
            if let Some(mut rgb) = colour {
                if ui.color_edit_button_rgb(&mut rgb).changed() {
                    new_colour = Some(rgb);
                }
            }
        });
        viewer.scene.set_display(id, visible, opacity);
        if let Some(rgb) = new_colour {
            viewer.scene.set_colour(id, rgb);
        }
    }
}

fn plugin_list(ui: &mut egui::Ui, viewer: &Viewer, jobs: &mut Jobs) {
    ui.heading("Plugins");
    for p in &viewer.registry.plugins {
        let selected = jobs.selected.as_deref() == Some(p.id());
        let text = format!("{} {}  [{}]", p.manifest.name, p.manifest.version, tier_name(p.manifest.tier));
        if ui.selectable_label(selected, text).on_hover_text(&p.manifest.description).clicked() {
            jobs.selected = Some(p.id().to_string());
        }
        for (model, spec) in p.models.iter().zip(&p.manifest.models) {
            ui.small(format!("  model {}: sha256 {}…{}", model.name, &model.sha256[..12], spec.card.as_ref().map(|c| format!("  card {c}")).unwrap_or_default()));
        }
    }
    if !viewer.registry.refused.is_empty() {
        ui.collapsing(format!("Refused ({})", viewer.registry.refused.len()), |ui| {
            for r in &viewer.registry.refused {
                ui.colored_label(egui::Color32::from_rgb(230, 120, 90), r.to_string());
            }
        });
    }
}

fn plugin_form(ui: &mut egui::Ui, viewer: &mut Viewer, jobs: &mut Jobs) {
    let Some(id) = jobs.selected.clone() else {
        ui.heading("Run a plugin");
        ui.weak("Pick a plugin on the left.");
        return;
    };
    let Some(plugin) = viewer.registry.get(&id).cloned() else { return };
    ui.heading(&plugin.manifest.name);
    ui.label(&plugin.manifest.description);
    let mut form = jobs.forms.get(&id).cloned().unwrap_or_else(|| jobs_ui::default_form(&plugin, viewer));
    ui.separator();
    ui.strong("Inputs");
    for spec in plugin.descriptor.inputs.iter() {
        let current = form.inputs.get(spec.name.as_str()).copied().flatten();
        let mut choice = current;
        let name_of = |id: Option<u64>| id.and_then(|i| viewer.scene.get_by_id(i)).map(|n| n.name.clone()).unwrap_or_else(|| "(none)".into());
        egui::ComboBox::from_label(spec.label.as_str()).selected_text(name_of(current)).show_ui(ui, |ui| {
            if !spec.required {
                ui.selectable_value(&mut choice, None, "(none)");
            }
            for n in viewer.scene.nodes() {
                let fits = matches!((&n.data, spec.kind), (NodeData::Volume(_), isotherm_sdk::abi::InputKind::Volume) | (NodeData::LabelMap(_), isotherm_sdk::abi::InputKind::LabelMap));
                if fits {
                    ui.selectable_value(&mut choice, Some(n.id), n.name.clone());
                }
            }
        });
        form.inputs.insert(spec.name.to_string(), choice);
    }
    ui.separator();
    ui.strong("Parameters");
    egui::Grid::new("params").num_columns(2).show(ui, |ui| {
        for spec in plugin.descriptor.params.iter() {
            let text = form.params.entry(spec.name.to_string()).or_default();
            ui.label(spec.label.as_str()).on_hover_text(spec.help.as_str());
            ui.horizontal(|ui| {
                match spec.kind {
                    ParamKind::Bool => {
                        let mut b = text == "true";
                        ui.checkbox(&mut b, "");
                        *text = b.to_string();
                    }
                    ParamKind::Choice => {
                        egui::ComboBox::from_id_salt(spec.name.as_str()).selected_text(text.clone()).show_ui(ui, |ui| {
                            for c in spec.choices.iter() {
                                ui.selectable_value(text, c.to_string(), c.as_str());
                            }
                        });
                    }
                    ParamKind::Number | ParamKind::Integer => {
                        let mut x: f64 = text.parse().unwrap_or(0.0);
                        let mut drag = egui::DragValue::new(&mut x).speed(if spec.kind == ParamKind::Integer { 1.0 } else { 0.5 });
                        if let (ROption::RSome(lo), ROption::RSome(hi)) = (spec.min, spec.max) {
                            drag = drag.range(lo..=hi);
                        }
                        if spec.kind == ParamKind::Integer {
                            drag = drag.fixed_decimals(0);
                        }
                        ui.add(drag);
                        *text = if spec.kind == ParamKind::Integer { format!("{}", x.round() as i64) } else { format!("{x}") };
                    }
                    ParamKind::Point => {
                        ui.add(egui::TextEdit::singleline(text).desired_width(140.0));
                        if ui.small_button("crosshair").clicked() {
                            let c = viewer.crosshair;
                            *text = format!("{:.2},{:.2},{:.2}", c[0], c[1], c[2]);
                        }
                    }
                    ParamKind::VolumeRef => {
                        ui.add(egui::TextEdit::singleline(text).desired_width(140.0));
                    }
                }
                if !spec.unit.is_empty() {
                    ui.weak(spec.unit.as_str());
                }
            });
            ui.end_row();
        }
    });
    // Validate as the CLI does, before anything runs.
    let given: Vec<(String, String)> = form.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    form.error = isotherm_sdk::params::resolve(&plugin.descriptor.params, &given).err();
    if let Some(e) = &form.error {
        ui.add(egui::Label::new(egui::RichText::new(e).color(egui::Color32::from_rgb(230, 120, 90))).wrap());
    }
    if ui.add_enabled(form.error.is_none(), egui::Button::new("Run")).clicked() {
        if let Err(e) = jobs_ui::submit(jobs, viewer, &plugin, &form) {
            viewer.log(format!("{id}: {e}"));
        }
    }
    jobs.forms.insert(id, form);
    ui.separator();
    ui.strong("Jobs");
    for job in jobs.jobs.iter().rev().take(8) {
        ui.horizontal(|ui| {
            ui.label(&job.plugin);
            match &job.status {
                JobStatus::Running => {
                    ui.add(egui::ProgressBar::new(job.progress).desired_width(120.0).text(job.message.clone()));
                    if ui.button("Cancel").clicked() {
                        job.handle.cancel();
                    }
                }
                JobStatus::Done(m) => {
                    ui.label(format!("done: {m}"));
                }
                JobStatus::Failed(_) => {
                    ui.colored_label(egui::Color32::from_rgb(230, 120, 90), "failed:");
                }
                JobStatus::Cancelled => {
                    ui.label("cancelled");
                }
            }
        });
        // A long error wraps within the panel instead of widening it over the views.
        if let JobStatus::Failed(e) = &job.status {
            ui.add(egui::Label::new(egui::RichText::new(e).color(egui::Color32::from_rgb(230, 120, 90))).wrap());
        }
    }
}

fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Empty => String::new(),
        Cell::Text(s) => s.to_string(),
        Cell::Integer(i) => i.to_string(),
        Cell::Number(x) => format!("{x:.3}"),
    }
}

/// A report table drawn as a step curve (see `view::chart`).
fn curve(ui: &mut egui::Ui, t: &isotherm_sdk::abi::Table) {
    let (points, max_x) = crate::view::chart::step_polyline(t);
    let (rect, _) = ui.allocate_exact_size(egui::vec2(280.0, 150.0), egui::Sense::hover());
    let plot = rect.shrink2(egui::vec2(8.0, 10.0));
    let painter = ui.painter_at(rect);
    painter.rect_stroke(plot, 0.0, egui::Stroke::new(1.0, egui::Color32::GRAY), egui::StrokeKind::Inside);
    let to_screen = |p: [f32; 2]| egui::pos2(plot.left() + p[0] * plot.width(), plot.bottom() - p[1] * plot.height());
    painter.add(egui::Shape::line(points.iter().map(|&p| to_screen(p)).collect(), egui::Stroke::new(2.0, egui::Color32::from_rgb(230, 150, 20))));
    let label = format!("{} 0-{max_x:.0} {}, {} 0-1", t.columns[0], t.units.first().map(|u| u.as_str()).unwrap_or(""), t.columns[1]);
    painter.text(plot.left_top() + egui::vec2(4.0, 2.0), egui::Align2::LEFT_TOP, label, egui::FontId::proportional(11.0), egui::Color32::LIGHT_GRAY);
}

fn report_and_log(ui: &mut egui::Ui, viewer: &Viewer) {
    ui.columns(2, |cols| {
        egui::ScrollArea::vertical().id_salt("report").show(&mut cols[0], |ui| {
            ui.strong("Report");
            let reports: Vec<_> = viewer.scene.nodes().iter().filter_map(|n| match &n.data { NodeData::Report(r) => Some((n.name.clone(), r)), _ => None }).collect();
            if reports.is_empty() {
                ui.weak("Plugin reports appear here.");
            }
            for (name, r) in reports.iter().rev() {
                ui.label(egui::RichText::new(format!("{} — {}", r.title, name)).strong());
                if !r.text.is_empty() {
                    ui.label(r.text.as_str());
                }
                egui::Grid::new(format!("values-{name}")).show(ui, |ui| {
                    for v in r.values.iter() {
                        ui.label(v.key.as_str());
                        ui.label(format!("{} {}", cell_text(&v.value), v.unit));
                        ui.end_row();
                    }
                });
                for t in r.tables.iter() {
                    ui.label(t.name.as_str());
                    egui::Grid::new(format!("table-{name}-{}", t.name)).striped(true).show(ui, |ui| {
                        for (c, u) in t.columns.iter().zip(t.units.iter()) {
                            ui.strong(if u.is_empty() { c.to_string() } else { format!("{c} [{u}]") });
                        }
                        ui.end_row();
                        for row in t.rows.iter() {
                            for cell in row.iter() {
                                ui.label(cell_text(cell));
                            }
                            ui.end_row();
                        }
                    });
                    if crate::view::chart::is_curve(t) {
                        curve(ui, t);
                    }
                }
            }
        });
        egui::ScrollArea::vertical().id_salt("log").stick_to_bottom(true).show(&mut cols[1], |ui| {
            ui.strong("Log");
            // Left-aligned, not justified: a wrapped error reads as text.
            ui.with_layout(egui::Layout::top_down(egui::Align::LEFT), |ui| {
                for line in &viewer.log {
                    ui.add(egui::Label::new(egui::RichText::new(line).monospace()).wrap());
                }
            });
        });
    });
}

/// The layout: four quadrants (axial, 3D / coronal, sagittal) or one big view.
fn views(ui: &mut egui::Ui, viewer: &mut Viewer, slices: &mut SliceImages, three: &mut ThreeD, educator: &mut Educator) {
    let area = ui.max_rect();
    match viewer.layout {
        Layout::FourUp => {
            let half = area.size() / 2.0;
            let quad = |col: f32, row: f32| egui::Rect::from_min_size(area.min + egui::vec2(col * half.x, row * half.y), half).shrink(1.0);
            slices::draw(ui, quad(0.0, 0.0), Axis::Axial, viewer, slices, educator);
            view3d::draw(ui, quad(1.0, 0.0), three, viewer, educator);
            slices::draw(ui, quad(0.0, 1.0), Axis::Coronal, viewer, slices, educator);
            slices::draw(ui, quad(1.0, 1.0), Axis::Sagittal, viewer, slices, educator);
        }
        Layout::Single(ViewKind::Slice(axis)) => slices::draw(ui, area, axis, viewer, slices, educator),
        Layout::Single(ViewKind::ThreeD) => view3d::draw(ui, area, three, viewer, educator),
    }
}
