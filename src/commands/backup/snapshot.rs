//! Reading the backup document from AWS: users, groups, memberships, permission sets with
//! every attribute, the organization's assignments, accounts and OUs, with the fewest
//! requests the data allows, each listing shared by every part that needs it.
//!
//! The document keeps ids and names side by side, every attribute AWS returns, and every
//! list sorted deterministically (by name, then id), so two documents can be compared
//! exactly and a restore can recreate by name and map old ids to new ones.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value, json};

use crate::aws::service::Service;
use crate::client::permission_set::{self, Part};
use crate::client::shapes::{self, Group, User};
use crate::client::{self, Operation};
use crate::commands::Context;
use crate::commands::fanout;
use crate::commands::grants::{self, fan_out};
use crate::commands::rows;
use crate::error::{Error, Result};

/// The name of the document format, its first member.
pub(crate) const FORMAT: &str = "awsideman-backup";
/// The version of the document format.
pub(crate) const FORMAT_VERSION: u64 = 1;

/// The members of the document, in order, with what they hold (the man page's BACKUP
/// FORMAT). Every list is sorted as said, every object's keys alphabetically.
pub(crate) const DOCUMENT_MEMBERS: &[(&str, &str)] = &[
    ("Format", "\"awsideman-backup\"."),
    (
        "FormatVersion",
        "1. A reader refuses a newer version; members are only ever added within one.",
    ),
    (
        "Id",
        "The backup id: its time (UTC) and six random hex digits.",
    ),
    ("CreatedAt", "When it was taken (RFC 3339, UTC)."),
    (
        "Source",
        "{Profile, Region, InstanceArn, IdentityStoreId}: where it was read.",
    ),
    (
        "Resources",
        "The resources it holds, of users, groups, memberships, permission-sets, assignments.          A resource left out has no member at all (not an empty list).",
    ),
    (
        "Unknown",
        "Permission set attributes the endpoint could not tell (PermissionsBoundary, Tags):          null in every set; empty on AWS.",
    ),
    (
        "Users",
        "Every user as ListUsers returns it (UserId, UserName, Name, DisplayName, Emails,          ExternalIds and every other attribute), sorted by UserName, then UserId.",
    ),
    (
        "Groups",
        "Every group (GroupId, DisplayName, Description, ExternalIds), sorted by DisplayName,          then GroupId.",
    ),
    (
        "Memberships",
        "{GroupId, GroupName, UserId, UserName, MembershipId}, sorted by group name and id,          then user name and id.",
    ),
    (
        "PermissionSets",
        "{PermissionSetArn, Name, Description, SessionDuration, RelayState, CreatedDate,          InlinePolicy (the policy text exactly as AWS holds it, or null), AwsManagedPolicies          [{Arn, Name}] by Arn, CustomerManagedPolicies [{Name, Path}] by Path and Name,          PermissionsBoundary (null or {ManagedPolicyArn} or {CustomerManagedPolicyReference:          {Name, Path}}), Tags [{Key, Value}] by Key}, sorted by Name, then ARN.",
    ),
    (
        "Assignments",
        "{AccountId, AccountName, PermissionSetArn, PermissionSetName, PrincipalType (USER or          GROUP), PrincipalId, PrincipalName}, sorted by account name and id, permission set          name, principal type, name and id.",
    ),
    (
        "Accounts",
        "Every account of the organization as ListAccounts returns it (Id, Name, Email, Arn,          Status, ...), sorted by Name, then Id.",
    ),
    (
        "OrganizationalUnits",
        "{Id, Name, Arn, ParentId, Path (Root/Engineering/Prod)}, sorted by Path.",
    ),
    ("Counts", "The number of items of each list member above."),
];

/// A kind of resource a backup can hold (`--resources`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Resource {
    Users,
    Groups,
    Memberships,
    PermissionSets,
    Assignments,
}

impl Resource {
    /// Every resource, in document order.
    pub(crate) const ALL: [Resource; 5] = [
        Resource::Users,
        Resource::Groups,
        Resource::Memberships,
        Resource::PermissionSets,
        Resource::Assignments,
    ];

    /// Its name in `--resources` and in the document's `Resources`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Resource::Users => "users",
            Resource::Groups => "groups",
            Resource::Memberships => "memberships",
            Resource::PermissionSets => "permission-sets",
            Resource::Assignments => "assignments",
        }
    }

    /// The document member holding it.
    pub(crate) fn member(self) -> &'static str {
        match self {
            Resource::Users => "Users",
            Resource::Groups => "Groups",
            Resource::Memberships => "Memberships",
            Resource::PermissionSets => "PermissionSets",
            Resource::Assignments => "Assignments",
        }
    }

    /// Parses a comma-separated `--resources` value.
    pub(crate) fn parse_list(text: &str) -> Result<BTreeSet<Resource>> {
        let mut out = BTreeSet::new();
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let found = Resource::ALL
                .iter()
                .find(|r| r.name() == word)
                .ok_or_else(|| {
                    Error::usage(format!(
                        "--resources: unknown resource \"{}\" (expected some of {})",
                        crate::printable::one_line(word),
                        Resource::ALL.map(Resource::name).join(",")
                    ))
                })?;
            out.insert(*found);
        }
        if out.is_empty() {
            return Err(Error::usage("--resources: name at least one resource"));
        }
        Ok(out)
    }
}

/// Where the document says it came from.
pub(crate) struct Source<'a> {
    /// The backup id.
    pub(crate) id: &'a str,
    /// When it was taken (RFC 3339, UTC).
    pub(crate) created_at: &'a str,
}

/// Reads the document of `resources` from AWS.
pub(crate) fn read(
    ctx: &Context,
    resources: &BTreeSet<Resource>,
    source: &Source<'_>,
) -> Result<Value> {
    let client = ctx.client()?;
    let store = ctx.identity_store_id()?.to_string();
    let instance = ctx.instance_arn()?.to_string();
    let has = |r: Resource| resources.contains(&r);
    let need_users =
        has(Resource::Users) || has(Resource::Memberships) || has(Resource::Assignments);
    let need_groups =
        has(Resource::Groups) || has(Resource::Memberships) || has(Resource::Assignments);

    // The listings everything else starts from, in parallel.
    let mut listings: Vec<(&Operation, Value, &str)> = vec![
        (&client::LIST_ACCOUNTS, json!({}), "Accounts"),
        (&client::LIST_ROOTS, json!({}), "Roots"),
    ];
    if need_users {
        listings.push((
            &client::LIST_USERS,
            json!({"IdentityStoreId": store}),
            "Users",
        ));
    }
    if need_groups {
        listings.push((
            &client::LIST_GROUPS,
            json!({"IdentityStoreId": store}),
            "Groups",
        ));
    }
    if has(Resource::PermissionSets) {
        listings.push((
            &client::LIST_PERMISSION_SETS,
            json!({"InstanceArn": instance}),
            "PermissionSets",
        ));
    }
    let listed = fanout::parallel(&listings, listings.len(), |(op, input, key)| {
        let reply = client.list(op, input.clone())?;
        Ok::<Vec<Value>, Error>(array(&reply[*key]))
    });
    let mut by_key: HashMap<&str, Vec<Value>> = HashMap::new();
    let mut no_organization = false;
    for ((op, _, key), items) in listings.iter().zip(listed) {
        let items = match items {
            // An account outside any organization has no accounts, OUs or assignments.
            Err(e) if op.service == Service::Organizations && no_organization_error(&e) => {
                no_organization = true;
                Vec::new()
            }
            other => other?,
        };
        by_key.insert(key, items);
    }
    let mut resources = resources.clone();
    if no_organization {
        let dropped = resources.remove(&Resource::Assignments);
        ctx.warn(format!(
            "profile {}: the account is in no AWS Organization (AWSOrganizationsNotInUseException): \
             no accounts or OUs{} read",
            ctx.profile_name,
            if dropped { ", and no assignments, are" } else { " are" }
        ));
    }
    let has = |r: Resource| resources.contains(&r);
    let mut take = |key: &str| by_key.remove(key).unwrap_or_default();
    let accounts_raw = take("Accounts");
    let roots = take("Roots");
    let users_raw = take("Users");
    let groups_raw = take("Groups");
    let set_arns: Vec<String> = take("PermissionSets")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();

    let accounts: Vec<shapes::Account> = decode_all(&client::LIST_ACCOUNTS, &accounts_raw)?;
    let users: Vec<User> = decode_all(&client::LIST_USERS, &users_raw)?;
    let groups: Vec<Group> = decode_all(&client::LIST_GROUPS, &groups_raw)?;
    let user_names: HashMap<&str, &str> = users
        .iter()
        .map(|u| (u.user_id.as_str(), u.user_name.as_str()))
        .collect();
    let group_names: HashMap<&str, &str> = groups
        .iter()
        .map(|g| (g.group_id.as_str(), g.display_name.as_deref().unwrap_or("")))
        .collect();
    let account_names: HashMap<&str, &str> = accounts
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();

    let ous = organizational_units(ctx, &roots)?;

    let memberships = if has(Resource::Memberships) {
        Some(memberships(
            ctx,
            &store,
            &groups,
            &user_names,
            &group_names,
        )?)
    } else {
        None
    };

    let assignments = if has(Resource::Assignments) {
        let found: BTreeSet<shapes::AccountAssignment> =
            grants::organization_from(ctx, &accounts, &users, &groups)?
                .into_iter()
                .collect();
        Some(found)
    } else {
        None
    };

    // Every permission set in full, or only the names of those the assignments mention.
    let mut unknown = BTreeSet::new();
    let (permission_sets, set_names) = if has(Resource::PermissionSets) {
        let sets = permission_sets(ctx, &instance, &set_arns, &mut unknown)?;
        let names = sets
            .iter()
            .map(|s| (text(&s["PermissionSetArn"]), text(&s["Name"])))
            .collect();
        (Some(sets), names)
    } else {
        let mentioned: BTreeSet<String> = assignments
            .iter()
            .flatten()
            .map(|a| a.permission_set_arn.clone())
            .collect();
        (None, describe_names(ctx, &instance, &mentioned)?)
    };

    let mut document = Map::new();
    document.insert("Format".into(), json!(FORMAT));
    document.insert("FormatVersion".into(), json!(FORMAT_VERSION));
    document.insert("Id".into(), json!(source.id));
    document.insert("CreatedAt".into(), json!(source.created_at));
    document.insert(
        "Source".into(),
        json!({
            "Profile": ctx.profile_name,
            "Region": client.session().region()?,
            "InstanceArn": instance,
            "IdentityStoreId": store,
        }),
    );
    document.insert(
        "Resources".into(),
        json!(resources.iter().map(|r| r.name()).collect::<Vec<_>>()),
    );
    document.insert("Unknown".into(), json!(unknown));
    if has(Resource::Users) {
        document.insert("Users".into(), sorted(users_raw, &["UserName", "UserId"]));
    }
    if has(Resource::Groups) {
        document.insert(
            "Groups".into(),
            sorted(groups_raw, &["DisplayName", "GroupId"]),
        );
    }
    if let Some(rows) = memberships {
        document.insert("Memberships".into(), Value::Array(rows));
    }
    if let Some(sets) = permission_sets {
        document.insert("PermissionSets".into(), Value::Array(sets));
    }
    if let Some(found) = assignments {
        // Named and sorted as `assignment list` prints them.
        let mut names = grants::Names::default();
        for (id, name) in &account_names {
            names.learn_account(id, name);
        }
        for (arn, name) in &set_names {
            names.learn_permission_set(arn, name);
        }
        for (id, name) in user_names.iter().chain(&group_names) {
            names.learn_principal(id, name);
        }
        let mut listed = rows::assignments(&names, &found).into_value();
        document.insert("Assignments".into(), listed["AccountAssignments"].take());
    }
    document.insert("Accounts".into(), sorted(accounts_raw, &["Name", "Id"]));
    document.insert("OrganizationalUnits".into(), Value::Array(ous));
    let counts: Map<String, Value> = [
        "Users",
        "Groups",
        "Memberships",
        "PermissionSets",
        "Assignments",
        "Accounts",
        "OrganizationalUnits",
    ]
    .iter()
    .filter_map(|k| {
        document
            .get(*k)
            .and_then(Value::as_array)
            .map(|a| (k.to_string(), json!(a.len())))
    })
    .collect();
    document.insert("Counts".into(), Value::Object(counts));
    Ok(Value::Object(document))
}

/// The memberships of every group: one listing per group, in parallel.
fn memberships(
    ctx: &Context,
    store: &str,
    groups: &[Group],
    user_names: &HashMap<&str, &str>,
    group_names: &HashMap<&str, &str>,
) -> Result<Vec<Value>> {
    let client = ctx.client()?;
    let op = &client::LIST_GROUP_MEMBERSHIPS;
    let listed = fan_out(ctx, "backup: memberships", groups, |g| {
        let reply = client.list(op, json!({"IdentityStoreId": store, "GroupId": g.group_id}))?;
        shapes::items::<shapes::Membership>(op, &reply, "GroupMemberships")
    })?;
    let mut rows: Vec<Value> = listed
        .into_iter()
        .flatten()
        .map(|m| {
            json!({
                "GroupId": m.group_id,
                "GroupName": group_names.get(m.group_id.as_str()),
                "UserId": m.member_id.user_id,
                "UserName": user_names.get(m.member_id.user_id.as_str()),
                "MembershipId": m.membership_id,
            })
        })
        .collect();
    grants::sort_rows(&mut rows, &["GroupName", "GroupId", "UserName", "UserId"]);
    Ok(rows)
}

/// Every permission set with every attribute: six requests per set, all in parallel.
/// Attributes the endpoint cannot tell are named in `unknown` (and null in the sets).
fn permission_sets(
    ctx: &Context,
    instance: &str,
    arns: &[String],
    unknown: &mut BTreeSet<&'static str>,
) -> Result<Vec<Value>> {
    let jobs: Vec<(&String, Part)> = arns
        .iter()
        .flat_map(|arn| Part::ALL.iter().map(move |p| (arn, *p)))
        .collect();
    let client = ctx.client()?;
    let found = fan_out(ctx, "backup: permission sets", &jobs, |(arn, part)| {
        part.fetch(client, instance, arn)
    })?;
    let mut parts: BTreeMap<&String, Vec<(Part, Option<Value>)>> = BTreeMap::new();
    for ((arn, part), value) in jobs.iter().zip(found) {
        parts.entry(arn).or_default().push((*part, value));
    }
    let mut sets = Vec::new();
    for (arn, parts) in parts {
        let all = permission_set::assemble(arn, parts)?;
        unknown.extend(all.unknown.iter().map(|p| p.key()));
        sets.push(all.set);
    }
    if !unknown.is_empty() {
        ctx.warn(format!(
            "the endpoint cannot tell {} of permission sets: the backup records them as \
             unknown",
            unknown.iter().copied().collect::<Vec<_>>().join(", ")
        ));
    }
    let sets: Vec<Value> = sets.into_iter().map(canonical).collect();
    Ok(sorted_values(sets, &["Name", "PermissionSetArn"]))
}

/// The names of the permission sets `arns` (one DescribePermissionSet each, in parallel).
fn describe_names(
    ctx: &Context,
    instance: &str,
    arns: &BTreeSet<String>,
) -> Result<HashMap<String, String>> {
    let arns: Vec<&String> = arns.iter().collect();
    let client = ctx.client()?;
    let found = fan_out(ctx, "backup: permission set names", &arns, |arn| {
        Part::Description.fetch(client, instance, arn)
    })?;
    Ok(arns
        .into_iter()
        .zip(found)
        .filter_map(|(arn, d)| Some((arn.clone(), text(&d?["Name"]))))
        .collect())
}

/// Every OU below `roots` with its parent and path, level by level (one
/// ListOrganizationalUnitsForParent per root and OU, each level in parallel).
fn organizational_units(ctx: &Context, roots: &[Value]) -> Result<Vec<Value>> {
    let client = ctx.client()?;
    let op = &client::LIST_ORGANIZATIONAL_UNITS_FOR_PARENT;
    let mut out = Vec::new();
    let mut level: Vec<(String, String)> = roots
        .iter()
        .map(|r| (text(&r["Id"]), text(&r["Name"])))
        .collect();
    // An organization is at most five OUs deep; a deeper answer is not followed further.
    for _ in 0..=6 {
        if level.is_empty() {
            break;
        }
        let listed = fan_out(ctx, "backup: organizational units", &level, |(id, _)| {
            let reply = client.list(op, json!({"ParentId": id}))?;
            Ok(array(&reply["OrganizationalUnits"]))
        })?;
        let mut next = Vec::new();
        for ((parent, path), children) in level.iter().zip(listed) {
            for child in children {
                let (id, name) = (text(&child["Id"]), text(&child["Name"]));
                let child_path = format!("{path}/{name}");
                out.push(json!({
                    "Id": id,
                    "Name": name,
                    "Arn": child["Arn"],
                    "ParentId": parent,
                    "Path": child_path,
                }));
                next.push((id, child_path));
            }
        }
        level = next;
    }
    Ok(sorted_values(out, &["Path", "Id"]))
}

/// Whether an Organizations error says the caller's account is in no organization.
fn no_organization_error(error: &Error) -> bool {
    error.aws_code() == Some("AWSOrganizationsNotInUseException")
}

fn decode_all<T: serde::de::DeserializeOwned>(op: &Operation, items: &[Value]) -> Result<Vec<T>> {
    items.iter().map(|v| shapes::decode(op, v)).collect()
}

/// The items of a JSON array (none when it is not one).
fn array(value: &Value) -> Vec<Value> {
    value.as_array().cloned().unwrap_or_default()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

/// `items`, each with its keys sorted, sorted by the text of `keys`.
fn sorted(items: Vec<Value>, keys: &[&str]) -> Value {
    Value::Array(sorted_values(
        items.into_iter().map(canonical).collect(),
        keys,
    ))
}

fn sorted_values(mut items: Vec<Value>, keys: &[&str]) -> Vec<Value> {
    items.sort_by_cached_key(|v| -> Vec<String> {
        keys.iter()
            .map(|k| v[*k].as_str().unwrap_or_default().to_string())
            .collect()
    });
    items
}

/// `value` with the keys of every object sorted, at every depth.
pub(crate) fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_parse() {
        let all =
            Resource::parse_list("users,groups,memberships,permission-sets,assignments").unwrap();
        assert_eq!(all.len(), 5);
        assert_eq!(
            Resource::parse_list(" users , users")
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            vec![Resource::Users]
        );
        assert!(Resource::parse_list("people").is_err());
        assert!(Resource::parse_list(",").is_err());
    }

    #[test]
    fn canonical_sorts_keys_at_every_depth_and_lists_by_name_then_id() {
        let v = canonical(json!({"b": 1, "a": {"d": [{"z": 1, "y": 2}], "c": 3}}));
        assert_eq!(v.to_string(), r#"{"a":{"c":3,"d":[{"y":2,"z":1}]},"b":1}"#);
        let rows = sorted(
            vec![
                json!({"Name": "b", "Id": "1"}),
                json!({"Name": "a", "Id": "2"}),
                json!({"Name": "a", "Id": "1"}),
            ],
            &["Name", "Id"],
        );
        assert_eq!(
            rows,
            json!([{"Id": "1", "Name": "a"}, {"Id": "2", "Name": "a"}, {"Id": "1", "Name": "b"}])
        );
    }
}
