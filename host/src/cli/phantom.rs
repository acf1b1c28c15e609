//! `isotherm phantom`: writes a synthetic case and its ground truth to a folder.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use isotherm_phantom::{Config, Size, generate};

use super::{EXIT_FAILED, EXIT_USAGE};
use crate::io::{nifti, report};

#[derive(Debug, Args)]
pub struct PhantomArgs {
    /// Seed: the same seed gives the same case on every machine.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Grid: small (96x80x40, tests), demo (192x160x64), medium (256x256x128), full (512x512x120 at 0.8x0.8x2.5 mm), thin (512x512x300 at 0.8x0.8x1 mm).
    #[arg(long, default_value = "demo")]
    pub size: String,
    /// Number of tumours, 1-4 (default: drawn from the seed).
    #[arg(long)]
    pub tumours: Option<usize>,
    /// Tumour radius range in mm, as MIN,MAX (default 6,25).
    #[arg(long, value_name = "MIN,MAX")]
    pub radius: Option<String>,
    /// Skip the dense displacement field (its parameters stay in truth.json).
    #[arg(long)]
    pub no_field: bool,
    /// Add a gallbladder and the lung bases, labelled 5 and 6 (for trajectory planning).
    #[arg(long)]
    pub organs: bool,
    /// Also write `exercise.toml` for the viewer's teaching exercise (`isotherm view
    /// --exercise DIR`): a minimal-margin goal of 5 or 10 mm, chosen by the seed, that the
    /// trainee does not see until scored.
    #[arg(long)]
    pub exercise: bool,
    /// How the CTs are written: nifti (pre_ct.nii.gz, post_ct.nii.gz) or dicom (CT
    /// series in the folders pre_ct/ and post_ct/, one study; label maps stay NIfTI).
    #[arg(long, default_value = "nifti", value_parser = ["nifti", "dicom"])]
    pub format: String,
    /// Output folder.
    #[arg(long, short = 'o')]
    pub out: PathBuf,
}

/// Writes the two CTs as DICOM series of one study (pre: series 1, post: series 2).
fn write_dicom_cts(out: &std::path::Path, seed: u64, pre: &isotherm_sdk::abi::Volume, post: &isotherm_sdk::abi::Volume) -> Result<(), String> {
    use isotherm_dicom::write::{new_identifiers, uid, write_series};
    let case = format!("isotherm phantom seed {seed}");
    let mut ids = new_identifiers(&case, &format!("PHANTOM-{seed}"), "pre-ablation CT");
    ids.study_description = "synthetic liver ablation case".to_string();
    write_series(pre, &out.join("pre_ct"), &ids).map_err(|e| e.to_string())?;
    ids.series_instance_uid = uid(&format!("{case}/post series"));
    ids.frame_of_reference_uid = uid(&format!("{case}/post frame"));
    ids.series_number = "2".to_string();
    ids.series_description = "post-ablation CT".to_string();
    write_series(post, &out.join("post_ct"), &ids).map_err(|e| e.to_string())?;
    Ok(())
}

/// An exercise's minimal-margin goal for a seed: the clinical target of 5 mm for two
/// seeds in three, the ideal of 10 mm for the third, so a class meets both.
pub fn exercise_goal_mm(seed: u64) -> f64 {
    if seed % 3 == 2 { 10.0 } else { 5.0 }
}

/// Generates and writes a case: pre_ct, post_ct, label maps, displacement field and
/// truth.json. Exit 0 on success, 2 for bad arguments, 1 when writing fails.
pub fn phantom(args: &PhantomArgs) -> i32 {
    let Some(size) = Size::parse(&args.size) else {
        eprintln!("error: --size must be small, demo, medium, full or thin (got '{}')", args.size);
        return EXIT_USAGE;
    };
    let mut config = Config::new(args.seed, size);
    config.organs = args.organs;
    if let Some(n) = args.tumours {
        if !(1..=4).contains(&n) {
            eprintln!("error: --tumours must be 1 to 4 (got {n})");
            return EXIT_USAGE;
        }
        config.tumours = Some(n);
    }
    if let Some(r) = &args.radius {
        let parts: Vec<f64> = r.split(',').filter_map(|x| x.trim().parse().ok()).collect();
        match parts.as_slice() {
            [lo, hi] if *lo >= 2.0 && hi >= lo && *hi <= 40.0 => {
                config.min_radius = *lo;
                config.max_radius = *hi;
            }
            _ => {
                eprintln!("error: --radius must be MIN,MAX in mm with 2 <= MIN <= MAX <= 40 (got '{r}')");
                return EXIT_USAGE;
            }
        }
    }
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("error: {}: cannot create: {e}", args.out.display());
        return EXIT_FAILED;
    }
    let started = Instant::now();
    let case = generate(&config);
    let out = &args.out;
    let result = (|| -> Result<(), String> {
        if args.format == "dicom" {
            write_dicom_cts(out, args.seed, &case.pre_ct, &case.post_ct)?;
        } else {
            nifti::write_volume(&out.join("pre_ct.nii.gz"), &case.pre_ct).map_err(|e| e.to_string())?;
            nifti::write_volume(&out.join("post_ct.nii.gz"), &case.post_ct).map_err(|e| e.to_string())?;
        }
        nifti::write_label_map(&out.join("pre_labels.nii.gz"), &case.pre_labels).map_err(|e| e.to_string())?;
        nifti::write_label_map(&out.join("pre_tumours.nii.gz"), &case.pre_tumours).map_err(|e| e.to_string())?;
        nifti::write_label_map(&out.join("post_labels.nii.gz"), &case.post_labels).map_err(|e| e.to_string())?;
        nifti::write_label_map(&out.join("ablation_zone_pre.nii.gz"), &case.zone_pre).map_err(|e| e.to_string())?;
        if !args.no_field {
            // NIfTI vector convention: dims (x, y, z, 1, 3), intent 1007 (VECTOR).
            let mut all = Vec::with_capacity(case.displacement[0].len() * 3);
            for c in &case.displacement {
                all.extend_from_slice(c);
            }
            nifti::write_with_dims(&out.join("displacement_post_to_pre.nii.gz"), &case.post_ct.geometry, &[1, 3], 1007, nifti::WriteData::F32(&all))
                .map_err(|e| e.to_string())?;
        }
        if args.exercise {
            let path = out.join("exercise.toml");
            let text = format!("# The teaching exercise's hidden goal (isotherm view --exercise).\nmargin_goal_mm = {:.1}\n", exercise_goal_mm(args.seed));
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let truth = serde_json::to_value(&case.truth).map_err(|e| e.to_string())?;
        report::write_json(&out.join("truth.json"), &truth)
    })();
    if let Err(e) = result {
        eprintln!("error: {e}");
        return EXIT_FAILED;
    }
    let t = &case.truth;
    println!("phantom seed {} ({:?}, {:?}) written to {} in {:.1} s", args.seed, size, case.pre_ct.geometry.dims, out.display(), started.elapsed().as_secs_f64());
    for tumour in &t.tumours {
        let margin = tumour.margin.as_ref().map(|m| format!(", treated: minimal margin {:.1} mm{}", m.minimal_margin_mm, if m.covered { "" } else { " (not covered)" })).unwrap_or_default();
        println!("  tumour {}: radius {:.1} mm, {:.2} ml{}", tumour.id, tumour.mean_radius_mm, tumour.volume_ml, margin);
    }
    0
}
