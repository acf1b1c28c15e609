//! Declaring parameters and inputs once, and resolving user-given values against the
//! declaration. The host (CLI and viewer) and `sdk::testing` share [`resolve`], so a
//! plugin sees the same validated request however it is run.

use abi_stable::std_types::{ROption, RString, RVec};

use crate::abi::{
    InputKind, InputSpec, NamedParam, NodeKind, OutputSpec, ParamKind, ParamSpec, ParamValue,
    PluginDescriptor,
};

impl ParamSpec {
    fn base(name: &str, label: &str, kind: ParamKind) -> Self {
        ParamSpec {
            name: name.into(),
            label: label.into(),
            kind,
            default: ROption::RNone,
            min: ROption::RNone,
            max: ROption::RNone,
            unit: RString::new(),
            help: RString::new(),
            choices: RVec::new(),
        }
    }
    pub fn number(name: &str, label: &str, default: f64) -> Self {
        Self::base(name, label, ParamKind::Number).with_default(ParamValue::Number(default))
    }
    pub fn integer(name: &str, label: &str, default: i64) -> Self {
        Self::base(name, label, ParamKind::Integer).with_default(ParamValue::Integer(default))
    }
    pub fn bool(name: &str, label: &str, default: bool) -> Self {
        Self::base(name, label, ParamKind::Bool).with_default(ParamValue::Bool(default))
    }
    pub fn choice(name: &str, label: &str, choices: &[&str], default: &str) -> Self {
        let mut p = Self::base(name, label, ParamKind::Choice).with_default(ParamValue::Choice(default.into()));
        p.choices = choices.iter().map(|c| RString::from(*c)).collect();
        p
    }
    /// A required world point (no default).
    pub fn point(name: &str, label: &str) -> Self {
        Self::base(name, label, ParamKind::Point)
    }
    /// A world point that may be left unset ([`Request::optional_point`] is `None`
    /// then). Unset is carried as the all-NaN point, written `unset`: no ABI change.
    ///
    /// [`Request::optional_point`]: crate::plugin::Request::optional_point
    pub fn optional_point(name: &str, label: &str) -> Self {
        Self::base(name, label, ParamKind::Point).with_default(ParamValue::Point(UNSET_POINT))
    }
    pub fn with_default(mut self, value: ParamValue) -> Self {
        self.default = ROption::RSome(value);
        self
    }
    pub fn required(mut self) -> Self {
        self.default = ROption::RNone;
        self
    }
    pub fn range(mut self, min: f64, max: f64) -> Self {
        self.min = ROption::RSome(min);
        self.max = ROption::RSome(max);
        self
    }
    pub fn unit(mut self, unit: &str) -> Self {
        self.unit = unit.into();
        self
    }
    pub fn help(mut self, help: &str) -> Self {
        self.help = help.into();
        self
    }
}

impl InputSpec {
    pub fn volume(name: &str, label: &str) -> Self {
        InputSpec { name: name.into(), label: label.into(), kind: InputKind::Volume, required: true, help: RString::new() }
    }
    pub fn label_map(name: &str, label: &str) -> Self {
        InputSpec { kind: InputKind::LabelMap, ..Self::volume(name, label) }
    }
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }
    pub fn help(mut self, help: &str) -> Self {
        self.help = help.into();
        self
    }
}

impl OutputSpec {
    pub fn new(name: &str, kind: NodeKind, help: &str) -> Self {
        OutputSpec { name: name.into(), kind, help: help.into() }
    }
}

impl PluginDescriptor {
    /// Starts a descriptor; `sdk_version` is filled in by `export_plugin!`.
    pub fn new(id: &str, name: &str, version: &str) -> Self {
        PluginDescriptor {
            id: id.into(),
            name: name.into(),
            version: version.into(),
            sdk_version: crate::abi::SDK_VERSION.into(),
            description: RString::new(),
            inputs: RVec::new(),
            outputs: RVec::new(),
            params: RVec::new(),
        }
    }
    pub fn description(mut self, text: &str) -> Self {
        self.description = text.into();
        self
    }
    pub fn input(mut self, input: InputSpec) -> Self {
        self.inputs.push(input);
        self
    }
    pub fn output(mut self, output: OutputSpec) -> Self {
        self.outputs.push(output);
        self
    }
    pub fn param(mut self, param: ParamSpec) -> Self {
        self.params.push(param);
        self
    }
}

/// The value of an [`ParamSpec::optional_point`] nobody set.
pub const UNSET_POINT: [f64; 3] = [f64::NAN; 3];

/// Whether a point is [`UNSET_POINT`].
pub fn is_unset(p: &[f64; 3]) -> bool {
    p.iter().all(|c| c.is_nan())
}

/// Parses a textual value (`--param name=value`) as the declared kind.
pub fn parse_value(spec: &ParamSpec, text: &str) -> Result<ParamValue, String> {
    let text = text.trim();
    let name = spec.name.as_str();
    match spec.kind {
        ParamKind::Number => text.parse::<f64>().map(ParamValue::Number).map_err(|_| format!("parameter '{name}': '{text}' is not a number")),
        ParamKind::Integer => text.parse::<i64>().map(ParamValue::Integer).map_err(|_| format!("parameter '{name}': '{text}' is not an integer")),
        ParamKind::Bool => match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "on" => Ok(ParamValue::Bool(true)),
            "false" | "no" | "0" | "off" => Ok(ParamValue::Bool(false)),
            _ => Err(format!("parameter '{name}': '{text}' is not true/false")),
        },
        ParamKind::Choice => Ok(ParamValue::Choice(text.into())),
        ParamKind::VolumeRef => Ok(ParamValue::VolumeRef(text.into())),
        ParamKind::Point if text.is_empty() || text.eq_ignore_ascii_case("unset") => Ok(ParamValue::Point(UNSET_POINT)),
        ParamKind::Point => {
            let parts: Vec<_> = text.split(',').map(|p| p.trim().parse::<f64>()).collect();
            match parts.as_slice() {
                [Ok(x), Ok(y), Ok(z)] => Ok(ParamValue::Point([*x, *y, *z])),
                _ => Err(format!("parameter '{name}': '{text}' is not a point 'x,y,z' in mm")),
            }
        }
    }
}

/// A value as `--param` text (the inverse of [`parse_value`]).
pub fn format_value(v: &ParamValue) -> String {
    match v {
        ParamValue::Number(x) => format!("{x}"),
        ParamValue::Integer(x) => format!("{x}"),
        ParamValue::Bool(x) => format!("{x}"),
        ParamValue::Choice(x) | ParamValue::VolumeRef(x) => x.to_string(),
        ParamValue::Point(p) if is_unset(p) => "unset".into(),
        ParamValue::Point(p) => format!("{},{},{}", p[0], p[1], p[2]),
    }
}

/// Checks one value against its declaration: kind, range, choices, finiteness.
pub fn check_value(spec: &ParamSpec, value: &ParamValue) -> Result<(), String> {
    let name = spec.name.as_str();
    let numeric = match (spec.kind, value) {
        (ParamKind::Number, ParamValue::Number(x)) => Some(*x),
        (ParamKind::Integer, ParamValue::Integer(x)) => Some(*x as f64),
        (ParamKind::Bool, ParamValue::Bool(_)) | (ParamKind::VolumeRef, ParamValue::VolumeRef(_)) => None,
        (ParamKind::Point, ParamValue::Point(p)) => {
            let may_be_unset = matches!(&spec.default, ROption::RSome(ParamValue::Point(d)) if is_unset(d));
            if is_unset(p) && !may_be_unset {
                return Err(format!("parameter '{name}' is required (a point 'x,y,z' in mm)"));
            }
            if p.iter().all(|c| c.is_finite()) || is_unset(p) {
                None
            } else {
                return Err(format!("parameter '{name}': point has a non-finite coordinate"));
            }
        }
        (ParamKind::Choice, ParamValue::Choice(c)) => {
            if spec.choices.iter().any(|k| k == c) {
                None
            } else {
                let allowed: Vec<_> = spec.choices.iter().map(|c| c.as_str()).collect();
                return Err(format!("parameter '{name}': '{c}' is not one of {}", allowed.join(", ")));
            }
        }
        (kind, v) => {
            return Err(format!("parameter '{name}' is declared {kind:?} but was given {v:?}"));
        }
    };
    if let Some(x) = numeric {
        if !x.is_finite() {
            return Err(format!("parameter '{name}': {x} is not finite"));
        }
        if let ROption::RSome(min) = spec.min {
            if x < min {
                return Err(format!("parameter '{name}': {x} is below the minimum {min} {}", spec.unit));
            }
        }
        if let ROption::RSome(max) = spec.max {
            if x > max {
                return Err(format!("parameter '{name}': {x} is above the maximum {max} {}", spec.unit));
            }
        }
    }
    Ok(())
}

/// Resolves user-given `name=value` texts against the declared parameters: unknown
/// names are refused, missing ones take their default (or are refused when required),
/// and every value is checked. Returns the full parameter list in declaration order.
pub fn resolve(specs: &[ParamSpec], given: &[(String, String)]) -> Result<RVec<NamedParam>, String> {
    for (name, _) in given {
        spec_of(specs, name)?;
    }
    let mut out = RVec::new();
    for spec in specs {
        let value = match given.iter().rev().find(|(n, _)| n == spec.name.as_str()) {
            Some((_, text)) => parse_value(spec, text)?,
            None => match &spec.default {
                ROption::RSome(v) => v.clone(),
                ROption::RNone => return Err(format!("parameter '{}' is required", spec.name)),
            },
        };
        check_value(spec, &value)?;
        out.push(NamedParam { name: spec.name.clone(), value });
    }
    Ok(out)
}

/// The declaration of parameter `name`, or the error naming what the plugin takes.
fn spec_of<'a>(specs: &'a [ParamSpec], name: &str) -> Result<&'a ParamSpec, String> {
    specs.iter().find(|s| s.name.as_str() == name).ok_or_else(|| {
        let known: Vec<_> = specs.iter().map(|s| s.name.as_str()).collect();
        format!("unknown parameter '{name}' (this plugin takes: {})", known.join(", "))
    })
}

/// Parses and checks only the parameters `given` (a session's update): unknown names
/// and bad values are errors, as in [`resolve`]; the last value of a name wins.
pub fn resolve_changes(specs: &[ParamSpec], given: &[(String, String)]) -> Result<RVec<NamedParam>, String> {
    let mut out: RVec<NamedParam> = RVec::new();
    for (name, text) in given {
        let spec = spec_of(specs, name)?;
        let value = parse_value(spec, text)?;
        check_value(spec, &value)?;
        out.retain(|p| p.name != spec.name);
        out.push(NamedParam { name: spec.name.clone(), value });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<ParamSpec> {
        vec![
            ParamSpec::number("threshold", "Threshold", 100.0).range(-1000.0, 3000.0).unit("HU"),
            ParamSpec::choice("mode", "Mode", &["fast", "exact"], "exact"),
            ParamSpec::point("target", "Target"),
            ParamSpec::bool("smooth", "Smooth", true),
        ]
    }

    #[test]
    fn defaults_fill_in_and_values_parse() {
        let p = resolve(&specs(), &[("target".into(), "1, 2.5,-3".into()), ("smooth".into(), "off".into())]).unwrap();
        assert_eq!(p[0].value, ParamValue::Number(100.0));
        assert_eq!(p[1].value, ParamValue::Choice("exact".into()));
        assert_eq!(p[2].value, ParamValue::Point([1.0, 2.5, -3.0]));
        assert_eq!(p[3].value, ParamValue::Bool(false));
        // An optional point left out is unset, and round-trips as text.
        let spec = ParamSpec::optional_point("entry", "Entry");
        let unset = resolve(std::slice::from_ref(&spec), &[]).unwrap();
        assert!(matches!(unset[0].value, ParamValue::Point(p) if is_unset(&p)));
        assert_eq!(format_value(&unset[0].value), "unset");
        assert_eq!(parse_value(&spec, "unset").map(|v| format_value(&v)), Ok("unset".into()));
        assert!(check_value(&spec, &ParamValue::Point([1.0, f64::NAN, 2.0])).is_err());
        // A required point cannot be left unset by giving it empty.
        let required = ParamSpec::point("tip", "Tip");
        assert!(resolve(std::slice::from_ref(&required), &[("tip".into(), "".into())]).is_err());
        // Text round trip, as the viewer's form and `plugins info` show values.
        for (spec, param) in specs().iter().zip(p.iter()) {
            assert_eq!(parse_value(spec, &format_value(&param.value)).unwrap(), param.value);
        }
    }

    #[test]
    fn bad_values_are_refused_with_the_parameter_named() {
        let t = ("target".to_string(), "0,0,0".to_string());
        let e = resolve(&specs(), &[t.clone(), ("threshold".into(), "5000".into())]).unwrap_err();
        assert!(e.contains("threshold") && e.contains("maximum 3000"), "{e}");
        let e = resolve(&specs(), &[t.clone(), ("mode".into(), "slow".into())]).unwrap_err();
        assert!(e.contains("'slow' is not one of fast, exact"), "{e}");
        let e = resolve(&specs(), &[t.clone(), ("treshold".into(), "1".into())]).unwrap_err();
        assert!(e.contains("unknown parameter 'treshold'"), "{e}");
        let e = resolve(&specs(), &[]).unwrap_err();
        assert!(e.contains("'target' is required"), "{e}");
        let e = resolve(&specs(), &[t, ("threshold".into(), "NaN".into())]).unwrap_err();
        assert!(e.contains("not finite"), "{e}");
    }
}
