//! Cache keys and invalidation tags.
//!
//! A key is SHA-256 over a canonical encoding of everything that identifies an answer:
//! format version, who asks (the caller's identity, the awsideman profile's instance and
//! identity store, the endpoint), region, service, operation and the parameters as
//! canonical JSON (keys sorted, no paging members). The awsideman profile's name is not
//! part of it: the same configuration under two names shares answers, and two callers
//! that may be different AWS accounts never do. Tags name groups of cached reads a write
//! can change (`users:d-123`); they are built from the same parameters by templates in the
//! operation table.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::output::lookup;

/// Bumped whenever the meaning of a key changes, so old entries are never misread.
const KEY_FORMAT: &str = "awsideman-cache-key-v2";

/// Request members that select a page, not the answer: left out of keys.
const PAGING_MEMBERS: &[&str] = &["NextToken", "MaxResults"];

/// Who is asking: the part of a key that is not the request itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Namespace {
    /// The caller's identity (`role:arn:aws:iam::111111111111:role/x`, see
    /// `aws::credentials::caller`).
    pub(crate) caller: String,
    /// The awsideman profile's Identity Center instance and identity store, as configured.
    pub(crate) scope: String,
    /// The endpoint the operation's service is called at.
    pub(crate) endpoint: String,
    /// The AWS region.
    pub(crate) region: String,
}

/// A cache key: 64 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key of `operation` of `service` called with `params` in `namespace`.
    pub(crate) fn new(
        namespace: &Namespace,
        service: &str,
        operation: &str,
        params: &Value,
    ) -> CacheKey {
        let mut hasher = Sha256::new();
        for part in [
            KEY_FORMAT,
            namespace.caller.as_str(),
            namespace.scope.as_str(),
            namespace.endpoint.as_str(),
            namespace.region.as_str(),
            service,
            operation,
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        hasher.update(canonical_json(&without_paging(params)).as_bytes());
        CacheKey(hex::encode(hasher.finalize()))
    }

    /// Parses a key typed by a user (`cache inspect KEY`); a unique prefix is resolved later.
    pub fn parse(text: &str) -> Option<CacheKey> {
        let ok = text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| CacheKey(text.to_ascii_lowercase()))
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The parameters without paging members (`NextToken`, `MaxResults`).
pub(crate) fn without_paging(params: &Value) -> Value {
    match params {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !PAGING_MEMBERS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// JSON with object keys sorted at every level and no insignificant white space, so equal
/// values always encode to equal bytes.
pub(crate) fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Expands tag templates such as `members:{IdentityStoreId}:{GroupId}` with values from
/// `params` (dotted paths allowed). A template whose member is absent yields no tag.
pub(crate) fn expand_tags(templates: &[&str], params: &Value) -> Vec<String> {
    templates
        .iter()
        .filter_map(|template| expand(template, params))
        .collect()
}

fn expand(template: &str, params: &Value) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}')? + open;
        let path = &rest[open + 1..close];
        match lookup(params, path)? {
            Value::String(s) => out.push_str(s),
            Value::Null => return None,
            other => out.push_str(&other.to_string()),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ns(caller: &str) -> Namespace {
        Namespace {
            caller: caller.into(),
            scope: "instance=arn:aws:sso:::instance/ssoins-1 store=d-1".into(),
            endpoint: "https://identitystore.us-east-1.amazonaws.com".into(),
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"y": [1, {"d": 1, "c": 2}], "x": null}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":null,"y":[1,{"c":2,"d":1}]},"b":1}"#
        );
    }

    #[test]
    fn key_ignores_order_and_paging_but_not_identity() {
        let k = |p: &Value| CacheKey::new(&ns("prod"), "identitystore", "ListUsers", p);
        let base = k(&json!({"IdentityStoreId": "d-1"}));
        assert_eq!(
            base,
            k(&json!({"IdentityStoreId": "d-1", "MaxResults": 100}))
        );
        assert_eq!(
            base,
            k(&json!({"MaxResults": 5, "NextToken": "t", "IdentityStoreId": "d-1"}))
        );
        assert_ne!(base, k(&json!({"IdentityStoreId": "d-2"})));
        assert_eq!(base.as_str().len(), 64);
        let params = json!({"IdentityStoreId": "d-1"});
        let other_caller = CacheKey::new(&ns("role:dev"), "identitystore", "ListUsers", &params);
        assert_ne!(base, other_caller);
        let parts: [fn(&mut Namespace); 3] = [
            |n| n.scope.push('x'),
            |n| n.endpoint = "http://127.0.0.1:5000".into(),
            |n| n.region = "eu-west-1".into(),
        ];
        for change in parts {
            let mut namespace = ns("prod");
            change(&mut namespace);
            let key = CacheKey::new(&namespace, "identitystore", "ListUsers", &params);
            assert_ne!(base, key, "{namespace:?}");
        }
    }

    #[test]
    fn member_specific_operations_do_not_collide() {
        let k = |member: &str| {
            CacheKey::new(
                &ns("p"),
                "identitystore",
                "ListGroupMembershipsForMember",
                &json!({"IdentityStoreId": "d-1", "MemberId": {"UserId": member}}),
            )
        };
        assert_ne!(k("u1"), k("u2"));
        let list = CacheKey::new(
            &ns("p"),
            "identitystore",
            "ListGroupMemberships",
            &json!({"IdentityStoreId": "d-1", "MemberId": {"UserId": "u1"}}),
        );
        assert_ne!(k("u1"), list);
    }

    #[test]
    fn tags_expand_from_params() {
        let params =
            json!({"IdentityStoreId": "d-1", "MemberId": {"UserId": "u1"}, "GroupId": "g"});
        let tags = expand_tags(
            &[
                "memberof:{IdentityStoreId}:{MemberId.UserId}",
                "members:{IdentityStoreId}:{GroupId}",
                "x:{Missing}",
            ],
            &params,
        );
        assert_eq!(tags, ["memberof:d-1:u1", "members:d-1:g"]);
    }

    #[test]
    fn parse_key() {
        assert!(CacheKey::parse(&"a".repeat(64)).is_some());
        assert!(CacheKey::parse("abc").is_none());
        assert!(CacheKey::parse(&"g".repeat(64)).is_none());
    }
}
