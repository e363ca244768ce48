//! `cache dynamodb create-table|describe|repair|delete-table`: the table behind the
//! dynamodb and hybrid cache backends (`cache.dynamodb_table_name`).

use serde_json::{Value, json};

use super::Context;
use crate::audit::{Event, EventKind};
use crate::cache::dynamodb::DynamoBackend;
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::output::{Column, Report};

/// The actions of `cache dynamodb`.
pub const ACTIONS: &[&str] = &["create-table", "describe", "repair", "delete-table"];

const DESCRIBE_FIELDS: &[Column] = &[
    Column::new("Table", "table"),
    Column::new("Where", "location"),
    Column::new("Status", "status"),
    Column::new("Items", "items"),
    Column::new("Size (bytes)", "size_bytes"),
    Column::new("Billing", "billing_mode"),
    Column::new("TTL", "ttl.status"),
    Column::new("Encryption", "encryption.type"),
];

/// `cache dynamodb ACTION`.
pub fn run(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let action = m.required_arg("ACTION")?;
    if !ACTIONS.contains(&action) {
        let hint = crate::suggest::closest(action, ACTIONS.iter().copied())
            .map(|s| format!(" (did you mean \"{s}\"?)"))
            .unwrap_or_default();
        return Err(Error::usage(format!(
            "cache dynamodb: unknown action \"{action}\"{hint}; actions: {}",
            ACTIONS.join(", ")
        )));
    }
    let settings = ctx.cache_settings()?;
    let table: DynamoBackend = ctx.dynamo_backend(&settings)?;
    let result = act(ctx, m, action, &table);
    let kind = match action {
        "create-table" => Some(EventKind::DynamodbTableCreated),
        "repair" => Some(EventKind::DynamodbTableRepaired),
        "delete-table" => Some(EventKind::DynamodbTableDeleted),
        _ => None,
    };
    if let (Err(_), Some(kind)) = (&result, kind) {
        ctx.audit().record(
            &Event::new(kind)
                .failed()
                .detail("table", table.table_name()),
        );
    }
    result
}

/// Runs `action` on `table`; successes record their own audit events.
fn act(ctx: &Context, m: &Matches, action: &str, table: &DynamoBackend) -> Result<Report> {
    match action {
        "create-table" => {
            let setup = table.ensure_table()?;
            if setup.created {
                ctx.audit().record(
                    &Event::new(EventKind::DynamodbTableCreated)
                        .detail("table", setup.table.as_str())
                        .detail("status", setup.status.as_str()),
                );
            }
            let data = to_json(&setup)?;
            let text = format!(
                "table {} {} ({}, TTL {})",
                setup.table,
                if setup.created {
                    "created"
                } else {
                    "already exists"
                },
                setup.status,
                setup.ttl.status
            );
            Ok(Report::message(data, text))
        }
        "describe" => Ok(Report::record(table.describe_table()?, "", DESCRIBE_FIELDS)),
        "repair" => {
            let report = table.repair()?;
            let mut lines = vec![format!("table {}", report.table)];
            lines.extend(report.ok.iter().map(|l| format!("ok: {l}")));
            lines.extend(report.fixed.iter().map(|l| format!("fixed: {l}")));
            lines.extend(report.notes.iter().map(|l| format!("note: {l}")));
            lines.extend(report.problems.iter().map(|l| format!("problem: {l}")));
            let problems = report.problems.len();
            ctx.audit().record(
                &Event::new(EventKind::DynamodbTableRepaired)
                    .outcome(problems == 0)
                    .detail("table", report.table.as_str())
                    .detail("fixed", report.fixed.len())
                    .detail("problems", problems),
            );
            let data = to_json(&report)?;
            let report = Report::message(data, lines.join("\n"));
            Ok(if problems == 0 {
                report
            } else {
                report.failed(Error::runtime(format!(
                    "cache dynamodb repair: {problems} problem(s) left (see above)"
                )))
            })
        }
        _ => {
            ctx.confirm(m, &format!("delete the cache table {}", table.table_name()))?;
            let deleted = table.delete_table()?;
            ctx.audit().record(
                &Event::new(EventKind::DynamodbTableDeleted)
                    .detail("table", table.table_name())
                    .detail("deleted", deleted),
            );
            Ok(Report::message(
                json!({"table": table.table_name(), "deleted": deleted}),
                if deleted {
                    format!("deleted table {}", table.table_name())
                } else {
                    format!("table {} did not exist", table.table_name())
                },
            ))
        }
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::runtime(format!("encoding the result: {e}")))
}
