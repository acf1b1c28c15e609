//! `isotherm plugins list|info`.

use abi_stable::std_types::ROption;
use isotherm_sdk::abi::ParamKind;
use serde_json::json;

use super::{Context, EXIT_FAILED};
use crate::loader::{kind_name_node, tier_name};

/// Lists loaded plugins, then refused ones with their reason. Exit 0 even with
/// refusals: listing them is the point (`plugins check` is the one for scripts).
pub fn list(ctx: &Context, as_json: bool) -> i32 {
    let registry = ctx.registry();
    if as_json {
        let value = json!({
            "plugins": registry.plugins.iter().map(|p| json!({
                "id": p.id(), "name": p.manifest.name, "version": p.manifest.version,
                "tier": tier_name(p.manifest.tier), "category": p.manifest.category,
                "library": p.library, "library_sha256": p.library_sha256,
                "sessions": p.offers_sessions(), "sdk": p.descriptor.sdk_version.as_str(),
            })).collect::<Vec<_>>(),
            "refused": registry.refused.iter().map(|r| json!({
                "id": r.id, "manifest": r.path, "reason": r.reason,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        return 0;
    }
    if registry.plugins.is_empty() && registry.refused.is_empty() {
        println!("No plugins found. Searched: {}", ctx.search.plugin_dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "));
        return 0;
    }
    if !registry.plugins.is_empty() {
        println!("Loaded plugins:");
        for p in &registry.plugins {
            println!("  {:<16} {:<8} {:<9} {:<13} {}", p.id(), p.manifest.version, tier_name(p.manifest.tier), p.manifest.category, p.manifest.name);
        }
    }
    if !registry.refused.is_empty() {
        println!("Refused plugins ({}; `isotherm plugins check` exits non-zero for them):", registry.refused.len());
        for r in &registry.refused {
            println!("  {}", r);
            if ctx.verbose {
                if let Some(d) = &r.detail {
                    for line in d.lines() {
                        println!("      {line}");
                    }
                }
            }
        }
    }
    0
}

/// Prints one plugin in full, or why it was refused.
pub fn info(ctx: &Context, id: &str) -> i32 {
    let registry = ctx.registry();
    let Some(p) = registry.get(id) else {
        eprintln!("error: {}", registry.explain_missing(id, &ctx.search));
        return EXIT_FAILED;
    };
    let m = &p.manifest;
    println!("{} {} — {}", m.id, m.version, m.name);
    println!("  {}", m.description);
    println!("  tier: {}   category: {}   license: {}   SDK: {}", tier_name(m.tier), m.category, m.license, p.descriptor.sdk_version);
    if !m.authors.is_empty() {
        println!("  authors: {}", m.authors.join(", "));
    }
    println!("  library: {} (sha256 {})", p.library.display(), p.library_sha256);
    if p.offers_sessions() {
        println!("  sessions: yes (interactive: the viewer's live panel, `isotherm session {} --script STEPS.toml`)", m.id);
    }
    println!("Inputs:");
    for i in p.descriptor.inputs.iter() {
        println!("  --input {}=FILE   {:?}{}  {}", i.name, i.kind, if i.required { "" } else { ", optional" }, i.help);
    }
    println!("Parameters:");
    for s in p.descriptor.params.iter() {
        let default = match &s.default {
            ROption::RSome(v) => format!("default {}", isotherm_sdk::params::format_value(v)),
            ROption::RNone => "required".to_string(),
        };
        let range = match (&s.min, &s.max) {
            (ROption::RSome(a), ROption::RSome(b)) => format!(", {a}..{b}"),
            _ => String::new(),
        };
        let choices = if s.kind == ParamKind::Choice { format!(", one of {}", s.choices.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("|")) } else { String::new() };
        println!("  --param {}=…  {:?} {}{}{}{}  {}", s.name, s.kind, default, range, choices, if s.unit.is_empty() { String::new() } else { format!(" [{}]", s.unit) }, s.help);
    }
    println!("Outputs:");
    for o in p.descriptor.outputs.iter() {
        println!("  {:<20} {:<9} {}", o.name, kind_name_node(o.kind), o.help);
    }
    if !p.models.is_empty() {
        println!("Models (hash-checked):");
        for (model, spec) in p.models.iter().zip(&m.models) {
            println!("  {}  {}  sha256 {}{}", model.name, model.path, model.sha256, spec.card.as_ref().map(|c| format!("  card: {c}")).unwrap_or_default());
        }
    }
    0
}

/// Exit 0 when every plugin found (or every id given) loads, 1 otherwise; one line each.
pub fn check(ctx: &Context, ids: &[String]) -> i32 {
    let registry = ctx.registry();
    let mut failed = 0;
    if ids.is_empty() {
        for p in &registry.plugins {
            println!("ok       {} {}", p.id(), p.manifest.version);
        }
        for r in &registry.refused {
            println!("refused  {r}");
            failed += 1;
        }
        if registry.plugins.is_empty() && registry.refused.is_empty() {
            eprintln!("error: no plugins found (searched: {})", ctx.search.plugin_dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", "));
            return EXIT_FAILED;
        }
    } else {
        for id in ids {
            match registry.get(id) {
                Some(p) => println!("ok       {} {}", p.id(), p.manifest.version),
                None => {
                    println!("refused  {}", registry.explain_missing(id, &ctx.search));
                    failed += 1;
                }
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} plugin(s) refused or missing");
        return EXIT_FAILED;
    }
    0
}

/// Prints (or writes) the `plugin.toml` that fits a built library.
pub fn manifest(library: &std::path::Path, out: Option<&std::path::Path>, force: bool) -> i32 {
    let descriptor = match crate::loader::describe_library(library) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILED;
        }
    };
    let file = library.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = file.strip_prefix(std::env::consts::DLL_PREFIX).unwrap_or(&file);
    let stem = stem.strip_suffix(std::env::consts::DLL_SUFFIX).unwrap_or(stem);
    let text = format!(
        "# plugin.toml for {} {}, written by `isotherm plugins manifest` from the library's describe().\n# Put it beside the crate's Cargo.toml; the host checks it against the library at every load.\n{}",
        descriptor.id,
        descriptor.version,
        isotherm_sdk::manifest::Manifest::template_for(&descriptor, stem)
    );
    match out {
        None => {
            print!("{text}");
            0
        }
        Some(path) if path.exists() && !force => {
            eprintln!("error: {} exists (--force overwrites it)", path.display());
            super::EXIT_USAGE
        }
        Some(path) => match std::fs::write(path, text) {
            Ok(()) => {
                println!("wrote {}", path.display());
                0
            }
            Err(e) => {
                eprintln!("error: {}: cannot write: {e}", path.display());
                EXIT_FAILED
            }
        },
    }
}
