//! A small file browser (an egui window): folders to walk, and the files Isotherm can
//! open (NIfTI, PLY). Kept in-house rather than a native dialog, which would pull a GUI
//! toolkit into the build.

use std::path::{Path, PathBuf};

use bevy_egui::egui;

use super::state::Viewer;

pub struct FileBrowser {
    pub dir: PathBuf,
}

fn openable(p: &Path) -> bool {
    let n = p.to_string_lossy().to_lowercase();
    n.ends_with(".nii") || n.ends_with(".nii.gz") || n.ends_with(".hdr") || n.ends_with(".ply")
}

/// Folders then openable files in `dir`, sorted by name; hidden entries left out.
pub fn entries(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    if let Ok(read) = std::fs::read_dir(dir) {
        for e in read.flatten() {
            let p = e.path();
            if p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                continue;
            }
            if p.is_dir() {
                dirs.push(p);
            } else if openable(&p) {
                files.push(p);
            }
        }
    }
    dirs.sort();
    files.sort();
    (dirs, files)
}

/// Shows the browser while `browser` is `Some`; opening a file keeps it open for more.
pub fn show(ctx: &egui::Context, browser: &mut Option<FileBrowser>, viewer: &mut Viewer) {
    let Some(b) = browser else { return };
    let mut open = true;
    let mut next_dir = None;
    egui::Window::new("Open files").open(&mut open).default_size([420.0, 360.0]).show(ctx, |ui| {
        ui.horizontal(|ui| {
            if ui.button("Up").clicked() {
                next_dir = b.dir.parent().map(Path::to_path_buf);
            }
            ui.monospace(b.dir.display().to_string());
        });
        ui.separator();
        let (dirs, files) = entries(&b.dir);
        egui::ScrollArea::vertical().show(ui, |ui| {
            for d in dirs {
                if ui.selectable_label(false, format!("[{}]", d.file_name().unwrap_or_default().to_string_lossy())).clicked() {
                    next_dir = Some(d);
                }
            }
            for f in files {
                if ui.selectable_label(false, f.file_name().unwrap_or_default().to_string_lossy()).clicked() {
                    viewer.open(&f);
                }
            }
        });
    });
    if let Some(d) = next_dir {
        b.dir = d;
    }
    if !open {
        *browser = None;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_folders_and_openable_files_only() {
        let dir = std::env::temp_dir().join(format!("isotherm-browser-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("case")).unwrap();
        for f in ["ct.nii.gz", "mesh.ply", "notes.txt", ".hidden.nii"] {
            std::fs::write(dir.join(f), b"x").unwrap();
        }
        let (dirs, files) = super::entries(&dir);
        assert_eq!(dirs, vec![dir.join("case")]);
        assert_eq!(files, vec![dir.join("ct.nii.gz"), dir.join("mesh.ply")]);
    }
}
