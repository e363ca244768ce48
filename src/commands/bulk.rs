//! `bulk assign FILE` and `bulk revoke FILE`: account assignments from a file, in the Python
//! awsideman's formats (CSV with a header `principal_name,permission_set_name,account_name,
//! principal_type`, or JSON `{"assignments": [{...the same keys...}]}`).
//!
//! The whole file is read and every row resolved before any write: a bad row (unknown name,
//! missing value, duplicate) is reported with its line and nothing is changed, unless
//! `--continue-on-error`. Rows that already hold (an assignment that exists, a revoke of one
//! that does not) are skipped, so a file can be applied twice. The writes go through the
//! machinery of `assignment assign`/`revoke`: at most ten outstanding, each waited for.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use super::Context;
use super::assignment::{self, Change};
use super::grants::{self, list_accounts};
use super::resolve::{self, Principal, PrincipalType};
use crate::client;
use crate::client::shapes::{self, AccountAssignment};
use crate::commands::args::Matches;
use crate::error::{Error, Kind, Result};
use crate::output::{Column, Report};

/// The largest file read, in bytes: far beyond any batch AWS would take in a day.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// One row of the file, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    /// The line (CSV) or 1-based entry (JSON) it came from.
    line: usize,
    principal: String,
    principal_type: Option<String>,
    permission_set: String,
    account: String,
}

/// A row resolved to ids, or why it cannot be.
#[derive(Debug, Clone)]
struct Resolved {
    row: Row,
    outcome: std::result::Result<Target, String>,
}

/// What a good row names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    principal: Principal,
    permission_set_arn: String,
    permission_set_name: String,
    account_id: String,
    account_name: String,
}

impl Target {
    fn assignment(&self) -> AccountAssignment {
        AccountAssignment {
            account_id: self.account_id.clone(),
            permission_set_arn: self.permission_set_arn.clone(),
            principal_type: self.principal.kind,
            principal_id: self.principal.id.clone(),
        }
    }
}

const COLUMNS: &[Column] = &[
    Column::new("Line", "Line"),
    Column::new("Type", "PrincipalType"),
    Column::new("Principal", "PrincipalName"),
    Column::new("Permission set", "PermissionSetName"),
    Column::new("Account", "AccountName"),
    Column::new("Status", "Status"),
    Column::new("Detail", "Detail"),
];

/// `bulk assign FILE [--dry-run] [--continue-on-error] [--yes]`.
pub(crate) fn assign(ctx: &mut Context, m: &Matches) -> Result<Report> {
    run(ctx, m, Change::Create)
}

/// `bulk revoke FILE [--dry-run] [--continue-on-error] [--yes]`.
pub(crate) fn revoke(ctx: &mut Context, m: &Matches) -> Result<Report> {
    run(ctx, m, Change::Delete)
}

fn run(ctx: &Context, m: &Matches, change: Change) -> Result<Report> {
    let path = m.required_arg("FILE")?;
    let rows = read_rows(path)?;
    let resolved = resolve_rows(ctx, rows)?;
    let invalid = resolved.iter().filter(|r| r.outcome.is_err()).count();
    let dry_run = m.switch("dry-run");
    let keep_going = m.switch("continue-on-error");
    let verb = change.verb();

    // What already holds: one listing per distinct (account, permission set) pair.
    let good: Vec<&Target> = resolved
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok())
        .collect();
    let existing = existing(ctx, &good)?;
    let mut statuses: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    let mut to_apply: Vec<(usize, AccountAssignment)> = Vec::new();
    for (i, r) in resolved.iter().enumerate() {
        let status = match &r.outcome {
            Err(why) => ("INVALID".to_string(), None, Some(why.clone())),
            Ok(target) => {
                let holds = existing.contains(&target.assignment());
                let already = match change {
                    Change::Create => holds,
                    Change::Delete => !holds,
                };
                if already {
                    let why = match change {
                        Change::Create => "already assigned",
                        Change::Delete => "not assigned",
                    };
                    ("SKIPPED".to_string(), None, Some(why.to_string()))
                } else if invalid > 0 && !keep_going {
                    (
                        "NOT-SUBMITTED".to_string(),
                        None,
                        Some("the file has invalid rows".to_string()),
                    )
                } else if dry_run {
                    to_apply.push((i, target.assignment()));
                    ("DRY-RUN".to_string(), None, None)
                } else {
                    to_apply.push((i, target.assignment()));
                    ("PENDING".to_string(), None, None)
                }
            }
        };
        statuses.push(status);
    }

    let mut failed = 0;
    if !dry_run && !to_apply.is_empty() && (invalid == 0 || keep_going) {
        let skipped = resolved.len() - invalid - to_apply.len();
        let question = format!(
            "bulk {verb}: {} change(s) from {path} ({skipped} already hold, {invalid} invalid)",
            to_apply.len()
        );
        let accepted = m.switch("yes") || m.switch("force");
        if !accepted && (change == Change::Delete || ctx.interactive()) {
            ctx.confirm(m, &question)?;
        }
        let assignments: Vec<AccountAssignment> = to_apply.iter().map(|(_, a)| a.clone()).collect();
        let done = assignment::submit_each(ctx, change, &assignments, keep_going)?;
        for ((i, _), done) in to_apply.iter().zip(done) {
            if done.status != "SUCCEEDED" {
                failed += 1;
            }
            statuses[*i] = (done.status.to_string(), done.request_id, done.failure);
        }
    }

    let rows: Vec<Value> = resolved
        .iter()
        .zip(&statuses)
        .map(|(r, (status, request_id, detail))| row_json(r, status, request_id, detail))
        .collect();
    let count = |s: &str| statuses.iter().filter(|(st, _, _)| st == s).count();
    let data = json!({
        "Action": verb,
        "File": path,
        "DryRun": dry_run,
        "Summary": {
            "Rows": resolved.len(),
            "Invalid": invalid,
            "Skipped": count("SKIPPED"),
            "Planned": count("DRY-RUN"),
            "Succeeded": count("SUCCEEDED"),
            "Failed": failed,
        },
        "Rows": rows,
    });
    let report = Report::list(data, "Rows", COLUMNS);
    if invalid > 0 && !keep_going {
        return Ok(report.failed(Error::runtime(format!(
            "bulk {verb}: {invalid} of {} row(s) are invalid (lines {}); nothing was changed \
             (--continue-on-error applies the valid rows)",
            resolved.len(),
            invalid_lines(&resolved)
        ))));
    }
    if invalid > 0 || failed > 0 {
        return Ok(report.failed(Error::runtime(format!(
            "bulk {verb}: {invalid} invalid and {failed} failed of {} row(s) (see the rows)",
            resolved.len()
        ))));
    }
    Ok(report)
}

fn invalid_lines(resolved: &[Resolved]) -> String {
    resolved
        .iter()
        .filter(|r| r.outcome.is_err())
        .map(|r| r.row.line.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn row_json(
    r: &Resolved,
    status: &str,
    request_id: &Option<String>,
    detail: &Option<String>,
) -> Value {
    let (kind, id, name, ps_arn, ps_name, account_id, account_name) = match &r.outcome {
        Ok(t) => (
            Some(t.principal.kind.as_aws().to_string()),
            Some(t.principal.id.clone()),
            t.principal.name.clone(),
            Some(t.permission_set_arn.clone()),
            t.permission_set_name.clone(),
            Some(t.account_id.clone()),
            t.account_name.clone(),
        ),
        Err(_) => (
            r.row.principal_type.clone(),
            None,
            r.row.principal.clone(),
            None,
            r.row.permission_set.clone(),
            None,
            r.row.account.clone(),
        ),
    };
    json!({
        "Line": r.row.line,
        "PrincipalType": kind,
        "PrincipalId": id,
        "PrincipalName": name,
        "PermissionSetArn": ps_arn,
        "PermissionSetName": ps_name,
        "AccountId": account_id,
        "AccountName": account_name,
        "Status": status,
        "RequestId": request_id,
        "Detail": detail,
    })
}

/// The assignments that exist among the pairs the rows name: one ListAccountAssignments per
/// distinct (account, permission set), in parallel.
fn existing(ctx: &Context, targets: &[&Target]) -> Result<BTreeSet<AccountAssignment>> {
    let pairs: Vec<(String, String)> = targets
        .iter()
        .map(|t| (t.account_id.clone(), t.permission_set_arn.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if pairs.is_empty() {
        return Ok(BTreeSet::new());
    }
    Ok(grants::of_pairs(ctx, &pairs)?.into_iter().collect())
}

// ---- reading the file ------------------------------------------------------------------

/// The rows of the file at `path` (`-`: standard input): JSON when it starts with `{`, else
/// CSV.
fn read_rows(path: &str) -> Result<Vec<Row>> {
    let text = crate::fsutil::read_input_text(path, MAX_FILE_BYTES)
        .map_err(|e| Error::usage(format!("reading {path}: {e}")))?;
    let text = text.as_str();
    let rows = if text.trim_start().starts_with('{') {
        json_rows(text)
    } else {
        csv_rows(text)
    }
    .map_err(|e| Error::usage(format!("{path}: {e}")))?;
    if rows.is_empty() {
        return Err(Error::usage(format!("{path}: no assignments in the file")));
    }
    Ok(rows)
}

/// The columns of a row, by the Python tool's names and the ones our other commands use.
const PRINCIPAL_KEYS: &[&str] = &["principal_name", "principal", "principal_id"];
const PERMISSION_SET_KEYS: &[&str] = &[
    "permission_set_name",
    "permission_set",
    "permission_set_arn",
];
const ACCOUNT_KEYS: &[&str] = &["account_name", "account", "account_id"];
const TYPE_KEYS: &[&str] = &["principal_type", "type"];

fn pick<'a>(fields: &'a BTreeMap<String, String>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| fields.get(*k))
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
}

/// A row from its named fields; a missing value is an error naming the column.
fn row_of(line: usize, fields: &BTreeMap<String, String>) -> std::result::Result<Row, String> {
    let need = |keys: &[&str]| {
        pick(fields, keys)
            .map(str::to_string)
            .ok_or_else(|| format!("line {line}: no {}", keys[0]))
    };
    Ok(Row {
        line,
        principal: need(PRINCIPAL_KEYS)?,
        permission_set: need(PERMISSION_SET_KEYS)?,
        account: need(ACCOUNT_KEYS)?,
        principal_type: pick(fields, TYPE_KEYS).map(str::to_string),
    })
}

fn json_rows(text: &str) -> std::result::Result<Vec<Row>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let items = doc["assignments"]
        .as_array()
        .ok_or("expected {\"assignments\": [...]}")?;
    let mut rows = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let line = i + 1;
        let object = item
            .as_object()
            .ok_or_else(|| format!("assignment {line}: not an object"))?;
        let fields: BTreeMap<String, String> = object
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.to_ascii_lowercase(), s.to_string())))
            .collect();
        rows.push(row_of(line, &fields).map_err(|e| e.replacen("line", "assignment", 1))?);
    }
    Ok(rows)
}

fn csv_rows(text: &str) -> std::result::Result<Vec<Row>, String> {
    let records = parse_csv(text)?;
    let mut records = records
        .into_iter()
        .filter(|(_, r)| r.iter().any(|f| !f.trim().is_empty()));
    let (_, header) = records.next().ok_or("empty file")?;
    let header: Vec<String> = header
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for keys in [PRINCIPAL_KEYS, PERMISSION_SET_KEYS, ACCOUNT_KEYS] {
        if !keys.iter().any(|k| header.iter().any(|h| h == k)) {
            return Err(format!(
                "the header has no {} column (expected principal_name,permission_set_name,\
                 account_name,principal_type)",
                keys[0]
            ));
        }
    }
    records
        .map(|(line, record)| {
            let fields: BTreeMap<String, String> = header.iter().cloned().zip(record).collect();
            row_of(line, &fields)
        })
        .collect()
}

/// RFC 4180 records with the line each starts on: fields separated by commas, quoted fields
/// may hold commas, doubled quotes and line breaks.
fn parse_csv(text: &str) -> std::result::Result<Vec<(usize, Vec<String>)>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push((start, std::mem::take(&mut record)));
                line += 1;
                start = line;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(format!("line {start}: a quoted field is never closed"));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push((start, record));
    }
    Ok(records)
}

// ---- resolving -------------------------------------------------------------------------

/// Resolves every row: each distinct principal once (in parallel), the permission sets and
/// the accounts from one listing each. Duplicates are errors naming the first line.
fn resolve_rows(ctx: &Context, rows: Vec<Row>) -> Result<Vec<Resolved>> {
    // Principals: by (type, name), once each.
    let wanted: Vec<(Option<String>, String)> = rows
        .iter()
        .map(|r| (r.principal_type.clone(), r.principal.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let found = grants::fan_out(ctx, "bulk: principals", &wanted, |(kind, name)| {
        let kind = match kind.as_deref() {
            Some(k) => match PrincipalType::parse(k) {
                Ok(k) => Some(k),
                Err(e) => return Ok(Err(e.message().to_string())),
            },
            None => None,
        };
        match resolve::principal(ctx, name, kind) {
            Ok(p) => Ok(Ok(p)),
            // Not found, or ambiguous: this row's problem; anything else stops the run.
            Err(e) if matches!(e.kind(), Kind::NotFound | Kind::Usage) => {
                Ok(Err(e.message().to_string()))
            }
            Err(e) => Err(e),
        }
    })?;
    let principals: HashMap<(Option<String>, String), std::result::Result<Principal, String>> =
        wanted.into_iter().zip(found).collect();

    // Permission sets: one listing (described once), by ARN or name (any case).
    let op = &client::DESCRIBE_PERMISSION_SET;
    let sets: Vec<shapes::PermissionSet> = resolve::permission_sets(ctx)?
        .iter()
        .map(|s| shapes::decode(op, s))
        .collect::<Result<_>>()?;

    // Accounts: one listing, by id or name (any case).
    let accounts = list_accounts(ctx)?;

    let mut seen: BTreeMap<AccountAssignment, usize> = BTreeMap::new();
    Ok(rows
        .into_iter()
        .map(|row| {
            let outcome = (|| {
                let principal =
                    principals[&(row.principal_type.clone(), row.principal.clone())].clone()?;
                let ps = find_one(
                    &sets,
                    &row.permission_set,
                    |s| s.permission_set_arn == row.permission_set,
                    |s| &s.name,
                    "permission set",
                )?;
                let account = find_one(
                    &accounts,
                    &row.account,
                    |a| a.id == row.account,
                    |a| &a.name,
                    "account",
                )?;
                let target = Target {
                    principal,
                    permission_set_arn: ps.permission_set_arn.clone(),
                    permission_set_name: ps.name.clone(),
                    account_id: account.id.clone(),
                    account_name: account.name.clone(),
                };
                if let Some(first) = seen.get(&target.assignment()) {
                    return Err(format!("duplicate of line {first}"));
                }
                seen.insert(target.assignment(), row.line);
                Ok(target)
            })();
            Resolved { row, outcome }
        })
        .collect())
}

/// The one item matching by id, else by name exactly, else by name ignoring case.
pub(crate) fn find_one<'a, T>(
    items: &'a [T],
    wanted: &str,
    by_id: impl Fn(&T) -> bool,
    name: impl Fn(&T) -> &String,
    what: &str,
) -> std::result::Result<&'a T, String> {
    if let Some(found) = items.iter().find(|i| by_id(i)) {
        return Ok(found);
    }
    let exact: Vec<&T> = items.iter().filter(|i| name(i) == wanted).collect();
    let matches = if exact.is_empty() {
        items
            .iter()
            .filter(|i| name(i).eq_ignore_ascii_case(wanted))
            .collect()
    } else {
        exact
    };
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(format!("{what} \"{wanted}\" not found")),
        several => Err(format!(
            "{what} \"{wanted}\" is ambiguous ({} match)",
            several.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_records_follow_rfc_4180() {
        let text = "a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\nlast,row";
        let records = parse_csv(text).unwrap();
        assert_eq!(
            records,
            vec![
                (1, vec!["a".to_string(), "b".to_string()]),
                (2, vec!["x, y".to_string(), "say \"hi\"".to_string()]),
                (3, vec!["two\nlines".to_string(), "z".to_string()]),
                (5, vec!["last".to_string(), "row".to_string()]),
            ]
        );
        assert!(parse_csv("a,\"open\n").is_err());
    }

    #[test]
    fn the_python_tools_files_read_the_same() {
        let csv = "principal_name,permission_set_name,account_name,principal_type\n\
                   john.doe,ReadOnlyAccess,Production,USER\n\n\
                   Developers,PowerUserAccess,Development,GROUP\n";
        let rows = csv_rows(csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].line, 4);
        assert_eq!(rows[1].principal_type.as_deref(), Some("GROUP"));
        let json = r#"{"assignments": [
            {"principal_name": "john.doe", "permission_set_name": "ReadOnlyAccess",
             "account_name": "Production", "principal_type": "USER"},
            {"principal_name": "Developers", "permission_set_name": "PowerUserAccess",
             "account_name": "Development", "principal_type": "GROUP"}]}"#;
        let from_json = json_rows(json).unwrap();
        assert_eq!(
            from_json.iter().map(|r| &r.principal).collect::<Vec<_>>(),
            rows.iter().map(|r| &r.principal).collect::<Vec<_>>()
        );
        let missing = csv_rows("principal_name,account_name\nx,y\n").unwrap_err();
        assert!(missing.contains("permission_set_name"), "{missing}");
        let empty =
            csv_rows("principal_name,permission_set_name,account_name\nx,,y\n").unwrap_err();
        assert!(empty.contains("line 2"), "{empty}");
    }
}
