//! Dotted keys (`cache.profiles.prod.backend_type`) resolved against [`SCHEMA`], and helpful
//! refusals of unknown ones.

use super::schema::{KeySpec, PROFILE_KEY_PREFIX, SCHEMA, ValueType, spec, validate_profile_name};
use crate::error::{Error, Result};

/// A dotted key resolved against [`SCHEMA`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeyRef {
    /// Where the value lives in the document, one element per mapping level.
    pub(crate) path: Vec<String>,
    /// The key's spec (for `cache.profiles.<name>.KEY`, the spec of `cache.KEY`).
    pub(crate) spec: &'static KeySpec,
    /// For `cache.operation_ttls.<operation>`: the operation, one entry of the map.
    pub(crate) entry: Option<String>,
}

impl KeyRef {
    /// The type a value written at this key must have (an entry of a map is a number).
    pub(crate) fn value_type(&self) -> ValueType {
        match (self.entry.is_some(), self.spec.ty) {
            (true, ValueType::UIntMap { min, max, unit }) => ValueType::UInt { min, max, unit },
            (_, ty) => ty,
        }
    }

    /// Whether `null` may be written at this key.
    pub(crate) fn optional(&self) -> bool {
        self.entry.is_none() && self.spec.optional
    }

    /// The key as written by the user, joined with dots.
    pub(crate) fn dotted(&self) -> String {
        self.path.join(".")
    }
}

/// Resolves a dotted key (`cache.default_ttl`, `profiles.prod.region`,
/// `cache.profiles.prod.backend_type`, `cache.operation_ttls.list_users`).
///
/// An unknown key is an [`Error::config`] suggesting close keys, or listing the keys of the
/// section it points into. A profile name in the key is checked with
/// [`validate_profile_name`].
pub(crate) fn lookup(key: &str) -> Result<KeyRef> {
    if let Some(rest) = key.strip_prefix("profiles.")
        && let Some((name, field)) = rest.rsplit_once('.')
        && let Some(spec) = spec(&format!("{PROFILE_KEY_PREFIX}{field}"))
    {
        validate_profile_name(name)?;
        return Ok(KeyRef {
            path: vec!["profiles".into(), name.into(), field.into()],
            spec,
            entry: None,
        });
    }
    if let Some(rest) = key.strip_prefix("cache.profiles.") {
        // The profile name may contain dots: take the first split that leaves a cache key.
        for (i, _) in rest.match_indices('.') {
            let (name, sub) = (&rest[..i], &rest[i + 1..]);
            if let Some(inner) = lookup_plain(&format!("cache.{sub}")) {
                validate_profile_name(name)?;
                let mut path = vec!["cache".to_string(), "profiles".into(), name.into()];
                path.extend(inner.path.into_iter().skip(1));
                return Ok(KeyRef { path, ..inner });
            }
        }
    }
    lookup_plain(key).ok_or_else(|| unknown_key(key))
}

/// Resolves a key of the fixed sections (no profile name in it).
fn lookup_plain(key: &str) -> Option<KeyRef> {
    let plain = |s: &&KeySpec| !s.key.contains('<');
    if let Some(spec) = SCHEMA.iter().filter(plain).find(|s| s.key == key) {
        return Some(KeyRef {
            path: key.split('.').map(String::from).collect(),
            spec,
            entry: None,
        });
    }
    let (map_key, entry) = key.rsplit_once('.')?;
    let spec = SCHEMA
        .iter()
        .filter(plain)
        .find(|s| s.key == map_key && matches!(s.ty, ValueType::UIntMap { .. }))?;
    if entry.is_empty() {
        return None;
    }
    let mut path: Vec<String> = map_key.split('.').map(String::from).collect();
    path.push(entry.to_string());
    Some(KeyRef {
        path,
        spec,
        entry: Some(entry.to_string()),
    })
}

fn unknown_key(key: &str) -> Error {
    let close = close_keys(key);
    if !close.is_empty() {
        return Error::config(format!(
            "unknown configuration key {key:?} (did you mean {}?)",
            close.join(" or ")
        ));
    }
    if let Some(inside) = section_keys(key) {
        return Error::config(format!(
            "{key:?} is a section, not a key (its keys: {})",
            inside.join(", ")
        ));
    }
    let (scope, keys) = keys_near(key);
    Error::config(format!(
        "unknown configuration key {key:?} ({scope}: {})",
        keys.join(", ")
    ))
}

/// The fields of the specs starting with `spec_prefix`, without it.
fn fields(spec_prefix: &str) -> Vec<&'static str> {
    SCHEMA
        .iter()
        .filter_map(|s| s.key.strip_prefix(spec_prefix))
        .collect()
}

/// The keys inside `key` when it names a section (`cache`, `profiles.prod`,
/// `cache.profiles.prod`).
fn section_keys(key: &str) -> Option<Vec<String>> {
    let under = |spec_prefix: &str| -> Vec<String> {
        fields(spec_prefix)
            .into_iter()
            .map(|field| format!("{key}.{field}"))
            .collect()
    };
    let keys = match key {
        "cache" => under("cache."),
        "network" => under("network."),
        _ => match (
            key.strip_prefix("cache.profiles."),
            key.strip_prefix("profiles."),
        ) {
            (Some(name), _) if !name.is_empty() && !name.contains('.') => under("cache."),
            (None, Some(name)) if !name.is_empty() && !name.contains('.') => {
                under(PROFILE_KEY_PREFIX)
            }
            _ => Vec::new(),
        },
    };
    (!keys.is_empty()).then_some(keys)
}

/// The keys of the section `key` points into, to list when it matches none of them.
fn keys_near(key: &str) -> (&'static str, Vec<String>) {
    let list = |fields: Vec<&str>| fields.into_iter().map(String::from).collect();
    if key.starts_with("cache.profiles.") {
        (
            "cache.profiles.<name> takes the cache keys",
            list(fields("cache.")),
        )
    } else if key.starts_with("profiles.") {
        (
            "the keys of a profile are",
            list(fields(PROFILE_KEY_PREFIX)),
        )
    } else if key.starts_with("cache.") {
        ("the cache keys are", list(fields("cache.")))
    } else if key.starts_with("network.") {
        ("the network keys are", list(fields("network.")))
    } else {
        let mut all: Vec<String> = SCHEMA.iter().map(|s| s.key.to_string()).collect();
        all.push("cache.profiles.<name>.<cache key>".to_string());
        ("known keys", all)
    }
}

/// Known keys that look like `key` (a typo, or the right last word in the wrong place).
pub(crate) fn close_keys(key: &str) -> Vec<String> {
    // Compare profile-shaped keys with the user's profile name filled in.
    let name = key
        .strip_prefix("profiles.")
        .and_then(|rest| rest.rsplit_once('.'))
        .map(|(name, _)| name);
    let last = key.rsplit('.').next().unwrap_or(key);
    let mut found = Vec::new();
    for spec in SCHEMA {
        let candidate = match name {
            Some(name) => spec.key.replace("<name>", name),
            None => spec.key.to_string(),
        };
        let candidate_last = candidate.rsplit('.').next().unwrap_or(&candidate);
        let limit = (candidate.len() / 5).clamp(1, 3);
        let similar_last = last.len() > 3
            && (edit_distance(last, candidate_last) <= 1 || candidate_last.starts_with(last));
        if edit_distance(key, &candidate) <= limit || similar_last {
            found.push(candidate);
        }
    }
    found
}

/// Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}
