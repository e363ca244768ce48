//! `cache dynamodb create-table|describe|repair|delete-table`: the table behind the
//! dynamodb and hybrid cache backends (`cache.dynamodb_table_name`).

use serde_json::{Value, json};

use super::Context;
use crate::audit::{Event, EventKind};
use crate::cache::dynamodb::DynamoBackend;
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::output::{Column, Report};

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

/// `cache dynamodb create-table`.
pub(crate) fn create_table(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    with_table(ctx, Some(EventKind::DynamodbTableCreated), |ctx, table| {
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
    })
}

/// `cache dynamodb describe`.
pub(crate) fn describe(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    with_table(ctx, None, |_, table| {
        Ok(Report::record(table.describe_table()?, "", DESCRIBE_FIELDS))
    })
}

/// `cache dynamodb repair`.
pub(crate) fn repair(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    with_table(ctx, Some(EventKind::DynamodbTableRepaired), |ctx, table| {
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
    })
}

/// `cache dynamodb delete-table`.
pub(crate) fn delete_table(ctx: &mut Context, m: &Matches) -> Result<Report> {
    with_table(ctx, Some(EventKind::DynamodbTableDeleted), |ctx, table| {
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
    })
}

/// Runs `act` on the configured table; a failure is recorded as a failed `kind` event
/// (successes record their own).
fn with_table(
    ctx: &mut Context,
    kind: Option<EventKind>,
    act: impl FnOnce(&Context, &DynamoBackend) -> Result<Report>,
) -> Result<Report> {
    let settings = ctx.cache_settings()?;
    let table: DynamoBackend = ctx.dynamo_backend(&settings)?;
    let result = act(ctx, &table);
    if let (Err(_), Some(kind)) = (&result, kind) {
        ctx.audit().record(
            &Event::new(kind)
                .failed()
                .detail("table", table.table_name()),
        );
    }
    result
}

fn to_json(value: &impl serde::Serialize) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::runtime(format!("encoding the result: {e}")))
}
