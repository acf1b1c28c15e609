//! Where plugins are looked for, in order: folders given on the command line, folders
//! from the config file, `$ISOTHERM_PLUGIN_PATH`, the build tree's `plugins/` (when
//! the binary runs from `target/<profile>/`), and the user folder
//! (`$XDG_DATA_HOME/isotherm/plugins`, else `~/.local/share/isotherm/plugins`).
//!
//! A folder either holds a `plugin.toml` itself or has one sub-folder per plugin.
//! A plugin's library is looked for beside its manifest, then next to the `isotherm`
//! binary (where `cargo build` puts workspace plugins), then in
//! `$ISOTHERM_LIBRARY_PATH`.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct SearchPath {
    pub plugin_dirs: Vec<PathBuf>,
    pub library_dirs: Vec<PathBuf>,
}

fn split_env(name: &str) -> Vec<PathBuf> {
    std::env::var_os(name).map(|v| std::env::split_paths(&v).collect()).unwrap_or_default()
}

impl SearchPath {
    /// The standard search path, with `extra` folders (command line, config) first.
    pub fn standard(extra: &[PathBuf]) -> SearchPath {
        let mut plugin_dirs: Vec<PathBuf> = extra.to_vec();
        plugin_dirs.extend(split_env("ISOTHERM_PLUGIN_PATH"));
        let mut library_dirs = Vec::new();
        if let Some(exe_dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
            // target/<profile>/isotherm -> <workspace>/plugins
            if let Some(root) = exe_dir.parent().and_then(Path::parent) {
                let tree = root.join("plugins");
                if exe_dir.parent().and_then(|p| p.file_name()) == Some("target".as_ref()) && tree.is_dir() {
                    plugin_dirs.push(tree);
                }
            }
            library_dirs.push(exe_dir);
        }
        if let Some(data) = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share"))) {
            plugin_dirs.push(data.join("isotherm/plugins"));
        }
        library_dirs.extend(split_env("ISOTHERM_LIBRARY_PATH"));
        SearchPath { plugin_dirs, library_dirs }
    }

    /// A warning for a folder given with `--plugin-dir` that cannot hold plugins: it does
    /// not exist, or neither it nor any sub-folder has a `plugin.toml`.
    pub fn check_plugin_dir(dir: &Path) -> Option<String> {
        if !dir.exists() {
            return Some(format!("{}: no such folder", dir.display()));
        }
        if !dir.is_dir() {
            return Some(format!("{}: not a folder (name the folder that holds plugin.toml)", dir.display()));
        }
        let probe = SearchPath { plugin_dirs: vec![dir.to_path_buf()], library_dirs: vec![] };
        if probe.manifests().is_empty() {
            return Some(format!(
                "{}: no plugin.toml in it or in its sub-folders (name the folder that holds the plugin's plugin.toml, not its target/ folder)",
                dir.display()
            ));
        }
        None
    }

    /// Every `plugin.toml` on the path, in search order, each once.
    pub fn manifests(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = Vec::new();
        for dir in &self.plugin_dirs {
            let own = dir.join("plugin.toml");
            let mut here = Vec::new();
            if own.is_file() {
                here.push(own);
            } else if let Ok(entries) = std::fs::read_dir(dir) {
                for e in entries.flatten() {
                    let m = e.path().join("plugin.toml");
                    if m.is_file() {
                        here.push(m);
                    }
                }
            }
            here.sort();
            for m in here {
                let canonical = std::fs::canonicalize(&m).unwrap_or(m);
                if !found.contains(&canonical) {
                    found.push(canonical);
                }
            }
        }
        found
    }

    /// Beside the manifest, then the plugin crate's own `target/` (a plugin developed
    /// outside this workspace), then the host's folders.
    pub fn library_dirs(&self, manifest_dir: &Path) -> Vec<PathBuf> {
        let mut dirs = vec![manifest_dir.to_path_buf(), manifest_dir.join("target/debug"), manifest_dir.join("target/release")];
        dirs.extend(self.library_dirs.iter().cloned());
        dirs
    }

    /// The first folder that has the library wins, except that between the plugin's
    /// own debug and release builds the newer one wins (the one just rebuilt).
    pub fn find_library(&self, manifest_dir: &Path, stem: &str) -> Option<PathBuf> {
        let name = super::library_file_name(stem);
        let beside = manifest_dir.join(&name);
        if beside.is_file() {
            return Some(beside);
        }
        let modified = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let own: Vec<PathBuf> = ["target/debug", "target/release"].iter().map(|d| manifest_dir.join(d).join(&name)).filter(|p| p.is_file()).collect();
        if let Some(newest) = own.into_iter().max_by_key(modified) {
            return Some(newest);
        }
        self.library_dirs.iter().map(|d| d.join(&name)).find(|p| p.is_file())
    }
}

/// Why a manifest's library was not found, and the likely fix: the libraries that are
/// in the folders searched, a `library` name with '-' where the file has '_' (Cargo
/// turns a crate's hyphens into underscores), or a crate built without `cdylib`.
pub fn missing_library(search: &SearchPath, manifest_dir: &Path, stem: &str) -> String {
    let name = super::library_file_name(stem);
    let dirs = search.library_dirs(manifest_dir);
    let (prefix, suffix) = (std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let mut present: Vec<String> = Vec::new();
    for d in &dirs {
        let Ok(entries) = std::fs::read_dir(d) else { continue };
        let mut here: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|f| f.starts_with(prefix) && f.ends_with(suffix))
            .collect();
        here.sort();
        for f in here {
            if !present.contains(&f) {
                present.push(f);
            }
        }
    }
    let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    let mut text = format!("library {name} not found (looked in {})", looked.join(", "));
    let underscored = stem.replace('-', "_");
    let crate_toml = std::fs::read_to_string(manifest_dir.join("Cargo.toml")).ok();
    let rlib_built = dirs.iter().any(|d| d.join(format!("lib{underscored}.rlib")).is_file());
    if underscored != stem && present.contains(&super::library_file_name(&underscored)) {
        text.push_str(&format!("; {} is there: Cargo writes a crate's hyphens as underscores, so set `library = \"{underscored}\"` in plugin.toml", super::library_file_name(&underscored)));
    } else if rlib_built || crate_toml.as_deref().is_some_and(|t| !t.contains("cdylib")) {
        text.push_str("; the crate builds no shared library: add `[lib] crate-type = [\"cdylib\", \"rlib\"]` to its Cargo.toml and `cargo build` again");
    } else {
        text.push_str("; build the plugin crate with `cargo build`, or fix `library` in plugin.toml");
    }
    if !present.is_empty() {
        let shown: Vec<&str> = present.iter().map(String::as_str).take(12).collect();
        text.push_str(&format!(" (libraries there: {}{})", shown.join(", "), if present.len() > 12 { ", ..." } else { "" }));
    }
    text
}
