//! Carrying out a restore plan (see `restore.rs`): each step that writes, in the plan's
//! order, with the backup's ids mapped by name to the ids of AWS now (the ones that exist,
//! and the ones just created). A step AWS refuses is marked failed with its reason and the
//! rest go on; a step whose user, group or permission set is missing is skipped.
//!
//! Every write goes through the context's cached client and is noted for the rollback
//! journal with the state it changes.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value, json};

use super::restore::{Action, Step};
use crate::client::shapes::{AccountAssignment, PrincipalType, RequestStatus};
use crate::client::{self, Operation};
use crate::commands::Context;
use crate::commands::assignment::{self, Change};
use crate::commands::wait::{self, Waited};
use crate::error::{Error, Result};

/// The `Name` members of a user, with their UpdateUser attribute paths.
const NAME_PATHS: &[(&str, &str)] = &[
    ("Formatted", "name.formatted"),
    ("FamilyName", "name.familyName"),
    ("GivenName", "name.givenName"),
    ("MiddleName", "name.middleName"),
    ("HonorificPrefix", "name.honorificPrefix"),
    ("HonorificSuffix", "name.honorificSuffix"),
];

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

/// Where the writes go: the instance and identity store of the context.
struct Target<'a> {
    ctx: &'a Context,
    store: String,
    instance: String,
}

/// Carries out the steps that write, in order; returns how many AWS refused (each step
/// says why). Assignments are sent in batches (at most ten outstanding, each waited for).
pub(crate) fn run(ctx: &Context, steps: &mut [Step], live: &Value) -> Result<usize> {
    let target = Target {
        ctx,
        store: ctx.identity_store_id()?.to_string(),
        instance: ctx.instance_arn()?.to_string(),
    };
    let mut ids = Ids::of(live);
    let mut batch: Vec<(usize, AccountAssignment)> = Vec::new();
    let mut batch_change = Change::Create;
    for index in 0..steps.len() {
        let step = &mut steps[index];
        if !step.action.writes() {
            continue;
        }
        if step.resource == "Assignments" {
            let change = match step.action {
                Action::Delete => Change::Delete,
                _ => Change::Create,
            };
            if change != batch_change {
                submit(ctx, batch_change, &mut batch, steps)?;
                batch_change = change;
            }
            let step = &mut steps[index];
            match assignment_of(step, &ids) {
                Ok(Some(wanted)) => batch.push((index, wanted)),
                Ok(None) => {
                    step.action =
                        Action::Impossible("the principal or permission set does not exist")
                }
                Err(e) => fail(step, &e),
            }
            continue;
        }
        submit(ctx, batch_change, &mut batch, steps)?;
        let step = &mut steps[index];
        if let Err(e) = target.write(step, &mut ids) {
            fail(step, &e);
        }
    }
    submit(ctx, batch_change, &mut batch, steps)?;
    Ok(steps.iter().filter(|s| s.action == Action::Failed).count())
}

fn fail(step: &mut Step, error: &Error) {
    step.action = Action::Failed;
    step.error = Some(error.to_string());
}

/// The assignment a step creates (with the ids of AWS now) or deletes (as AWS has it);
/// `None` when its principal or permission set does not exist.
fn assignment_of(step: &Step, ids: &Ids) -> Result<Option<AccountAssignment>> {
    let item = &step.item;
    let text = |k: &str| item[k].as_str().unwrap_or_default().to_string();
    let kind = PrincipalType::parse(&text("PrincipalType"))?;
    if step.action == Action::Delete {
        return Ok(Some(AccountAssignment {
            account_id: text("AccountId"),
            permission_set_arn: text("PermissionSetArn"),
            principal_type: kind,
            principal_id: text("PrincipalId"),
        }));
    }
    let principals = match kind {
        PrincipalType::User => &ids.users,
        PrincipalType::Group => &ids.groups,
    };
    let (Some(principal), Some(set)) = (
        principals.get(&text("PrincipalName")),
        ids.permission_sets.get(&text("PermissionSetName")),
    ) else {
        return Ok(None);
    };
    Ok(Some(AccountAssignment {
        account_id: text("AccountId"),
        permission_set_arn: set.clone(),
        principal_type: kind,
        principal_id: principal.clone(),
    }))
}

/// Sends the assignments of `batch` (and empties it), marking each refused step failed.
fn submit(
    ctx: &Context,
    change: Change,
    batch: &mut Vec<(usize, AccountAssignment)>,
    steps: &mut [Step],
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let wanted: Vec<AccountAssignment> = batch.iter().map(|(_, a)| a.clone()).collect();
    let submitted = assignment::submit_each(ctx, change, &wanted, true)?;
    for ((index, _), outcome) in batch.iter().zip(&submitted) {
        if let Some(failure) = &outcome.failure {
            steps[*index].action = Action::Failed;
            steps[*index].error = Some(failure.clone());
        }
    }
    batch.clear();
    Ok(())
}

impl Target<'_> {
    /// Carries out one step of users, groups, permission sets or memberships.
    fn write(&self, step: &mut Step, ids: &mut Ids) -> Result<()> {
        let client = self.ctx.client()?;
        let item = step.item.clone();
        let text = |k: &str| item[k].as_str().unwrap_or_default().to_string();
        let live = step.live.clone().unwrap_or(Value::Null);
        let live_id = |k: &str| -> Result<String> {
            live[k]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| Error::runtime(format!("AWS listed it without {k}")))
        };
        let store = &self.store;
        match (step.resource, step.action) {
            ("Users", Action::Create) => {
                let mut input = copy(&item, crate::rollback::USER_MEMBERS);
                input.insert("IdentityStoreId".into(), json!(store));
                let reply = client.call(&client::CREATE_USER, Value::Object(input))?;
                ids.users.insert(text("UserName"), id_in(&reply, "UserId")?);
            }
            ("Users", Action::Update) => {
                let id = live_id("UserId")?;
                let operations = user_operations(&live, &item, &step.changes);
                self.ctx.note_before(&client::UPDATE_USER, &id, &live, None);
                client.call(
                    &client::UPDATE_USER,
                    json!({"IdentityStoreId": store, "UserId": id, "Operations": operations}),
                )?;
            }
            ("Groups", Action::Create) => {
                let mut input = copy(&item, &["DisplayName", "Description"]);
                input.insert("IdentityStoreId".into(), json!(store));
                let reply = client.call(&client::CREATE_GROUP, Value::Object(input))?;
                ids.groups
                    .insert(text("DisplayName"), id_in(&reply, "GroupId")?);
            }
            ("Groups", Action::Update) => {
                let id = live_id("GroupId")?;
                let operation = match item.get("Description").filter(|d| !d.is_null()) {
                    Some(d) => json!({"AttributePath": "description", "AttributeValue": d}),
                    None => json!({"AttributePath": "description"}),
                };
                self.ctx
                    .note_before(&client::UPDATE_GROUP, &id, &live, None);
                client.call(
                    &client::UPDATE_GROUP,
                    json!({"IdentityStoreId": store, "GroupId": id, "Operations": [operation]}),
                )?;
            }
            ("PermissionSets", Action::Create) => {
                let arn = self.create_permission_set(&item)?;
                ids.permission_sets.insert(text("Name"), arn);
            }
            ("PermissionSets", Action::Update) => {
                let arn = live_id("PermissionSetArn")?;
                self.update_permission_set(&arn, &live, &item, &step.changes)?;
                step.provisioned = Some(self.provision(&arn)?);
            }
            ("Memberships", Action::Create) => {
                let (Some(group), Some(user)) = (
                    ids.groups.get(&text("GroupName")),
                    ids.users.get(&text("UserName")),
                ) else {
                    step.action = Action::Impossible("the group or user does not exist");
                    return Ok(());
                };
                client.call(
                    &client::CREATE_GROUP_MEMBERSHIP,
                    json!({"IdentityStoreId": store, "GroupId": group,
                           "MemberId": {"UserId": user}}),
                )?;
            }
            ("Memberships", Action::Delete) => {
                let id = live_id("MembershipId")?;
                self.ctx.note_before(
                    &client::DELETE_GROUP_MEMBERSHIP,
                    &id,
                    &json!({"GroupId": live["GroupId"], "MemberId": {"UserId": live["UserId"]}}),
                    None,
                );
                client.call(
                    &client::DELETE_GROUP_MEMBERSHIP,
                    json!({"IdentityStoreId": store, "MembershipId": id}),
                )?;
            }
            ("PermissionSets", Action::Delete) => {
                client.call(
                    &client::DELETE_PERMISSION_SET,
                    json!({"InstanceArn": self.instance,
                           "PermissionSetArn": live_id("PermissionSetArn")?}),
                )?;
            }
            ("Groups", Action::Delete) => {
                let id = live_id("GroupId")?;
                self.ctx
                    .note_before(&client::DELETE_GROUP, &id, &live, None);
                client.call(
                    &client::DELETE_GROUP,
                    json!({"IdentityStoreId": store, "GroupId": id}),
                )?;
            }
            ("Users", Action::Delete) => {
                let id = live_id("UserId")?;
                self.ctx.note_before(&client::DELETE_USER, &id, &live, None);
                client.call(
                    &client::DELETE_USER,
                    json!({"IdentityStoreId": store, "UserId": id}),
                )?;
            }
            _ => {}
        }
        Ok(())
    }

    /// `{"InstanceArn", "PermissionSetArn"}` and `extra`.
    fn set_request(&self, arn: &str, extra: Value) -> Value {
        let mut input = json!({"InstanceArn": self.instance, "PermissionSetArn": arn});
        if let (Some(map), Value::Object(more)) = (input.as_object_mut(), extra) {
            map.extend(more);
        }
        input
    }

    /// Creates a permission set with every attribute of the backup; returns its ARN.
    fn create_permission_set(&self, item: &Value) -> Result<String> {
        let client = self.ctx.client()?;
        let mut input = copy(
            item,
            &["Name", "Description", "SessionDuration", "RelayState"],
        );
        input.insert("InstanceArn".into(), json!(self.instance));
        if let Some(tags) = item["Tags"].as_array().filter(|t| !t.is_empty()) {
            input.insert("Tags".into(), json!(tags));
        }
        let reply = client.call(&client::CREATE_PERMISSION_SET, Value::Object(input))?;
        let arn = reply["PermissionSet"]["PermissionSetArn"]
            .as_str()
            .ok_or_else(|| Error::runtime("sso-admin CreatePermissionSet: no ARN in the reply"))?
            .to_string();
        let call = |op: &Operation, extra: Value| {
            client.call(op, self.set_request(&arn, extra)).map(|_| ())
        };
        for policy in item["AwsManagedPolicies"].as_array().into_iter().flatten() {
            call(
                &client::ATTACH_MANAGED_POLICY_TO_PERMISSION_SET,
                json!({"ManagedPolicyArn": policy["Arn"]}),
            )?;
        }
        for reference in item["CustomerManagedPolicies"]
            .as_array()
            .into_iter()
            .flatten()
        {
            call(
                &client::ATTACH_CUSTOMER_MANAGED_POLICY_REFERENCE_TO_PERMISSION_SET,
                json!({"CustomerManagedPolicyReference": without_nulls(reference.clone())}),
            )?;
        }
        if let Some(policy) = item["InlinePolicy"].as_str() {
            call(
                &client::PUT_INLINE_POLICY_TO_PERMISSION_SET,
                json!({"InlinePolicy": policy}),
            )?;
        }
        if item["PermissionsBoundary"].is_object() {
            call(
                &client::PUT_PERMISSIONS_BOUNDARY_TO_PERMISSION_SET,
                json!({"PermissionsBoundary": without_nulls(item["PermissionsBoundary"].clone())}),
            )?;
        }
        Ok(arn)
    }

    /// Gives permission set `arn` (`live` in AWS now) the attributes of `wanted` that
    /// `changes` name: settings, inline policy, AWS managed policies and customer managed
    /// policy references detached and attached to match, the boundary put or deleted, tags
    /// untagged and tagged to match.
    fn update_permission_set(
        &self,
        arn: &str,
        live: &Value,
        wanted: &Value,
        changes: &[Value],
    ) -> Result<()> {
        let client = self.ctx.client()?;
        let changed: BTreeSet<&str> = changes.iter().filter_map(|c| c["Field"].as_str()).collect();
        let call = |op: &Operation, extra: Value| {
            client.call(op, self.set_request(arn, extra)).map(|_| ())
        };
        const SETTINGS: [&str; 3] = ["Description", "SessionDuration", "RelayState"];
        if SETTINGS.iter().any(|s| changed.contains(s)) {
            let before = Value::Object(copy(live, &SETTINGS));
            self.ctx
                .note_before(&client::UPDATE_PERMISSION_SET, arn, &before, None);
            call(
                &client::UPDATE_PERMISSION_SET,
                Value::Object(copy(wanted, &SETTINGS)),
            )?;
        }
        if changed.contains("InlinePolicy") {
            let before = json!({"InlinePolicy": live["InlinePolicy"].as_str().unwrap_or("")});
            for op in [
                &client::PUT_INLINE_POLICY_TO_PERMISSION_SET,
                &client::DELETE_INLINE_POLICY_FROM_PERMISSION_SET,
            ] {
                self.ctx.note_before(op, arn, &before, None);
            }
            match wanted["InlinePolicy"].as_str() {
                Some(policy) => call(
                    &client::PUT_INLINE_POLICY_TO_PERMISSION_SET,
                    json!({"InlinePolicy": policy}),
                )?,
                None => call(&client::DELETE_INLINE_POLICY_FROM_PERMISSION_SET, json!({}))?,
            }
        }
        if changed.contains("AwsManagedPolicies") {
            let arns = |v: &Value| -> BTreeSet<String> {
                v["AwsManagedPolicies"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["Arn"].as_str().map(str::to_string))
                    .collect()
            };
            let (now, want) = (arns(live), arns(wanted));
            for policy in now.difference(&want) {
                call(
                    &client::DETACH_MANAGED_POLICY_FROM_PERMISSION_SET,
                    json!({"ManagedPolicyArn": policy}),
                )?;
            }
            for policy in want.difference(&now) {
                call(
                    &client::ATTACH_MANAGED_POLICY_TO_PERMISSION_SET,
                    json!({"ManagedPolicyArn": policy}),
                )?;
            }
        }
        if changed.contains("CustomerManagedPolicies") {
            let (now, want) = (references(live), references(wanted));
            // Detached first: a set holds at most ten references.
            for (_, reference) in now.iter().filter(|(k, _)| !want.contains_key(*k)) {
                call(
                    &client::DETACH_CUSTOMER_MANAGED_POLICY_REFERENCE_FROM_PERMISSION_SET,
                    json!({"CustomerManagedPolicyReference": reference}),
                )?;
            }
            for (_, reference) in want.iter().filter(|(k, _)| !now.contains_key(*k)) {
                call(
                    &client::ATTACH_CUSTOMER_MANAGED_POLICY_REFERENCE_TO_PERMISSION_SET,
                    json!({"CustomerManagedPolicyReference": reference}),
                )?;
            }
        }
        if changed.contains("PermissionsBoundary") {
            // The journal's old boundary is the one AWS has now (no read before the write).
            let before = json!({"PermissionsBoundary": live["PermissionsBoundary"]});
            let boundary = &wanted["PermissionsBoundary"];
            let op = if boundary.is_object() {
                &client::PUT_PERMISSIONS_BOUNDARY_TO_PERMISSION_SET
            } else {
                &client::DELETE_PERMISSIONS_BOUNDARY_FROM_PERMISSION_SET
            };
            self.ctx.note_before(op, arn, &before, None);
            if boundary.is_object() {
                call(
                    op,
                    json!({"PermissionsBoundary": without_nulls(boundary.clone())}),
                )?;
            } else {
                call(op, json!({}))?;
            }
        }
        if changed.contains("Tags") {
            self.retag(arn, live, wanted)?;
        }
        Ok(())
    }

    /// Gives permission set `arn` the tags of `wanted`: the keys AWS has (`live`) and the
    /// backup lacks untagged, the missing and changed ones tagged (each request at most
    /// [`TAG_BATCH`] keys). The journal's old tags are the ones AWS has now.
    fn retag(&self, arn: &str, live: &Value, wanted: &Value) -> Result<()> {
        let client = self.ctx.client()?;
        let (now, want) = (tags(live), tags(wanted));
        let untag: Vec<&str> = now
            .keys()
            .filter(|k| !want.contains_key(*k))
            .map(String::as_str)
            .collect();
        let tag: Vec<Value> = want
            .iter()
            .filter(|(k, v)| now.get(*k) != Some(*v))
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        let target = json!({"InstanceArn": self.instance, "ResourceArn": arn});
        let before = json!({"Tags": live["Tags"]});
        let with = |member: &str, value: Value| {
            let mut input = target.clone();
            input[member] = value;
            input
        };
        for keys in untag.chunks(TAG_BATCH) {
            self.ctx
                .note_before(&client::UNTAG_RESOURCE, arn, &before, None);
            client.call(&client::UNTAG_RESOURCE, with("TagKeys", json!(keys)))?;
        }
        for tags in tag.chunks(TAG_BATCH) {
            self.ctx
                .note_before(&client::TAG_RESOURCE, arn, &before, None);
            client.call(&client::TAG_RESOURCE, with("Tags", json!(tags)))?;
        }
        Ok(())
    }

    /// Provisions permission set `arn` to every account it is provisioned to (none: no
    /// request) and waits for it; returns how many accounts that is.
    fn provision(&self, arn: &str) -> Result<usize> {
        let client = self.ctx.client()?;
        let listed = client.list(
            &client::LIST_ACCOUNTS_FOR_PROVISIONED_PERMISSION_SET,
            self.set_request(arn, json!({})),
        )?;
        let accounts = listed["AccountIds"].as_array().map_or(0, Vec::len);
        if accounts == 0 {
            return Ok(0);
        }
        let reply = client.call(
            &client::PROVISION_PERMISSION_SET,
            self.set_request(arn, json!({"TargetType": "ALL_PROVISIONED_ACCOUNTS"})),
        )?;
        let describe = &client::DESCRIBE_PERMISSION_SET_PROVISIONING_STATUS;
        let waited = wait::until_done(
            describe,
            reply["PermissionSetProvisioningStatus"].clone(),
            |_, _| {},
            |request_id| {
                client
                    .call(
                        describe,
                        json!({"InstanceArn": self.instance,
                               "ProvisionPermissionSetRequestId": request_id}),
                    )
                    .map(|reply| reply["PermissionSetProvisioningStatus"].clone())
            },
        )?;
        match waited {
            Waited::Done { state, .. } if state.status == RequestStatus::Failed => {
                Err(Error::runtime(format!(
                    "provisioning FAILED: {} (request {})",
                    state.failure_reason.as_deref().unwrap_or("no reason given"),
                    state.request_id.as_deref().unwrap_or("unknown")
                )))
            }
            Waited::Done { .. } => Ok(accounts),
            Waited::TimedOut { request_id, .. } => Err(Error::runtime(format!(
                "provisioning still in progress after {}s; request {request_id}",
                wait::POLL_LIMIT.as_secs()
            ))),
        }
    }
}

/// The most tags one TagResource or UntagResource request names (AWS allows 50 on a
/// permission set; a request takes 75).
const TAG_BATCH: usize = 50;

/// The customer managed policy references of a permission set, by `(Path, Name)` (a
/// reference without a path has AWS's default `/`), as requests name them.
fn references(set: &Value) -> BTreeMap<(String, String), Value> {
    set["CustomerManagedPolicies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let name = r["Name"].as_str()?.to_string();
            let path = r["Path"].as_str().unwrap_or("/").to_string();
            Some(((path, name), without_nulls(r.clone())))
        })
        .collect()
}

/// The tags of a permission set, by key.
fn tags(set: &Value) -> BTreeMap<String, String> {
    set["Tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Some((
                t["Key"].as_str()?.to_string(),
                t["Value"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// The UpdateUser operations that give a user (`live`) the attributes of `wanted` that
/// `changes` name: each `Name` member on its own path, an attribute the backup lacks
/// cleared (a path without a value).
fn user_operations(live: &Value, wanted: &Value, changes: &[Value]) -> Vec<Value> {
    let set = |path: &str, value: Option<&Value>| match value.filter(|v| !v.is_null()) {
        Some(v) => json!({"AttributePath": path, "AttributeValue": without_nulls(v.clone())}),
        None => json!({"AttributePath": path}),
    };
    let mut operations = Vec::new();
    for field in changes.iter().filter_map(|c| c["Field"].as_str()) {
        if field == "Name" {
            for (member, path) in NAME_PATHS {
                let (now, want) = (
                    live["Name"].get(*member).filter(|v| !v.is_null()),
                    wanted["Name"].get(*member).filter(|v| !v.is_null()),
                );
                if now != want {
                    operations.push(set(path, want));
                }
            }
            continue;
        }
        let mut path = field.to_string();
        if let Some(first) = path.get(..1).map(str::to_ascii_lowercase) {
            path.replace_range(..1, &first);
        }
        operations.push(set(&path, wanted.get(field)));
    }
    operations
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn user_updates_set_each_changed_attribute_by_its_path() {
        let live = json!({"UserName": "a", "DisplayName": "A A.", "Title": "Boss",
                          "Name": {"GivenName": "A", "FamilyName": "B"}});
        let wanted = json!({"UserName": "a", "DisplayName": "A",
                            "Name": {"GivenName": "A", "FamilyName": "Able"}});
        let changes = [
            json!({"Field": "DisplayName"}),
            json!({"Field": "Name"}),
            json!({"Field": "Title"}),
        ];
        assert_eq!(
            user_operations(&live, &wanted, &changes),
            vec![
                json!({"AttributePath": "displayName", "AttributeValue": "A"}),
                json!({"AttributePath": "name.familyName", "AttributeValue": "Able"}),
                json!({"AttributePath": "title"}),
            ]
        );
    }
}
