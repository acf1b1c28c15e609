//! # Isotherm host
//!
//! Loads plugins ([`loader`]), runs them off the calling thread ([`jobs`]), keeps the
//! shared [`scene`], reads and writes files ([`io`], [`output`]), and defines the
//! `isotherm` command line ([`cli`]). The viewer is a view over these same modules.
//!
//! **Architecture invariant:** plugins never see a type from this crate; everything
//! they exchange with the host is an `isotherm_sdk::abi` type.

#[cfg(feature = "gui")]
pub mod app;
pub mod audit;
pub mod cli;
pub mod config;
pub mod inputs;
pub mod io;
pub mod jobs;
pub mod loader;
pub mod output;
pub mod scene;
pub mod view;
