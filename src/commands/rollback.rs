//! `rollback list|show|apply`: the journal of changes awsideman made (see
//! [`crate::rollback`]) and undoing one operation by running the inverses of its changes,
//! newest first, through the same engines as the commands that made them.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::Context;
use super::assignment::{self, Change};
use super::directory::{self, GROUPS, USERS};
use crate::client::{self, OpKind, Operation};
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::output::{Column, Report};
use crate::rollback;

const LIST_COLUMNS: &[Column] = &[
    Column::new("Operation", "id"),
    Column::new("Time", "time"),
    Column::new("Command", "command"),
    Column::new("Changes", "changes"),
    Column::new("Undoable", "undoable"),
    Column::new("Status", "status"),
];

const CHANGE_COLUMNS: &[Column] = &[
    Column::new("#", "index"),
    Column::new("Operation", "operation"),
    Column::new("Target", "target"),
    Column::new("Undone by", "inverse"),
    Column::new("Note", "note"),
];

const STEP_COLUMNS: &[Column] = &[
    Column::new("#", "index"),
    Column::new("Operation", "operation"),
    Column::new("Target", "target"),
    Column::new("Status", "status"),
    Column::new("Note", "note"),
];

/// The request members that name what a change is about, in the order shown.
const TARGET_MEMBERS: &[&str] = &[
    "UserName",
    "DisplayName",
    "UserId",
    "GroupId",
    "MembershipId",
    "PermissionSetArn",
    "ResourceArn",
    "ManagedPolicyArn",
    "PrincipalType",
    "PrincipalId",
    "TargetId",
    "Name",
];

/// What a request is about, in a few words (`UserId=... GroupId=...`).
fn target_of(request: &Value) -> String {
    TARGET_MEMBERS
        .iter()
        .filter_map(|m| match request.get(*m) {
            Some(Value::String(s)) => Some(format!("{m}={s}")),
            _ => None,
        })
        .chain(
            request["MemberId"]["UserId"]
                .as_str()
                .map(|u| format!("MemberId={u}")),
        )
        .collect::<Vec<_>>()
        .join(" ")
}

/// The journal's records (oldest first), with a warning for lines that are not records.
fn records(ctx: &Context) -> Result<Vec<Value>> {
    let Some(journal) = ctx.rollback_journal()? else {
        ctx.warn("the rollback journal is off (rollback.enabled: false)");
        return Ok(Vec::new());
    };
    let path = journal.path();
    let contents = rollback::read(&path)?;
    if contents.skipped > 0 {
        ctx.warn(format!(
            "{}: skipped {} line(s) that are not records",
            path.display(),
            contents.skipped
        ));
    }
    Ok(contents.records)
}

/// The id of the operation that rolled back `id`, if one did.
fn rolled_back_by<'a>(records: &'a [Value], id: &str) -> Option<&'a str> {
    records
        .iter()
        .rev()
        .find(|r| r["rolls_back"] == id)
        .and_then(|r| r["id"].as_str())
}

fn changes_of(record: &Value) -> &[Value] {
    record["changes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// `rollback list [--since DURATION]`.
pub(crate) fn list(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let since = super::audit::since(m)?;
    let all = records(ctx)?;
    let rows: Vec<Value> = all
        .iter()
        .filter(|r| since.is_none_or(|t| rollback::record_time(r).is_some_and(|at| at >= t)))
        .map(|r| {
            let id = r["id"].as_str().unwrap_or_default();
            let changes = changes_of(r);
            let undoable = changes
                .iter()
                .filter(|c| c.get("inverse").is_some())
                .count();
            let status = match (rolled_back_by(&all, id), r["rolls_back"].as_str()) {
                (Some(by), _) => format!("rolled back by {by}"),
                (None, Some(original)) => format!("rollback of {original}"),
                (None, None) => String::new(),
            };
            json!({
                "id": id,
                "time": r["time"],
                "user": r["user"],
                "profile": r["profile"],
                "command": r["command"],
                "changes": changes.len(),
                "undoable": undoable,
                "status": status,
            })
        })
        .collect();
    Ok(Report::list(
        json!({ "operations": rows }),
        "operations",
        LIST_COLUMNS,
    ))
}

/// The record of operation `id` (its full id or a prefix naming one operation).
fn find<'a>(records: &'a [Value], id: &str) -> Result<&'a Value> {
    let exact = records.iter().find(|r| r["id"] == id);
    if let Some(record) = exact {
        return Ok(record);
    }
    let matching: Vec<&Value> = records
        .iter()
        .filter(|r| r["id"].as_str().is_some_and(|r| r.starts_with(id)))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::usage(format!(
            "no operation {id} in the rollback journal (see 'awsideman rollback list')"
        ))),
        _ => Err(Error::usage(format!(
            "{id} names {} operations: give more of the id",
            matching.len()
        ))),
    }
}

/// The note of a change: why it cannot be undone, that nothing needs undoing, or that its
/// object comes back with a new id.
fn note_of(change: &Value) -> String {
    if let Some(why) = change["cannot_undo"].as_str() {
        return format!("cannot be undone: {why}");
    }
    if let Some(why) = change["nothing_to_undo"].as_str() {
        return format!("nothing to undo: {why}");
    }
    if change["recreates"] == true && change["operation"] == "DeletePermissionSet" {
        return "recreated from its recorded attributes, policies, boundary and tags, with a \
                new ARN; the assignments this operation deleted follow it"
            .into();
    }
    if let Some(partly) = change["partly"].as_str() {
        return format!("partly: {partly}");
    }
    if change["recreates"] == true {
        let groups = change["group_ids"].as_array().map_or(0, Vec::len);
        let mut note = "recreated from its recorded attributes, with a new id".to_string();
        if groups > 0 {
            note.push_str(&format!(", and its {groups} membership(s)"));
        }
        return note;
    }
    String::new()
}

/// The operations undoing a change (`UntagResource + TagResource`), null when none does.
fn undone_by(change: &Value) -> Value {
    let ops: Vec<&str> = inverses_of(change)
        .iter()
        .filter_map(|i| i["operation"].as_str())
        .collect();
    match ops.as_slice() {
        [] => Value::Null,
        ops => json!(ops.join(" + ")),
    }
}

/// `rollback show OPERATION`.
pub(crate) fn show(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let all = records(ctx)?;
    let record = find(&all, m.required_arg("OPERATION")?)?;
    let rows: Vec<Value> = changes_of(record)
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "index": i + 1,
                "operation": c["operation"],
                "target": target_of(&c["request"]),
                "inverse": undone_by(c),
                "note": note_of(c),
                "change": c,
            })
        })
        .collect();
    let id = record["id"].as_str().unwrap_or_default();
    Ok(Report::list(
        json!({
            "id": id,
            "time": record["time"],
            "user": record["user"],
            "host": record["host"],
            "profile": record["profile"],
            "command": record["command"],
            "rolls_back": record["rolls_back"],
            "rolled_back_by": rolled_back_by(&all, id),
            "changes": rows,
        }),
        "changes",
        CHANGE_COLUMNS,
    ))
}

/// One step of a rollback: an inverse of one change, newest change first.
struct Step<'a> {
    /// The change's place in the operation (1-based).
    index: usize,
    change: &'a Value,
    /// The inverse this step runs (`{service, operation, request}`; null when there is none):
    /// the change's `inverse`, or one of its `also` (a tag write undone by an untag and a
    /// tag).
    inverse: &'a Value,
    /// The operation to run, when there is one.
    op: Option<&'static Operation>,
}

/// The inverses of a change: its `inverse` then its `also`, or only null when it has none.
fn inverses_of(change: &Value) -> Vec<&Value> {
    std::iter::once(&change["inverse"])
        .chain(change["also"].as_array().into_iter().flatten())
        .collect()
}

/// The write of the operation table named `service` `name`.
fn write_operation(service: &str, name: &str) -> Option<&'static Operation> {
    client::OPERATIONS
        .iter()
        .find(|o| o.kind == OpKind::Write && o.service.name() == service && o.name == name)
}

/// The steps undoing `record`, newest change first (each inverse of a change one step); an
/// inverse naming no write of the table is a change that cannot be undone.
fn plan(record: &Value) -> Vec<Step<'_>> {
    changes_of(record)
        .iter()
        .enumerate()
        .rev()
        .flat_map(|(i, change)| {
            inverses_of(change).into_iter().map(move |inverse| Step {
                index: i + 1,
                change,
                inverse,
                op: inverse["service"]
                    .as_str()
                    .zip(inverse["operation"].as_str())
                    .and_then(|(s, n)| write_operation(s, n)),
            })
        })
        .collect()
}

fn step_row(step: &Step, status: &str, note: String) -> Value {
    let inverse = step.inverse;
    json!({
        "index": step.index,
        "operation": inverse["operation"].as_str().unwrap_or_else(|| step.change["operation"].as_str().unwrap_or_default()),
        "target": target_of(if inverse.is_object() { &inverse["request"] } else { &step.change["request"] }),
        "status": status,
        "note": note,
        "request": inverse["request"],
    })
}

/// A step's row showing the request as it was sent: with the new ARN or id of something
/// this rollback recreated, not the recorded one.
fn as_sent(mut row: Value, request: &Value) -> Value {
    row["target"] = json!(target_of(request));
    row["request"] = request.clone();
    row
}

/// `rollback apply OPERATION [--dry-run] [--yes] [--force]`.
pub(crate) fn apply(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let all = records(ctx)?;
    let record = find(&all, m.required_arg("OPERATION")?)?;
    let id = record["id"].as_str().unwrap_or_default().to_string();
    let force = m.switch("force");
    if let Some(by) = rolled_back_by(&all, &id)
        && !force
    {
        return Err(Error::usage(format!(
            "operation {id} was already rolled back by {by}: pass --force to apply its \
             inverses again"
        )));
    }
    let profile = record["profile"].as_str().unwrap_or_default();
    if profile != ctx.profile_name && !force {
        return Err(Error::usage(format!(
            "operation {id} was made with profile \"{profile}\", not \"{}\": pass --profile \
             {profile} (or --force)",
            ctx.profile_name
        )));
    }
    let steps = plan(record);
    let runnable = steps.iter().filter(|s| s.op.is_some()).count();
    if m.switch("dry-run") {
        let rows: Vec<Value> = steps
            .iter()
            .map(|s| match s.op {
                Some(_) => step_row(s, "would run", note_of(s.change)),
                None => step_row(s, skipped_status(s.change), skipped_note(s.change)),
            })
            .collect();
        return Ok(Report::list(
            json!({"id": id, "dry_run": true, "steps": rows}),
            "steps",
            STEP_COLUMNS,
        ));
    }
    if runnable == 0 {
        return Err(Error::runtime(format!(
            "operation {id}: none of its {} change(s) can be undone (see 'awsideman rollback \
             show {id}')",
            steps.len()
        )));
    }
    ctx.confirm(
        m,
        &format!("roll back operation {id} ({runnable} inverse operation(s))"),
    )?;
    ctx.rolling_back(&id);
    let mut rows = Vec::new();
    // Permission sets this rollback recreated: old ARN -> new ARN, for the steps after.
    let mut recreated: HashMap<String, String> = HashMap::new();
    let mut at = 0;
    while at < steps.len() {
        // Consecutive assignment changes go together through the assignment engine.
        let batch: Vec<&Step> = steps[at..]
            .iter()
            .take_while(|s| s.op.is_some_and(|op| assignment_change(op).is_some()))
            .collect();
        if let Some(first) = batch.first().and_then(|s| s.op) {
            let change = assignment_change(first).unwrap_or(Change::Create);
            let same: Vec<&Step> = batch
                .into_iter()
                .take_while(|s| s.op.is_some_and(|op| op.name == first.name))
                .collect();
            let requests: Vec<Value> = same
                .iter()
                .map(|s| renamed(&s.inverse["request"], &recreated))
                .collect();
            let submitted = assignment::submit_bodies(ctx, change, &requests, true)?;
            for ((step, outcome), request) in same.iter().zip(submitted).zip(&requests) {
                let status = if outcome.status == "SUCCEEDED" {
                    "done"
                } else {
                    "failed"
                };
                let row = step_row(step, status, outcome.failure.unwrap_or_default());
                rows.push(as_sent(row, request));
            }
            at += same.len();
            continue;
        }
        let step = &steps[at];
        at += 1;
        let Some(op) = step.op else {
            rows.push(step_row(
                step,
                skipped_status(step.change),
                skipped_note(step.change),
            ));
            continue;
        };
        let request = renamed(&step.inverse["request"], &recreated);
        let row = run_step(ctx, step, op, &request, &mut recreated);
        rows.push(as_sent(row, &request));
    }
    let failed = rows.iter().filter(|r| r["status"] == "failed").count();
    let cannot = rows
        .iter()
        .filter(|r| r["status"] == "cannot be undone")
        .count();
    let report = Report::list(
        json!({"id": id, "dry_run": false, "steps": rows}),
        "steps",
        STEP_COLUMNS,
    );
    if failed + cannot > 0 {
        return Ok(report.failed(Error::runtime(format!(
            "operation {id}: {failed} inverse operation(s) failed and {cannot} change(s) cannot \
             be undone (see the Note column)"
        ))));
    }
    Ok(report)
}

fn skipped_status(change: &Value) -> &'static str {
    if change.get("nothing_to_undo").is_some() {
        "nothing to undo"
    } else {
        "cannot be undone"
    }
}

fn skipped_note(change: &Value) -> String {
    match note_of(change) {
        note if note.is_empty() => "its inverse is not an operation awsideman makes".into(),
        note => note,
    }
}

/// The assignment change an inverse operation is, if it is one.
fn assignment_change(op: &Operation) -> Option<Change> {
    if op.name == client::CREATE_ACCOUNT_ASSIGNMENT.name {
        Some(Change::Create)
    } else if op.name == client::DELETE_ACCOUNT_ASSIGNMENT.name {
        Some(Change::Delete)
    } else {
        None
    }
}

/// Before an inverse deletes a user or group (the rollback of its creation), notes what
/// recreates it, so the rollback can be undone too. A describe that fails only costs that.
fn note_deleted(ctx: &Context, op: &Operation, request: &Value) {
    let resource = match op.name {
        "DeleteUser" => &USERS,
        "DeleteGroup" => &GROUPS,
        _ => return,
    };
    let Some(id) = request[resource.id_key].as_str() else {
        return;
    };
    if let Ok(object) = directory::describe(ctx, resource, id) {
        let members = directory::member_groups(ctx, resource, id).ok();
        ctx.note_before(op, id, &object, members);
    }
}

/// `request` with its permission set's ARN (`PermissionSetArn`, or a tag write's
/// `ResourceArn`) replaced by the new one when this rollback recreated the set.
fn renamed(request: &Value, recreated: &HashMap<String, String>) -> Value {
    let mut request = request.clone();
    for member in ["PermissionSetArn", "ResourceArn"] {
        if let Some(new) = request[member].as_str().and_then(|old| recreated.get(old)) {
            request[member] = json!(new);
        }
    }
    request
}

/// Runs one inverse (`request`: its recorded request, renamed for what this rollback
/// recreated); a recreated user or group also gets its memberships back, a recreated
/// permission set its policies and boundary (and its new ARN goes into `recreated`).
fn run_step(
    ctx: &Context,
    step: &Step,
    op: &Operation,
    request: &Value,
    recreated: &mut HashMap<String, String>,
) -> Value {
    let client = match ctx.client() {
        Ok(client) => client,
        Err(e) => return step_row(step, "failed", e.to_string()),
    };
    note_deleted(ctx, op, request);
    let reply = match client.call(op, request.clone()) {
        Ok(reply) => reply,
        Err(e) => return step_row(step, "failed", e.to_string()),
    };
    if step.change["recreates"] != true {
        let note = step.change["partly"]
            .as_str()
            .map(|p| format!("partly: {p}"))
            .unwrap_or_default();
        return step_row(step, "done", note);
    }
    if op.name == client::CREATE_PERMISSION_SET.name {
        return recreate_permission_set(ctx, step, request, &reply, recreated);
    }
    let old_key = match op.name {
        "CreateUser" => "UserId",
        "CreateGroup" => "GroupId",
        _ => return step_row(step, "done", String::new()),
    };
    let old = step.change["request"][old_key].as_str().unwrap_or("?");
    let new = reply[old_key].as_str().unwrap_or("?");
    let mut note = format!(
        "recreated from its recorded attributes with a new id {new} (was {old}): the old id cannot come back"
    );
    let others = strings(&step.change["group_ids"]);
    let mut restored = 0;
    let mut lost = Vec::new();
    for other in &others {
        let (group, user) = if old_key == "UserId" {
            (*other, new)
        } else {
            (new, *other)
        };
        let membership = json!({
            "IdentityStoreId": request["IdentityStoreId"],
            "GroupId": group,
            "MemberId": {"UserId": user},
        });
        match client.call(&client::CREATE_GROUP_MEMBERSHIP, membership) {
            Ok(_) => restored += 1,
            Err(e) => lost.push(format!("{other}: {e}")),
        }
    }
    if !others.is_empty() {
        note.push_str(&format!(
            "; {restored} of {} membership(s) restored",
            others.len()
        ));
    }
    if lost.is_empty() {
        step_row(step, "done", note)
    } else {
        note.push_str(&format!("; not restored: {}", lost.join("; ")));
        step_row(step, "failed", note)
    }
}

/// After CreatePermissionSet recreated a deleted set: its policies and boundary as
/// recorded, against the new ARN, which the steps after it use in place of the old one.
fn recreate_permission_set(
    ctx: &Context,
    step: &Step,
    request: &Value,
    reply: &Value,
    recreated: &mut HashMap<String, String>,
) -> Value {
    let old = step.change["request"]["PermissionSetArn"]
        .as_str()
        .unwrap_or("?");
    let Some(new) = reply["PermissionSet"]["PermissionSetArn"].as_str() else {
        return step_row(
            step,
            "failed",
            "CreatePermissionSet answered no PermissionSetArn".into(),
        );
    };
    recreated.insert(old.to_string(), new.to_string());
    let then = &step.change["then"];
    let target = json!({"InstanceArn": request["InstanceArn"], "PermissionSetArn": new});
    let with = |key: &str, value: &Value| {
        let mut input = target.clone();
        input[key] = value.clone();
        input
    };
    let items = |key: &str| then[key].as_array().cloned().unwrap_or_default();
    let mut writes: Vec<(&Operation, Value)> = Vec::new();
    for policy in items("AwsManagedPolicies") {
        writes.push((
            &client::ATTACH_MANAGED_POLICY_TO_PERMISSION_SET,
            with("ManagedPolicyArn", &policy["Arn"]),
        ));
    }
    for reference in items("CustomerManagedPolicies") {
        let reference = json!({"Name": reference["Name"], "Path": reference["Path"]});
        writes.push((
            &client::ATTACH_CUSTOMER_MANAGED_POLICY_REFERENCE_TO_PERMISSION_SET,
            with("CustomerManagedPolicyReference", &reference),
        ));
    }
    if let Some(policy) = then["InlinePolicy"].as_str().filter(|p| !p.is_empty()) {
        writes.push((
            &client::PUT_INLINE_POLICY_TO_PERMISSION_SET,
            with("InlinePolicy", &json!(policy)),
        ));
    }
    if then["PermissionsBoundary"].is_object() {
        writes.push((
            &client::PUT_PERMISSIONS_BOUNDARY_TO_PERMISSION_SET,
            with("PermissionsBoundary", &then["PermissionsBoundary"]),
        ));
    }
    let tags = request["Tags"].as_array().map_or(0, Vec::len);
    let mut note = format!(
        "recreated from its recorded attributes with a new ARN {new} (was {old}): the old ARN \
         cannot come back; {} managed, {} customer managed, {} inline policy, {} boundary, {tags} \
         tag(s)",
        items("AwsManagedPolicies").len(),
        items("CustomerManagedPolicies").len(),
        if then["InlinePolicy"].is_string() {
            "an"
        } else {
            "no"
        },
        if then["PermissionsBoundary"].is_object() {
            "a"
        } else {
            "no"
        },
    );
    let unknown = strings(&then["Unknown"]);
    if !unknown.is_empty() {
        note.push_str(&format!(
            "; not recorded (the endpoint could not tell them): {}",
            unknown.join(", ")
        ));
    }
    let client = match ctx.client() {
        Ok(client) => client,
        Err(e) => return step_row(step, "failed", format!("{note}; {e}")),
    };
    let failed: Vec<String> = writes
        .into_iter()
        .filter_map(|(op, input)| {
            client
                .call(op, input)
                .err()
                .map(|e| format!("{}: {e}", op.name))
        })
        .collect();
    if failed.is_empty() {
        step_row(step, "done", note)
    } else {
        note.push_str(&format!("; not restored: {}", failed.join("; ")));
        step_row(step, "failed", note)
    }
}

/// The strings of a recorded JSON array (none when it is missing or not an array).
fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_runs_newest_first_and_names_what_it_cannot_do() {
        let record = json!({"id": "x", "changes": [
            {"operation": "CreateAccountAssignment", "request": {"TargetId": "1"},
             "inverse": {"service": "sso-admin", "operation": "DeleteAccountAssignment",
                         "request": {"TargetId": "1"}}},
            {"operation": "DeletePermissionSet", "request": {}, "cannot_undo": "gone"},
            {"operation": "X", "request": {},
             "inverse": {"service": "sso-admin", "operation": "NotInTheTable", "request": {}}},
        ]});
        let steps = plan(&record);
        let order: Vec<usize> = steps.iter().map(|s| s.index).collect();
        assert_eq!(order, [3, 2, 1]);
        assert!(steps[0].op.is_none() && steps[1].op.is_none());
        assert_eq!(steps[2].op.map(|o| o.name), Some("DeleteAccountAssignment"));
        assert_eq!(note_of(steps[1].change), "cannot be undone: gone");
    }

    #[test]
    fn a_change_with_two_inverses_is_two_steps() {
        let record = json!({"id": "x", "changes": [
            {"operation": "TagResource", "request": {"ResourceArn": "ps"},
             "inverse": {"service": "sso-admin", "operation": "UntagResource",
                         "request": {"ResourceArn": "ps", "TagKeys": ["new"]}},
             "also": [{"service": "sso-admin", "operation": "TagResource",
                       "request": {"ResourceArn": "ps",
                                   "Tags": [{"Key": "team", "Value": "platform"}]}}]},
        ]});
        let steps = plan(&record);
        let ops: Vec<(usize, Option<&str>)> = steps
            .iter()
            .map(|s| (s.index, s.op.map(|o| o.name)))
            .collect();
        assert_eq!(ops, [(1, Some("UntagResource")), (1, Some("TagResource"))]);
        assert_eq!(
            step_row(&steps[1], "would run", String::new())["target"],
            "ResourceArn=ps"
        );
        assert_eq!(
            undone_by(&record["changes"][0]),
            "UntagResource + TagResource"
        );
        assert_eq!(undone_by(&json!({"cannot_undo": "gone"})), Value::Null);
    }

    #[test]
    fn a_recreated_permission_set_lends_its_new_arn_to_later_steps() {
        let recreated = HashMap::from([("old".to_string(), "new".to_string())]);
        let request = json!({"PermissionSetArn": "old", "TargetId": "1"});
        assert_eq!(
            renamed(&request, &recreated),
            json!({"PermissionSetArn": "new", "TargetId": "1"})
        );
        let tags = json!({"ResourceArn": "old", "TagKeys": ["k"]});
        assert_eq!(
            renamed(&tags, &recreated),
            json!({"ResourceArn": "new", "TagKeys": ["k"]})
        );
        let other = json!({"PermissionSetArn": "other"});
        assert_eq!(renamed(&other, &recreated), other);
    }

    #[test]
    fn ids_are_found_whole_or_by_a_unique_prefix() {
        let records = vec![
            json!({"id": "20261204T070000Z-aa"}),
            json!({"id": "20261204T070000Z-ab"}),
        ];
        assert!(find(&records, "20261204T070000Z-ab").is_ok());
        assert!(find(&records, "20261204T070000Z-b").is_err());
        assert!(find(&records, "20261204T070000Z-a").is_err());
        assert_eq!(
            find(&records, "20261204T070000Z-aa").unwrap()["id"],
            "20261204T070000Z-aa"
        );
    }

    #[test]
    fn targets_name_the_identifying_members() {
        let request = json!({"IdentityStoreId": "d", "GroupId": "g", "MemberId": {"UserId": "u"}});
        assert_eq!(target_of(&request), "GroupId=g MemberId=u");
    }
}
