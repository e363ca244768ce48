//! `group ...`: Identity Store groups and their members.
//!
//! Listing, search, update and delete are the shared [`Resource`] code of `user.rs`; this
//! file adds what only groups have: members, and adding or removing them.

use serde_json::{Value, json};

use super::directory::{self, GROUPS, USERS, object_id};
use super::fanout::{self, WORKERS};
use super::{Context, resolve};
use crate::client;
use crate::client::shapes::{self, Membership};
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::output::{Column, Report, View};

/// A group as DescribeGroup returns it (`create`, `update`).
const GROUP_FIELDS: &[Column] = &[
    Column::new("Group ID", "GroupId"),
    Column::new("Name", "DisplayName"),
    Column::new("Description", "Description"),
    Column::new("Identity store", "IdentityStoreId"),
];

/// A group with its member count (`get`).
const GROUP_GET_FIELDS: &[Column] = &[
    Column::new("Group ID", "GroupId"),
    Column::new("Name", "DisplayName"),
    Column::new("Description", "Description"),
    Column::new("Members", "MemberCount"),
    Column::new("Identity store", "IdentityStoreId"),
];

const MEMBER_COLUMNS: &[Column] = &[
    Column::new("User name", "UserName"),
    Column::new("Display name", "DisplayName"),
    Column::new("User ID", "UserId"),
    Column::new("Membership ID", "MembershipId"),
];

const RESULT_COLUMNS: &[Column] = &[
    Column::new("User name", "UserName"),
    Column::new("User ID", "UserId"),
    Column::new("Status", "status"),
];

/// What `group update` sets: (flag, UpdateGroup AttributePath).
const UPDATABLE: &[(&str, &str)] = &[("name", "displayName"), ("description", "description")];

/// `group list [--filter REGEX] [--limit N]`.
pub(crate) fn list(ctx: &mut Context, m: &Matches) -> Result<Report> {
    directory::list_command(ctx, m, &GROUPS)
}

/// `group find PATTERN [--limit N]`.
pub(crate) fn find(ctx: &mut Context, m: &Matches) -> Result<Report> {
    directory::find_command(ctx, m, &GROUPS)
}

/// `group get GROUP`: DescribeGroup plus `MemberCount` and `Members` (with user names).
pub(crate) fn get(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let mut group = resolve::group(ctx, m.required_arg("GROUP")?)?;
    let members = members_of(ctx, object_id(&GROUPS, &group)?)?;
    if let Value::Object(map) = &mut group {
        map.insert("MemberCount".into(), members.len().into());
        map.insert("Members".into(), Value::Array(members));
    }
    Ok(Report::new(
        group,
        View::Sections(vec![
            (
                "Group".into(),
                View::Record {
                    path: "",
                    fields: GROUP_GET_FIELDS,
                },
            ),
            (
                "Members".into(),
                View::List {
                    path: "Members",
                    columns: MEMBER_COLUMNS,
                },
            ),
        ]),
    ))
}

/// `group create --name N [--description D]`: prints the new group as DescribeGroup
/// returns it.
pub(crate) fn create(ctx: &mut Context, m: &Matches) -> Result<Report> {
    super::limits::check("group create", m)?;
    let mut request = json!({
        "IdentityStoreId": ctx.identity_store_id()?,
        "DisplayName": m.required_value("name")?,
    });
    if let Some(description) = m.value("description") {
        request["Description"] = description.into();
    }
    let created = ctx.client()?.call(&client::CREATE_GROUP, request)?;
    let group_id = created["GroupId"]
        .as_str()
        .ok_or_else(|| Error::runtime("identitystore CreateGroup: reply lacks GroupId"))?;
    let group = directory::describe(ctx, &GROUPS, group_id)?;
    Ok(Report::record(group, "", GROUP_FIELDS))
}

/// `group update GROUP [--name N] [--description D]`: one UpdateGroup, then the group as
/// DescribeGroup returns it.
pub(crate) fn update(ctx: &mut Context, m: &Matches) -> Result<Report> {
    super::limits::check("group update", m)?;
    let operations = directory::string_operations(m, UPDATABLE);
    if operations.is_empty() {
        return Err(Error::usage(
            "group update: nothing to change: give --name or --description",
        ));
    }
    let group = resolve::group(ctx, m.required_arg("GROUP")?)?;
    let updated = directory::update_and_describe(ctx, &GROUPS, &group, operations)?;
    Ok(Report::record(updated, "", GROUP_FIELDS))
}

/// `group delete GROUP [--yes]`.
pub(crate) fn delete(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let group = resolve::group(ctx, m.required_arg("GROUP")?)?;
    directory::delete_command(ctx, m, &GROUPS, &group)
}

/// `group members GROUP`: `{GroupId, DisplayName, Members: [{MembershipId, UserId,
/// UserName, DisplayName}]}`.
pub(crate) fn members(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let group = resolve::group(ctx, m.required_arg("GROUP")?)?;
    let group_id = object_id(&GROUPS, &group)?;
    let data = json!({
        "GroupId": group_id,
        "DisplayName": group["DisplayName"],
        "Members": members_of(ctx, group_id)?,
    });
    Ok(Report::list(data, "Members", MEMBER_COLUMNS))
}

/// `group add-member GROUP USER...`: adds each user; one already in the group is skipped
/// with a note. Every user is resolved before anything changes, so an unknown one (exit 1)
/// leaves the group as it was.
pub(crate) fn add_member(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let group = resolve::group(ctx, m.required_arg("GROUP")?)?;
    let group_id = object_id(&GROUPS, &group)?;
    let users = resolve_users(ctx, m.args("USER"))?;
    let results = fanout::parallel(&users, WORKERS, |u| add_one(ctx, group_id, u));
    let results = results.into_iter().collect::<Result<Vec<_>>>()?;
    note(
        ctx,
        &results,
        "already-member",
        "is already a member of",
        &group,
    );
    Ok(membership_report(&group, results))
}

/// `group remove-member GROUP USER... [--yes]`: removes each user after confirmation. A user
/// who is not in the group is reported as `not-a-member` with a warning, and the command
/// still succeeds (the group ends as asked); an unknown user (exit 1) stops everything
/// before the question.
pub(crate) fn remove_member(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let group = resolve::group(ctx, m.required_arg("GROUP")?)?;
    let group_id = object_id(&GROUPS, &group)?;
    let users = resolve_users(ctx, m.args("USER"))?;
    let names: Vec<&str> = users.iter().map(user_name).collect();
    ctx.confirm(
        m,
        &format!(
            "remove {} from group {}",
            names.join(", "),
            group_name(&group)
        ),
    )?;
    let results = fanout::parallel(&users, WORKERS, |u| remove_one(ctx, group_id, u));
    let results = results.into_iter().collect::<Result<Vec<_>>>()?;
    note(ctx, &results, "not-a-member", "is not a member of", &group);
    Ok(membership_report(&group, results))
}

/// The members of a group with their user names: one ListGroupMemberships, then one
/// DescribeUser per member, in parallel. A membership whose user was deleted meanwhile
/// shows null names.
fn members_of(ctx: &Context, group_id: &str) -> Result<Vec<Value>> {
    let memberships = ctx.client()?.list(
        &client::LIST_GROUP_MEMBERSHIPS,
        json!({"IdentityStoreId": ctx.identity_store_id()?, "GroupId": group_id}),
    )?;
    let memberships: Vec<Membership> = shapes::items(
        &client::LIST_GROUP_MEMBERSHIPS,
        &memberships,
        "GroupMemberships",
    )?;
    let user_ids: Vec<String> = memberships
        .iter()
        .map(|ms| ms.member_id.user_id.clone())
        .collect();
    let users = directory::describe_each(ctx, &USERS, &user_ids)?;
    Ok(memberships
        .iter()
        .zip(user_ids.iter().zip(users))
        .map(|(ms, (user_id, user))| {
            let user = user.unwrap_or(Value::Null);
            json!({
                "MembershipId": ms.membership_id,
                "UserId": user_id,
                "UserName": user["UserName"],
                "DisplayName": user["DisplayName"],
            })
        })
        .collect())
}

/// Resolves every user named (in parallel), dropping repeats of the same user; the first
/// unknown one, in the order given, is the error.
fn resolve_users(ctx: &Context, whos: &[String]) -> Result<Vec<Value>> {
    let resolved = fanout::parallel(whos, WORKERS, |who| resolve::user(ctx, who));
    let mut users: Vec<Value> = Vec::new();
    for user in resolved {
        let user = user?;
        if !users.iter().any(|u| u["UserId"] == user["UserId"]) {
            users.push(user);
        }
    }
    Ok(users)
}

/// The membership id of a user in a group, or `None` when the user is not a member.
fn membership_id(ctx: &Context, group_id: &str, user_id: &str) -> Result<Option<String>> {
    match ctx.client()?.call(
        &client::GET_GROUP_MEMBERSHIP_ID,
        json!({
            "IdentityStoreId": ctx.identity_store_id()?,
            "GroupId": group_id,
            "MemberId": {"UserId": user_id},
        }),
    ) {
        Ok(reply) => Ok(reply["MembershipId"].as_str().map(str::to_string)),
        Err(e) if resolve::is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Adds one user unless already a member: `{UserId, UserName, status, MembershipId}`.
fn add_one(ctx: &Context, group_id: &str, user: &Value) -> Result<Value> {
    let user_id = object_id(&USERS, user)?;
    if let Some(existing) = membership_id(ctx, group_id, user_id)? {
        return Ok(outcome(user, "already-member", Some(&existing)));
    }
    let created = ctx.client()?.call(
        &client::CREATE_GROUP_MEMBERSHIP,
        json!({
            "IdentityStoreId": ctx.identity_store_id()?,
            "GroupId": group_id,
            "MemberId": {"UserId": user_id},
        }),
    );
    match created {
        Ok(reply) => Ok(outcome(user, "added", reply["MembershipId"].as_str())),
        // Added by someone else between the check and the call.
        Err(e) if e.aws_code() == Some("ConflictException") => {
            Ok(outcome(user, "already-member", None))
        }
        Err(e) => Err(e.context(format!("adding {} to the group", user_name(user)))),
    }
}

/// Removes one user if a member: `{UserId, UserName, status, MembershipId}`.
fn remove_one(ctx: &Context, group_id: &str, user: &Value) -> Result<Value> {
    let user_id = object_id(&USERS, user)?;
    let Some(membership) = membership_id(ctx, group_id, user_id)? else {
        return Ok(outcome(user, "not-a-member", None));
    };
    ctx.note_before(
        &client::DELETE_GROUP_MEMBERSHIP,
        &membership,
        &json!({"GroupId": group_id, "MemberId": {"UserId": user_id}}),
        None,
    );
    ctx.client()?
        .call(
            &client::DELETE_GROUP_MEMBERSHIP,
            json!({"IdentityStoreId": ctx.identity_store_id()?, "MembershipId": membership}),
        )
        .map_err(|e| e.context(format!("removing {} from the group", user_name(user))))?;
    Ok(outcome(user, "removed", Some(&membership)))
}

/// One line of an add/remove report.
fn outcome(user: &Value, status: &str, membership: Option<&str>) -> Value {
    json!({
        "UserId": user["UserId"],
        "UserName": user["UserName"],
        "status": status,
        "MembershipId": membership,
    })
}

/// Warns about every user whose outcome was `status` (`bob is already a member of admins`).
fn note(ctx: &Context, results: &[Value], status: &str, phrase: &str, group: &Value) {
    for r in results.iter().filter(|r| r["status"] == status) {
        ctx.warn(format!("{} {phrase} {}", user_name(r), group_name(group)));
    }
}

/// `{GroupId, DisplayName, results: [...]}`, shown as a table of users and statuses.
fn membership_report(group: &Value, results: Vec<Value>) -> Report {
    let data = json!({
        "GroupId": group["GroupId"],
        "DisplayName": group["DisplayName"],
        "results": results,
    });
    Report::list(data, "results", RESULT_COLUMNS)
}

fn user_name(user: &Value) -> &str {
    user["UserName"]
        .as_str()
        .or_else(|| user["UserId"].as_str())
        .unwrap_or("?")
}

fn group_name(group: &Value) -> &str {
    group["DisplayName"]
        .as_str()
        .or_else(|| group["GroupId"].as_str())
        .unwrap_or("?")
}
