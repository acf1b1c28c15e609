//! `isotherm session ID --input NAME=FILE ... --param KEY=VALUE ... --script STEPS.toml --out DIR`:
//! an interactive plugin session driven headless by a script, for teaching material,
//! tests and batch checks. Each step may change parameters, reset, advance simulated
//! time and save the current outputs to a sub-folder; `session.json` records it all.
//!
//! ```toml
//! [[step]]
//! set = { tip = "10,-40,25", entry = [60, -90, 40] }
//! advance = 60        # seconds of simulated time
//! save = "1min"       # writes OUT/1min/
//! [[step]]
//! reset = true
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use serde::Deserialize;
use serde_json::json;

use super::run::{Prepared, prepare, provenance, trace_log, usage};
use super::{Context, EXIT_CANCELLED, EXIT_FAILED};
use crate::jobs::JobError;
use crate::jobs::JobEvent;
use crate::jobs::session::{Command, Reply, SessionHandle};
use crate::output::{MeshFormat, write_outputs};

#[derive(Debug, Args)]
pub struct SessionArgs {
    /// Plugin id (one that offers sessions: `isotherm plugins info ID` says so).
    pub id: String,
    /// An input as NAME=FILE (NIfTI).
    #[arg(long = "input", short = 'i', value_name = "NAME=FILE")]
    pub inputs: Vec<String>,
    /// A parameter the session opens with, as KEY=VALUE.
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// The steps, as TOML (`[[step]]` tables with `set`, `reset`, `advance`, `save`).
    #[arg(long, value_name = "STEPS.toml")]
    pub script: PathBuf,
    /// Output folder (created if missing).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value = "ply")]
    pub mesh_format: MeshFormat,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Script {
    #[serde(default)]
    step: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    #[serde(default)]
    set: toml::Table,
    #[serde(default)]
    reset: bool,
    /// Simulated seconds.
    advance: Option<f64>,
    /// Sub-folder of the output folder for the outputs after this step.
    save: Option<String>,
}

/// A TOML value as the text `--param` would take.
fn param_text(v: &toml::Value) -> Result<String, String> {
    Ok(match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Array(a) => a.iter().map(param_text).collect::<Result<Vec<_>, _>>()?.join(","),
        other => return Err(format!("{other} is not a parameter value")),
    })
}

fn read_script(path: &Path) -> Result<Script, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let script: Script = toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.to_string().trim()))?;
    for (n, step) in script.step.iter().enumerate() {
        if let Some(a) = step.advance.filter(|a| !a.is_finite() || *a < 0.0) {
            return Err(format!("{}: step {}: advance = {a} is not a number of seconds >= 0", path.display(), n + 1));
        }
        if let Some(name) = &step.save {
            if name.is_empty() || name.contains(['/', '\\']) || name == ".." {
                return Err(format!("{}: step {}: save = '{name}' must be a plain folder name", path.display(), n + 1));
            }
        }
    }
    Ok(script)
}

/// Exit 0 when every step ran, 1 when the plugin failed or refused, 2 for bad
/// arguments, inputs or script, 130 when cancelled.
pub fn session(ctx: &Context, args: &SessionArgs) -> i32 {
    let script = match read_script(&args.script) {
        Ok(s) => s,
        Err(e) => return usage(&e),
    };
    let registry = ctx.registry();
    let Some(plugin) = registry.get(&args.id).cloned() else {
        let why = registry.explain_missing(&args.id, &ctx.search);
        eprintln!("error: {why}");
        crate::audit::append(crate::audit::refusal(&args.id, &why));
        return EXIT_FAILED;
    };
    if !plugin.offers_sessions() {
        eprintln!("error: plugin '{}' offers no interactive sessions (built for SDK {}); use `isotherm run`", plugin.id(), plugin.descriptor.sdk_version);
        return EXIT_FAILED;
    }
    let Prepared { request, input_files, input_warnings, params, input_sources } = match prepare(&plugin, &args.inputs, &args.params, 0, isotherm_dicom::Policy::default()) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        return usage(&format!("{}: cannot create output folder: {e}", args.out.display()));
    }
    let started = Instant::now();
    let mut steps = Vec::new();
    let record = |status: &str, error: Option<String>, steps: &Vec<serde_json::Value>| {
        let mut r = provenance(&plugin, &input_files, &input_sources, &params, &input_warnings);
        r.insert("script".into(), json!(args.script));
        r.insert("steps".into(), json!(steps));
        r.insert("seconds".into(), json!(started.elapsed().as_secs_f64()));
        r.insert("status".into(), json!(status));
        r.insert("error".into(), json!(error));
        serde_json::Value::Object(r)
    };
    let fail = |e: JobError, steps: &Vec<serde_json::Value>| {
        let status = if matches!(e, JobError::Cancelled) { "cancelled" } else { "failed" };
        crate::audit::write_and_append(&args.out.join("session.json"), "session", &record(status, Some(e.to_string()), steps), &[]);
        eprintln!("error: session of '{}' {status}: {e}", plugin.id());
        if matches!(e, JobError::Cancelled) { EXIT_CANCELLED } else { EXIT_FAILED }
    };
    let handle = match SessionHandle::open(plugin.clone(), request) {
        Ok(h) => h,
        Err(e) => return fail(e, &steps),
    };
    let log = |e: &JobEvent| {
        if let JobEvent::Log { level, message } = e {
            trace_log(plugin.id(), *level, message);
        }
    };
    // A command that answers with the session's clock.
    let tick = |command: Command| {
        handle.call(command, log).map(|r| match r {
            Reply::Clock(c) => Some(c),
            Reply::Output(_) => None,
        })
    };
    for (n, step) in script.step.iter().enumerate() {
        let step_started = Instant::now();
        let mut clock = None;
        let mut set = serde_json::Map::new();
        if step.reset {
            match tick(Command::Reset) {
                Ok(c) => clock = c.or(clock),
                Err(e) => return fail(e, &steps),
            }
        }
        if !step.set.is_empty() {
            let mut given = Vec::new();
            for (k, v) in &step.set {
                match param_text(v) {
                    Ok(t) => {
                        set.insert(k.clone(), json!(t));
                        given.push((k.clone(), t));
                    }
                    Err(e) => {
                        return usage(&format!("{}: step {}: {k}: {e}", args.script.display(), n + 1));
                    }
                }
            }
            let changed = match isotherm_sdk::params::resolve_changes(&plugin.descriptor.params, &given) {
                Ok(c) => c,
                Err(e) => {
                    return usage(&format!("{}: step {}: {e}", args.script.display(), n + 1));
                }
            };
            match tick(Command::Update(changed)) {
                Ok(c) => clock = c.or(clock),
                Err(e) => return fail(e, &steps),
            }
        }
        if let Some(seconds) = step.advance {
            match tick(Command::Advance(seconds)) {
                Ok(c) => clock = c.or(clock),
                Err(e) => return fail(e, &steps),
            }
        }
        let mut saved = Vec::new();
        if let Some(name) = &step.save {
            let output = match handle.call(Command::Output, log) {
                Ok(Reply::Output(o)) => o,
                Ok(_) => return fail(JobError::Lost, &steps),
                Err(e) => return fail(e, &steps),
            };
            let folder = args.out.join(name);
            if let Err(e) = std::fs::create_dir_all(&folder) {
                return usage(&format!("{}: cannot create output folder: {e}", folder.display()));
            }
            match write_outputs(&folder, &output, args.mesh_format) {
                Ok(w) => saved = w,
                Err(e) => {
                    eprintln!("error: {e}");
                    return EXIT_FAILED;
                }
            }
        }
        let seconds = step_started.elapsed().as_secs_f64();
        let time = clock.map(|c| format!("t = {:.1} s of {:.1} s", c.time_s, c.horizon_s)).unwrap_or_else(|| "no clock change".into());
        println!(
            "step {}: {time} ({seconds:.2} s){}",
            n + 1,
            step.save.as_ref().map(|s| format!(", saved {}", args.out.join(s).display())).unwrap_or_default()
        );
        steps.push(json!({
            "step": n + 1, "set": set, "reset": step.reset, "advance_s": step.advance,
            "time_s": clock.map(|c| c.time_s), "horizon_s": clock.map(|c| c.horizon_s),
            "saved": saved, "seconds": seconds,
        }));
    }
    drop(handle);
    crate::audit::write_and_append(&args.out.join("session.json"), "session", &record("ok", None, &steps), &[]);
    println!("{}: {} step(s) in {:.2} s; record in {}", plugin.id(), steps.len(), started.elapsed().as_secs_f64(), args.out.join("session.json").display());
    0
}
