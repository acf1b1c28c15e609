//! Model files pinned by SHA-256 in `plugin.toml`. The host checks the hash before a
//! run; a plugin re-checks what it actually reads, so a file swapped between the two
//! (or read by a tool outside any run) is refused as well.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::abi::{ErrorKind, PluginError};
use crate::plugin::Request;

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a file and checks it against `expected` (hex SHA-256; empty = not pinned).
/// Errors name the file and, for a mismatch, both hashes.
pub fn read_pinned(path: &Path, expected: &str) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot be read: {e}", path.display()))?;
    if !expected.is_empty() {
        let actual = sha256_hex(&bytes);
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(format!("{}: SHA-256 is {actual}, but {expected} is pinned; refusing to load a changed model file", path.display()));
        }
    }
    Ok(bytes)
}

impl Request<'_> {
    /// The bytes of the model file declared as `name`, re-checked against the pin the
    /// host verified, with its path (for messages).
    pub fn read_model(&self, name: &str) -> Result<(Vec<u8>, PathBuf), PluginError> {
        let m = self.model(name)?;
        let path = PathBuf::from(m.path.as_str());
        let bytes = read_pinned(&path, m.sha256.as_str()).map_err(|e| PluginError::new(ErrorKind::Model, e))?;
        Ok((bytes, path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_file_is_refused_with_both_hashes() {
        let dir = std::env::temp_dir().join(format!("isotherm-pin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("unet.toml");
        std::fs::write(&path, "abc").unwrap();
        let sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_hex(b"abc"), sha);
        assert_eq!(read_pinned(&path, sha).unwrap(), b"abc");
        std::fs::write(&path, "abd").unwrap();
        let err = read_pinned(&path, sha).unwrap_err();
        assert!(err.contains("unet.toml") && err.contains(sha) && err.contains("refusing"), "{err}");
        assert_eq!(read_pinned(&path, "").unwrap(), b"abd", "an unpinned file is read as it is");
        let err = read_pinned(&dir.join("missing.safetensors"), "").unwrap_err();
        assert!(err.contains("missing.safetensors") && err.contains("cannot be read"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }
}
