//! Does an input fit what the plugin declared? The loader checks kinds; this checks
//! content against the intensity `range` a manifest may declare for a volume input, and
//! only warns (the run goes on): a label map given where a CT is expected reads as a
//! valid volume, and the plugin would silently compute nonsense from it. Shared by the
//! CLI and the viewer.

use std::path::Path;

use isotherm_sdk::abi::{InputData, Volume};

use crate::loader::LoadedPlugin;

/// A warning naming the input, the file, what it looks like and what was expected,
/// or `None` when the input fits (or its manifest declares no range for it).
pub fn fit_warning(plugin: &LoadedPlugin, input: &str, data: &InputData, path: &Path) -> Option<String> {
    let InputData::Volume(volume) = data else { return None };
    let [lo, hi] = plugin.manifest.inputs.iter().find(|p| p.name == input)?.range?;
    let label = plugin.descriptor.inputs.iter().find(|i| i.name.as_str() == input).map(|i| i.label.to_string()).unwrap_or_default();
    let what = if label.is_empty() { "a volume".to_string() } else { format!("{label} (a volume)") };
    let head = format!("input '{input}' ({}) for plugin '{}'", path.display(), plugin.id());
    let fit = Fit::of(volume, lo, hi);
    if fit.label_like() {
        return Some(format!("{head} looks like a label map ({} whole-number values, none negative); the plugin expects {what}: check the file", fit.levels()));
    }
    (fit.outside_share() > 0.5).then(|| format!("{head}: {:.0} % of voxels lie outside {lo}..{hi}, the range the plugin expects for {what}", fit.outside_share() * 100.0))
}

/// One pass over a volume: which small whole values occur, whether every voxel is one,
/// and how many lie outside the declared range.
struct Fit {
    seen: [bool; 256],
    all_small_whole: bool,
    outside: usize,
    voxels: usize,
}

impl Fit {
    fn of(v: &Volume, lo: f64, hi: f64) -> Fit {
        let mut fit = Fit { seen: [false; 256], all_small_whole: true, outside: 0, voxels: v.data.len() };
        for x in (0..v.data.len()).map(|n| v.data.get_f32(n) as f64) {
            fit.outside += (x < lo || x > hi) as usize;
            if fit.all_small_whole {
                if (0.0..=255.0).contains(&x) && x.fract() == 0.0 {
                    fit.seen[x as usize] = true;
                } else {
                    fit.all_small_whole = false;
                }
            }
        }
        fit
    }

    fn levels(&self) -> usize {
        self.seen.iter().filter(|&&s| s).count()
    }

    /// Every voxel a whole number in 0..=255 with at most 16 distinct values, as in a
    /// segmentation; no CT looks like that.
    fn label_like(&self) -> bool {
        self.all_small_whole && self.levels() <= 16
    }

    fn outside_share(&self) -> f64 {
        self.outside as f64 / self.voxels.max(1) as f64
    }
}
