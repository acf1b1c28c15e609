//! Loading a trained network: the architecture (`unet.toml`) and its weights
//! (`unet.safetensors`), each checked against the SHA-256 the host verified from the
//! manifest, so a file swapped after loading is refused too.

use std::path::Path;

use candle_core::Device;
use sha2::{Digest, Sha256};

use crate::net::{Architecture, UNet};

/// Reads a file and checks it against `expected` (hex SHA-256; empty = no pin).
pub fn read_pinned(path: &Path, expected: &str) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot be read: {e}", path.display()))?;
    if !expected.is_empty() {
        let actual: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(format!("{}: SHA-256 is {actual}, but {expected} is pinned; refusing to load changed weights", path.display()));
        }
    }
    Ok(bytes)
}

/// Loads a network from its architecture file and weights file.
pub fn load(arch_path: &Path, arch_sha: &str, weights_path: &Path, weights_sha: &str, device: &Device) -> Result<UNet, String> {
    let text = read_pinned(arch_path, arch_sha)?;
    let text = String::from_utf8(text).map_err(|_| format!("{}: not UTF-8 text", arch_path.display()))?;
    let arch = Architecture::from_toml(&text).map_err(|e| format!("{}: {e}", arch_path.display()))?;
    for structure in ["background", "liver"] {
        if arch.class(structure).is_none() {
            return Err(format!("{}: classes {:?} lack '{structure}'", arch_path.display(), arch.classes));
        }
    }
    let weights = read_pinned(weights_path, weights_sha)?;
    UNet::load(&arch, weights, weights_path, device)
}

/// The device inference runs on: `"cpu"`, `"cuda"`, or `"auto"` (CUDA when this build has
/// it and a GPU answers, else the CPU).
pub fn device(choice: &str) -> Result<Device, String> {
    match choice {
        "cpu" => Ok(Device::Cpu),
        "cuda" => cuda().ok_or_else(|| cuda_unavailable().to_string()),
        _ => Ok(cuda().unwrap_or(Device::Cpu)),
    }
}

#[cfg(feature = "cuda")]
fn cuda() -> Option<Device> {
    // With dynamically loaded CUDA libraries a missing driver panics inside cudarc.
    std::panic::catch_unwind(|| Device::new_cuda(0).ok()).ok().flatten()
}

#[cfg(not(feature = "cuda"))]
fn cuda() -> Option<Device> {
    None
}

fn cuda_unavailable() -> &'static str {
    if cfg!(feature = "cuda") { "no CUDA device answered (driver missing or no GPU)" } else { "this build of the plugin has no CUDA support (build with --features cuda)" }
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
        assert_eq!(read_pinned(&path, sha).unwrap(), b"abc");
        std::fs::write(&path, "abd").unwrap();
        let err = read_pinned(&path, sha).unwrap_err();
        assert!(err.contains("unet.toml") && err.contains(sha) && err.contains("refusing"), "{err}");
        let err = read_pinned(&dir.join("missing.safetensors"), "").unwrap_err();
        assert!(err.contains("missing.safetensors") && err.contains("cannot be read"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn cpu_is_always_available() {
        assert!(matches!(device("cpu"), Ok(Device::Cpu)));
        assert!(device("auto").is_ok());
        if !cfg!(feature = "cuda") {
            assert!(device("cuda").unwrap_err().contains("--features cuda"));
        }
    }
}
