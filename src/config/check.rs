//! Checking document values and parsing text values (`config set`, environment variables)
//! against their [`ValueType`]. Errors are plain messages starting with the key; callers add
//! the file name or nothing (variables).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::keys::close_keys;
use super::schema::{PROFILE_KEY_PREFIX, ValueType, spec, validate_profile_name};
use crate::env::parse_bool;
use crate::error::{Error, Result};

/// A value that passed its key's check, converted to its type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Typed {
    /// `null` at an optional key.
    Null,
    /// A boolean.
    Bool(bool),
    /// A whole number.
    UInt(u64),
    /// A number.
    Number(f64),
    /// A string, path, profile name or enum choice (lower-cased).
    Text(String),
    /// An operation map.
    Map(BTreeMap<String, u64>),
}

/// Checks a value of the document against a type; `key` names it in messages and warnings.
///
/// The error is a message starting with `key`, without the file name.
pub(crate) fn check_value(
    key: &str,
    ty: ValueType,
    optional: bool,
    value: &Value,
    warnings: &mut Vec<String>,
) -> std::result::Result<Typed, String> {
    if value.is_null() {
        return if optional {
            Ok(Typed::Null)
        } else {
            Err(invalid_value(key, &ty, value))
        };
    }
    let invalid = || invalid_value(key, &ty, value);
    match ty {
        ValueType::Bool => value.as_bool().map(Typed::Bool).ok_or_else(invalid),
        ValueType::UInt { min, max, .. } => match value.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(Typed::UInt(n)),
            _ => Err(invalid()),
        },
        ValueType::Number { min, max, .. } => match value.as_f64() {
            Some(n) if n.is_finite() && n >= min && n <= max => Ok(Typed::Number(n)),
            _ => Err(invalid()),
        },
        ValueType::String | ValueType::Path => match value {
            // Unquoted numbers (an account ID used as a profile name) are strings here.
            Value::Number(n) => Ok(Typed::Text(n.to_string())),
            Value::String(s) if s.is_empty() && optional => Ok(Typed::Null),
            Value::String(s) if !s.is_empty() => Ok(Typed::Text(s.clone())),
            _ => Err(invalid()),
        },
        ValueType::Enum(choices) => match value.as_str() {
            Some(s) if choices.iter().any(|c| c.eq_ignore_ascii_case(s)) => {
                Ok(Typed::Text(s.to_ascii_lowercase()))
            }
            _ => Err(invalid()),
        },
        ValueType::ProfileName => {
            let name = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(invalid()),
            };
            match validate_profile_name(&name) {
                Ok(()) => Ok(Typed::Text(name)),
                Err(e) => Err(format!("{key}: {e}")),
            }
        }
        ValueType::UIntMap { min, max, unit } => {
            let Some(map) = value.as_object() else {
                return Err(invalid());
            };
            let entry_ty = ValueType::UInt { min, max, unit };
            let mut out = BTreeMap::new();
            for (op, v) in map {
                let entry_key = format!("{key}.{op}");
                if !is_operation_name(op) {
                    warnings.push(format!(
                        "{entry_key}: operation names are snake_case (like list_users); this \
                         entry never matches"
                    ));
                }
                match check_value(&entry_key, entry_ty, false, v, warnings)? {
                    Typed::UInt(n) => out.insert(op.clone(), n),
                    _ => return Err(invalid()),
                };
            }
            Ok(Typed::Map(out))
        }
    }
}

/// Whether `name` looks like a snake_case operation name (`list_users`).
pub(crate) fn is_operation_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn invalid_value(key: &str, ty: &ValueType, value: &Value) -> String {
    let shown = match value {
        Value::Array(_) => return format!("{key}: expected {}, found a list", ty.expectation()),
        Value::Object(_) => {
            return format!("{key}: expected {}, found a mapping", ty.expectation());
        }
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    match ty {
        ValueType::Enum(choices) => {
            format!(
                "{key}: invalid value {shown} (allowed: {})",
                choices.join(", ")
            )
        }
        _ => format!(
            "{key}: invalid value {shown} (expected {})",
            ty.expectation()
        ),
    }
}

/// Parses text (from `config set` or an environment variable) into a document value.
///
/// `null` clears an optional key. The error names `name` (the key or variable) and what is
/// allowed, e.g. `AWSIDEMAN_CACHE_TTL_DEFAULT: invalid value "-5" (expected a whole number of
/// seconds >= 0)`.
pub(crate) fn parse_text(name: &str, ty: ValueType, optional: bool, raw: &str) -> Result<Value> {
    let text = raw.trim();
    if optional && text == "null" {
        return Ok(Value::Null);
    }
    let invalid =
        |expected: String| Error::config(format!("{name}: invalid value {raw:?} ({expected})"));
    let expected = || format!("expected {}", ty.expectation());
    let value = match ty {
        ValueType::Bool => match parse_bool(text) {
            Some(b) => Value::Bool(b),
            None => return Err(invalid("expected true/false, yes/no, on/off or 1/0".into())),
        },
        ValueType::UInt { .. } => match text.parse::<u64>() {
            Ok(n) => Value::from(n),
            Err(_) => return Err(invalid(expected())),
        },
        ValueType::Number { .. } => match text.parse::<f64>() {
            // Whole numbers are stored as integers, so the file shows `20`, not `20.0`.
            Ok(n) if n.fract() == 0.0 && (0.0..9.0e15).contains(&n) => Value::from(n as u64),
            Ok(n) => match serde_json::Number::from_f64(n) {
                Some(n) => Value::Number(n),
                None => return Err(invalid(expected())),
            },
            Err(_) => return Err(invalid(expected())),
        },
        ValueType::Enum(choices) => match choices.iter().find(|c| c.eq_ignore_ascii_case(text)) {
            Some(choice) => Value::String((*choice).to_string()),
            None => return Err(invalid(format!("allowed: {}", choices.join(", ")))),
        },
        ValueType::String | ValueType::Path | ValueType::ProfileName => {
            if text.is_empty() && optional {
                Value::Null
            } else {
                Value::String(text.to_string())
            }
        }
        ValueType::UIntMap { .. } => {
            // A YAML or JSON mapping: `{list_users: 600, list_groups: 60}`.
            match serde_saphyr::from_str::<Value>(text) {
                Ok(v @ Value::Object(_)) => v,
                _ => {
                    return Err(invalid(format!(
                        "expected {}, like {{list_users: 600}}",
                        ty.expectation()
                    )));
                }
            }
        }
    };
    let mut ignored = Vec::new();
    check_value(name, ty, optional, &value, &mut ignored).map_err(|message| {
        // Re-phrase the range errors in terms of the text given.
        match ty {
            ValueType::ProfileName | ValueType::UIntMap { .. } => Error::config(message),
            _ => invalid(expected()),
        }
    })?;
    Ok(value)
}

/// Checks a whole document against [`SCHEMA`]; returns warnings (unknown keys and the like).
///
/// The error is the first invalid value, as a message starting with its key.
pub(crate) fn check_document(doc: &Map<String, Value>) -> std::result::Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    if let Some(v) = doc.get("default_profile")
        && let Some(spec) = spec("default_profile")
    {
        check_value(spec.key, spec.ty, spec.optional, v, &mut warnings)?;
    }
    let profiles = section(doc, "profiles")?;
    if let Some(profiles) = profiles {
        for (name, block) in profiles {
            let at = format!("profiles.{name}");
            validate_profile_name(name).map_err(|e| format!("{at}: {e}"))?;
            let Some(block) = as_section(block, &at)? else {
                continue;
            };
            for (field, v) in block {
                let key = format!("{at}.{field}");
                match spec(&format!("{PROFILE_KEY_PREFIX}{field}")) {
                    Some(s) => {
                        check_value(&key, s.ty, s.optional, v, &mut warnings)?;
                    }
                    None => warnings.push(unknown_key_warning(&key)),
                }
            }
        }
    }
    if let (Some(default), Some(profiles)) =
        (doc.get("default_profile").and_then(Value::as_str), profiles)
        && !profiles.contains_key(default)
    {
        warnings.push(format!(
            "default_profile: no profile named {default:?} is defined"
        ));
    }
    if let Some(cache) = section(doc, "cache")? {
        for (field, v) in cache {
            if field == "profiles" {
                let Some(overrides) = as_section(v, "cache.profiles")? else {
                    continue;
                };
                for (name, block) in overrides {
                    let at = format!("cache.profiles.{name}");
                    if profiles.is_none_or(|p| !p.contains_key(name)) {
                        warnings.push(format!("{at}: no profile named {name:?} is defined"));
                    }
                    let Some(block) = as_section(block, &at)? else {
                        continue;
                    };
                    check_fields(block, "cache", &at, &mut warnings)?;
                }
            } else {
                check_fields_one(field, v, "cache", "cache", &mut warnings)?;
            }
        }
    }
    if let Some(network) = section(doc, "network")? {
        check_fields(network, "network", "network", &mut warnings)?;
    }
    Ok(warnings)
}

/// Checks every field of a section; `spec_prefix` is where the specs live, `at` where the
/// fields are.
fn check_fields(
    block: &Map<String, Value>,
    spec_prefix: &str,
    at: &str,
    warnings: &mut Vec<String>,
) -> std::result::Result<(), String> {
    for (field, v) in block {
        check_fields_one(field, v, spec_prefix, at, warnings)?;
    }
    Ok(())
}

fn check_fields_one(
    field: &str,
    v: &Value,
    spec_prefix: &str,
    at: &str,
    warnings: &mut Vec<String>,
) -> std::result::Result<(), String> {
    let key = format!("{at}.{field}");
    match spec(&format!("{spec_prefix}.{field}")) {
        Some(s) if field != "profiles" => {
            check_value(&key, s.ty, s.optional, v, warnings)?;
        }
        _ => warnings.push(unknown_key_warning(&key)),
    }
    Ok(())
}

fn unknown_key_warning(key: &str) -> String {
    let close = close_keys(key);
    if close.is_empty() {
        format!("{key}: unknown key, ignored")
    } else {
        format!(
            "{key}: unknown key, ignored (did you mean {}?)",
            close.join(" or ")
        )
    }
}

/// The mapping at `doc[name]`: `None` when absent or `null`, an error when not a mapping.
pub(crate) fn section<'a>(
    doc: &'a Map<String, Value>,
    name: &str,
) -> std::result::Result<Option<&'a Map<String, Value>>, String> {
    match doc.get(name) {
        None => Ok(None),
        Some(v) => as_section(v, name),
    }
}

/// A value that must be a mapping or `null`.
pub(crate) fn as_section<'a>(
    value: &'a Value,
    at: &str,
) -> std::result::Result<Option<&'a Map<String, Value>>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Object(map) => Ok(Some(map)),
        Value::Array(_) => Err(format!("{at}: expected a mapping, found a list")),
        other => Err(format!("{at}: expected a mapping, found {other}")),
    }
}
