//! `cache status|clear|cleanup|inspect|warm`: looking after the response cache.
//!
//! These commands read the cache directly (no AWS call), except `warm`, which runs read
//! commands in this process so their answers land in the cache.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Context;
use crate::audit::{Event, EventKind};
use crate::cache::{CacheKey, CacheManager, EntryInfo, Invalidation};
use crate::clock::now_secs;
use crate::commands::args::Matches;
use crate::config::{BackendType, CacheSettings, EncryptionType};
use crate::error::{Error, Result};
use crate::output::{Column, Report, View};

const STATUS_FIELDS: &[Column] = &[
    Column::new("Enabled", "enabled"),
    Column::new("Backend", "backend"),
    Column::new("Location", "location"),
    Column::new("Encryption", "encryption"),
    Column::new("Entries", "entries.total"),
    Column::new("Valid", "entries.valid"),
    Column::new("Expired", "entries.expired"),
    Column::new("Corrupt", "entries.corrupt"),
    Column::new("Size (bytes)", "bytes"),
    Column::new("Limit (bytes)", "limitBytes"),
    Column::new("Hits", "counters.hits"),
    Column::new("Misses", "counters.misses"),
    Column::new("Oldest (s)", "oldestAgeSeconds"),
    Column::new("Newest (s)", "newestAgeSeconds"),
];

const OPERATION_COLUMNS: &[Column] = &[
    Column::new("Service", "service"),
    Column::new("Operation", "operation"),
    Column::new("Entries", "entries"),
    Column::new("Bytes", "bytes"),
];

const SIDE_COLUMNS: &[Column] = &[
    Column::new("Side", "side"),
    Column::new("Backend", "backend"),
    Column::new("Location", "location"),
    Column::new("Entries", "entries"),
    Column::new("Bytes", "bytes"),
];

const ENTRY_COLUMNS: &[Column] = &[
    Column::new("Key", "shortKey"),
    Column::new("Operation", "operation"),
    Column::new("Profile", "profile"),
    Column::new("Age (s)", "ageSeconds"),
    Column::new("TTL left (s)", "ttlLeftSeconds"),
    Column::new("Bytes", "bytes"),
    Column::new("Status", "status"),
];

/// The cache of the current profile, or a usage error when caching is off.
fn cache(ctx: &Context) -> Result<CacheManager> {
    ctx.open_cache()?.ok_or_else(|| {
        Error::usage("the cache is disabled (cache.enabled: false or AWSIDEMAN_CACHE_ENABLED)")
    })
}

/// An entry as listed: its header fields and its state now.
fn entry_json(entry: &EntryInfo, now: u64) -> Value {
    match &entry.header {
        Some(h) => json!({
            "key": entry.key.as_str(),
            "shortKey": &entry.key.as_str()[..12],
            "service": h.service,
            "operation": h.operation,
            "profile": h.profile,
            "encryption": h.encryption,
            "createdAt": h.created_at,
            "expiresAt": h.expires_at,
            "ageSeconds": now.saturating_sub(h.created_at),
            "ttlLeftSeconds": h.expires_at.saturating_sub(now),
            "bytes": entry.size,
            "status": if h.expires_at > now { "valid" } else { "expired" },
        }),
        None => json!({
            "key": entry.key.as_str(),
            "shortKey": &entry.key.as_str()[..12],
            "bytes": entry.size,
            "status": "corrupt",
        }),
    }
}

/// Warns when a cache shared with others (a DynamoDB table, directly or behind the hybrid
/// backend's local copies) holds unauthenticated entries: whoever can write the table can
/// then make awsideman print what they like. Encryption authenticates every entry.
pub(crate) fn warn_if_shared_without_encryption(ctx: &Context, settings: &CacheSettings) {
    let shared = matches!(
        settings.backend_type,
        BackendType::Dynamodb | BackendType::Hybrid
    );
    let encrypted = settings.encryption_enabled && settings.encryption_type != EncryptionType::None;
    if shared && !encrypted {
        ctx.warn(format!(
            "the {} cache backend shares DynamoDB table {} without encryption: anyone who can \
             write that table can forge the answers awsideman prints (entries carry a checksum, \
             not a MAC); encryption authenticates every entry: run 'awsideman cache encryption \
             enable'",
            settings.backend_type, settings.dynamodb_table_name
        ));
    }
}

/// `cache status`.
pub(crate) fn status(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    let settings = ctx.cache_settings()?;
    if !settings.enabled {
        let data = json!({"enabled": false});
        return Ok(Report::message(data, "the cache is disabled"));
    }
    warn_if_shared_without_encryption(ctx, &settings);
    let cache = cache(ctx)?;
    let backend = cache.backend();
    let now = now_secs();
    let entries = backend.entries()?;
    let listed: Vec<Value> = entries.iter().map(|e| entry_json(e, now)).collect();
    let count = |status: &str| listed.iter().filter(|e| e["status"] == status).count();
    let mut operations: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for e in listed.iter().filter(|e| e["status"] != "corrupt") {
        let slot = operations
            .entry((
                e["service"].as_str().unwrap_or("").to_string(),
                e["operation"].as_str().unwrap_or("").to_string(),
            ))
            .or_default();
        slot.0 += 1;
        slot.1 += e["bytes"].as_u64().unwrap_or(0);
    }
    let ages: Vec<u64> = listed
        .iter()
        .filter_map(|e| e["ageSeconds"].as_u64())
        .collect();
    let stats = backend.stats()?;
    let counters = cache.total_counters();
    let data = json!({
        "enabled": true,
        "backend": backend.name(),
        "location": backend.location(),
        "encryption": if settings.encryption_enabled { settings.encryption_type.as_str() } else { "none" },
        "entries": {
            "total": listed.len(),
            "valid": count("valid"),
            "expired": count("expired"),
            "corrupt": count("corrupt"),
        },
        "bytes": stats.bytes,
        "limitBytes": stats.limit_bytes,
        "counters": counters,
        "oldestAgeSeconds": ages.iter().max(),
        "newestAgeSeconds": ages.iter().min(),
        "sides": backend.parts().into_iter().map(|(side, part)| {
            let stats = part.stats().unwrap_or_default();
            json!({"side": side, "backend": part.name(), "location": part.location(),
                   "entries": stats.entries, "bytes": stats.bytes})
        }).collect::<Vec<_>>(),
        "operations": operations.into_iter().map(|((service, operation), (entries, bytes))| {
            json!({"service": service, "operation": operation, "entries": entries, "bytes": bytes})
        }).collect::<Vec<_>>(),
    });
    Ok(Report::new(
        data,
        View::Sections(vec![
            (
                "Cache".into(),
                View::Record {
                    path: "",
                    fields: STATUS_FIELDS,
                },
            ),
            (
                "Entries by operation".into(),
                View::List {
                    path: "operations",
                    columns: OPERATION_COLUMNS,
                },
            ),
            (
                "Sides".into(),
                View::List {
                    path: "sides",
                    columns: SIDE_COLUMNS,
                },
            ),
        ]),
    ))
}

/// Whether a listed entry matches `--operation` (ListUsers or list_users) and `--profile`.
fn matches_filters(entry: &Value, m: &Matches) -> bool {
    let operation_ok = m.value("operation").is_none_or(|want| {
        let op = entry["operation"].as_str().unwrap_or("");
        op.eq_ignore_ascii_case(want) || snake(op) == want.to_ascii_lowercase()
    });
    let profile_ok = m
        .value("profile")
        .is_none_or(|want| entry["profile"].as_str() == Some(want));
    operation_ok && profile_ok
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// `cache clear [--operation OP] [--profile P] [--tag TAG...] [--yes]`.
pub(crate) fn clear(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let filtered = m.value("operation").is_some() || m.value("profile").is_some();
    let tags = m.values("tag").to_vec();
    if !tags.is_empty() {
        if filtered {
            return Err(Error::usage(
                "cache clear: --tag invalidates tags; it does not go with --operation or --profile",
            ));
        }
        return clear_tags(ctx, m, &tags);
    }
    let cache = cache(ctx)?;
    let what = if filtered {
        "clear the matching cache entries"
    } else {
        "clear the whole cache"
    };
    ctx.confirm(m, what)?;
    let removed = if filtered {
        let now = now_secs();
        let keys: Vec<CacheKey> = cache
            .backend()
            .entries()?
            .iter()
            .filter(|e| matches_filters(&entry_json(e, now), m))
            .map(|e| e.key.clone())
            .collect();
        cache.backend().invalidate(Invalidation::Keys(&keys))?
    } else {
        let line = super::fanout::StatusLine::new(ctx.globals.quiet);
        let removed = cache
            .backend()
            .clear_all(&|n| line.show(&format!("cache clear: removed {n} so far")))?;
        cache.reset_counters();
        cache.landed(None);
        removed
    };
    let mut event = Event::new(EventKind::CacheCleared)
        .detail("removed", removed)
        .detail("backend", cache.backend().name());
    for filter in ["operation", "profile"] {
        if let Some(value) = m.value(filter) {
            event = event.detail(filter, value);
        }
    }
    ctx.audit().record(&event);
    Ok(Report::message(
        json!({"removed": removed}),
        format!(
            "removed {removed} cache entr{}",
            if removed == 1 { "y" } else { "ies" }
        ),
    ))
}

/// `cache clear --tag TAG...`: moves each tag on to a new generation (every answer filed
/// under it is a miss from then on) and removes its stale marks.
fn clear_tags(ctx: &mut Context, m: &Matches, tags: &[String]) -> Result<Report> {
    let cache = cache(ctx)?;
    ctx.confirm(m, "invalidate the cached answers under the given tags")?;
    let moved = cache.backend().invalidate(Invalidation::Tags(tags))?;
    cache.landed(Some(tags));
    ctx.audit().record(
        &Event::new(EventKind::CacheCleared)
            .detail("tags", tags.join(","))
            .detail("backend", cache.backend().name()),
    );
    Ok(Report::message(
        json!({"removed": 0, "tagsInvalidated": moved}),
        format!(
            "invalidated the cached answers under {} tag{}",
            tags.len(),
            if tags.len() == 1 { "" } else { "s" }
        ),
    ))
}

/// `cache cleanup`: removes expired and unreadable entries.
pub(crate) fn cleanup(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    let cache = cache(ctx)?;
    let now = now_secs();
    let keys: Vec<CacheKey> = cache
        .backend()
        .entries()?
        .into_iter()
        .filter(|e| e.header.as_ref().is_none_or(|h| h.expires_at <= now))
        .map(|e| e.key)
        .collect();
    let removed = cache.backend().invalidate(Invalidation::Keys(&keys))?;
    Ok(Report::message(
        json!({"removed": removed}),
        format!(
            "removed {removed} expired or unreadable entr{}",
            if removed == 1 { "y" } else { "ies" }
        ),
    ))
}

/// `cache inspect [KEY] [--operation OP]`: lists entries, or shows one decoded.
pub(crate) fn inspect(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let cache = cache(ctx)?;
    let now = now_secs();
    let entries = cache.backend().entries()?;
    let Some(wanted) = m.arg("KEY") else {
        let listed: Vec<Value> = entries
            .iter()
            .map(|e| entry_json(e, now))
            .filter(|e| matches_filters(e, m))
            .collect();
        return Ok(Report::list(
            json!({"entries": listed}),
            "entries",
            ENTRY_COLUMNS,
        ));
    };
    let wanted = wanted.to_ascii_lowercase();
    if wanted.len() < 6 {
        return Err(Error::usage(
            "cache inspect: give at least 6 characters of the key",
        ));
    }
    let found: Vec<&EntryInfo> = entries
        .iter()
        .filter(|e| e.key.as_str().starts_with(&wanted))
        .collect();
    let entry = match found.as_slice() {
        [one] => *one,
        [] => {
            return Err(Error::not_found(format!(
                "no cache entry with key {wanted}"
            )));
        }
        _ => {
            return Err(Error::usage(format!(
                "key prefix {wanted} matches {} entries",
                found.len()
            )));
        }
    };
    let bytes = cache
        .backend()
        .get(&entry.key)?
        .ok_or_else(|| Error::not_found(format!("cache entry {wanted} disappeared")))?;
    let decoded = cache
        .decode(&bytes)
        .map_err(|e| Error::runtime(format!("cache entry {}: {e}", &entry.key.as_str()[..12])))?;
    let mut data = entry_json(entry, now);
    data["tags"] = json!(decoded.header.tags());
    data["generations"] = json!(decoded.header.gens);
    data["params"] = decoded.params;
    data["value"] = decoded.value.into_value();
    let text = serde_json::to_string_pretty(&data).unwrap_or_default();
    Ok(Report::message(data, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_names() {
        assert_eq!(snake("ListUsers"), "list_users");
    }
}
