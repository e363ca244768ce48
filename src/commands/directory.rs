//! What `user ...` and `group ...` share, written once for both kinds of Identity Store
//! object (a [`Resource`]): regex search over a listing (`list --filter`, `find`), names of
//! many ids fetched in parallel, attribute updates and deletion. Nothing here prints.

use regex_lite::Regex;
use serde_json::{Value, json};

use super::fanout::{self, WORKERS};
use super::{Context, resolve};
use crate::client::{self, Operation};
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::output::{Column, Report};

const USER_LIST_COLUMNS: &[Column] = &[
    Column::new("User name", "UserName"),
    Column::new("Display name", "DisplayName"),
    Column::new("Email", "Emails.0.Value"),
    Column::new("User ID", "UserId"),
];

const GROUP_LIST_COLUMNS: &[Column] = &[
    Column::new("Group", "DisplayName"),
    Column::new("Description", "Description"),
    Column::new("Group ID", "GroupId"),
];

/// Identity Store users, as the shared listing, update and delete code sees them.
pub(crate) const USERS: Resource = Resource {
    noun: "user",
    id_key: "UserId",
    name_key: "UserName",
    list_key: "Users",
    list: client::LIST_USERS,
    describe: client::DESCRIBE_USER,
    update: client::UPDATE_USER,
    delete: client::DELETE_USER,
    searched: &["UserName", "DisplayName", "Emails.*.Value"],
    columns: USER_LIST_COLUMNS,
};

/// Identity Store groups, as the shared listing, update and delete code sees them.
pub const GROUPS: Resource = Resource {
    noun: "group",
    id_key: "GroupId",
    name_key: "DisplayName",
    list_key: "Groups",
    list: client::LIST_GROUPS,
    describe: client::DESCRIBE_GROUP,
    update: client::UPDATE_GROUP,
    delete: client::DELETE_GROUP,
    searched: &["DisplayName", "Description"],
    columns: GROUP_LIST_COLUMNS,
};

/// One kind of Identity Store object (users or groups): its operations and key names, so
/// listing, search, update and delete are written once for both.
#[derive(Debug)]
pub(crate) struct Resource {
    /// The word for one object in messages (`user`).
    pub(crate) noun: &'static str,
    /// The id member (`UserId`).
    pub(crate) id_key: &'static str,
    /// The member naming the object for people (`UserName`).
    pub(crate) name_key: &'static str,
    /// The list member of the List reply (`Users`).
    pub(crate) list_key: &'static str,
    /// ListUsers / ListGroups.
    pub(crate) list: Operation,
    /// DescribeUser / DescribeGroup.
    pub(crate) describe: Operation,
    /// UpdateUser / UpdateGroup.
    pub(crate) update: Operation,
    /// DeleteUser / DeleteGroup.
    pub(crate) delete: Operation,
    /// The fields `--filter` and `find` match, as dotted paths (`*` is every array element).
    pub(crate) searched: &'static [&'static str],
    /// The table columns of a listing.
    pub(crate) columns: &'static [Column],
}

/// A case-insensitive regular expression over the text fields of an object
/// (`list --filter REGEX`, `find PATTERN`).
#[derive(Debug)]
pub(crate) struct Pattern(Regex);

impl Pattern {
    /// Compiles `source` case-insensitively within the limits of `pattern.rs`; an invalid
    /// expression, or one over a limit, is a usage error.
    pub(crate) fn new(source: &str) -> Result<Pattern> {
        super::pattern::compile(source, "pattern").map(Pattern)
    }

    /// Whether the expression matches any text value at any of `fields` in `item`.
    pub(crate) fn matches(&self, item: &Value, fields: &[&str]) -> bool {
        fields
            .iter()
            .flat_map(|path| texts(item, path))
            .any(|text| self.0.is_match(text))
    }
}

/// The strings at a dotted path of `value`, where a `*` part stands for every element of
/// an array (`Emails.*.Value`).
fn texts<'a>(value: &'a Value, path: &str) -> Vec<&'a str> {
    let mut found = vec![value];
    for part in path.split('.').filter(|p| !p.is_empty()) {
        found = found
            .into_iter()
            .flat_map(|v| match (part, v) {
                ("*", Value::Array(items)) => items.iter().collect(),
                (key, Value::Object(map)) => map.get(key).into_iter().collect(),
                _ => Vec::new(),
            })
            .collect();
    }
    found.into_iter().filter_map(Value::as_str).collect()
}

/// `list [--filter REGEX] [--limit N]` for users or groups.
pub(crate) fn list_command(ctx: &Context, m: &Matches, resource: &Resource) -> Result<Report> {
    search(ctx, resource, m.value("filter"), m.parsed("limit")?)
}

/// `find PATTERN [--limit N]` for users or groups: like `list --filter`; no match is an
/// empty list and exit 0.
pub(crate) fn find_command(ctx: &Context, m: &Matches, resource: &Resource) -> Result<Report> {
    search(
        ctx,
        resource,
        Some(m.required_arg("PATTERN")?),
        m.parsed("limit")?,
    )
}

/// Lists every object of `resource` (every page), keeps those matching `pattern`, and cuts
/// the list at `limit` (then `"Truncated": true`; `--limit 0` is no limit). The pattern is
/// checked before any request. A cut list on a terminal says how much more there is.
fn search(
    ctx: &Context,
    resource: &Resource,
    pattern: Option<&str>,
    limit: Option<usize>,
) -> Result<Report> {
    let limit = limit.filter(|&l| l > 0);
    let pattern = pattern.map(Pattern::new).transpose()?;
    let store = ctx.identity_store_id()?;
    let input = json!({"IdentityStoreId": store});
    let client = ctx.client()?;
    let mut reply = match (&pattern, limit) {
        // The whole list: printed as the cache holds it.
        (None, None) => {
            let document = client.list_document(&resource.list, input)?;
            return Ok(Report::list(document, resource.list_key, resource.columns));
        }
        // Without a filter, stop paging once enough objects are in.
        (None, Some(_)) => client.list_limited(&resource.list, input, limit)?,
        (Some(_), _) => client.list(&resource.list, input)?,
    };
    if let Some(objects) = reply[resource.list_key].as_array_mut() {
        if let Some(pattern) = &pattern {
            objects.retain(|o| pattern.matches(o, resource.searched));
        }
        if let Some(limit) = limit.filter(|&l| objects.len() > l) {
            // Filtered, every page was read: the count is exact.
            let found = objects.len();
            objects.truncate(limit);
            reply["Truncated"] = Value::Bool(true);
            if pattern.is_some() {
                ctx.note_on_terminal(format!("showing {limit} of {found}; --limit 0 for all"));
            }
        }
    }
    if pattern.is_none() && reply["Truncated"] == Value::Bool(true) {
        // Unfiltered, paging stopped once more than `limit` were in: how many more is unknown.
        let shown = reply[resource.list_key].as_array().map_or(0, Vec::len);
        ctx.note_on_terminal(format!(
            "showing {shown} of at least {}; --limit 0 for all",
            shown + 1
        ));
    }
    Ok(Report::list(reply, resource.list_key, resource.columns))
}

/// Describes one object by id.
pub(crate) fn describe(ctx: &Context, resource: &Resource, id: &str) -> Result<Value> {
    ctx.client()?.call(
        &resource.describe,
        json!({"IdentityStoreId": ctx.identity_store_id()?, resource.id_key: id}),
    )
}

/// Describes every id in parallel (bounded by [`WORKERS`]), in order; `None` for an id that
/// no longer exists (a membership can outlive its user or group).
pub(crate) fn describe_each(
    ctx: &Context,
    resource: &Resource,
    ids: &[String],
) -> Result<Vec<Option<Value>>> {
    let store = ctx.identity_store_id()?;
    let client = ctx.client()?;
    fanout::parallel(ids, WORKERS, |id| {
        match client.call(
            &resource.describe,
            json!({"IdentityStoreId": store, resource.id_key: id}),
        ) {
            Ok(object) => Ok(Some(object)),
            Err(e) if resolve::is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    })
    .into_iter()
    .collect()
}

/// One `{AttributePath, AttributeValue}` operation per flag of `fields` given on the command
/// line, in the order of `fields`.
pub(crate) fn string_operations(m: &Matches, fields: &[(&str, &str)]) -> Vec<Value> {
    fields
        .iter()
        .filter_map(|(flag, path)| {
            m.value(flag)
                .map(|v| json!({"AttributePath": path, "AttributeValue": v}))
        })
        .collect()
}

/// Applies `operations` to `object` (as described) with UpdateUser / UpdateGroup and
/// returns the object as described afterwards.
pub(crate) fn update_and_describe(
    ctx: &Context,
    resource: &Resource,
    object: &Value,
    operations: Vec<Value>,
) -> Result<Value> {
    let id = object_id(resource, object)?;
    ctx.note_before(&resource.update, id, object, None);
    ctx.client()?.call(
        &resource.update,
        json!({
            "IdentityStoreId": ctx.identity_store_id()?,
            resource.id_key: id,
            "Operations": operations,
        }),
    )?;
    describe(ctx, resource, id)
}

/// `delete` for users or groups: asks (or requires `--yes`), deletes, and reports
/// `{UserId|GroupId, UserName|DisplayName, "deleted": true}`.
pub(crate) fn delete_command(
    ctx: &Context,
    m: &Matches,
    resource: &Resource,
    object: &Value,
) -> Result<Report> {
    let id = object_id(resource, object)?;
    let name = object[resource.name_key].as_str().unwrap_or(id);
    // The question names what goes: the name, the display name when it says more, the id.
    let shown = match object["DisplayName"].as_str().filter(|d| *d != name) {
        Some(display) => format!("{name} ({display}, id {id})"),
        None => format!("{name} (id {id})"),
    };
    ctx.confirm(m, &format!("delete {} {shown}", resource.noun))?;
    if ctx.journalling() {
        // What a rollback needs to recreate it; a listing that fails only costs that.
        let members = member_groups(ctx, resource, id)
            .map_err(|e| {
                ctx.warn(format!(
                    "rollback journal: the memberships of {} {name} are not recorded: {e}",
                    resource.noun
                ))
            })
            .ok();
        ctx.note_before(&resource.delete, id, object, members);
    }
    ctx.client()?.call(
        &resource.delete,
        json!({"IdentityStoreId": ctx.identity_store_id()?, resource.id_key: id}),
    )?;
    let data = json!({
        resource.id_key: id,
        resource.name_key: object[resource.name_key],
        "deleted": true,
    });
    Ok(Report::message(
        data,
        format!("Deleted {} {name} ({id}).", resource.noun),
    ))
}

/// For the rollback journal: the groups a user is in (one ListGroupMembershipsForMember),
/// or the members of a group (as `user:ID`, one ListGroupMemberships).
pub(crate) fn member_groups(ctx: &Context, resource: &Resource, id: &str) -> Result<Vec<String>> {
    let store = ctx.identity_store_id()?;
    let client = ctx.client()?;
    let (op, input, wanted) = if resource.id_key == "UserId" {
        (
            &client::LIST_GROUP_MEMBERSHIPS_FOR_MEMBER,
            json!({"IdentityStoreId": store, "MemberId": {"UserId": id}}),
            "GroupId",
        )
    } else {
        (
            &client::LIST_GROUP_MEMBERSHIPS,
            json!({"IdentityStoreId": store, "GroupId": id}),
            "MemberId.UserId",
        )
    };
    let reply = client.list(op, input)?;
    Ok(reply["GroupMemberships"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|m| {
            wanted
                .split('.')
                .try_fold(m, |v, k| v.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect())
}

/// The id of a described object, or an error if AWS left it out.
pub(crate) fn object_id<'a>(resource: &Resource, object: &'a Value) -> Result<&'a str> {
    object[resource.id_key].as_str().ok_or_else(|| {
        Error::runtime(format!(
            "identitystore {}: reply lacks {}",
            resource.describe.name, resource.id_key
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Value {
        json!({
            "UserName": "alice",
            "DisplayName": "Alice Liddell",
            "Emails": [{"Value": "a@work.io"}, {"Value": "wonder@home.net"}],
        })
    }

    #[test]
    fn pattern_is_case_insensitive_over_every_searched_field() {
        let user = alice();
        for hit in ["ALICE", "^alice$", "liddell", "home\\.net$", "a@WORK"] {
            let p = Pattern::new(hit).unwrap();
            assert!(p.matches(&user, USERS.searched), "{hit}");
        }
        for miss in ["bob", "^liddell", "example\\.com"] {
            let p = Pattern::new(miss).unwrap();
            assert!(!p.matches(&user, USERS.searched), "{miss}");
        }
        let p = Pattern::new("liddell").unwrap();
        assert!(!p.matches(&user, &["UserName"]), "only the fields given");
    }

    #[test]
    fn invalid_pattern_is_a_usage_error() {
        let e = Pattern::new("(unclosed").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message().contains("(unclosed"), "{e}");
    }

    #[test]
    fn texts_follow_paths_and_stars() {
        let v = alice();
        assert_eq!(texts(&v, "UserName"), ["alice"]);
        assert_eq!(
            texts(&v, "Emails.*.Value"),
            ["a@work.io", "wonder@home.net"]
        );
        assert!(texts(&v, "Missing.*.Value").is_empty());
        assert!(texts(&json!({"Emails": null}), "Emails.*.Value").is_empty());
    }
}
