//! abi_stable's layout report in one line: which type differs, where it is reached
//! from the root module, and how. The full report (often over a thousand lines, with
//! the cause at the very end) stays available for `--verbose`.

use abi_stable::StableAbi;
use abi_stable::abi_stability::abi_checking::{AbiInstability, AbiInstabilityErrors, ExpectedFound, check_layout_compatibility};
use abi_stable::type_layout::{TLFieldOrFunction, TypeLayout};
use isotherm_sdk::abi::PluginModRef;

/// The one-line summary for a library whose root module has `layout`: abi_stable's
/// loader hands back only the formatted report, so the check is run again here (on the
/// host's checker, as the loader does) to get the structured differences.
pub fn summary_for(layout: Option<&'static TypeLayout>) -> Option<String> {
    let errors = check_layout_compatibility(<PluginModRef as StableAbi>::LAYOUT, layout?).err()?;
    Some(summary(&errors))
}

/// `type Geometry (reached through run > RunRequest.inputs > ...): the primitive differs
/// (host f64, plugin f32)`; the first difference found, plus a count of the others.
pub fn summary(report: &AbiInstabilityErrors) -> String {
    // A type defined in another crate differs in name and package before anything else;
    // the structural difference (a field, a variant, a primitive) is the one to show.
    let structural = |e: &AbiInstability| !matches!(e, AbiInstability::Package(_) | AbiInstability::PackageVersion(_) | AbiInstability::Name(_));
    let with_errors = || report.errors.iter().filter(|e| !e.errs.is_empty());
    let Some(first) = with_errors().find(|e| e.errs.iter().any(structural)).or_else(|| with_errors().next()) else {
        return "the type layouts differ".into();
    };
    // Numeric names are abi_stable's own wrappers (a prefix reference's pointer).
    let path: Vec<String> = first.stack_trace.iter().map(|step| step_name(&step.expected)).filter(|n| !n.chars().all(|c| c.is_ascii_digit())).collect();
    let ty = match first.stack_trace.last() {
        Some(step) => type_name(&step.expected),
        None => report.interface.full_type().to_string(),
    };
    let mut errs: Vec<&AbiInstability> = first.errs.iter().filter(|e| structural(e)).collect();
    if errs.is_empty() {
        errs = first.errs.iter().collect();
    }
    let causes: Vec<String> = errs.into_iter().take(2).map(cause).collect();
    let mut text = format!("type `{ty}`");
    if !path.is_empty() {
        text.push_str(&format!(" at {}", path.join(".")));
    }
    text.push_str(&format!(": {}", causes.join("; ")));
    let others = report.errors.iter().map(|e| e.errs.len()).sum::<usize>().saturating_sub(causes.len());
    if others > 0 {
        text.push_str(&format!(" (and {others} more difference(s))"));
    }
    text
}

fn step_name(step: &TLFieldOrFunction) -> String {
    match step {
        TLFieldOrFunction::Field(f) => f.name().to_string(),
        TLFieldOrFunction::Function(f) => f.name.to_string(),
    }
}

fn type_name(step: &TLFieldOrFunction) -> String {
    match step {
        TLFieldOrFunction::Field(f) => f.layout().full_type().to_string(),
        TLFieldOrFunction::Function(f) => format!("fn {}", f.name),
    }
}

fn pair<T: std::fmt::Display>(what: &str, ef: &ExpectedFound<T>) -> String {
    format!("{what} (host {}, plugin {})", ef.expected, ef.found)
}

fn pair_debug<T: std::fmt::Debug>(what: &str, ef: &ExpectedFound<T>) -> String {
    format!("{what} (host {:?}, plugin {:?})", ef.expected, ef.found)
}

/// abi_stable's own wording where it is clear, with host and plugin values.
fn cause(e: &AbiInstability) -> String {
    use AbiInstability as A;
    match e {
        A::Name(v) => pair("another type", v),
        A::Size(v) => pair("the size in bytes differs", v),
        A::Alignment(v) => pair("the alignment differs", v),
        A::FieldCountMismatch(v) => pair("the number of fields differs", v),
        A::TooManyVariants(v) => pair("too many variants", v),
        A::UnexpectedVariant(v) => pair("an unexpected variant", v),
        A::UnexpectedField(v) => format!("an unexpected field (host `{}`, plugin `{}`)", v.expected.name(), v.found.name()),
        A::MismatchedPrimitive(v) => pair_debug("the primitive differs", v),
        A::TLDataDiscriminant(v) => pair_debug("struct, enum or union differs", v),
        A::ReprAttr(v) => pair_debug("the repr differs", v),
        A::EnumDiscriminant(v) => pair_debug("enum discriminants differ", v),
        A::MismatchedPrefixSize(v) => pair("the prefix of the root module differs", v),
        A::Package(v) => pair("from another crate", v),
        A::PackageVersion(v) => pair("another crate version", v),
        other => {
            let text = format!("{other:?}");
            text.chars().take(160).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use abi_stable::StableAbi;

    use super::*;

    mod host_side {
        #[repr(u8)]
        #[derive(abi_stable::StableAbi)]
        pub enum NodeKind {
            Volume,
            Mesh,
        }
        #[repr(C)]
        #[derive(abi_stable::StableAbi)]
        pub struct Output {
            pub count: u32,
            pub kind: NodeKind,
        }
    }

    mod plugin_side {
        #[repr(u8)]
        #[derive(abi_stable::StableAbi)]
        pub enum NodeKind {
            Volume,
            Mesh,
            Isotherm,
        }
        #[repr(C)]
        #[derive(abi_stable::StableAbi)]
        pub struct Output {
            pub count: u32,
            pub kind: NodeKind,
        }
    }

    #[test]
    fn the_one_line_names_the_type_the_path_and_the_cause() {
        let errors = check_layout_compatibility(<host_side::Output as StableAbi>::LAYOUT, <plugin_side::Output as StableAbi>::LAYOUT).unwrap_err();
        let line = summary(&errors);
        assert!(line.contains("type `NodeKind` at kind") && line.contains("too many variants (host 2, plugin 3)"), "{line}");
        assert!(!line.contains('\n'));
    }
}
