//! `isotherm.toml`: the host's own settings. Looked for at `--config`, then
//! `$ISOTHERM_CONFIG`, then `$XDG_CONFIG_HOME/isotherm/config.toml` (or
//! `~/.config/isotherm/config.toml`); a missing default file means defaults.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Extra folders to search for plugins (after `--plugin-dir`).
    #[serde(default)]
    pub plugin_dirs: Vec<PathBuf>,
    #[serde(default)]
    pub jobs: JobsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// Default time limit of one plugin run, seconds.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
    #[serde(default = "default_workers")]
    pub workers: usize,
}

fn default_timeout() -> f64 {
    3600.0
}
fn default_workers() -> usize {
    2
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig { timeout_seconds: default_timeout(), workers: default_workers() }
    }
}

impl Config {
    /// Loads the configuration; an explicitly named file must exist and parse.
    pub fn load(explicit: Option<&Path>) -> Result<Config, String> {
        let named = explicit.map(Path::to_path_buf).or_else(|| std::env::var_os("ISOTHERM_CONFIG").map(PathBuf::from));
        let path = match named {
            Some(p) => p,
            None => {
                let base = std::env::var_os("XDG_CONFIG_HOME")
                    .map(PathBuf::from)
                    .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
                match base.map(|b| b.join("isotherm/config.toml")) {
                    Some(p) if p.is_file() => p,
                    _ => return Ok(Config::default()),
                }
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut config: Config = toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.to_string().trim()))?;
        // Relative plugin folders are relative to the config file.
        let base = path.parent().unwrap_or(Path::new("."));
        for d in &mut config.plugin_dirs {
            if d.is_relative() {
                *d = base.join(&*d);
            }
        }
        Ok(config)
    }
}
