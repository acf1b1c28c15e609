//! The plugin registry: finds `plugin.toml` manifests, pins model files by SHA-256,
//! opens each library through `abi_stable` (which checks the layout of every type the
//! plugin can see before any plugin code runs), and checks what the library says
//! about itself against its manifest. Anything that does not fit becomes a
//! [`Refusal`] with one clear line; the host goes on with the rest.
//!
//! Order matters: manifest, SDK version, model hashes and library path are all
//! checked *before* the library is opened, so a tampered plugin's code never runs.

mod abi_report;
mod search;

pub use search::SearchPath;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use abi_stable::library::{LibraryError, RootModule, lib_header_from_path};
use isotherm_sdk::abi::{HostRef, ModelFile, PluginDescriptor, PluginError, PluginModRef, RunOutput, RunRequest, SDK_VERSION, SessionBox};
use isotherm_sdk::manifest::{Manifest, Tier, sdk_compatible};
use sha2::{Digest, Sha256};

/// A plugin that passed every check and can run.
pub struct LoadedPlugin {
    pub manifest: Manifest,
    /// Folder holding `plugin.toml` (model paths are relative to it).
    pub dir: PathBuf,
    pub library: PathBuf,
    /// SHA-256 of the library file, for the run record.
    pub library_sha256: String,
    pub descriptor: PluginDescriptor,
    /// Model files with verified hashes, in manifest order.
    pub models: Vec<ModelFile>,
    module: Module,
}

/// A library's root module, as laid out by the SDK level it was built for.
#[derive(Clone, Copy)]
enum Module {
    V0_1(isotherm_sdk::abi::v0_1::PluginModRef),
    Current(PluginModRef),
}

impl Module {
    fn describe(self) -> extern "C" fn() -> abi_stable::std_types::RResult<PluginDescriptor, PluginError> {
        match self {
            Module::V0_1(m) => m.describe(),
            Module::Current(m) => m.describe(),
        }
    }
    fn run(self) -> extern "C" fn(&RunRequest, HostRef<'_>) -> abi_stable::std_types::RResult<RunOutput, PluginError> {
        match self {
            Module::V0_1(m) => m.run(),
            Module::Current(m) => m.run(),
        }
    }
    fn open_session(self) -> Option<extern "C" fn(&RunRequest, HostRef<'_>) -> abi_stable::std_types::RResult<SessionBox, PluginError>> {
        match self {
            Module::V0_1(_) => None,
            Module::Current(m) => m.open_session().flatten(),
        }
    }
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin").field("id", &self.manifest.id).field("library", &self.library).finish()
    }
}

impl LoadedPlugin {
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    /// Calls the plugin's `run` entry point. The plugin catches its own panics
    /// (`export_plugin!`), so this returns for every plugin built with the SDK.
    pub fn call_run(&self, request: &RunRequest, host: HostRef<'_>) -> Result<RunOutput, PluginError> {
        (self.module.run())(request, host).into_result()
    }

    /// Whether the library offers interactive sessions (SDK 0.2 on, and declared).
    pub fn offers_sessions(&self) -> bool {
        self.module.open_session().is_some()
    }

    /// Opens an interactive session (see `jobs::session`).
    pub fn call_open_session(&self, request: &RunRequest, host: HostRef<'_>) -> Result<SessionBox, PluginError> {
        match self.module.open_session() {
            Some(open) => open(request, host).into_result(),
            None => Err(PluginError::invalid_input(format!(
                "plugin '{}' offers no interactive sessions (built for SDK {}; sessions need SDK 0.2 and `export_plugin!(.., sessions)`)",
                self.id(),
                self.descriptor.sdk_version
            ))),
        }
    }
}

/// Why a plugin was not loaded.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The manifest (or library) the refusal is about.
    pub path: PathBuf,
    /// The plugin id when the manifest could be read.
    pub id: Option<String>,
    /// One line for people.
    pub reason: String,
    /// The long form (e.g. abi_stable's layout report), shown with `--verbose`.
    pub detail: Option<String>,
    /// The id the library reports in `describe()`, when it differs from the manifest's:
    /// `isotherm run` by that id then finds this refusal too.
    pub library_id: Option<String>,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{id} ({}): {}", self.path.display(), self.reason),
            None => write!(f, "{}: {}", self.path.display(), self.reason),
        }
    }
}

/// Every plugin found on a search path: the loaded ones and the refused ones.
#[derive(Debug, Default)]
pub struct Registry {
    pub plugins: Vec<Arc<LoadedPlugin>>,
    pub refused: Vec<Refusal>,
}

impl Registry {
    /// Finds and loads every plugin on `search`. Never fails as a whole.
    pub fn discover(search: &SearchPath) -> Registry {
        let mut registry = Registry::default();
        for manifest_path in search.manifests() {
            match load(&manifest_path, search) {
                Ok(plugin) => {
                    if let Some(existing) = registry.get(plugin.id()) {
                        registry.refused.push(Refusal {
                            path: manifest_path,
                            id: Some(plugin.id().to_string()),
                            reason: format!("duplicate id '{}': already provided by {}", plugin.id(), existing.dir.join("plugin.toml").display()),
                            detail: None,
                            library_id: None,
                        });
                    } else {
                        registry.plugins.push(Arc::new(plugin));
                    }
                }
                Err(refusal) => registry.refused.push(*refusal),
            }
        }
        registry
    }

    pub fn get(&self, id: &str) -> Option<&Arc<LoadedPlugin>> {
        self.plugins.iter().find(|p| p.id() == id)
    }

    /// The refusal of the plugin known as `id`, by its manifest or by its library.
    pub fn refusal(&self, id: &str) -> Option<&Refusal> {
        self.refused.iter().find(|r| r.id.as_deref() == Some(id)).or_else(|| self.refused.iter().find(|r| r.library_id.as_deref() == Some(id)))
    }

    /// Why `id` cannot be run, in a few lines: its refusal when there is one; otherwise
    /// manifests that could not be read (one of them may be it), what did load, the
    /// folders searched and how to add one.
    pub fn explain_missing(&self, id: &str, search: &SearchPath) -> String {
        if let Some(r) = self.refusal(id) {
            return format!("plugin '{id}' was refused: {} ({})", r.reason, r.path.display());
        }
        let mut text = format!("no plugin '{id}'");
        let loaded: Vec<&str> = self.plugins.iter().map(|p| p.id()).collect();
        text.push_str(&if loaded.is_empty() { " (none loaded)".to_string() } else { format!(" (loaded: {})", loaded.join(", ")) });
        let unnamed: Vec<&Refusal> = self.refused.iter().filter(|r| r.id.is_none()).collect();
        if !unnamed.is_empty() {
            text.push_str("\n  manifests that could not be read (one may be it):");
            for r in unnamed {
                text.push_str(&format!("\n    {}: {}", r.path.display(), r.reason));
            }
        }
        let dirs: Vec<String> = search.plugin_dirs.iter().map(|d| d.display().to_string()).collect();
        text.push_str(&format!("\n  searched: {}", if dirs.is_empty() { "(no folders)".to_string() } else { dirs.join(", ") }));
        text.push_str("\n  hint: --plugin-dir DIR names the folder holding the plugin's plugin.toml (or one sub-folder per plugin)");
        text
    }
}

/// SHA-256 of a file as lower-case hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Loads the plugin described by one `plugin.toml`.
pub fn load(manifest_path: &Path, search: &SearchPath) -> Result<LoadedPlugin, Box<Refusal>> {
    let refuse = |id: Option<&str>, reason: String, detail: Option<String>| {
        Box::new(Refusal { path: manifest_path.to_path_buf(), id: id.map(str::to_string), reason, detail, library_id: None })
    };
    let text = std::fs::read_to_string(manifest_path).map_err(|e| refuse(None, format!("cannot read manifest: {e}"), None))?;
    let manifest = Manifest::from_toml(&text, manifest_path).map_err(|e| {
        let reason = e.strip_prefix(&format!("{}: ", manifest_path.display())).unwrap_or(&e).to_string();
        refuse(None, format!("garbled manifest: {reason}"), None)
    })?;
    let manifest_id = manifest.id.clone();
    let id = Some(manifest_id.as_str());
    if !sdk_compatible(&manifest.sdk_version, SDK_VERSION) {
        return Err(refuse(id, format!("written for Isotherm SDK {}; this host provides SDK {SDK_VERSION}", manifest.sdk_version), None));
    }
    let dir = manifest_path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut models = Vec::new();
    for m in &manifest.models {
        let path = dir.join(&m.path);
        let actual = sha256_file(&path).map_err(|e| refuse(id, format!("model '{}' cannot be read at {}: {e}", m.name, path.display()), None))?;
        if !actual.eq_ignore_ascii_case(&m.sha256) {
            return Err(refuse(
                id,
                format!("model '{}' ({}) fails its hash check: the manifest pins SHA-256 {}, the file has {}", m.name, path.display(), m.sha256, actual),
                None,
            ));
        }
        let abs = std::fs::canonicalize(&path).unwrap_or(path);
        models.push(ModelFile { name: m.name.as_str().into(), path: abs.to_string_lossy().as_ref().into(), sha256: actual.into() });
    }
    let library = search
        .find_library(&dir, &manifest.library)
        .ok_or_else(|| refuse(id, search::missing_library(search, &dir, &manifest.library), None))?;
    let library_sha256 = sha256_file(&library).map_err(|e| refuse(id, format!("cannot read library {}: {e}", library.display()), None))?;
    let module = open_library(&library).map_err(|(reason, detail)| refuse(id, reason, detail))?;
    let descriptor = (module.describe())().into_result().map_err(|e| refuse(id, format!("describe() failed: {}", e.message), None))?;
    let mut manifest = manifest;
    // A manifest may leave the version to the library (which has Cargo's).
    if manifest.version.is_empty() {
        manifest.version = descriptor.version.to_string();
    }
    check_descriptor(&manifest, &descriptor).map_err(|reason| {
        let mut r = refuse(id, reason, None);
        if descriptor.id.as_str() != manifest.id {
            r.library_id = Some(descriptor.id.to_string());
        }
        r
    })?;
    Ok(LoadedPlugin { manifest, dir, library, library_sha256, descriptor, models, module })
}

/// Opens a plugin library on its own (no manifest) and asks it to describe itself,
/// with every check of [`load`] that concerns the library: what `isotherm plugins
/// manifest` writes a `plugin.toml` from. Never runs `run`.
pub fn describe_library(path: &Path) -> Result<PluginDescriptor, String> {
    if !path.is_file() {
        return Err(format!("{}: no such file", path.display()));
    }
    let module = open_library(path).map_err(|(reason, _)| reason)?;
    (module.describe())().into_result().map_err(|e| format!("{}: describe() failed: {}", path.display(), e.message))
}

/// `isotherm_template` -> `libisotherm_template.so` (platform-specific).
pub fn library_file_name(stem: &str) -> String {
    format!("{}{stem}{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX)
}

/// Opens a library and checks its root module against this host's SDK: against the
/// root module of the library's own SDK level, since abi_stable refuses a library whose
/// prefix type has fewer fields than the host's (an older one).
/// Returns (one-line reason, long detail) on failure.
fn open_library(path: &Path) -> Result<Module, (String, Option<String>)> {
    let header = lib_header_from_path(path).map_err(|e| match e {
        LibraryError::OpenError { err, .. } => (format!("cannot open library {}: {err}", path.display()), None),
        LibraryError::GetSymbolError { .. } => (
            format!("{} is not an Isotherm plugin: it exports no plugin root module (add `isotherm_sdk::export_plugin!(YourPlugin);`)", path.display()),
            None,
        ),
        other => (format!("{} has an incompatible abi_stable header", path.display()), Some(other.to_string())),
    })?;
    // The version first, by our own rule, so the message can name both versions;
    // then abi_stable's layout check of every type reachable from the root module.
    let theirs = header.version_strings();
    if !sdk_compatible(theirs.version.as_str(), SDK_VERSION) {
        return Err((format!("built for Isotherm SDK ABI {}; this host speaks SDK ABI {SDK_VERSION}: rebuild the plugin against isotherm-sdk {SDK_VERSION}", theirs.version), None));
    }
    // abi_stable's own version rule refuses libraries with an older version; ours above
    // is the SDK's, so only the layout is checked here.
    let level = isotherm_sdk::manifest::parse_version(theirs.version.as_str()).map(|(a, b, _)| (a, b));
    if level == Some((0, 1)) {
        let m = checked::<isotherm_sdk::abi::v0_1::PluginModRef>(&header, theirs.version.as_str())?;
        return Ok(Module::V0_1(m));
    }
    checked::<PluginModRef>(&header, theirs.version.as_str()).map(Module::Current)
}

/// The layout check of every type reachable from root module `M`, then the module.
fn checked<M: RootModule>(header: &abi_stable::library::LibHeader, theirs: &str) -> Result<M, (String, Option<String>)> {
    header.ensure_layout::<M>().map_err(|e| match e {
        LibraryError::AbiInstability(report) => (
            format!(
                "ABI mismatch: built against Isotherm SDK {theirs} whose plugin types differ from this host's SDK {SDK_VERSION} ({}): rebuild the plugin against the host's isotherm-sdk (full report with --verbose)",
                abi_report::summary_for(header.layout()).unwrap_or_else(|| first_line(&report.to_string()))
            ),
            Some(report.to_string()),
        ),
        other => (format!("cannot check the plugin's ABI: {}", first_line(&other.to_string())), Some(other.to_string())),
    })?;
    // SAFETY: `ensure_layout` just checked that the library's root module has this layout.
    unsafe { header.unchecked_layout::<M>() }
        .map_err(|e| (format!("the plugin's root module failed to initialise: {}", first_line(&e.to_string())), Some(e.to_string())))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

pub use isotherm_sdk::manifest::node_kind_name as kind_name_node;

/// The library must be the plugin its manifest says it is (the SDK's one check).
fn check_descriptor(m: &Manifest, d: &PluginDescriptor) -> Result<(), String> {
    m.check_against(d)?;
    if !sdk_compatible(&d.sdk_version, SDK_VERSION) {
        return Err(format!("library was built with Isotherm SDK {}; this host provides SDK {SDK_VERSION}", d.sdk_version));
    }
    Ok(())
}

/// Short tier name for listings.
pub fn tier_name(t: Tier) -> &'static str {
    match t {
        Tier::Research => "research",
        Tier::Clinical => "clinical",
    }
}
