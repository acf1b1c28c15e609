//! The `isotherm` binary: parse the command line, set up logging, dispatch.

use clap::Parser;
use isotherm_host::cli::{Cli, dispatch};

fn main() {
    let cli = Cli::parse();
    let filter = if cli.verbose { "debug" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("ISOTHERM_LOG").unwrap_or_else(|_| filter.into()))
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
    std::process::exit(dispatch(cli));
}
