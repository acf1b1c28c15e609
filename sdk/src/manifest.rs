//! `plugin.toml`: what a plugin declares about itself without its code being loaded
//! (like MITK's declarative manifests and MONAI's bundle metadata). The host reads it
//! first, checks the model files' hashes, and only then opens the library.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::abi::{InputKind, NodeKind, PluginDescriptor};

/// Research plugins run anywhere; clinical ones only where a site policy allows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Research,
    Clinical,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Stable identifier used on the command line (`isotherm run ID`).
    pub id: String,
    pub name: String,
    /// The plugin's own semantic version. Leave it out to take the library's (what
    /// `describe()` reports: `env!("CARGO_PKG_VERSION")`, Cargo's), so the two cannot drift.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    pub description: String,
    #[serde(default)]
    pub authors: Vec<String>,
    pub license: String,
    /// Panel grouping, e.g. "Segmentation", "Ablation", "Radiomics".
    pub category: String,
    /// The SDK version the plugin is written for, e.g. "0.1".
    pub sdk_version: String,
    pub tier: Tier,
    /// File stem of the library: `isotherm_template` means `libisotherm_template.so`
    /// on Linux, `isotherm_template.dll` on Windows.
    pub library: String,
    #[serde(default)]
    pub inputs: Vec<ManifestPort>,
    #[serde(default)]
    pub outputs: Vec<ManifestPort>,
    #[serde(default)]
    pub models: Vec<ManifestModel>,
}

/// An input or output, by name and kind (`volume`, `labelmap`, `mesh`, `markups`, `report`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestPort {
    pub name: String,
    pub kind: String,
    /// For a volume input: the intensity range it is meant for, e.g. `[-1024, 3071]` for
    /// CT in HU. The host warns (and still runs) when most of a given volume lies outside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[f64; 2]>,
}

/// A model file pinned by hash. `path` is relative to the manifest's folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestModel {
    pub name: String,
    pub path: String,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
    /// Optional model card (TOML or Markdown), relative to the manifest's folder.
    #[serde(default)]
    pub card: Option<String>,
}

impl Manifest {
    /// Parses and checks a manifest; the error names the file and what is wrong.
    pub fn from_toml(text: &str, path: &Path) -> Result<Manifest, String> {
        let m: Manifest = toml::from_str(text).map_err(|e| format!("{}: {}", path.display(), e.to_string().trim()))?;
        m.check().map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(m)
    }

    fn check(&self) -> Result<(), String> {
        let id_ok = !self.id.is_empty()
            && self.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !id_ok {
            return Err(format!("id '{}' must be non-empty lower-case letters, digits, '-' or '_'", self.id));
        }
        if !self.version.is_empty() && parse_version(&self.version).is_none() {
            return Err(format!("version '{}' is not a semantic version like 1.2.3", self.version));
        }
        if parse_version(&self.sdk_version).is_none() {
            return Err(format!("sdk_version '{}' is not a version like 0.1", self.sdk_version));
        }
        for m in &self.models {
            if m.sha256.len() != 64 || !m.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(format!("model '{}': sha256 must be 64 hex digits", m.name));
            }
        }
        for p in self.inputs.iter().chain(&self.outputs) {
            if !["volume", "labelmap", "mesh", "markups", "report"].contains(&p.kind.as_str()) {
                return Err(format!("port '{}': unknown kind '{}'", p.name, p.kind));
            }
            if let Some([lo, hi]) = p.range {
                if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                    return Err(format!("port '{}': range [{lo}, {hi}] must be two finite numbers, low before high", p.name));
                }
            }
        }
        Ok(())
    }

    /// Whether the library is the plugin this manifest says it is: id, version (when the
    /// manifest gives one), SDK, and the inputs and outputs by name and kind. The host
    /// refuses a plugin on the first difference; `testing::check_manifest` runs the same
    /// check in a plugin's own tests.
    pub fn check_against(&self, d: &PluginDescriptor) -> Result<(), String> {
        if d.id.as_str() != self.id {
            return Err(format!("library reports id '{}' but the manifest says '{}'", d.id, self.id));
        }
        if !self.version.is_empty() && d.version.as_str() != self.version {
            return Err(format!("library reports version {} but the manifest says {} (leave `version` out to take the library's)", d.version, self.version));
        }
        if !sdk_compatible(&self.sdk_version, &d.sdk_version) {
            return Err(format!("library was built with Isotherm SDK {} but the manifest says sdk_version {}", d.sdk_version, self.sdk_version));
        }
        for port in &self.inputs {
            match d.inputs.iter().find(|i| i.name.as_str() == port.name) {
                Some(i) if input_kind_name(i.kind) == port.kind => {}
                Some(i) => {
                    return Err(format!("input '{}' is a {} in the library but a {} in the manifest", port.name, input_kind_name(i.kind), port.kind));
                }
                None => {
                    return Err(format!("manifest declares input '{}' that the library does not take", port.name));
                }
            }
        }
        for i in d.inputs.iter() {
            if !self.inputs.iter().any(|p| p.name == i.name.as_str()) {
                return Err(format!("library takes input '{}' that the manifest does not declare", i.name));
            }
        }
        for port in &self.outputs {
            match d.outputs.iter().find(|o| o.name.as_str() == port.name) {
                Some(o) if node_kind_name(o.kind) == port.kind => {}
                Some(o) => {
                    return Err(format!("output '{}' is a {} in the library but a {} in the manifest", port.name, node_kind_name(o.kind), port.kind));
                }
                None => {
                    return Err(format!("manifest declares output '{}' that the library does not give", port.name));
                }
            }
        }
        Ok(())
    }

    /// A manifest that agrees with `d` (id, name, version left to the library, inputs,
    /// outputs), as TOML with a comment on each field a person fills in. What
    /// `isotherm plugins manifest LIBRARY` prints.
    pub fn template_for(d: &PluginDescriptor, library_stem: &str) -> String {
        let sdk = parse_version(&d.sdk_version).map(|(a, b, _)| format!("{a}.{b}")).unwrap_or_else(|| d.sdk_version.to_string());
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut t = String::new();
        t.push_str(&format!("id = {}\n", q(&d.id)));
        t.push_str(&format!("name = {}\n", q(&d.name)));
        t.push_str(&format!("# version: left out, so the library's ({}, Cargo's) is used\n", d.version));
        t.push_str(&format!("description = {}\n", q(&d.description)));
        t.push_str("authors = []              # e.g. [\"Ada Lovelace <ada@example.org>\"]\n");
        t.push_str("license = \"UNLICENSED\"    # an SPDX id, e.g. \"MIT\" or \"Apache-2.0\"\n");
        t.push_str("category = \"Analysis\"     # panel grouping: Segmentation, Ablation, Radiomics, Analysis...\n");
        t.push_str(&format!("sdk_version = {}\n", q(&sdk)));
        t.push_str("tier = \"research\"         # \"clinical\" only for a validated, approved plugin\n");
        t.push_str(&format!("library = {}\n", q(library_stem)));
        for i in d.inputs.iter() {
            t.push_str(&format!("\n[[inputs]]\nname = {}\nkind = \"{}\"\n", q(&i.name), input_kind_name(i.kind)));
        }
        for o in d.outputs.iter() {
            t.push_str(&format!("\n[[outputs]]\nname = {}\nkind = \"{}\"\n", q(&o.name), node_kind_name(o.kind)));
        }
        t.push_str("\n# Model files, pinned by hash (sha256sum FILE):\n# [[models]]\n# name = \"weights\"\n# path = \"models/weights.safetensors\"\n# sha256 = \"...\"\n");
        t
    }
}

/// `volume` / `labelmap`: an input kind as `plugin.toml` writes it.
pub fn input_kind_name(k: InputKind) -> &'static str {
    match k {
        InputKind::Volume => "volume",
        InputKind::LabelMap => "labelmap",
    }
}

/// `volume` / `labelmap` / `mesh` / `markups` / `report`: a node kind as `plugin.toml` writes it.
pub fn node_kind_name(k: NodeKind) -> &'static str {
    match k {
        NodeKind::Volume => "volume",
        NodeKind::LabelMap => "labelmap",
        NodeKind::Mesh => "mesh",
        NodeKind::Markups => "markups",
        NodeKind::Report => "report",
    }
}

/// `major.minor[.patch]` as numbers.
pub fn parse_version(v: &str) -> Option<(u64, u64, u64)> {
    let mut parts = v.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = match parts.next() {
        Some(p) => p.split(['-', '+']).next()?.parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    Some((major, minor, patch))
}

/// The oldest SDK whose plugins this SDK's hosts still load. From 0.1 on the ABI only
/// grows (entry points appended below the root module's `last_prefix_field`), so a
/// host loads every plugin from this version up to its own; a breaking change moves it.
pub const OLDEST_LOADABLE_SDK: (u64, u64) = (0, 1);

/// Whether a plugin written for SDK `wanted` runs on a host with SDK `host`: the same
/// major, a minor no newer than the host's (a newer plugin may call entry points the
/// host lacks), and no older than [`OLDEST_LOADABLE_SDK`].
pub fn sdk_compatible(wanted: &str, host: &str) -> bool {
    match (parse_version(wanted), parse_version(host)) {
        (Some((wm, wn, _)), Some((hm, hn, _))) => wm == hm && wn <= hn && (wm, wn) >= OLDEST_LOADABLE_SDK,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_rules() {
        assert!(sdk_compatible("0.1", "0.1.3"));
        // A 0.1 plugin on a 0.2 host (the ABI grew); not the other way round.
        assert!(sdk_compatible("0.1.0", "0.2.0"));
        assert!(!sdk_compatible("0.2", "0.1.0"));
        assert!(!sdk_compatible("0.0.9", "0.2.0"));
        assert!(sdk_compatible("1.1", "1.4.0"));
        assert!(!sdk_compatible("1.5", "1.4.0"));
        assert!(!sdk_compatible("x", "1.4.0"));
    }

    #[test]
    fn garbled_manifest_names_file_and_field() {
        let e = Manifest::from_toml("id = \"x\"\nname = 3\n", Path::new("/p/plugin.toml")).unwrap_err();
        assert!(e.starts_with("/p/plugin.toml:") && e.contains("name"), "{e}");
        let ok = "id='a'\nname='A'\nversion='1.0.0'\ndescription=''\nlicense='MIT'\ncategory='X'\nsdk_version='0.1'\ntier='research'\nlibrary='a'\n";
        assert!(Manifest::from_toml(ok, Path::new("p.toml")).is_ok());
        let bad_hash = format!("{ok}[[models]]\nname='w'\npath='w.bin'\nsha256='abc'\n");
        assert!(Manifest::from_toml(&bad_hash, Path::new("p.toml")).unwrap_err().contains("64 hex"));
    }
}
