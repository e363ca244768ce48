//! Everything about one permission set, read through the client: its description, AWS
//! managed policies, customer managed policy references, inline policy, permissions
//! boundary and tags (one request or listing each, in parallel).
//!
//! One reader for the backup, `permission-set get`/`clone` and the rollback journal (which
//! notes a set in full before deleting it), so the three agree on what "a permission set"
//! is. It lives with the client because the client itself uses it (the state before a
//! write, see [`super::Client::call`]); it never talks to the transport around the client.

use serde_json::{Map, Value, json};

use super::{Client, Operation};
use crate::error::{Error, Result};

/// One attribute of a permission set, one request (or one listing) each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// DescribePermissionSet's `PermissionSet` (Name, Description, SessionDuration, ...).
    Description,
    /// `[{Arn, Name}]`, sorted by Arn.
    AwsManagedPolicies,
    /// `[{Name, Path}]`, sorted by Path, then Name.
    CustomerManagedPolicies,
    /// The policy text exactly as AWS holds it, or null.
    InlinePolicy,
    /// Null, `{ManagedPolicyArn}` or `{CustomerManagedPolicyReference: {Name, Path}}`.
    PermissionsBoundary,
    /// `[{Key, Value}]`, sorted by Key.
    Tags,
}

impl Part {
    /// Every part, in the order they are read.
    pub(crate) const ALL: [Part; 6] = [
        Part::Description,
        Part::AwsManagedPolicies,
        Part::CustomerManagedPolicies,
        Part::InlinePolicy,
        Part::PermissionsBoundary,
        Part::Tags,
    ];

    /// The member holding this part in the assembled set.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Part::Description => "Description",
            Part::AwsManagedPolicies => "AwsManagedPolicies",
            Part::CustomerManagedPolicies => "CustomerManagedPolicies",
            Part::InlinePolicy => "InlinePolicy",
            Part::PermissionsBoundary => "PermissionsBoundary",
            Part::Tags => "Tags",
        }
    }

    /// Asks AWS (or the cache) for this part of permission set `arn`; `Ok(None)` when the
    /// endpoint does not implement the operation (an emulator): unknown, not "none".
    pub(crate) fn fetch(self, client: &Client, instance: &str, arn: &str) -> Result<Option<Value>> {
        let target = json!({"InstanceArn": instance, "PermissionSetArn": arn});
        let reply = match self {
            Part::Description => client
                .call(&super::DESCRIBE_PERMISSION_SET, target)
                .map(|r| r["PermissionSet"].clone()),
            Part::AwsManagedPolicies => client
                .list(&super::LIST_MANAGED_POLICIES_IN_PERMISSION_SET, target)
                .map(|r| sorted(&r["AttachedManagedPolicies"], &["Arn"])),
            Part::CustomerManagedPolicies => client
                .list(
                    &super::LIST_CUSTOMER_MANAGED_POLICY_REFERENCES_IN_PERMISSION_SET,
                    target,
                )
                .map(|r| sorted(&r["CustomerManagedPolicyReferences"], &["Path", "Name"])),
            Part::InlinePolicy => client
                .call(&super::GET_INLINE_POLICY_FOR_PERMISSION_SET, target)
                .map(|r| inline_text(&r)),
            Part::PermissionsBoundary => boundary(client, target),
            Part::Tags => client
                .list(
                    &super::LIST_PERMISSION_SET_TAGS,
                    json!({"InstanceArn": instance, "ResourceArn": arn}),
                )
                .map(|r| sorted(&r["Tags"], &["Key"])),
        };
        match reply {
            Ok(value) => Ok(Some(value)),
            Err(e) if self != Part::Description && is_unsupported(&e) => Ok(None),
            Err(e) => Err(e.context(format!("reading {} of {arn}", self.key()))),
        }
    }
}

/// A permission set in full (see [`read`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Everything {
    /// The description's members plus one member per other [`Part`]; a part the endpoint
    /// could not tell is null.
    pub(crate) set: Value,
    /// The parts the endpoint could not tell.
    pub(crate) unknown: Vec<Part>,
}

/// Every [`Part`] of permission set `arn`, read in parallel.
pub(crate) fn read(client: &Client, instance: &str, arn: &str) -> Result<Everything> {
    let found = crate::parallel::parallel(&Part::ALL, Part::ALL.len(), |part| {
        part.fetch(client, instance, arn)
    });
    let parts = Part::ALL
        .iter()
        .zip(found)
        .map(|(part, value)| value.map(|v| (*part, v)))
        .collect::<Result<Vec<_>>>()?;
    assemble(arn, parts)
}

/// One set from its parts as fetched: the description's members, then each other part
/// under its key (null when unknown).
pub(crate) fn assemble(arn: &str, parts: Vec<(Part, Option<Value>)>) -> Result<Everything> {
    let mut set = Map::new();
    let mut unknown = Vec::new();
    for (part, value) in parts {
        match (part, value) {
            (Part::Description, Some(Value::Object(description))) => set.extend(description),
            (Part::Description, _) => {
                return Err(Error::runtime(format!(
                    "sso-admin DescribePermissionSet: no description of {arn}"
                )));
            }
            (part, Some(value)) => {
                set.insert(part.key().to_string(), value);
            }
            (part, None) => {
                unknown.push(part);
                set.insert(part.key().to_string(), Value::Null);
            }
        }
    }
    Ok(Everything {
        set: Value::Object(set),
        unknown,
    })
}

/// The permissions boundary of `target` ({InstanceArn, PermissionSetArn}): null when it
/// has none (AWS answers not found then).
fn boundary(client: &Client, target: Value) -> Result<Value> {
    match client.call(&super::GET_PERMISSIONS_BOUNDARY_FOR_PERMISSION_SET, target) {
        Ok(reply) => Ok(reply["PermissionsBoundary"].clone()),
        Err(e) if is_not_found(&e) => Ok(Value::Null),
        Err(e) => Err(e),
    }
}

/// The inline policy text of a GetInlinePolicyForPermissionSet reply, null when empty.
fn inline_text(reply: &Value) -> Value {
    match reply["InlinePolicy"].as_str() {
        Some(text) if !text.trim().is_empty() => json!(text),
        _ => Value::Null,
    }
}

/// The state the rollback journal needs before the write `op` with `request` changes it
/// (see [`crate::rollback::Recorder::before`]; a permission set's tags before a tag write),
/// read through the client's read path:
/// `None` for writes whose undoing needs no earlier state read here.
pub(crate) fn state_before(
    client: &Client,
    op: &Operation,
    request: &Value,
) -> Option<Result<Value>> {
    let instance = request["InstanceArn"].as_str()?;
    let is = |ops: &[&Operation]| ops.contains(&op);
    if is(&[&super::TAG_RESOURCE, &super::UNTAG_RESOURCE]) {
        let arn = request["ResourceArn"].as_str()?;
        return Some(
            Part::Tags
                .fetch(client, instance, arn)
                .and_then(|tags| {
                    tags.ok_or_else(|| {
                        Error::runtime("the endpoint does not list a permission set's tags")
                    })
                })
                .map(|tags| json!({"Tags": tags})),
        );
    }
    let arn = request["PermissionSetArn"].as_str()?;
    let target = json!({"InstanceArn": instance, "PermissionSetArn": arn});
    let read = if is(&[
        &super::PUT_INLINE_POLICY_TO_PERMISSION_SET,
        &super::DELETE_INLINE_POLICY_FROM_PERMISSION_SET,
    ]) {
        client
            .call(&super::GET_INLINE_POLICY_FOR_PERMISSION_SET, target)
            .map(|r| json!({"InlinePolicy": inline_text(&r)}))
    } else if is(&[
        &super::PUT_PERMISSIONS_BOUNDARY_TO_PERMISSION_SET,
        &super::DELETE_PERMISSIONS_BOUNDARY_FROM_PERMISSION_SET,
    ]) {
        boundary(client, target).map(|b| json!({"PermissionsBoundary": b}))
    } else if is(&[&super::UPDATE_PERMISSION_SET]) {
        client
            .call(&super::DESCRIBE_PERMISSION_SET, target)
            .map(|r| normalized(r["PermissionSet"].clone()))
    } else if is(&[&super::DELETE_PERMISSION_SET]) {
        read(client, instance, arn).map(|all| {
            let mut set = normalized(all.set);
            set["Unknown"] = json!(all.unknown.iter().map(|p| p.key()).collect::<Vec<_>>());
            set
        })
    } else {
        return None;
    };
    Some(read)
}

/// Whether an error says the endpoint does not implement the operation (an HTTP 5xx or 501
/// page that is not an AWS error, or an unknown-operation code), not that the call failed.
pub(crate) fn is_unsupported(error: &Error) -> bool {
    match error.aws_code() {
        Some("UnknownOperationException" | "InvalidAction") => true,
        Some(code) => code.starts_with("Http") && error.http_status().is_some_and(|s| s >= 500),
        None => false,
    }
}

/// Whether an error is AWS's "not found" (`ResourceNotFoundException` and kin).
pub(crate) fn is_not_found(error: &Error) -> bool {
    error.aws_code().is_some_and(|code| {
        code == "ResourceNotFoundException" || code.ends_with("NotFoundException")
    })
}

/// A DescribePermissionSet `PermissionSet` with `SessionDuration` as an ISO 8601 string,
/// whatever form the service answered (some emulators answer a number of seconds).
pub(crate) fn normalized(mut description: Value) -> Value {
    if let Some(seconds) = description["SessionDuration"].as_u64() {
        description["SessionDuration"] = Value::String(iso_duration(seconds));
    }
    description
}

/// Formats seconds as the shortest ISO 8601 time duration (`PT1H`, `PT1H30M`, `PT0S`).
pub(crate) fn iso_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let mut out = String::from("PT");
    for (value, unit) in [(h, 'H'), (m, 'M'), (s, 'S')] {
        if value > 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    if out.len() == 2 {
        out.push_str("0S");
    }
    out
}

/// The items of a JSON array (none when it is not one), sorted by the text of `keys`.
fn sorted(value: &Value, keys: &[&str]) -> Value {
    let mut items: Vec<Value> = value.as_array().cloned().unwrap_or_default();
    items.sort_by_cached_key(|v| -> Vec<String> {
        keys.iter()
            .map(|k| v[*k].as_str().unwrap_or_default().to_string())
            .collect()
    });
    Value::Array(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_its_description_plus_each_part_and_unknowns_are_null() {
        let all = assemble(
            "arn:ps",
            vec![
                (
                    Part::Description,
                    Some(json!({"Name": "A", "PermissionSetArn": "arn:ps"})),
                ),
                (Part::InlinePolicy, Some(Value::Null)),
                (Part::Tags, None),
            ],
        )
        .unwrap();
        assert_eq!(
            all.set,
            json!({"Name": "A", "PermissionSetArn": "arn:ps", "InlinePolicy": null, "Tags": null})
        );
        assert_eq!(all.unknown, [Part::Tags]);
        assert!(assemble("arn:ps", vec![(Part::Description, None)]).is_err());
    }

    #[test]
    fn lists_sort_by_their_keys_and_durations_read_as_iso() {
        let v = sorted(
            &json!([{"Path": "/b/", "Name": "x"}, {"Path": "/a/", "Name": "y"}]),
            &["Path", "Name"],
        );
        assert_eq!(v[0]["Path"], "/a/");
        assert_eq!(sorted(&Value::Null, &["Key"]), json!([]));
        assert_eq!(
            normalized(json!({"SessionDuration": 5400}))["SessionDuration"],
            "PT1H30M"
        );
        assert_eq!(iso_duration(0), "PT0S");
    }

    #[test]
    fn unsupported_means_a_non_aws_5xx() {
        assert!(is_unsupported(&Error::aws("x", "Http500", 500)));
        assert!(is_unsupported(&Error::aws(
            "x",
            "UnknownOperationException",
            400
        )));
        assert!(!is_unsupported(&Error::aws(
            "x",
            "AccessDeniedException",
            400
        )));
        assert!(!is_unsupported(&Error::aws("x", "Http404", 404)));
        assert!(!is_unsupported(&Error::runtime("x")));
    }
}
