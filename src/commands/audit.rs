//! `audit show`: reading the audit log (see [`crate::audit`]). Never writes it.

use std::time::SystemTime;

use serde_json::json;

use super::Context;
use crate::audit::{self, EventKind};
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::output::{Column, Report};

const RECORD_COLUMNS: &[Column] = &[
    Column::new("Time", "time"),
    Column::new("Event", "event"),
    Column::new("Outcome", "outcome"),
    Column::new("Profile", "profile"),
    Column::new("Key id", "key_id"),
];

/// `--since DURATION` as the time it reaches back to (`None` without the flag).
pub(crate) fn since(m: &Matches) -> Result<Option<SystemTime>> {
    Ok(match m.value("since") {
        Some(text) => {
            let age = audit::parse_duration(text).ok_or_else(|| {
                Error::usage(format!(
                    "--since: invalid duration \"{text}\" (a whole number and s, m, h, d or w: \
                     30m, 24h, 7d)"
                ))
            })?;
            Some(
                SystemTime::now()
                    .checked_sub(age)
                    .unwrap_or(SystemTime::UNIX_EPOCH),
            )
        }
        None => None,
    })
}

/// `audit show [--since DURATION] [--event NAME]`.
pub(crate) fn show(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let since = since(m)?;
    let event = match m.value("event") {
        Some(name) => Some(EventKind::parse(name).ok_or_else(|| {
            let hint = crate::suggest::closest(name, EventKind::names())
                .map(|s| format!(" (did you mean \"{s}\"?)"))
                .unwrap_or_default();
            Error::usage(format!(
                "--event: unknown event \"{name}\"{hint}; events: {}",
                EventKind::names().join(", ")
            ))
        })?),
        None => None,
    };
    let log = ctx.audit();
    let Some(path) = log.path() else {
        ctx.warn("the audit log is off (cache.audit_log: off)");
        return Ok(Report::list(
            json!({"records": [], "skipped": 0}),
            "records",
            RECORD_COLUMNS,
        ));
    };
    let log = audit::read(path)?;
    let skipped = log.skipped;
    if skipped > 0 {
        ctx.warn(format!(
            "{}: skipped {skipped} line(s) that are not audit records",
            path.display()
        ));
    }
    if log.unread_bytes > 0 {
        ctx.warn(format!(
            "{}: showing the newest {} MiB; {} older bytes not read",
            path.display(),
            audit::MAX_READ_BYTES / (1024 * 1024),
            log.unread_bytes
        ));
    }
    let records = log.records;
    let records: Vec<_> = records
        .into_iter()
        .filter(|r| event.is_none_or(|e| r["event"] == e.name()))
        .filter(|r| since.is_none_or(|t| audit::record_time(r).is_some_and(|at| at >= t)))
        .collect();
    Ok(Report::list(
        json!({"records": records, "skipped": skipped}),
        "records",
        RECORD_COLUMNS,
    ))
}
