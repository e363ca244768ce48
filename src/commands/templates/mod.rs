//! `templates validate|plan|apply|show FILE`: declarative account assignments from a YAML
//! template in the Python awsideman's format, with OU targets added.
//!
//! A template is read whole and every name resolved against the live directory and
//! organization before anything is written; `plan` is the exact difference with what exists,
//! and `apply` makes it with the machinery of `bulk` (at most ten requests outstanding, each
//! waited for). See [`plan`] for the scope `--prune` deletes in.

mod file;
mod plan;

use serde_json::{Value, json};

use self::file::{Problem, Template};
use self::plan::{Action, Item, Resolved};
use super::Context;
use super::assignment::{self, Change};
use crate::client::shapes::AccountAssignment;
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::output::{Column, Report};

const PROBLEM_COLUMNS: &[Column] = &[
    Column::new("Line", "Line"),
    Column::new("Place", "Place"),
    Column::new("Problem", "Problem"),
];

const PLAN_COLUMNS: &[Column] = &[
    Column::new("Action", "Action"),
    Column::new("Type", "PrincipalType"),
    Column::new("Principal", "PrincipalName"),
    Column::new("Permission set", "PermissionSetName"),
    Column::new("Account", "AccountName"),
    Column::new("Account ID", "AccountId"),
    Column::new("Status", "Status"),
    Column::new("Detail", "Detail"),
];

const SHOW_COLUMNS: &[Column] = &[
    Column::new("Line", "Line"),
    Column::new("Principals", "Names.Principals"),
    Column::new("Permission sets", "Names.PermissionSets"),
    Column::new("Accounts", "Names.Accounts"),
];

/// A template read and resolved, or the report of its problems (exit 2).
enum Loaded {
    Good(Template, Vec<Resolved>),
    Bad(Report),
}

/// Reads `FILE` and resolves every name in it; any problem gives the problems report.
fn load(ctx: &Context, path: &str) -> Result<(Template, Vec<Resolved>, Vec<Problem>)> {
    let (template, mut problems) = file::read(path)?;
    let resolved = plan::resolve(ctx, &template, &mut problems)?;
    problems.sort_by(|a, b| (a.line, &a.place).cmp(&(b.line, &b.place)));
    Ok((template, resolved, problems))
}

fn problems_report(path: &str, template: &Template, problems: &[Problem]) -> Report {
    let rows: Vec<Value> = problems
        .iter()
        .map(|p| json!({"Line": p.line, "Place": p.place, "Problem": p.message}))
        .collect();
    let data = json!({
        "File": path,
        "Name": template.metadata.name,
        "Valid": problems.is_empty(),
        "Assignments": template.entries.len(),
        "Problems": rows,
    });
    if problems.is_empty() {
        return Report::message(
            data,
            format!(
                "{path}: a valid template ({} assignment entries, every name found)",
                template.entries.len()
            ),
        );
    }
    let report = Report::list(data, "Problems", PROBLEM_COLUMNS);
    match problems {
        [] => report,
        [one] => report.failed(Error::usage(format!(
            "{path}: {}; nothing was changed",
            one.one_line()
        ))),
        many => report.failed(Error::usage(format!(
            "{path}: {} problems (listed above, with their lines); nothing was changed",
            many.len()
        ))),
    }
}

fn load_good(ctx: &Context, path: &str) -> Result<Loaded> {
    let (template, resolved, problems) = load(ctx, path)?;
    if problems.is_empty() {
        Ok(Loaded::Good(template, resolved))
    } else {
        Ok(Loaded::Bad(problems_report(path, &template, &problems)))
    }
}

/// `templates validate FILE`: the structure and every name; exit 2 listing each problem.
pub(crate) fn validate(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let path = m.required_arg("FILE")?;
    let (template, _, problems) = load(ctx, path)?;
    Ok(problems_report(path, &template, &problems))
}

/// `templates show FILE`: the template with its names resolved and its targets as accounts.
pub(crate) fn show(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let path = m.required_arg("FILE")?;
    let (template, resolved) = match load_good(ctx, path)? {
        Loaded::Good(t, r) => (t, r),
        Loaded::Bad(report) => return Ok(report),
    };
    let meta = &template.metadata;
    let entries: Vec<Value> = resolved
        .iter()
        .map(|r| {
            json!({
                "Line": r.line,
                "Principals": r.principals.iter().map(|p| json!({
                    "PrincipalType": p.kind.as_aws(),
                    "PrincipalId": p.id,
                    "PrincipalName": p.name,
                })).collect::<Vec<_>>(),
                "PermissionSets": r.permission_sets.iter().map(|s| json!({
                    "PermissionSetArn": s.id,
                    "PermissionSetName": s.name,
                })).collect::<Vec<_>>(),
                "Accounts": r.accounts.iter().map(|a| json!({
                    "AccountId": a.id,
                    "AccountName": a.name,
                })).collect::<Vec<_>>(),
                "Names": {
                    "Principals": r.principals.iter()
                        .map(|p| format!("{}:{}", p.kind.as_aws().to_lowercase(), p.name))
                        .collect::<Vec<_>>(),
                    "PermissionSets": r.permission_sets.iter().map(|s| &s.name).collect::<Vec<_>>(),
                    "Accounts": r.accounts.iter().map(|a| &a.name).collect::<Vec<_>>(),
                },
            })
        })
        .collect();
    let data = json!({
        "File": path,
        "Metadata": {
            "Name": meta.name,
            "Description": meta.description,
            "Version": meta.version,
            "Author": meta.author,
        },
        "Assignments": entries,
    });
    Ok(Report::list(data, "Assignments", SHOW_COLUMNS))
}

/// Counts of a plan's rows by action.
fn count(items: &[Item], action: Action) -> usize {
    items.iter().filter(|i| i.action == action).count()
}

/// `templates plan FILE [--prune]` (the Python tool's `templates preview`): the rows to
/// create, to delete (`--prune`) and already present; exit 3 when changes are pending.
pub(crate) fn plan(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let path = m.required_arg("FILE")?;
    let (template, resolved) = match load_good(ctx, path)? {
        Loaded::Good(t, r) => (t, r),
        Loaded::Bad(report) => return Ok(report),
    };
    let prune = m.switch("prune");
    let items = plan::plan(ctx, &resolved, prune)?;
    let statuses: Vec<(&str, Option<String>, Option<String>)> = items
        .iter()
        .map(|i| match i.action {
            Action::Keep => ("PRESENT", None, None),
            _ => ("PLANNED", None, None),
        })
        .collect();
    let report = plan_report(path, &template, &items, &statuses, prune, false);
    let (creates, deletes) = (count(&items, Action::Create), count(&items, Action::Delete));
    if creates + deletes > 0 {
        return Ok(report.failed(Error::differences(format!(
            "{path}: {creates} to create, {deletes} to delete (templates apply {}makes them)",
            if prune { "--prune " } else { "" }
        ))));
    }
    Ok(report)
}

/// `templates apply FILE [--prune] [--dry-run] [--yes]`: makes the plan, creates first.
pub(crate) fn apply(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let path = m.required_arg("FILE")?;
    let (template, resolved) = match load_good(ctx, path)? {
        Loaded::Good(t, r) => (t, r),
        Loaded::Bad(report) => return Ok(report),
    };
    let prune = m.switch("prune");
    let dry_run = m.switch("dry-run");
    let items = plan::plan(ctx, &resolved, prune)?;
    let mut statuses: Vec<(&str, Option<String>, Option<String>)> = items
        .iter()
        .map(|i| match (i.action, dry_run) {
            (Action::Keep, _) => ("PRESENT", None, None),
            (_, true) => ("DRY-RUN", None, None),
            (_, false) => ("PENDING", None, None),
        })
        .collect();
    let (creates, deletes) = (count(&items, Action::Create), count(&items, Action::Delete));
    let mut failed = 0;
    if !dry_run && creates + deletes > 0 {
        let question =
            format!("templates apply {path}: create {creates} and delete {deletes} assignment(s)");
        let accepted = m.switch("yes") || m.switch("force");
        if !accepted && (deletes > 0 || ctx.interactive()) {
            ctx.confirm(m, &question)?;
        }
        for (action, change) in [
            (Action::Create, Change::Create),
            (Action::Delete, Change::Delete),
        ] {
            let chosen: Vec<usize> = (0..items.len())
                .filter(|&i| items[i].action == action)
                .collect();
            if chosen.is_empty() {
                continue;
            }
            if failed > 0 {
                for &i in &chosen {
                    statuses[i] = ("SKIPPED", None, Some("an earlier change failed".into()));
                }
                continue;
            }
            let batch: Vec<AccountAssignment> = chosen
                .iter()
                .map(|&i| items[i].assignment.clone())
                .collect();
            let done = assignment::submit_each(ctx, change, &batch, false)?;
            for (&i, done) in chosen.iter().zip(done) {
                if done.status != "SUCCEEDED" {
                    failed += 1;
                }
                statuses[i] = (done.status, done.request_id, done.failure);
            }
        }
    }
    let report = plan_report(path, &template, &items, &statuses, prune, dry_run);
    if failed > 0 {
        return Ok(report.failed(Error::runtime(format!(
            "templates apply {path}: {failed} of {} change(s) did not succeed (see the rows)",
            creates + deletes
        ))));
    }
    Ok(report)
}

fn plan_report(
    path: &str,
    template: &Template,
    items: &[Item],
    statuses: &[(&str, Option<String>, Option<String>)],
    prune: bool,
    dry_run: bool,
) -> Report {
    let rows: Vec<Value> = items
        .iter()
        .zip(statuses)
        .map(|(item, (status, request, detail))| {
            plan::item_json(item, status, request.as_deref(), detail.as_deref())
        })
        .collect();
    let with = |s: &str| statuses.iter().filter(|(st, _, _)| *st == s).count();
    let data = json!({
        "File": path,
        "Name": template.metadata.name,
        "Prune": prune,
        "DryRun": dry_run,
        "Summary": {
            "Create": count(items, Action::Create),
            "Delete": count(items, Action::Delete),
            "Present": count(items, Action::Keep),
            "Succeeded": with("SUCCEEDED"),
            "Failed": with("FAILED"),
        },
        "Changes": rows,
    });
    Report::list(data, "Changes", PLAN_COLUMNS)
}
