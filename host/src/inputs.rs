//! Does an input fit what the plugin declared? The loader checks kinds; this checks
//! content against the intensity `range` a manifest may declare for a volume input, and
//! only warns (the run goes on): a label map given where a CT is expected reads as a
//! valid volume, and the plugin would silently compute nonsense from it. Shared by the
//! CLI and the viewer.

use std::path::Path;

use isotherm_sdk::abi::{InputData, Volume, VoxelData};

use crate::loader::LoadedPlugin;

/// A warning naming the input, the file, what it looks like and what was expected,
/// or `None` when the input fits.
pub fn fit_warning(plugin: &LoadedPlugin, input: &str, range: Option<[f64; 2]>, data: &InputData, path: &Path) -> Option<String> {
    // Only what the plugin declared is checked: a volume input with an intensity range.
    let InputData::Volume(volume) = data else { return None };
    let [lo, hi] = range?;
    let label = plugin.descriptor.inputs.iter().find(|i| i.name.as_str() == input).map(|i| i.label.to_string()).unwrap_or_default();
    let what = if label.is_empty() { "a volume".to_string() } else { format!("{label} (a volume)") };
    let head = format!("input '{input}' ({}) for plugin '{}'", path.display(), plugin.id());
    if let Some(levels) = label_like(volume) {
        return Some(format!("{head} looks like a label map ({levels} whole-number values, none negative); the plugin expects {what}: check the file"));
    }
    let outside = share_outside(volume, lo, hi);
    (outside > 0.5).then(|| format!("{head}: {:.0} % of voxels lie outside {lo}..{hi}, the range the plugin expects for {what}", outside * 100.0))
}

/// `Some(distinct values)` when every voxel is a whole number in 0..=255 with at most
/// 16 distinct values, as in a segmentation; no CT looks like that.
fn label_like(v: &Volume) -> Option<usize> {
    let mut seen = [false; 256];
    let mut mark = |x: f64| -> bool {
        if !(0.0..=255.0).contains(&x) || x.fract() != 0.0 {
            return false;
        }
        seen[x as usize] = true;
        true
    };
    let all = match &v.data {
        VoxelData::U8(d) => d.iter().all(|&x| mark(x as f64)),
        VoxelData::I16(d) => d.iter().all(|&x| mark(x as f64)),
        VoxelData::F32(d) => d.iter().all(|&x| mark(x as f64)),
    };
    let distinct = seen.iter().filter(|&&s| s).count();
    (all && distinct <= 16).then_some(distinct)
}

fn share_outside(v: &Volume, lo: f64, hi: f64) -> f64 {
    let n = v.geometry.len().max(1) as f64;
    let count = |it: &mut dyn Iterator<Item = f64>| it.filter(|x| *x < lo || *x > hi).count();
    let outside = match &v.data {
        VoxelData::U8(d) => count(&mut d.iter().map(|&x| x as f64)),
        VoxelData::I16(d) => count(&mut d.iter().map(|&x| x as f64)),
        VoxelData::F32(d) => count(&mut d.iter().map(|&x| x as f64)),
    };
    outside as f64 / n
}
