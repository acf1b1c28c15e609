//! `isotherm run ID --input NAME=FILE ... --param KEY=VALUE ... --out DIR`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use abi_stable::std_types::RVec;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use isotherm_sdk::abi::{InputData, InputKind, LogLevel, NamedInput, RunRequest};
use serde_json::json;

use super::{Context, EXIT_CANCELLED, EXIT_FAILED, EXIT_USAGE};
use crate::io::volume::{self, DicomSource};
use crate::jobs::{Job, JobError, JobEvent, JobRunner};
use crate::output::{MeshFormat, write_outputs};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Plugin id (see `isotherm plugins list`).
    pub id: String,
    /// An input as NAME=FILE: NIfTI (.nii, .nii.gz, .hdr), NRRD (.nrrd, .nhdr, .seg.nrrd),
    /// or for a volume a DICOM series (a folder, DICOMDIR or .dcm file; FOLDER#N picks one
    /// of several series).
    #[arg(long = "input", short = 'i', value_name = "NAME=FILE")]
    pub inputs: Vec<String>,
    /// A parameter as KEY=VALUE (see `isotherm plugins info ID`).
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Output folder (created if missing).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// Time limit in seconds (default from the config, 3600).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Mesh file format.
    #[arg(long, value_enum, default_value = "ply")]
    pub mesh_format: MeshFormat,
    /// Which volume of a 4D input to use (0-based).
    #[arg(long, default_value_t = 0)]
    pub frame: u64,
    /// What a tilted or unevenly spaced DICOM series becomes: resample (onto a regular
    /// grid; missing slices refused), refuse, or split (the longest even part).
    #[arg(long, default_value = "resample", value_name = "POLICY")]
    pub dicom_policy: isotherm_dicom::Policy,
    /// `dicom` also writes every label map as a DICOM SEG (NAME.seg.dcm) of the DICOM input
    /// it was made on (patient, study, series and slices referenced); `nrrd` also writes
    /// volumes as NAME.nrrd and label maps as 3D Slicer segmentations (NAME.seg.nrrd).
    /// NIfTI is always written.
    #[arg(long, default_value = "nifti", value_parser = ["nifti", "dicom", "nrrd"])]
    pub output_format: String,
}

fn split_pair<'a>(text: &'a str, what: &str) -> Result<(&'a str, &'a str), String> {
    text.split_once('=').filter(|(k, _)| !k.is_empty()).ok_or_else(|| format!("{what} '{text}' is not NAME=VALUE"))
}

/// Runs one plugin headless. Exit 0 on success, 1 when the plugin fails or is
/// refused, 2 for bad arguments or unreadable inputs, 130 when cancelled (Ctrl-C).
pub fn run(ctx: &Context, args: &RunArgs) -> i32 {
    let registry = ctx.registry();
    let Some(plugin) = registry.get(&args.id).cloned() else {
        let why = registry.explain_missing(&args.id, &ctx.search);
        eprintln!("error: {why}");
        crate::audit::append(crate::audit::refusal(&args.id, &why));
        return EXIT_FAILED;
    };
    let Prepared { request, input_files, input_warnings, params, input_sources } = match prepare(&plugin, &args.inputs, &args.params, args.frame, args.dicom_policy) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        return usage(&format!("{}: cannot create output folder: {e}", args.out.display()));
    }

    let runner = JobRunner::new(1);
    let timeout = Duration::from_secs_f64(args.timeout.unwrap_or(ctx.config.jobs.timeout_seconds).max(0.001));
    let started = Instant::now();
    let handle = runner.submit(Job { plugin: plugin.clone(), request, timeout: Some(timeout) });

    // Ctrl-C cancels the job cleanly; a second Ctrl-C exits at once.
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let cancel = handle.cancel_flag();
        let interrupted = interrupted.clone();
        let _ = ctrlc::set_handler(move || {
            if interrupted.swap(true, Ordering::SeqCst) {
                std::process::exit(EXIT_CANCELLED);
            }
            cancel.store(true, Ordering::SeqCst);
        });
    }

    let bar = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {percent:>3}% {msg}").unwrap().progress_chars("=> "));
    bar.set_prefix(plugin.id().to_string());
    let logs = Mutex::new(Vec::new());
    let result = handle.wait(|event| match event {
        JobEvent::Progress { fraction, message } => {
            bar.set_position((fraction * 1000.0) as u64);
            bar.set_message(message.clone());
        }
        JobEvent::Log { level, message } => {
            bar.suspend(|| trace_log(plugin.id(), *level, message));
            logs.lock().unwrap().push(json!({"level": format!("{level:?}"), "message": message}));
        }
        JobEvent::Partial(_) | JobEvent::Finished(_) => {}
    });
    bar.finish_and_clear();
    let elapsed = started.elapsed();

    let record = |status: &str, error: Option<String>, outputs: Vec<PathBuf>| {
        let mut r = provenance(&plugin, &input_files, &input_sources, &params, &input_warnings);
        r.extend(json!({
            "user": std::env::var("USER").unwrap_or_default(),
            "started_unix_s": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64() - elapsed.as_secs_f64()).unwrap_or(0.0),
            "seconds": elapsed.as_secs_f64(),
            "status": status,
            "error": error,
            "outputs": outputs,
            "log": *logs.lock().unwrap(),
        }).as_object().cloned().unwrap_or_default());
        serde_json::Value::Object(r)
    };
    match result {
        Ok(output) => {
            // Headless, the outputs go straight to files: no scene copy of them (or of the
            // inputs), which at 512 x 512 x 300 would be hundreds of MB.
            let nodes = output.changes.iter().filter(|c| matches!(c, isotherm_sdk::abi::NodeChange::Upsert(_))).count();
            let mut written = match write_outputs(&args.out, &output, args.mesh_format) {
                Ok(w) => w,
                Err(e) => {
                    eprintln!("error: {e}");
                    crate::audit::write_and_append(&args.out.join("run.json"), "run", &record("failed", Some(e.to_string()), vec![]), &[]);
                    return EXIT_FAILED;
                }
            };
            if args.output_format == "nrrd" {
                match crate::output::write_nrrd(&args.out, &output) {
                    Ok(w) => written.extend(w),
                    Err(e) => {
                        eprintln!("error: {e}");
                        crate::audit::write_and_append(&args.out.join("run.json"), "run", &record("failed", Some(e), written.clone()), &written);
                        return EXIT_FAILED;
                    }
                }
            }
            if args.output_format == "dicom" {
                let sources: Vec<&DicomSource> = input_sources.iter().map(|(_, s)| s).collect();
                match crate::output::write_dicom(&args.out, &output, &sources) {
                    Ok(w) => written.extend(w),
                    Err(e) => {
                        eprintln!("error: {e}");
                        crate::audit::write_and_append(&args.out.join("run.json"), "run", &record("failed", Some(e), written.clone()), &written);
                        return EXIT_FAILED;
                    }
                }
            }
            crate::audit::write_and_append(&args.out.join("run.json"), "run", &record("ok", None, written.clone()), &written);
            println!("{} finished in {:.2} s: {} scene node(s), {} file(s) in {}", plugin.id(), elapsed.as_secs_f64(), nodes, written.len(), args.out.display());
            for w in &written {
                println!("  {}", w.file_name().map(|f| f.to_string_lossy()).unwrap_or_default());
            }
            0
        }
        Err(e) => {
            let status = match &e {
                JobError::Cancelled => "cancelled",
                JobError::TimedOut(_) => "timed out",
                _ => "failed",
            };
            crate::audit::write_and_append(&args.out.join("run.json"), "run", &record(status, Some(e.to_string()), vec![]), &[]);
            eprintln!("error: plugin '{}' {status}: {e}", plugin.id());
            if matches!(e, JobError::Cancelled) { EXIT_CANCELLED } else { EXIT_FAILED }
        }
    }
}

/// A run's request from the command line: every input read as the kind the plugin
/// declares (with fit warnings), parameters resolved. `Err` is the exit code, the
/// message already printed.
pub(super) struct Prepared {
    pub request: RunRequest,
    pub input_files: Vec<(String, PathBuf)>,
    pub input_warnings: Vec<String>,
    pub params: RVec<isotherm_sdk::abi::NamedParam>,
    /// Inputs read from DICOM, by input name: identifiers and the reader's notes.
    pub input_sources: Vec<(String, DicomSource)>,
}

pub(super) fn prepare(
    plugin: &crate::loader::LoadedPlugin,
    inputs_given: &[String],
    params_given: &[String],
    frame: u64,
    dicom_policy: isotherm_dicom::Policy,
) -> Result<Prepared, i32> {
    let d = &plugin.descriptor;

    // Inputs: read each file as the kind the plugin declared.
    let mut inputs = Vec::new();
    let mut input_files = Vec::new();
    let mut wanted = Vec::new();
    let mut input_warnings: Vec<String> = Vec::new();
    for text in inputs_given {
        let (name, file) = match split_pair(text, "input") {
            Ok(p) => p,
            Err(e) => return Err(usage(&e)),
        };
        let Some(spec) = d.inputs.iter().find(|i| i.name.as_str() == name) else {
            let known: Vec<_> = d.inputs.iter().map(|i| i.name.to_string()).collect();
            return Err(usage(&format!("plugin '{}' has no input '{name}' (it takes: {})", plugin.id(), known.join(", "))));
        };
        wanted.push((name.to_string(), spec.kind, PathBuf::from(file)));
    }
    // The files are read side by side (decompression is most of a run's reading time).
    // RT Structure Sets wait for the CT they were drawn on (they are filled onto its grid).
    let deferred: Vec<bool> = wanted.iter().map(|(_, kind, path)| *kind == InputKind::LabelMap && volume::is_rtstruct(path)).collect();
    let read: Vec<Option<Result<(InputData, Option<DicomSource>), String>>> = std::thread::scope(|s| {
        let readers: Vec<_> = wanted
            .iter()
            .zip(&deferred)
            .map(|((_, kind, path), &later)| {
                (!later).then(|| {
                    s.spawn(move || match kind {
                        InputKind::Volume => volume::read(path, frame, dicom_policy).map(|v| (InputData::Volume(v.volume), v.dicom)),
                        InputKind::LabelMap => volume::read_label_map(path).map(|l| (InputData::LabelMap(l), None)),
                    })
                })
            })
            .collect();
        readers.into_iter().zip(&wanted).map(|(r, (_, _, path))| r.map(|r| r.join().unwrap_or_else(|_| Err(format!("{}: the reader failed", path.display()))))).collect()
    });
    let structures: Vec<Option<Result<isotherm_sdk::abi::LabelMap, String>>> = {
        let sources: Vec<&DicomSource> = read.iter().flatten().filter_map(|r| r.as_ref().ok()).filter_map(|(_, s)| s.as_ref()).collect();
        wanted.iter().zip(&deferred).map(|((_, _, path), &later)| later.then(|| volume::read_structures(path, &sources))).collect()
    };
    let read: Vec<Result<(InputData, Option<DicomSource>), String>> =
        read.into_iter().zip(structures).map(|(r, s)| r.unwrap_or_else(|| s.expect("a deferred input is read").map(|l| (InputData::LabelMap(l), None)))).collect();
    let mut input_sources = Vec::new();
    for ((name, _, path), data) in wanted.into_iter().zip(read) {
        let (data, source) = match data {
            Ok(d) => d,
            Err(e) => return Err(usage(&e)),
        };
        if let Some(source) = source {
            tracing::info!("input '{name}' ({}): {} from {} DICOM file(s)", path.display(), source.label(), source.files);
            for note in &source.notes {
                let warning = format!("input '{name}' ({}): {note}", path.display());
                tracing::warn!("{warning}");
                input_warnings.push(warning);
            }
            input_sources.push((name.clone(), source));
        }
        if let Some(warning) = crate::inputs::fit_warning(&plugin, &name, &data, &path) {
            tracing::warn!("{warning}");
            input_warnings.push(warning);
        }
        input_files.push((name.clone(), path));
        inputs.push(NamedInput { name: name.as_str().into(), data });
    }
    for spec in d.inputs.iter().filter(|i| i.required) {
        if !inputs.iter().any(|i| i.name == spec.name) {
            return Err(usage(&format!("plugin '{}' needs --input {}=FILE ({})", plugin.id(), spec.name, spec.label)));
        }
    }
    let mut given = Vec::new();
    for text in params_given {
        match split_pair(text, "parameter") {
            Ok((k, v)) => given.push((k.to_string(), v.to_string())),
            Err(e) => return Err(usage(&e)),
        }
    }
    let params = match isotherm_sdk::params::resolve(&d.params, &given) {
        Ok(p) => p,
        Err(e) => return Err(usage(&format!("{}: {e}", plugin.id()))),
    };
    let request = RunRequest { inputs: RVec::from(inputs), params: params.clone(), models: RVec::from(plugin.models.clone()) };
    Ok(Prepared { request, input_files, input_warnings, params, input_sources })
}

/// What a run's record (`run.json`, `session.json`) says of what ran on what: the
/// plugin and its library, the models, the inputs with their hashes, the parameters, the
/// host, and the input warnings.
pub(super) fn provenance(
    plugin: &crate::loader::LoadedPlugin,
    input_files: &[(String, PathBuf)],
    input_sources: &[(String, DicomSource)],
    params: &[isotherm_sdk::abi::NamedParam],
    warnings: &[String],
) -> serde_json::Map<String, serde_json::Value> {
    let input = |n: &String, p: &PathBuf| {
        let mut v = json!({"name": n, "path": p, "sha256": crate::loader::sha256_file(p).ok()});
        if let Some((_, source)) = input_sources.iter().find(|(name, _)| name == n) {
            v["dicom"] = source.to_json();
        }
        v
    };
    let v = json!({
        "plugin": {"id": plugin.id(), "version": plugin.manifest.version, "tier": crate::loader::tier_name(plugin.manifest.tier),
                   "library": plugin.library, "library_sha256": plugin.library_sha256},
        "models": plugin.models.iter().map(|m| json!({"name": m.name.as_str(), "path": m.path.as_str(), "sha256": m.sha256.as_str()})).collect::<Vec<_>>(),
        "inputs": input_files.iter().map(|(n, p)| input(n, p)).collect::<Vec<_>>(),
        "params": params.iter().map(|p| (p.name.to_string(), crate::io::report::param_json(&p.value))).collect::<serde_json::Map<_, _>>(),
        "host": {"isotherm": env!("CARGO_PKG_VERSION"), "sdk": isotherm_sdk::abi::SDK_VERSION},
        "warnings": warnings,
    });
    v.as_object().cloned().unwrap_or_default()
}

/// A plugin's log line on the host's log.
pub(super) fn trace_log(plugin: &str, level: LogLevel, message: &str) {
    match level {
        LogLevel::Error => tracing::error!(plugin = %plugin, "{message}"),
        LogLevel::Warn => tracing::warn!(plugin = %plugin, "{message}"),
        LogLevel::Info => tracing::info!(plugin = %plugin, "{message}"),
        LogLevel::Debug => tracing::debug!(plugin = %plugin, "{message}"),
    }
}

pub(super) fn usage(message: &str) -> i32 {
    eprintln!("error: {message}");
    EXIT_USAGE
}

