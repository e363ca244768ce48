//! `user ...`: Identity Store users. What users and groups share lives in `directory.rs`.

use serde_json::{Value, json};

use super::directory::{
    GROUPS, USERS, delete_command, describe, describe_each, find_command, list_command,
    string_operations, update_and_describe,
};
use super::{Context, resolve};
use crate::client::{self, shapes};
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::output::{Column, Report, View};

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

/// The simple string attributes `user update` sets: (flag, UpdateUser AttributePath).
const UPDATABLE: &[(&str, &str)] = &[
    ("display-name", "displayName"),
    ("given-name", "name.givenName"),
    ("family-name", "name.familyName"),
    ("title", "title"),
];

/// `user list [--filter REGEX] [--limit N]`.
pub(crate) fn list(ctx: &mut Context, m: &Matches) -> Result<Report> {
    list_command(ctx, m, &USERS)
}

/// `user find PATTERN [--limit N]`.
pub(crate) fn find(ctx: &mut Context, m: &Matches) -> Result<Report> {
    find_command(ctx, m, &USERS)
}

/// `user get USER`: the user (by id, user name or email) and the groups it belongs to.
pub(crate) fn get(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let who = m.required_arg("USER")?;
    let mut user = resolve::user(ctx, who)?;
    let groups = groups_of(ctx, &user)?;
    if let Value::Object(map) = &mut user {
        map.insert("Groups".into(), Value::Array(groups));
    }
    Ok(Report::new(
        user,
        View::Sections(vec![
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
    ))
}

/// `user groups USER`: `{UserId, UserName, Groups: [{GroupId, DisplayName, MembershipId}]}`.
pub(crate) fn groups(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let user = resolve::user(ctx, m.required_arg("USER")?)?;
    let groups = groups_of(ctx, &user)?;
    let data = json!({
        "UserId": user["UserId"],
        "UserName": user["UserName"],
        "Groups": groups,
    });
    Ok(Report::list(data, "Groups", GROUP_COLUMNS))
}

/// `user create --username U --display-name D --email E... [--given-name G --family-name F]`:
/// prints the new user as DescribeUser returns it.
pub(crate) fn create(ctx: &mut Context, m: &Matches) -> Result<Report> {
    super::limits::check("user create", m)?;
    let store = ctx.identity_store_id()?;
    let display = m.required_value("display-name")?;
    let (given, family) = name_parts(display, m.value("given-name"), m.value("family-name"))?;
    let request = json!({
        "IdentityStoreId": store,
        "UserName": m.required_value("username")?,
        "DisplayName": display,
        "Name": {"GivenName": given, "FamilyName": family},
        "Emails": emails(m.values("email")),
    });
    let client = ctx.client()?;
    let created = client.call(&client::CREATE_USER, request)?;
    let user_id = created["UserId"]
        .as_str()
        .ok_or_else(|| Error::runtime("identitystore CreateUser: reply lacks UserId"))?;
    let user = describe(ctx, &USERS, user_id)?;
    Ok(Report::record(user, "", USER_FIELDS))
}

/// `user update USER [--display-name --given-name --family-name --title --email...]`:
/// one UpdateUser, then the user as DescribeUser returns it.
pub(crate) fn update(ctx: &mut Context, m: &Matches) -> Result<Report> {
    super::limits::check("user update", m)?;
    let operations = update_operations(m);
    if operations.is_empty() {
        return Err(Error::usage(
            "user update: nothing to change: give --display-name, --given-name, \
             --family-name, --title or --email",
        ));
    }
    let user = resolve::user(ctx, m.required_arg("USER")?)?;
    let updated = update_and_describe(ctx, &USERS, &user, operations)?;
    Ok(Report::record(updated, "", USER_FIELDS))
}

/// `user delete USER [--yes]`.
pub(crate) fn delete(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let user = resolve::user(ctx, m.required_arg("USER")?)?;
    delete_command(ctx, m, &USERS, &user)
}

/// The UpdateUser operations for the flags given: the string attributes, then `emails`
/// (the whole list, since AWS replaces multi-valued attributes as a whole).
fn update_operations(m: &Matches) -> Vec<Value> {
    let mut operations = string_operations(m, UPDATABLE);
    if !m.values("email").is_empty() {
        operations
            .push(json!({"AttributePath": "emails", "AttributeValue": emails(m.values("email"))}));
    }
    operations
}

/// The `Emails` list for addresses given on the command line: all of type work, the first
/// one primary.
fn emails(addresses: &[String]) -> Value {
    addresses
        .iter()
        .enumerate()
        .map(|(i, a)| json!({"Value": a, "Type": "work", "Primary": i == 0}))
        .collect()
}

/// The given and family names of a new user: as given, or else split from the display
/// name (first word, then the rest). A part that is neither given nor derivable is a
/// usage error naming the flag to add.
fn name_parts(
    display: &str,
    given: Option<&str>,
    family: Option<&str>,
) -> Result<(String, String)> {
    let mut words = display.split_whitespace();
    let first = words.next().unwrap_or_default();
    let rest = words.collect::<Vec<_>>().join(" ");
    let pick = |flag: &str, given: Option<&str>, derived: &str| match given {
        Some(value) => Ok(value.to_string()),
        None if !derived.is_empty() => Ok(derived.to_string()),
        None => Err(Error::usage(format!(
            "cannot derive --{flag} from --display-name {display:?}: give --{flag}"
        ))),
    };
    Ok((
        pick("given-name", given, first)?,
        pick("family-name", family, &rest)?,
    ))
}

/// The groups of a user, with their display names: one ListGroupMembershipsForMember, then
/// one DescribeGroup per group the user is in, in parallel (never a scan of every group).
/// A membership of a group deleted meanwhile shows a null DisplayName.
fn groups_of(ctx: &Context, user: &Value) -> Result<Vec<Value>> {
    let store = ctx.identity_store_id()?;
    let user_id = shapes::decode::<shapes::User>(&client::DESCRIBE_USER, user)?.user_id;
    let memberships = ctx.client()?.list(
        &client::LIST_GROUP_MEMBERSHIPS_FOR_MEMBER,
        json!({"IdentityStoreId": store, "MemberId": {"UserId": user_id}}),
    )?;
    let memberships: Vec<shapes::Membership> = shapes::items(
        &client::LIST_GROUP_MEMBERSHIPS_FOR_MEMBER,
        &memberships,
        "GroupMemberships",
    )?;
    let group_ids: Vec<String> = memberships.iter().map(|ms| ms.group_id.clone()).collect();
    let groups = describe_each(ctx, &GROUPS, &group_ids)?;
    Ok(memberships
        .iter()
        .zip(group_ids.iter().zip(groups))
        .map(|(ms, (group_id, group))| {
            json!({
                "GroupId": group_id,
                "DisplayName": group.map_or(Value::Null, |g| g["DisplayName"].clone()),
                "MembershipId": ms.membership_id,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_operations_in_table_order_with_the_whole_email_list() {
        let mut m = Matches::default();
        m.push_flag("email", "new@x.io".into());
        m.push_flag("title", "Queen".into());
        m.push_flag("display-name", "Alice L".into());
        m.push_flag("email", "alt@x.io".into());
        assert_eq!(
            update_operations(&m),
            vec![
                json!({"AttributePath": "displayName", "AttributeValue": "Alice L"}),
                json!({"AttributePath": "title", "AttributeValue": "Queen"}),
                json!({"AttributePath": "emails", "AttributeValue": [
                    {"Value": "new@x.io", "Type": "work", "Primary": true},
                    {"Value": "alt@x.io", "Type": "work", "Primary": false},
                ]}),
            ]
        );
        assert!(update_operations(&Matches::default()).is_empty());
    }

    #[test]
    fn names_default_from_the_display_name() {
        let parts = |d, g, f| name_parts(d, g, f).map_err(|e| e.exit_code());
        assert_eq!(
            parts("Mary Ann Evans", None, None),
            Ok(("Mary".into(), "Ann Evans".into()))
        );
        assert_eq!(
            parts("Mary Ann Evans", Some("George"), None),
            Ok(("George".into(), "Ann Evans".into()))
        );
        assert_eq!(
            parts("Cher", None, Some("Sarkisian")),
            Ok(("Cher".into(), "Sarkisian".into()))
        );
        assert_eq!(parts("Cher", None, None), Err(2));
        assert_eq!(parts("  ", None, Some("X")), Err(2));
    }
}
