//! `isotherm plugins list|info`.

use abi_stable::std_types::ROption;
use isotherm_sdk::abi::ParamKind;
use serde_json::json;

use super::{Context, EXIT_FAILED};
use crate::loader::{kind_name_node, tier_name};

/// Lists loaded plugins, then refused ones with their reason. Exit 0 even with
/// refusals: listing them is the point.
pub fn list(ctx: &Context, as_json: bool) -> i32 {
    let registry = ctx.registry();
    if as_json {
        let value = json!({
            "plugins": registry.plugins.iter().map(|p| json!({
                "id": p.id(), "name": p.manifest.name, "version": p.manifest.version,
                "tier": tier_name(p.manifest.tier), "category": p.manifest.category,
                "library": p.library, "library_sha256": p.library_sha256,
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
        println!("Refused plugins:");
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
        match registry.refusal(id) {
            Some(r) => eprintln!("error: plugin '{id}' was refused: {}", r.reason),
            None => eprintln!("error: no plugin '{id}' (see `isotherm plugins list`)"),
        }
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
