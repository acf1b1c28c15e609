//! `isotherm NAME ARGS...` runs a plugin's own command-line tool, `isotherm-NAME`, the way
//! `git` and `cargo` run theirs: training and model fitting live with the plugin that owns
//! the model, and the host stays free of plugin code.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use super::{EXIT_FAILED, EXIT_USAGE};

/// Where `isotherm-NAME` is looked for: next to this binary first, then on PATH.
pub fn find(name: &str) -> Option<PathBuf> {
    let file = format!("isotherm-{name}{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe().ok().and_then(|e| e.parent().map(|d| d.join(&file)));
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| std::env::split_paths(&p).map(|d| d.join(&file)).collect::<Vec<_>>());
    beside.into_iter().chain(on_path).find(|p| p.is_file())
}

pub fn run(args: &[OsString]) -> i32 {
    let Some(name) = args.first().and_then(|n| n.to_str()) else {
        eprintln!("error: missing command");
        return EXIT_USAGE;
    };
    let Some(exe) = find(name) else {
        eprintln!(
            "error: unknown command '{name}': not a built-in command, and no plugin tool isotherm-{name} next to this binary or on PATH \
             (built-in: plugins, run, phantom, view; plugin tools are built with their plugin, e.g. `cargo build -p isotherm-{name}`)"
        );
        return EXIT_USAGE;
    };
    match Command::new(&exe).args(&args[1..]).status() {
        Ok(status) => status.code().unwrap_or(EXIT_FAILED),
        Err(e) => {
            eprintln!("error: cannot run {}: {e}", exe.display());
            EXIT_FAILED
        }
    }
}
