//! Turning what a user typed (a name, an email, an id) into the AWS object it names.
//!
//! Name look-ups use GetUserId / GetGroupId, never a listing, where AWS offers them.

use serde_json::{Value, json};

use super::Context;
use crate::client;
use crate::error::{Error, Result};

/// Whether `s` is a UUID (8-4-4-4-12 hex digits).
pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether `s` has the shape of an Identity Store user or group id
/// (a UUID, optionally prefixed by ten hex digits and a dash).
pub fn is_identity_store_id(s: &str) -> bool {
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
pub fn user(ctx: &Context, who: &str) -> Result<Value> {
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
        let found = match by("userName") {
            Err(e) if is_not_found(&e) && who.contains('@') => by("emails.value"),
            other => other,
        };
        match found {
            Ok(reply) => reply["UserId"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| Error::runtime("identitystore GetUserId: reply lacks UserId"))?,
            Err(e) if is_not_found(&e) => return Err(user_not_found(who)),
            Err(e) => return Err(e),
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

fn user_not_found(who: &str) -> Error {
    Error::not_found(format!(
        "user \"{who}\" not found (by user id, user name or email)"
    ))
}

/// Whether an AWS error says the thing does not exist.
pub fn is_not_found(error: &Error) -> bool {
    error.aws_code().is_some_and(|code| {
        code == "ResourceNotFoundException" || code.ends_with("NotFoundException")
    })
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
}
