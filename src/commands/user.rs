//! `user ...`: Identity Store users.

use serde_json::{Value, json};

use super::{Context, resolve};
use crate::cli::matches::Matches;
use crate::client;
use crate::error::Result;
use crate::output::{Column, Report, View};

const LIST_COLUMNS: &[Column] = &[
    Column::new("User name", "UserName"),
    Column::new("Display name", "DisplayName"),
    Column::new("Email", "Emails.0.Value"),
    Column::new("User ID", "UserId"),
];

const USER_FIELDS: &[Column] = &[
    Column::new("User ID", "UserId"),
    Column::new("User name", "UserName"),
    Column::new("Display name", "DisplayName"),
    Column::new("Given name", "Name.GivenName"),
    Column::new("Family name", "Name.FamilyName"),
    Column::new("Email", "Emails.0.Value"),
    Column::new("Title", "Title"),
    Column::new("User type", "UserType"),
    Column::new("Identity store", "IdentityStoreId"),
];

const GROUP_COLUMNS: &[Column] = &[
    Column::new("Group", "DisplayName"),
    Column::new("Group ID", "GroupId"),
    Column::new("Membership ID", "MembershipId"),
];

/// `user list [--limit N]`.
pub fn list(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let store = ctx.identity_store_id()?;
    let limit: Option<usize> = m.parsed("limit")?;
    let mut reply = ctx.client()?.list_limited(
        &client::LIST_USERS,
        json!({"IdentityStoreId": store}),
        limit,
    )?;
    if let (Some(limit), Some(users)) = (limit, reply["Users"].as_array_mut())
        && users.len() > limit
    {
        users.truncate(limit);
        reply["Truncated"] = Value::Bool(true);
    }
    Ok(Report::list(reply, "Users", LIST_COLUMNS))
}

/// `user get USER`: the user (by id, user name or email) and the groups it belongs to.
pub fn get(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let who = m.required_arg("USER")?;
    let mut user = resolve::user(ctx, who)?;
    let groups = groups_of(ctx, &user)?;
    if let Value::Object(map) = &mut user {
        map.insert("Groups".into(), Value::Array(groups));
    }
    Ok(Report {
        data: user,
        view: View::Sections(vec![
            (
                "User".into(),
                View::Record {
                    path: "",
                    fields: USER_FIELDS,
                },
            ),
            (
                "Groups".into(),
                View::List {
                    path: "Groups",
                    columns: GROUP_COLUMNS,
                },
            ),
        ]),
    })
}

/// The groups of a user, with their display names: one ListGroupMembershipsForMember, then
/// one DescribeGroup per group the user is in (never a scan of every group).
fn groups_of(ctx: &Context, user: &Value) -> Result<Vec<Value>> {
    let store = ctx.identity_store_id()?;
    let client = ctx.client()?;
    let user_id = user["UserId"].as_str().unwrap_or_default();
    let memberships = client.list(
        &client::LIST_GROUP_MEMBERSHIPS_FOR_MEMBER,
        json!({"IdentityStoreId": store, "MemberId": {"UserId": user_id}}),
    )?;
    let mut groups = Vec::new();
    for membership in memberships["GroupMemberships"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let group_id = membership["GroupId"].as_str().unwrap_or_default();
        let group = client.call(
            &client::DESCRIBE_GROUP,
            json!({"IdentityStoreId": store, "GroupId": group_id}),
        )?;
        groups.push(json!({
            "GroupId": group_id,
            "DisplayName": group["DisplayName"],
            "MembershipId": membership["MembershipId"],
        }));
    }
    Ok(groups)
}
