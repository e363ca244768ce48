//! The plan of a restore: for every item of the backup (and, with `--prune`, every item of
//! AWS now that the backup lacks), what a restore does with it, matched by name as
//! [`diff`] matches items, in dependency order (users, groups, permission sets, then
//! memberships and assignments; deletes the other way round).
//!
//! The plan never writes; `apply.rs` carries it out. An item that exists under its name is
//! left as it is unless `--conflict overwrite`; nothing is deleted without `--prune`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::diff;

/// What happens to an item that exists under its name but differs (`--conflict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conflict {
    /// Left as it is.
    Skip,
    /// Given the backup's attributes.
    Overwrite,
}

impl Conflict {
    /// Parses `--conflict skip|overwrite` (the parser has checked the choice).
    pub(crate) fn parse(text: Option<&str>) -> Conflict {
        match text {
            Some("overwrite") => Conflict::Overwrite,
            _ => Conflict::Skip,
        }
    }
}

/// What a restore does with one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Missing from AWS: created.
    Create,
    /// In AWS as in the backup.
    Same,
    /// In AWS under its name but different: left as it is.
    Differs,
    /// In AWS under its name but different: given the backup's attributes.
    Update,
    /// In AWS and not in the backup (`--prune`): deleted.
    Delete,
    /// Cannot be done (its account is not in the organization, its user or group is gone).
    Impossible(&'static str),
    /// AWS refused it (the reason is in the step's `error`).
    Failed,
}

impl Action {
    /// The words of the report.
    pub(crate) fn text(self, dry_run: bool) -> String {
        match self {
            Action::Create if dry_run => "would create".into(),
            Action::Create => "created".into(),
            Action::Same => "exists".into(),
            Action::Differs => "exists, differs (left as is)".into(),
            Action::Update if dry_run => "would update".into(),
            Action::Update => "updated".into(),
            Action::Delete if dry_run => "would delete".into(),
            Action::Delete => "deleted".into(),
            Action::Impossible(why) => format!("skipped: {why}"),
            Action::Failed => "failed".into(),
        }
    }

    /// Whether it writes.
    pub(crate) fn writes(self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::Delete)
    }
}

/// One step of the plan: an item and what happens to it.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    /// The document member (`Users`, ...).
    pub(crate) resource: &'static str,
    /// The item's key (see [`diff`]).
    pub(crate) key: String,
    /// The item as the backup holds it (for a delete: as AWS holds it).
    pub(crate) item: Value,
    /// The item as AWS holds it now, when it exists.
    pub(crate) live: Option<Value>,
    /// What happens to it.
    pub(crate) action: Action,
    /// For an item that differs: each attribute an overwrite sets, `{"Field", "Before"
    /// (AWS now), "After" (the backup)}`.
    pub(crate) changes: Vec<Value>,
    /// Attributes that differ and that a restore cannot set (`Tags`, ...).
    pub(crate) left: Vec<String>,
    /// For a permission set updated: how many accounts it was provisioned to afterwards.
    pub(crate) provisioned: Option<usize>,
    /// Why AWS refused it.
    pub(crate) error: Option<String>,
}

/// The resources a restore writes, in the order it creates and updates them (deletes go
/// the other way round).
pub(crate) const ORDER: &[&str] = &[
    "Users",
    "Groups",
    "PermissionSets",
    "Memberships",
    "Assignments",
];

/// The attributes `--conflict overwrite` sets, per resource (the rest are the item's key,
/// ids, or what AWS assigns). A permission set's policies, boundary and tags are added,
/// replaced and removed to match; see [`settable_change`] for what cannot be set.
const OVERWRITTEN: &[(&str, &[&str])] = &[
    (
        "Users",
        &[
            "DisplayName",
            "Name",
            "Emails",
            "NickName",
            "Title",
            "UserType",
            "PreferredLanguage",
            "Locale",
            "Timezone",
            "ProfileUrl",
            "Addresses",
            "PhoneNumbers",
        ],
    ),
    ("Groups", &["Description"]),
    (
        "PermissionSets",
        &[
            "Description",
            "SessionDuration",
            "RelayState",
            "InlinePolicy",
            "AwsManagedPolicies",
            "CustomerManagedPolicies",
            "PermissionsBoundary",
            "Tags",
        ],
    ),
];

/// What the plan is asked for.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// The document members restored (`--resources`).
    pub(crate) members: BTreeSet<&'static str>,
    /// What happens to items that differ.
    pub(crate) conflict: Conflict,
    /// Whether what AWS has and the backup lacks is deleted.
    pub(crate) prune: bool,
}

/// The plan: every item of the selected members both documents hold, creates and updates
/// in [`ORDER`], then (with `prune`) deletes in the reverse order.
pub(crate) fn plan(backup: &Value, live: &Value, options: &Options) -> Vec<Step> {
    let accounts: BTreeSet<&str> = live["Accounts"]
        .as_array()
        .map(|a| a.iter().filter_map(|a| a["Id"].as_str()).collect())
        .unwrap_or_default();
    let unknown: BTreeSet<&str> = [backup, live]
        .iter()
        .flat_map(|d| d["Unknown"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    // AWS now without a member the backup has: none of it there (assignments of an
    // instance in no organization).
    let pairs = |resource: &str| -> Option<(Vec<Value>, Vec<Value>)> {
        Some((
            backup[resource].as_array()?.clone(),
            live[resource].as_array().cloned().unwrap_or_default(),
        ))
    };
    let mut steps = Vec::new();
    for resource in ORDER.iter().filter(|r| options.members.contains(*r)) {
        let Some((ours, theirs)) = pairs(resource) else {
            continue;
        };
        let fields = diff::key_fields(resource);
        let theirs = diff::keyed(&theirs, fields);
        for (key, item) in diff::keyed(&ours, fields) {
            let now = theirs.get(&key).copied();
            let mut step = Step {
                resource,
                key,
                item: item.clone(),
                live: now.cloned(),
                action: Action::Create,
                changes: Vec::new(),
                left: Vec::new(),
                provisioned: None,
                error: None,
            };
            match now {
                Some(now) => {
                    let (changes, left) = differences(resource, now, item, &unknown);
                    step.action = if changes.is_empty() && left.is_empty() {
                        Action::Same
                    } else if options.conflict == Conflict::Overwrite && !changes.is_empty() {
                        Action::Update
                    } else {
                        Action::Differs
                    };
                    step.changes = changes;
                    step.left = left;
                }
                None if *resource == "Assignments"
                    && !accounts.contains(item["AccountId"].as_str().unwrap_or("")) =>
                {
                    step.action = Action::Impossible("the account is not in the organization");
                }
                None => {}
            }
            steps.push(step);
        }
    }
    if options.prune {
        for resource in ORDER.iter().rev().filter(|r| options.members.contains(*r)) {
            let Some((ours, theirs)) = pairs(resource) else {
                continue;
            };
            let fields = diff::key_fields(resource);
            let ours = diff::keyed(&ours, fields);
            for (key, item) in diff::keyed(&theirs, fields) {
                if !ours.contains_key(&key) {
                    steps.push(Step {
                        resource,
                        key,
                        item: item.clone(),
                        live: Some(item.clone()),
                        action: Action::Delete,
                        changes: Vec::new(),
                        left: Vec::new(),
                        provisioned: None,
                        error: None,
                    });
                }
            }
        }
    }
    steps
}

/// How an item in AWS (`now`) differs from the backup's (`wanted`): the changes an
/// overwrite makes (`{"Field", "Before", "After"}`, by the diff engine), and the names of
/// the attributes that differ and that it cannot set.
fn differences(
    resource: &str,
    now: &Value,
    wanted: &Value,
    unknown: &BTreeSet<&str>,
) -> (Vec<Value>, Vec<String>) {
    let settable = OVERWRITTEN
        .iter()
        .find(|(member, _)| *member == resource)
        .map(|(_, fields)| *fields)
        .unwrap_or(&[]);
    let mut changes = Vec::new();
    let mut left = Vec::new();
    let (before, after) = (
        comparable(resource, now, unknown),
        comparable(resource, wanted, unknown),
    );
    for change in diff::changed_fields(&before, &after) {
        let field = change["Field"].as_str().unwrap_or_default();
        if settable.contains(&field) && settable_change(resource, field, &change) {
            changes.push(change);
        } else {
            left.push(field.to_string());
        }
    }
    (changes, left)
}

/// Whether an overwrite can make `change` of permission set attribute `field` with the
/// operations of the table (policies, references, the boundary and tags are attached, put,
/// detached, deleted, tagged and untagged to match); anything else the table lists can be
/// set.
fn settable_change(resource: &str, field: &str, change: &Value) -> bool {
    if resource != "PermissionSets" {
        return true;
    }
    match field {
        // UpdatePermissionSet sets these; it cannot clear one.
        "Description" | "SessionDuration" | "RelayState" => !change["After"].is_null(),
        _ => true,
    }
}

/// An item without the members AWS assigns (ids, ARNs, dates), which a recreated item
/// cannot keep, nor the attributes either document could not tell: what must match for
/// an item to count as the same.
pub(crate) fn comparable(resource: &str, item: &Value, unknown: &BTreeSet<&str>) -> Value {
    const ASSIGNED: &[&str] = &[
        "UserId",
        "GroupId",
        "IdentityStoreId",
        "MembershipId",
        "PermissionSetArn",
        "CreatedDate",
        "PrincipalId",
        "Meta",
    ];
    let mut map: Map<String, Value> = item.as_object().cloned().unwrap_or_default();
    for field in ASSIGNED {
        map.remove(*field);
    }
    if resource == "PermissionSets" {
        for part in ["PermissionsBoundary", "Tags"] {
            if unknown.contains(part) || map.get(part).is_some_and(Value::is_null) {
                map.remove(part);
            }
        }
    }
    // Absent and null are the same attribute: no value.
    map.retain(|_, v| !v.is_null());
    Value::Object(map)
}

/// The assignments the plan skips because their account is not in the organization, by
/// account: `(account id, account name, how many)`.
pub(crate) fn skipped_accounts(steps: &[Step]) -> Vec<(String, String, usize)> {
    let mut by_account: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for step in steps.iter().filter(|s| {
        s.resource == "Assignments" && matches!(s.action, Action::Impossible(_)) && s.live.is_none()
    }) {
        let id = step.item["AccountId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = step.item["AccountName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        by_account.entry(id).or_insert((name, 0)).1 += 1;
    }
    by_account
        .into_iter()
        .map(|(id, (name, n))| (id, name, n))
        .collect()
}

/// The plan as output rows.
pub(crate) fn rows(steps: &[Step], dry_run: bool) -> Vec<Value> {
    steps
        .iter()
        .map(|s| {
            let mut row = json!({
                "Resource": s.resource,
                "Key": s.key,
                "Action": s.action.text(dry_run),
                "Changes": s.changes,
                "Detail": detail(s, dry_run),
            });
            if !s.left.is_empty() {
                row["Left"] = json!(s.left);
            }
            if let Some(n) = s.provisioned {
                row["ProvisionedTo"] = json!(n);
            }
            if let Some(error) = &s.error {
                row["Error"] = json!(error);
            }
            row
        })
        .collect()
}

/// One line saying exactly what an update changes (`SessionDuration "PT8H" -> "PT4H"`),
/// what it leaves, or why a step failed.
fn detail(step: &Step, dry_run: bool) -> String {
    let mut parts: Vec<String> = step
        .changes
        .iter()
        .map(|c| {
            format!(
                "{} {} -> {}",
                c["Field"].as_str().unwrap_or("?"),
                c["Before"],
                c["After"]
            )
        })
        .collect();
    if !step.left.is_empty() {
        parts.push(format!("left as is: {}", step.left.join(", ")));
    }
    if dry_run && step.resource == "PermissionSets" && step.action == Action::Update {
        parts.push("then provisioned to its accounts".into());
    }
    if let Some(n) = step.provisioned.filter(|n| *n > 0) {
        parts.push(format!("provisioned to {n} account(s)"));
    }
    if let Some(error) = &step.error {
        parts.push(error.clone());
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(conflict: Conflict, prune: bool) -> Options {
        Options {
            members: ORDER.iter().copied().collect(),
            conflict,
            prune,
        }
    }

    fn actions(steps: &[Step]) -> Vec<(String, Action)> {
        steps.iter().map(|s| (s.key.clone(), s.action)).collect()
    }

    fn backup() -> Value {
        json!({
            "Users": [
                {"UserName": "alice", "UserId": "old-1", "DisplayName": "Alice"},
                {"UserName": "bob", "UserId": "old-2", "DisplayName": "Bob"},
                {"UserName": "carol", "UserId": "old-3", "DisplayName": "Carol"},
            ],
            "Assignments": [
                {"AccountId": "111", "PermissionSetName": "A", "PrincipalType": "USER",
                 "PrincipalName": "bob"},
                {"AccountId": "999", "PermissionSetName": "A", "PrincipalType": "USER",
                 "PrincipalName": "bob"},
            ],
        })
    }

    fn live() -> Value {
        json!({
            "Users": [
                {"UserName": "alice", "UserId": "new-1", "DisplayName": "Alice"},
                {"UserName": "carol", "UserId": "old-3", "DisplayName": "Carol C."},
                {"UserName": "dave", "UserId": "new-4", "DisplayName": "Dave"},
            ],
            "Assignments": [
                {"AccountId": "111", "PermissionSetName": "A", "PrincipalType": "USER",
                 "PrincipalName": "dave"},
            ],
            "Accounts": [{"Id": "111"}],
        })
    }

    #[test]
    fn the_plan_creates_what_is_missing_and_leaves_the_rest() {
        let steps = plan(&backup(), &live(), &options(Conflict::Skip, false));
        assert_eq!(
            actions(&steps),
            vec![
                ("alice".to_string(), Action::Same),
                ("bob".to_string(), Action::Create),
                ("carol".to_string(), Action::Differs),
                ("111 / A / USER / bob".to_string(), Action::Create),
                (
                    "999 / A / USER / bob".to_string(),
                    Action::Impossible("the account is not in the organization")
                ),
            ]
        );
        assert_eq!(rows(&steps, true)[1]["Action"], "would create");
        assert_eq!(
            skipped_accounts(&steps),
            vec![("999".to_string(), String::new(), 1)]
        );
    }

    #[test]
    fn overwrite_lists_each_change_and_prune_deletes_in_reverse_order() {
        let steps = plan(&backup(), &live(), &options(Conflict::Overwrite, true));
        assert_eq!(
            actions(&steps),
            vec![
                ("alice".to_string(), Action::Same),
                ("bob".to_string(), Action::Create),
                ("carol".to_string(), Action::Update),
                ("111 / A / USER / bob".to_string(), Action::Create),
                (
                    "999 / A / USER / bob".to_string(),
                    Action::Impossible("the account is not in the organization")
                ),
                ("111 / A / USER / dave".to_string(), Action::Delete),
                ("dave".to_string(), Action::Delete),
            ]
        );
        assert_eq!(
            steps[2].changes,
            vec![json!({"Field": "DisplayName", "Before": "Carol C.", "After": "Carol"})]
        );
        assert_eq!(
            rows(&steps, true)[2]["Detail"],
            r#"DisplayName "Carol C." -> "Carol""#
        );
        // Only the selected resources are pruned.
        let mut users_only = options(Conflict::Skip, true);
        users_only.members = ["Users"].into_iter().collect();
        let steps = plan(&backup(), &live(), &users_only);
        assert!(steps.iter().all(|s| s.resource == "Users"));
        assert_eq!(steps.last().map(|s| s.action), Some(Action::Delete));
    }

    #[test]
    fn overwrite_removes_references_boundaries_and_tags_and_leaves_what_it_cannot_clear() {
        let boundary = json!({"ManagedPolicyArn": "arn:aws:iam::aws:policy/PowerUserAccess"});
        let now = json!({"Name": "A", "SessionDuration": "PT8H", "Description": "d",
                         "Tags": [{"Key": "k", "Value": "1"}],
                         "CustomerManagedPolicies": [{"Name": "x", "Path": "/"}],
                         "PermissionsBoundary": boundary});
        let wanted = json!({"Name": "A", "SessionDuration": "PT4H", "Tags": [],
                            "CustomerManagedPolicies": [], "PermissionsBoundary": null});
        let (changes, left) = differences("PermissionSets", &now, &wanted, &BTreeSet::new());
        assert_eq!(
            changes,
            vec![
                json!({"Field": "CustomerManagedPolicies",
                       "Before": [{"Name": "x", "Path": "/"}], "After": []}),
                json!({"Field": "PermissionsBoundary", "Before": boundary, "After": null}),
                json!({"Field": "SessionDuration", "Before": "PT8H", "After": "PT4H"}),
                json!({"Field": "Tags", "Before": [{"Key": "k", "Value": "1"}], "After": []}),
            ]
        );
        // UpdatePermissionSet cannot clear a description.
        assert_eq!(left, ["Description"]);
        let steps = plan(
            &json!({"PermissionSets": [wanted]}),
            &json!({"PermissionSets": [now.clone()]}),
            &options(Conflict::Overwrite, false),
        );
        assert_eq!(steps[0].action, Action::Update);
        let detail = rows(&steps, true)[0]["Detail"].clone();
        assert_eq!(
            detail,
            format!(
                "CustomerManagedPolicies [{{\"Name\":\"x\",\"Path\":\"/\"}}] -> []; \
                 PermissionsBoundary {boundary} -> null; SessionDuration \"PT8H\" -> \"PT4H\"; \
                 Tags [{{\"Key\":\"k\",\"Value\":\"1\"}}] -> []; left as is: Description; \
                 then provisioned to its accounts"
            )
        );
        // What an endpoint could not tell is no difference.
        let unknown: BTreeSet<&str> = ["Tags", "PermissionsBoundary"].into_iter().collect();
        let mut unknown_now = now.clone();
        unknown_now["Tags"] = Value::Null;
        unknown_now["PermissionsBoundary"] = Value::Null;
        let (changes, _) = differences("PermissionSets", &unknown_now, &wanted, &unknown);
        let fields: Vec<&str> = changes.iter().filter_map(|c| c["Field"].as_str()).collect();
        assert_eq!(fields, ["CustomerManagedPolicies", "SessionDuration"]);
    }
}
