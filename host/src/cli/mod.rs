//! The `isotherm` command line: the definitions (clap) plus one documented function
//! per subcommand. Glue only; the work happens in the library modules.

mod audit;
mod dicom;
mod phantom;
mod plugins;
mod run;
mod session;
mod tool;
#[cfg(feature = "gui")]
mod view;

use std::path::PathBuf;

use std::ffi::OsString;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::loader::{Registry, SearchPath};

/// Exit codes: 0 success, 1 the work failed (plugin error, refusal), 2 bad usage or
/// bad input, 130 cancelled by the user.
pub const EXIT_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_CANCELLED: i32 = 130;

#[derive(Debug, Parser)]
#[command(
    name = "isotherm",
    version,
    about = "Extension host for AI in image-guided liver cancer treatment",
    long_about = None,
    allow_external_subcommands = true,
    after_help = "Plugin tools: `isotherm NAME ARGS...` runs `isotherm-NAME ARGS...` found next to this binary or on PATH,\ne.g. `isotherm segmentation train`, `isotherm radiomics fit --cohort cohort.csv`."
)]
pub struct Cli {
    /// Folder to search for plugins (repeatable; searched before the defaults).
    #[arg(long = "plugin-dir", global = true, value_name = "DIR")]
    pub plugin_dirs: Vec<PathBuf>,
    /// Configuration file (default: $ISOTHERM_CONFIG or ~/.config/isotherm/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Show details (e.g. ABI layout reports of refused plugins) and debug logs.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// With no command, the viewer opens (when built with the `gui` feature).
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, inspect or check plugins.
    Plugins {
        #[command(subcommand)]
        action: PluginsAction,
    },
    /// Run a plugin headless on NIfTI, NRRD or DICOM inputs and write its outputs.
    Run(run::RunArgs),
    /// Drive a plugin's interactive session headless from a script of steps.
    Session(session::SessionArgs),
    /// List the series of DICOM folders, or convert one to NIfTI.
    Dicom {
        #[command(subcommand)]
        action: dicom::DicomAction,
    },
    /// Generate a synthetic pre/post-ablation CT case with ground truth.
    Phantom(phantom::PhantomArgs),
    /// The audit trail: check that no record was changed, removed or cut off.
    Audit {
        #[command(subcommand)]
        action: audit::AuditAction,
    },
    /// Open the viewer (four-up slice and 3D views, plugin panels).
    #[cfg(feature = "gui")]
    View(view::ViewArgs),
    /// The viewer (this build has none: `cargo build -p isotherm-host` builds it).
    #[cfg(not(feature = "gui"))]
    View {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<OsString>,
    },
    /// A plugin's own tool (training, model fitting): `isotherm-NAME`.
    #[command(external_subcommand)]
    Tool(Vec<OsString>),
}

#[derive(Debug, Subcommand)]
pub enum PluginsAction {
    /// Every plugin found: loaded ones, then refused ones with the reason.
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// One plugin's manifest, inputs, outputs, parameters and models.
    Info { id: String },
    /// Check that plugins load (all found, or the ids given): exit 0 when every one
    /// does, 1 when any is refused or missing, with the reason.
    Check { ids: Vec<String> },
    /// Write the `plugin.toml` that fits a built library (from its `describe()`).
    Manifest {
        /// The plugin's shared library, e.g. target/debug/libmy_plugin.so.
        library: PathBuf,
        /// Write here instead of standard output (refuses to overwrite without --force).
        #[arg(long, short = 'o', value_name = "FILE")]
        out: Option<PathBuf>,
        /// Overwrite --out if it exists.
        #[arg(long)]
        force: bool,
    },
}

/// Shared context of one invocation.
pub struct Context {
    pub config: Config,
    pub search: SearchPath,
    pub verbose: bool,
}

impl Context {
    pub fn registry(&self) -> Registry {
        Registry::discover(&self.search)
    }
}

/// Runs a parsed command line; returns the process exit code.
pub fn dispatch(cli: Cli) -> i32 {
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: configuration: {e}");
            return EXIT_USAGE;
        }
    };
    for dir in &cli.plugin_dirs {
        if let Some(warning) = crate::loader::SearchPath::check_plugin_dir(dir) {
            eprintln!("warning: --plugin-dir {warning}");
        }
    }
    let mut dirs = cli.plugin_dirs.clone();
    dirs.extend(config.plugin_dirs.iter().cloned());
    let ctx = Context { search: SearchPath::standard(&dirs), config, verbose: cli.verbose };
    let Some(command) = cli.command else {
        #[cfg(feature = "gui")]
        return view::view(&ctx, &view::ViewArgs::empty());
        #[cfg(not(feature = "gui"))]
        {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            return EXIT_USAGE;
        }
    };
    match command {
        Command::Plugins { action: PluginsAction::List { json } } => plugins::list(&ctx, json),
        Command::Plugins { action: PluginsAction::Info { id } } => plugins::info(&ctx, &id),
        Command::Plugins { action: PluginsAction::Check { ids } } => plugins::check(&ctx, &ids),
        Command::Plugins { action: PluginsAction::Manifest { library, out, force } } => plugins::manifest(&library, out.as_deref(), force),
        Command::Run(args) => run::run(&ctx, &args),
        Command::Session(args) => session::session(&ctx, &args),
        Command::Dicom { action } => dicom::dicom(&action),
        Command::Phantom(args) => phantom::phantom(&args),
        Command::Audit { action } => audit::audit(&action),
        #[cfg(feature = "gui")]
        Command::View(args) => view::view(&ctx, &args),
        #[cfg(not(feature = "gui"))]
        Command::View { .. } => {
            eprintln!(
                "error: this isotherm was built without the viewer (the headless build `scripts/demo.sh` makes); build it with `cargo build -p isotherm-host`"
            );
            EXIT_USAGE
        }
        Command::Tool(args) => tool::run(&args),
    }
}
