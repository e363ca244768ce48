//! Restoring a backup: recreating by name what AWS no longer has, in dependency order
//! (users, groups, permission sets, then memberships and assignments), with the ids of the
//! backup mapped to the ids of AWS now (the ones that exist, and the ones just created).
//!
//! A restore only adds: an item that exists under its name is left as it is (when it differs
//! from the backup, the plan says so); nothing is deleted.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::client::shapes::{AccountAssignment, PrincipalType};
use crate::client::{self, Operation};
use crate::commands::Context;
use crate::commands::assignment::{self, Change};
use crate::error::{Error, Result};

use super::diff;

/// What a restore does with one item of the backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Missing from AWS: created.
    Create,
    /// In AWS as in the backup.
    Same,
    /// In AWS under its name but different: left as it is.
    Differs,
    /// Cannot be created (its account left the organization, its user or group is gone).
    Impossible(&'static str),
}

impl Action {
    fn text(self, dry_run: bool) -> String {
        match self {
            Action::Create if dry_run => "would create".into(),
            Action::Create => "created".into(),
            Action::Same => "exists".into(),
            Action::Differs => "exists, differs (left as is)".into(),
            Action::Impossible(why) => format!("skipped: {why}"),
        }
    }
}

/// One step of the plan: an item of the backup and what happens to it.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    /// The document member (`Users`, ...).
    pub(crate) resource: &'static str,
    /// The item's key (see [`diff`]).
    pub(crate) key: String,
    /// The item as the backup holds it.
    pub(crate) item: Value,
    /// What happens to it.
    pub(crate) action: Action,
}

/// The resources a restore recreates, in the order it does.
const ORDER: &[&str] = &[
    "Users",
    "Groups",
    "PermissionSets",
    "Memberships",
    "Assignments",
];

/// The plan: every item of the members both documents hold, in [`ORDER`].
pub(crate) fn plan(backup: &Value, live: &Value) -> Vec<Step> {
    let accounts: Vec<&str> = live["Accounts"]
        .as_array()
        .map(|a| a.iter().filter_map(|a| a["Id"].as_str()).collect())
        .unwrap_or_default();
    let mut steps = Vec::new();
    for resource in ORDER {
        let (Some(ours), Some(theirs)) = (backup[*resource].as_array(), live[*resource].as_array())
        else {
            continue;
        };
        let fields = diff::key_fields(resource);
        let theirs = diff::keyed(theirs, fields);
        for (key, item) in diff::keyed(ours, fields) {
            let action = match theirs.get(&key) {
                Some(now) if comparable(resource, item) == comparable(resource, now) => {
                    Action::Same
                }
                Some(_) => Action::Differs,
                None if *resource == "Assignments"
                    && !accounts.contains(&item["AccountId"].as_str().unwrap_or("")) =>
                {
                    Action::Impossible("the account is not in the organization")
                }
                None => Action::Create,
            };
            steps.push(Step {
                resource,
                key,
                item: item.clone(),
                action,
            });
        }
    }
    steps
}

/// An item without the members AWS assigns (ids, ARNs, dates), which a recreated item
/// cannot keep: what must match for an item to count as the same.
fn comparable(resource: &str, item: &Value) -> Value {
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
        // What an endpoint could not tell is no difference.
        for part in ["PermissionsBoundary", "Tags"] {
            if map.get(part).is_some_and(Value::is_null) {
                map.remove(part);
            }
        }
    }
    Value::Object(map)
}

/// Ids by name in AWS now, grown by what the restore creates.
#[derive(Debug, Default)]
struct Ids {
    users: HashMap<String, String>,
    groups: HashMap<String, String>,
    permission_sets: HashMap<String, String>,
}

impl Ids {
    fn of(live: &Value) -> Ids {
        let map = |member: &str, name: &str, id: &str| -> HashMap<String, String> {
            live[member]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| {
                            Some((i[name].as_str()?.to_string(), i[id].as_str()?.to_string()))
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        Ids {
            users: map("Users", "UserName", "UserId"),
            groups: map("Groups", "DisplayName", "GroupId"),
            permission_sets: map("PermissionSets", "Name", "PermissionSetArn"),
        }
    }
}

/// Carries out the `Create` steps of `steps`, in order; each step's action becomes
/// [`Action::Impossible`] when what it needs does not exist. `live` gives the ids of AWS now.
pub(crate) fn run(ctx: &Context, steps: &mut [Step], live: &Value) -> Result<()> {
    let client = ctx.client()?;
    let store = ctx.identity_store_id()?.to_string();
    let instance = ctx.instance_arn()?.to_string();
    let mut ids = Ids::of(live);
    let mut assignments: Vec<(usize, AccountAssignment)> = Vec::new();
    for (index, step) in steps.iter_mut().enumerate() {
        if step.action != Action::Create {
            continue;
        }
        let item = &step.item;
        let text = |k: &str| item[k].as_str().unwrap_or_default().to_string();
        match step.resource {
            "Users" => {
                let mut input = copy(item, crate::rollback::USER_MEMBERS);
                input.insert("IdentityStoreId".into(), json!(store));
                let reply = client.call(&client::CREATE_USER, Value::Object(input))?;
                ids.users.insert(text("UserName"), id_in(&reply, "UserId")?);
            }
            "Groups" => {
                let mut input = copy(item, &["DisplayName", "Description"]);
                input.insert("IdentityStoreId".into(), json!(store));
                let reply = client.call(&client::CREATE_GROUP, Value::Object(input))?;
                ids.groups
                    .insert(text("DisplayName"), id_in(&reply, "GroupId")?);
            }
            "PermissionSets" => {
                let arn = create_permission_set(ctx, &instance, item)?;
                ids.permission_sets.insert(text("Name"), arn);
            }
            "Memberships" => {
                let (Some(group), Some(user)) = (
                    ids.groups.get(&text("GroupName")),
                    ids.users.get(&text("UserName")),
                ) else {
                    step.action = Action::Impossible("the group or user does not exist");
                    continue;
                };
                client.call(
                    &client::CREATE_GROUP_MEMBERSHIP,
                    json!({"IdentityStoreId": store, "GroupId": group,
                           "MemberId": {"UserId": user}}),
                )?;
            }
            "Assignments" => {
                let kind = PrincipalType::parse(&text("PrincipalType"))?;
                let principals = match kind {
                    PrincipalType::User => &ids.users,
                    PrincipalType::Group => &ids.groups,
                };
                let (Some(principal), Some(set)) = (
                    principals.get(&text("PrincipalName")),
                    ids.permission_sets.get(&text("PermissionSetName")),
                ) else {
                    step.action =
                        Action::Impossible("the principal or permission set does not exist");
                    continue;
                };
                assignments.push((
                    index,
                    AccountAssignment {
                        account_id: text("AccountId"),
                        permission_set_arn: set.clone(),
                        principal_type: kind,
                        principal_id: principal.clone(),
                    },
                ));
            }
            _ => {}
        }
    }
    if !assignments.is_empty() {
        let wanted: Vec<AccountAssignment> = assignments.iter().map(|(_, a)| a.clone()).collect();
        let submitted = assignment::submit_each(ctx, Change::Create, &wanted, true)?;
        let mut failed = 0;
        for ((index, _), outcome) in assignments.iter().zip(&submitted) {
            if let Some(failure) = &outcome.failure {
                failed += 1;
                ctx.warn(format!("assignment {}: {failure}", steps[*index].key));
                steps[*index].action = Action::Impossible("AWS refused the assignment");
            }
        }
        if failed > 0 {
            return Err(Error::runtime(format!(
                "{failed} assignment(s) could not be restored (see the warnings)"
            )));
        }
    }
    Ok(())
}

/// Creates a permission set with every attribute of the backup; returns its ARN.
fn create_permission_set(ctx: &Context, instance: &str, item: &Value) -> Result<String> {
    let client = ctx.client()?;
    let mut input = copy(
        item,
        &["Name", "Description", "SessionDuration", "RelayState"],
    );
    input.insert("InstanceArn".into(), json!(instance));
    if let Some(tags) = item["Tags"].as_array().filter(|t| !t.is_empty()) {
        input.insert("Tags".into(), json!(tags));
    }
    let reply = client.call(&client::CREATE_PERMISSION_SET, Value::Object(input))?;
    let arn = reply["PermissionSet"]["PermissionSetArn"]
        .as_str()
        .ok_or_else(|| Error::runtime("sso-admin CreatePermissionSet: no ARN in the reply"))?
        .to_string();
    let target = |extra: Value| -> Value {
        let mut input = json!({"InstanceArn": instance, "PermissionSetArn": arn});
        if let (Some(map), Value::Object(more)) = (input.as_object_mut(), extra) {
            map.extend(more);
        }
        input
    };
    let call = |op: &Operation, input: Value| client.call(op, input).map(|_| ());
    for policy in item["AwsManagedPolicies"].as_array().into_iter().flatten() {
        call(
            &client::ATTACH_MANAGED_POLICY_TO_PERMISSION_SET,
            target(json!({"ManagedPolicyArn": policy["Arn"]})),
        )?;
    }
    for reference in item["CustomerManagedPolicies"]
        .as_array()
        .into_iter()
        .flatten()
    {
        call(
            &client::ATTACH_CUSTOMER_MANAGED_POLICY_REFERENCE_TO_PERMISSION_SET,
            target(json!({"CustomerManagedPolicyReference": reference})),
        )?;
    }
    if let Some(policy) = item["InlinePolicy"].as_str() {
        call(
            &client::PUT_INLINE_POLICY_TO_PERMISSION_SET,
            target(json!({"InlinePolicy": policy})),
        )?;
    }
    if item["PermissionsBoundary"].is_object() {
        call(
            &client::PUT_PERMISSIONS_BOUNDARY_TO_PERMISSION_SET,
            target(json!({"PermissionsBoundary": item["PermissionsBoundary"]})),
        )?;
    }
    Ok(arn)
}

/// The members `fields` of `item` that it has, without null members at any depth (a
/// request names what it sets; an absent attribute is no attribute).
fn copy(item: &Value, fields: &[&str]) -> Map<String, Value> {
    fields
        .iter()
        .filter_map(|f| {
            item.get(*f)
                .filter(|v| !v.is_null())
                .map(|v| (f.to_string(), without_nulls(v.clone())))
        })
        .collect()
}

fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

fn id_in(reply: &Value, member: &str) -> Result<String> {
    reply[member]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Error::runtime(format!("the reply lacks {member}")))
}

/// The plan as output rows.
pub(crate) fn rows(steps: &[Step], dry_run: bool) -> Vec<Value> {
    steps
        .iter()
        .map(|s| json!({"Resource": s.resource, "Key": s.key, "Action": s.action.text(dry_run)}))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_creates_what_is_missing_and_leaves_the_rest() {
        let backup = json!({
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
        });
        let live = json!({
            "Users": [
                {"UserName": "alice", "UserId": "new-1", "DisplayName": "Alice"},
                {"UserName": "carol", "UserId": "old-3", "DisplayName": "Carol C."},
            ],
            "Assignments": [],
            "Accounts": [{"Id": "111"}],
        });
        let steps = plan(&backup, &live);
        let actions: Vec<(String, Action)> =
            steps.iter().map(|s| (s.key.clone(), s.action)).collect();
        assert_eq!(
            actions,
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
    }

    #[test]
    fn requests_name_only_what_is_set() {
        let user = json!({"UserName": "a", "UserId": "1", "Title": null,
                          "Name": {"GivenName": "A", "Formatted": null},
                          "Emails": [{"Value": "a@x", "Type": null}]});
        assert_eq!(
            Value::Object(copy(&user, crate::rollback::USER_MEMBERS)),
            json!({"UserName": "a", "Name": {"GivenName": "A"}, "Emails": [{"Value": "a@x"}]})
        );
    }
}
