//! Turning what a user typed (a name, an email, an id) into the AWS object it names.
//!
//! Name look-ups use GetUserId / GetGroupId, never a listing, where AWS offers them.

use serde_json::{Value, json};

use super::Context;
pub(crate) use crate::client::shapes::PrincipalType;
use crate::client::{self, shapes};
use crate::error::{Error, Result};

/// Whether `s` is a UUID (8-4-4-4-12 hex digits).
pub(crate) fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether `s` has the shape of an Identity Store user or group id
/// (a UUID, optionally prefixed by ten hex digits and a dash).
pub(crate) fn is_identity_store_id(s: &str) -> bool {
    match s.split_once('-') {
        Some((prefix, rest))
            if prefix.len() == 10 && prefix.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            is_uuid(rest)
        }
        _ => is_uuid(s),
    }
}

/// Finds a user by id, user name or email address and returns its DescribeUser reply.
pub(crate) fn user(ctx: &Context, who: &str) -> Result<Value> {
    let store = ctx.identity_store_id()?;
    let client = ctx.client()?;
    let user_id = if is_identity_store_id(who) {
        who.to_string()
    } else {
        let by = |path: &str| {
            client.call(
                &client::GET_USER_ID,
                json!({
                    "IdentityStoreId": store,
                    "AlternateIdentifier": {"UniqueAttribute": {"AttributePath": path, "AttributeValue": who}},
                }),
            )
        };
        let id_of = |found: Result<Value>| -> Result<Option<String>> {
            match found {
                Ok(reply) => reply["UserId"]
                    .as_str()
                    .map(|id| Some(id.to_string()))
                    .ok_or_else(|| Error::runtime("identitystore GetUserId: reply lacks UserId")),
                Err(e) if is_not_found(&e) => Ok(None),
                Err(e) => Err(e),
            }
        };
        let by_name = id_of(by("userName"))?;
        // Something shaped like an email may be one user's name and another's email: both
        // are looked up, and two users are an error, never a choice.
        let by_email = if who.contains('@') {
            id_of(by("emails.value"))?
        } else {
            None
        };
        match (by_name, by_email) {
            (Some(name), Some(email)) if name != email => {
                let email_user = client
                    .call(
                        &client::DESCRIBE_USER,
                        json!({"IdentityStoreId": store, "UserId": email}),
                    )
                    .ok()
                    .and_then(|u| u["UserName"].as_str().map(str::to_string))
                    .unwrap_or_else(|| "?".into());
                return Err(ambiguous(
                    "user",
                    who,
                    &[
                        format!("{name} (user name {who})"),
                        format!("{email} (user name {email_user}, email {who})"),
                    ],
                    "give the user id",
                ));
            }
            (Some(id), _) | (None, Some(id)) => id,
            (None, None) => return Err(user_not_found(who)),
        }
    };
    match client.call(
        &client::DESCRIBE_USER,
        json!({"IdentityStoreId": store, "UserId": user_id}),
    ) {
        Err(e) if is_not_found(&e) => Err(user_not_found(who)),
        other => other,
    }
}

/// Finds a group by id or display name and returns its DescribeGroup reply.
pub(crate) fn group(ctx: &Context, who: &str) -> Result<Value> {
    let store = ctx.identity_store_id()?;
    let client = ctx.client()?;
    let group_id = if is_identity_store_id(who) {
        who.to_string()
    } else {
        let reply = client.call(
            &client::GET_GROUP_ID,
            json!({
                "IdentityStoreId": store,
                "AlternateIdentifier": {"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": who}},
            }),
        );
        match reply {
            Ok(reply) => reply["GroupId"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| Error::runtime("identitystore GetGroupId: reply lacks GroupId"))?,
            Err(e) if is_not_found(&e) => return Err(group_not_found(who)),
            Err(e) => return Err(e),
        }
    };
    match client.call(
        &client::DESCRIBE_GROUP,
        json!({"IdentityStoreId": store, "GroupId": group_id}),
    ) {
        Err(e) if is_not_found(&e) => Err(group_not_found(who)),
        other => other,
    }
}

fn group_not_found(who: &str) -> Error {
    Error::not_found(format!(
        "group \"{who}\" not found (by group id or display name)"
    ))
}

/// Whether `s` is a permission set ARN rather than a name (names cannot contain `:`).
pub(crate) fn is_permission_set_arn(s: &str) -> bool {
    s.starts_with("arn:")
}

/// Every permission set of the instance, described: `[{PermissionSetArn, Name, ...}]`.
pub(crate) fn permission_sets(ctx: &Context) -> Result<Vec<Value>> {
    let instance = ctx.instance_arn()?;
    let client = ctx.client()?;
    let listed = client.list(
        &client::LIST_PERMISSION_SETS,
        json!({"InstanceArn": instance}),
    )?;
    let arns: Vec<String> =
        shapes::items(&client::LIST_PERMISSION_SETS, &listed, "PermissionSets")?;
    describe_permission_sets(ctx, &arns)
}

/// Describes each permission set of `arns` in parallel, in order (the `PermissionSet`
/// member of each DescribePermissionSet).
pub(crate) fn describe_permission_sets(ctx: &Context, arns: &[String]) -> Result<Vec<Value>> {
    let instance = ctx.instance_arn()?;
    let client = ctx.client()?;
    let described = super::fanout::parallel(arns, super::fanout::WORKERS, |arn| {
        client
            .call(
                &client::DESCRIBE_PERMISSION_SET,
                json!({"InstanceArn": instance, "PermissionSetArn": arn}),
            )
            .map(|reply| reply["PermissionSet"].clone())
    });
    described.into_iter().collect()
}

/// Finds a permission set by ARN or name (case-insensitive) and returns its description
/// (the `PermissionSet` member of DescribePermissionSet).
pub(crate) fn permission_set(ctx: &Context, who: &str) -> Result<Value> {
    let instance = ctx.instance_arn()?;
    if is_permission_set_arn(who) {
        return match ctx.client()?.call(
            &client::DESCRIBE_PERMISSION_SET,
            json!({"InstanceArn": instance, "PermissionSetArn": who}),
        ) {
            Ok(reply) => Ok(reply["PermissionSet"].clone()),
            Err(e) if is_not_found(&e) => Err(permission_set_not_found(who)),
            Err(e) => Err(e),
        };
    }
    let found = by_name(permission_sets(ctx)?, "Name", who);
    match found.as_slice() {
        [] => Err(permission_set_not_found(who)),
        [one] => Ok(one.clone()),
        several => Err(ambiguous(
            "permission set",
            who,
            &several
                .iter()
                .map(|ps| format!("{} ({})", text(&ps["PermissionSetArn"]), text(&ps["Name"])))
                .collect::<Vec<_>>(),
            "give the permission set ARN",
        )),
    }
}

/// The items whose `field` is `name`: exactly, else ignoring case (several when the name
/// fits several; the caller refuses to choose).
fn by_name(items: Vec<Value>, field: &str, name: &str) -> Vec<Value> {
    let exact: Vec<Value> = items
        .iter()
        .filter(|i| i[field].as_str() == Some(name))
        .cloned()
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    items
        .into_iter()
        .filter(|i| {
            i[field]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .collect()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("?")
}

/// A name that fits several `what`s: a usage error (exit 2) listing them, with the way
/// to name one exactly.
fn ambiguous(what: &str, who: &str, candidates: &[String], fix: &str) -> Error {
    Error::usage(format!(
        "{what} \"{who}\" is ambiguous: it matches {}: {}; {fix}",
        candidates.len(),
        candidates.join(", ")
    ))
}

fn permission_set_not_found(who: &str) -> Error {
    Error::not_found(format!(
        "permission set \"{who}\" not found (by ARN or name)"
    ))
}

/// Whether `s` is a 12-digit AWS account id.
pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Finds an account of the organization by 12-digit id or name (case-insensitive) and
/// returns its Account object (Id, Arn, Name, Email, Status, ...).
pub(crate) fn account(ctx: &Context, who: &str) -> Result<Value> {
    let client = ctx.client()?;
    if is_account_id(who) {
        return match client.call(&client::DESCRIBE_ACCOUNT, json!({"AccountId": who})) {
            Ok(reply) => Ok(reply["Account"].clone()),
            Err(e) if is_not_found(&e) => Err(account_not_found(who)),
            Err(e) => Err(e),
        };
    }
    let accounts = client.list(&client::LIST_ACCOUNTS, json!({}))?;
    let listed = accounts["Accounts"].as_array().cloned().unwrap_or_default();
    let found = by_name(listed, "Name", who);
    match found.as_slice() {
        [] => Err(account_not_found(who)),
        [one] => Ok(one.clone()),
        several => Err(ambiguous(
            "account",
            who,
            &several
                .iter()
                .map(|a| format!("{} ({})", text(&a["Id"]), text(&a["Name"])))
                .collect::<Vec<_>>(),
            "give the 12-digit account id",
        )),
    }
}

/// [`account`], typed.
pub(crate) fn typed_account(ctx: &Context, who: &str) -> Result<shapes::Account> {
    shapes::decode(&client::DESCRIBE_ACCOUNT, &account(ctx, who)?)
}

/// [`permission_set`], typed.
pub(crate) fn typed_permission_set(ctx: &Context, who: &str) -> Result<shapes::PermissionSet> {
    shapes::decode(&client::DESCRIBE_PERMISSION_SET, &permission_set(ctx, who)?)
}

fn account_not_found(who: &str) -> Error {
    Error::not_found(format!(
        "account \"{who}\" not found (by 12-digit id or name)"
    ))
}

/// A resolved user or group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principal {
    /// User or group.
    pub(crate) kind: PrincipalType,
    /// The Identity Store id.
    pub(crate) id: String,
    /// The user name or group display name.
    pub(crate) name: String,
}

/// Finds a user or group by id or name. Without `kind`, a user is tried first, then a
/// group; a name that is both is an error asking for `--principal-type`.
pub(crate) fn principal(
    ctx: &Context,
    who: &str,
    kind: Option<PrincipalType>,
) -> Result<Principal> {
    let as_user = || -> Result<Principal> {
        let u: shapes::User = shapes::decode(&client::DESCRIBE_USER, &user(ctx, who)?)?;
        Ok(Principal {
            kind: PrincipalType::User,
            id: u.user_id,
            name: u.user_name,
        })
    };
    let as_group = || -> Result<Principal> {
        let g: shapes::Group = shapes::decode(&client::DESCRIBE_GROUP, &group(ctx, who)?)?;
        Ok(Principal {
            kind: PrincipalType::Group,
            name: g.display_name.unwrap_or_else(|| g.group_id.clone()),
            id: g.group_id,
        })
    };
    match kind {
        Some(PrincipalType::User) => as_user(),
        Some(PrincipalType::Group) => as_group(),
        None => match (as_user(), as_group()) {
            (Ok(_), Ok(_)) => Err(Error::usage(format!(
                "\"{who}\" is both a user and a group: add --principal-type USER or GROUP"
            ))),
            (Ok(p), Err(e)) | (Err(e), Ok(p)) if e.kind() == crate::error::Kind::NotFound => Ok(p),
            (Err(u), Err(g))
                if u.kind() == crate::error::Kind::NotFound
                    && g.kind() == crate::error::Kind::NotFound =>
            {
                Err(Error::not_found(format!(
                    "principal \"{who}\" not found (no user or group by that id or name)"
                )))
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
    }
}

fn user_not_found(who: &str) -> Error {
    Error::not_found(format!(
        "user \"{who}\" not found (by user id, user name or email)"
    ))
}

/// Whether an AWS error says the thing does not exist.
pub(crate) fn is_not_found(error: &Error) -> bool {
    crate::client::permission_set::is_not_found(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_shapes() {
        assert!(is_uuid("a1b2c3d4-1111-2222-3333-444455556666"));
        assert!(!is_uuid("alice"));
        assert!(is_identity_store_id(
            "906759c6a1-a1b2c3d4-1111-2222-3333-444455556666"
        ));
        assert!(is_identity_store_id("a1b2c3d4-1111-2222-3333-444455556666"));
        assert!(!is_identity_store_id("alice-smith"));
        assert!(!is_identity_store_id("alice@example.com"));
    }

    #[test]
    fn names_match_exactly_first_and_several_are_ambiguous() {
        let items = vec![
            json!({"Name": "Admin", "Id": "1"}),
            json!({"Name": "admin", "Id": "2"}),
            json!({"Name": "Dev", "Id": "3"}),
            json!({"Name": "DEV", "Id": "4"}),
        ];
        assert_eq!(by_name(items.clone(), "Name", "admin").len(), 1);
        assert_eq!(by_name(items.clone(), "Name", "dev").len(), 2);
        assert_eq!(by_name(items, "Name", "ops").len(), 0);
        let e = ambiguous(
            "account",
            "dev",
            &["3 (Dev)".into(), "4 (DEV)".into()],
            "give the id",
        );
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("3 (Dev), 4 (DEV)"), "{e}");
    }
}
