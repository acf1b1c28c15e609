//! Loading a trained network: the architecture (`unet.toml`) and its weights
//! (`unet.safetensors`), each checked against the SHA-256 the host verified from the
//! manifest, so a file swapped after loading is refused too.

use std::path::Path;

use candle_core::Device;

use crate::net::{Architecture, UNet};

pub use isotherm_sdk::pinned::read_pinned;

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
    // With dynamically loaded CUDA libraries a missing driver panics inside cudarc. Catch
    // it, and keep its page-long message off the terminal: the caller says "no CUDA
    // device" (or quietly uses the CPU) instead.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let device = std::panic::catch_unwind(|| Device::new_cuda(0).ok()).ok().flatten();
    std::panic::set_hook(hook);
    device
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
    fn cpu_is_always_available() {
        assert!(matches!(device("cpu"), Ok(Device::Cpu)));
        assert!(device("auto").is_ok());
        if !cfg!(feature = "cuda") {
            assert!(device("cuda").unwrap_err().contains("--features cuda"));
        }
    }
}
