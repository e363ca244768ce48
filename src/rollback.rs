//! The rollback journal: one JSON line per command that changed AWS (an "operation"),
//! holding each change it made and what undoes it.
//!
//! The client hands every successful write to a [`Recorder`]; at the end of the command the
//! recorder's changes become one record of the journal. What undoes a change comes from the
//! table [`INVERSES`]: the inverse operation and how its request is built from the change's
//! request, its reply, or the state before the change ([`Recorder::before`]: a user's
//! attributes before a delete, noted by the command; a permission set's old inline policy,
//! boundary, tags or settings, or the whole set before its deletion, read by the client before
//! the write, see [`crate::client::permission_set::state_before`]). A change with no inverse is
//! recorded as one that cannot be undone, with the reason (an operation outside the table, a
//! state that could not be read).
//!
//! The journal is `<dir>/operations.jsonl`, 0600 in a private directory. Appends are whole
//! lines (see [`crate::fsutil::append_record`]) under the directory's lock file, which also
//! guards pruning (retention by age and by count), so concurrent commands keep every record
//! whole. Writing the journal never fails a command: a record that cannot be written is a
//! warning on stderr.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};

use crate::audit::Actor;
use crate::error::{Error, Result};
use crate::fsutil::{self, Links};
use crate::rfc3339::{format_rfc3339, parse_rfc3339};

/// The journal's file name inside its directory.
pub(crate) const FILE_NAME: &str = "operations.jsonl";
/// The lock file guarding appends and pruning.
const LOCK_NAME: &str = ".operations.lock";
/// The largest journal read: its newest part.
pub(crate) const MAX_READ_BYTES: u64 = 64 * 1024 * 1024;

/// How a change is undone: a row of [`INVERSES`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Inverse {
    /// The inverse operation takes the same request.
    Same(&'static str),
    /// The inverse operation's request: `keep` members of the change's request, plus members
    /// read from its reply (`(member, reply path)`).
    FromReply {
        /// The inverse operation.
        op: &'static str,
        /// Request members copied as they are.
        keep: &'static [&'static str],
        /// Members taken from the reply, by dotted path.
        reply: &'static [(&'static str, &'static str)],
    },
    /// The object is created again from the state noted before the change (keyed by the
    /// request member `key`): `keep` request members plus the noted `members`.
    Recreate {
        /// The inverse operation.
        op: &'static str,
        /// The request member naming the object (its noted state is found by its value).
        key: &'static str,
        /// Request members copied as they are.
        keep: &'static [&'static str],
        /// Members of the noted state the new request takes.
        members: &'static [&'static str],
        /// Members of the noted state applied to the new object after its creation (kept
        /// in the record as `then`: a permission set's policies, boundary).
        then: &'static [&'static str],
    },
    /// The same operation puts back the old values of the attributes it changed (noted
    /// before the change, keyed by the request member `key`).
    Revert {
        /// The request member naming the object.
        key: &'static str,
    },
    /// The member `member` of the object (keyed by the request member `key`) is put back as
    /// noted before the change with `put`, or, when it had none, removed with `delete`.
    PutBack {
        /// The operation that puts the old value back.
        put: &'static str,
        /// The operation that removes the value, when there was none.
        delete: &'static str,
        /// The request member naming the object.
        key: &'static str,
        /// Request members copied as they are.
        keep: &'static [&'static str],
        /// The member of the noted state (and of the put request).
        member: &'static str,
    },
    /// A permission set's tags (the set named by the request member `key`) put back as noted
    /// before the change: of the keys the change touched (`Tags[].Key`, or `TagKeys`), those
    /// it added are removed with `untag`, and those whose value it overwrote or removed are
    /// tagged again with `tag`. A change that did both has two inverses (the second in the
    /// record's `also`).
    Retag {
        /// The operation that puts tags (back).
        tag: &'static str,
        /// The operation that removes tags.
        untag: &'static str,
        /// The request member naming the tagged resource.
        key: &'static str,
        /// Request members copied as they are.
        keep: &'static [&'static str],
    },
    /// Nothing to undo (the change only refreshed derived state).
    Nothing(&'static str),
}

/// The attributes a user is created with, as DescribeUser names them (CreateUser takes
/// them as they are: rollback and restore copy these).
pub(crate) const USER_MEMBERS: &[&str] = &[
    "UserName",
    "Name",
    "DisplayName",
    "NickName",
    "ProfileUrl",
    "Emails",
    "Addresses",
    "PhoneNumbers",
    "UserType",
    "Title",
    "PreferredLanguage",
    "Locale",
    "Timezone",
];

/// How a change of a permission set's inline policy is undone.
const INLINE_POLICY_BACK: Inverse = Inverse::PutBack {
    put: "PutInlinePolicyToPermissionSet",
    delete: "DeleteInlinePolicyFromPermissionSet",
    key: "PermissionSetArn",
    keep: &["InstanceArn", "PermissionSetArn"],
    member: "InlinePolicy",
};

/// How a change of a permission set's permissions boundary is undone.
const BOUNDARY_BACK: Inverse = Inverse::PutBack {
    put: "PutPermissionsBoundaryToPermissionSet",
    delete: "DeletePermissionsBoundaryFromPermissionSet",
    key: "PermissionSetArn",
    keep: &["InstanceArn", "PermissionSetArn"],
    member: "PermissionsBoundary",
};

/// How a change of a permission set's tags is undone.
const TAGS_BACK: Inverse = Inverse::Retag {
    tag: "TagResource",
    untag: "UntagResource",
    key: "ResourceArn",
    keep: &["InstanceArn", "ResourceArn"],
};

/// What a deleted permission set is created with again (CreatePermissionSet's members).
pub(crate) const PERMISSION_SET_MEMBERS: &[&str] = &[
    "Name",
    "Description",
    "SessionDuration",
    "RelayState",
    "Tags",
];

/// What a recreated permission set gets after its creation (see [`crate::client::permission_set`]).
pub(crate) const PERMISSION_SET_FOLLOW_UPS: &[&str] = &[
    "AwsManagedPolicies",
    "CustomerManagedPolicies",
    "InlinePolicy",
    "PermissionsBoundary",
    "Unknown",
];

/// Every write awsideman makes, and how it is undone.
pub(crate) const INVERSES: &[(&str, Inverse)] = &[
    (
        "CreateAccountAssignment",
        Inverse::Same("DeleteAccountAssignment"),
    ),
    (
        "DeleteAccountAssignment",
        Inverse::Same("CreateAccountAssignment"),
    ),
    (
        "AttachManagedPolicyToPermissionSet",
        Inverse::Same("DetachManagedPolicyFromPermissionSet"),
    ),
    (
        "DetachManagedPolicyFromPermissionSet",
        Inverse::Same("AttachManagedPolicyToPermissionSet"),
    ),
    (
        "CreateGroupMembership",
        Inverse::FromReply {
            op: "DeleteGroupMembership",
            keep: &["IdentityStoreId"],
            reply: &[("MembershipId", "MembershipId")],
        },
    ),
    (
        "DeleteGroupMembership",
        Inverse::Recreate {
            op: "CreateGroupMembership",
            key: "MembershipId",
            keep: &["IdentityStoreId"],
            members: &["GroupId", "MemberId"],
            then: &[],
        },
    ),
    (
        "CreateUser",
        Inverse::FromReply {
            op: "DeleteUser",
            keep: &["IdentityStoreId"],
            reply: &[("UserId", "UserId")],
        },
    ),
    (
        "DeleteUser",
        Inverse::Recreate {
            op: "CreateUser",
            key: "UserId",
            keep: &["IdentityStoreId"],
            members: USER_MEMBERS,
            then: &[],
        },
    ),
    ("UpdateUser", Inverse::Revert { key: "UserId" }),
    (
        "CreateGroup",
        Inverse::FromReply {
            op: "DeleteGroup",
            keep: &["IdentityStoreId"],
            reply: &[("GroupId", "GroupId")],
        },
    ),
    (
        "DeleteGroup",
        Inverse::Recreate {
            op: "CreateGroup",
            key: "GroupId",
            keep: &["IdentityStoreId"],
            members: &["DisplayName", "Description"],
            then: &[],
        },
    ),
    ("UpdateGroup", Inverse::Revert { key: "GroupId" }),
    (
        "CreatePermissionSet",
        Inverse::FromReply {
            op: "DeletePermissionSet",
            keep: &["InstanceArn"],
            reply: &[("PermissionSetArn", "PermissionSet.PermissionSetArn")],
        },
    ),
    (
        "ProvisionPermissionSet",
        Inverse::Nothing("provisioning pushes the permission set as it is to its accounts"),
    ),
    (
        "DeletePermissionSet",
        Inverse::Recreate {
            op: "CreatePermissionSet",
            key: "PermissionSetArn",
            keep: &["InstanceArn"],
            members: PERMISSION_SET_MEMBERS,
            then: PERMISSION_SET_FOLLOW_UPS,
        },
    ),
    (
        "UpdatePermissionSet",
        Inverse::Recreate {
            op: "UpdatePermissionSet",
            key: "PermissionSetArn",
            keep: &["InstanceArn", "PermissionSetArn"],
            members: &["Description", "SessionDuration", "RelayState"],
            then: &[],
        },
    ),
    ("PutInlinePolicyToPermissionSet", INLINE_POLICY_BACK),
    ("DeleteInlinePolicyFromPermissionSet", INLINE_POLICY_BACK),
    (
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
        Inverse::Same("DetachCustomerManagedPolicyReferenceFromPermissionSet"),
    ),
    (
        "DetachCustomerManagedPolicyReferenceFromPermissionSet",
        Inverse::Same("AttachCustomerManagedPolicyReferenceToPermissionSet"),
    ),
    ("PutPermissionsBoundaryToPermissionSet", BOUNDARY_BACK),
    ("DeletePermissionsBoundaryFromPermissionSet", BOUNDARY_BACK),
    ("TagResource", TAGS_BACK),
    ("UntagResource", TAGS_BACK),
];

/// The row of `operation`, if it has one.
pub(crate) fn inverse_of(operation: &str) -> Option<Inverse> {
    INVERSES
        .iter()
        .find(|(name, _)| *name == operation)
        .map(|(_, inverse)| *inverse)
}

/// The value at a dotted `path` of `value`.
fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(value, |v, k| v.get(k))
        .filter(|v| !v.is_null())
}

/// The member of an Identity Store object an UpdateUser/UpdateGroup attribute path names
/// (`name.givenName` -> `Name.GivenName`).
fn member_path(attribute_path: &str) -> String {
    attribute_path
        .split('.')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// One change as recorded: the operation, its request, and what undoes it.
pub(crate) fn change_record(
    service: &str,
    operation: &str,
    request: &Value,
    reply: &Value,
    before: Option<&Value>,
) -> Value {
    let mut record = json!({
        "service": service,
        "operation": operation,
        "request": request,
    });
    let inverse =
        |op: &str, request: Value| json!({"service": service, "operation": op, "request": request});
    let keep = |members: &[&str]| -> Map<String, Value> {
        members
            .iter()
            .filter_map(|m| request.get(*m).map(|v| (m.to_string(), v.clone())))
            .collect()
    };
    // A state that could not be read is no state, and the record says why.
    let unread = before
        .and_then(|b| b["unread"].as_str())
        .map(str::to_string);
    let before = before.filter(|_| unread.is_none());
    let no_state = |record: &mut Value, default: &str| {
        record["cannot_undo"] = match &unread {
            Some(why) => json!(format!(
                "its state before the change could not be read: {why}"
            )),
            None => json!(default),
        };
    };
    match inverse_of(operation) {
        None => record["cannot_undo"] = json!("awsideman has no inverse for this operation"),
        Some(Inverse::Same(op)) => record["inverse"] = inverse(op, request.clone()),
        Some(Inverse::FromReply {
            op,
            keep: kept,
            reply: from,
        }) => {
            let mut built = keep(kept);
            for (member, path) in from {
                match at(reply, path) {
                    Some(v) => {
                        built.insert(member.to_string(), v.clone());
                    }
                    None => {
                        record["cannot_undo"] = json!(format!("the reply lacks {path}"));
                        return record;
                    }
                }
            }
            record["inverse"] = inverse(op, Value::Object(built));
        }
        Some(Inverse::Recreate {
            op,
            keep: kept,
            members,
            then,
            ..
        }) => {
            let Some(before) = before else {
                no_state(&mut record, "its state before the change was not recorded");
                return record;
            };
            let mut built = keep(kept);
            let mut stays = Vec::new();
            for member in members {
                match at(&before["object"], member) {
                    Some(v) => {
                        built.insert(member.to_string(), v.clone());
                    }
                    // An update cannot clear what had no value: it keeps the new one.
                    None if op == operation && request.get(*member).is_some() => {
                        stays.push(*member)
                    }
                    None => {}
                }
            }
            record["inverse"] = inverse(op, Value::Object(built));
            if !stays.is_empty() {
                record["partly"] = json!(format!(
                    "{} had no value before and AWS cannot clear it: it keeps the new one",
                    stays.join(", ")
                ));
            }
            if op.starts_with("Create") {
                record["recreates"] = json!(true);
            }
            if !then.is_empty() {
                let follow: Map<String, Value> = then
                    .iter()
                    .filter_map(|m| at(&before["object"], m).map(|v| (m.to_string(), v.clone())))
                    .collect();
                record["then"] = Value::Object(follow);
            }
            if let Some(groups) = before.get("group_ids").filter(|g| g.is_array()) {
                record["group_ids"] = groups.clone();
            }
        }
        Some(Inverse::Revert { key }) => {
            let Some(before) = before else {
                no_state(&mut record, "its old values were not recorded");
                return record;
            };
            let operations: Vec<Value> = request["Operations"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|o| o["AttributePath"].as_str())
                .map(|path| match at(&before["object"], &member_path(path)) {
                    Some(old) => json!({"AttributePath": path, "AttributeValue": old}),
                    None => json!({"AttributePath": path}),
                })
                .collect();
            let mut built = keep(&["IdentityStoreId", key]);
            built.insert("Operations".into(), Value::Array(operations));
            record["inverse"] = inverse(operation, Value::Object(built));
        }
        Some(Inverse::PutBack {
            put,
            delete,
            keep: kept,
            member,
            ..
        }) => {
            let Some(before) = before else {
                no_state(&mut record, "its old value was not recorded");
                return record;
            };
            let mut built = keep(kept);
            let op = match at(&before["object"], member).filter(|v| v.as_str() != Some("")) {
                Some(old) => {
                    built.insert(member.to_string(), old.clone());
                    put
                }
                None => delete,
            };
            record["inverse"] = inverse(op, Value::Object(built));
        }
        Some(Inverse::Retag {
            tag,
            untag,
            keep: kept,
            ..
        }) => {
            let Some(old) = before.and_then(|b| b["object"]["Tags"].as_array()) else {
                no_state(&mut record, "its old tags were not recorded");
                return record;
            };
            let (removed, put_back) = tags_to_undo(request, old);
            let with = |op: &str, member: &str, value: Value| {
                let mut built = keep(kept);
                built.insert(member.to_string(), value);
                inverse(op, Value::Object(built))
            };
            let mut inverses = Vec::new();
            if !removed.is_empty() {
                inverses.push(with(untag, "TagKeys", json!(removed)));
            }
            if !put_back.is_empty() {
                inverses.push(with(tag, "Tags", json!(put_back)));
            }
            let mut inverses = inverses.into_iter();
            match inverses.next() {
                None => record["nothing_to_undo"] = json!("the tags were already so"),
                Some(first) => {
                    record["inverse"] = first;
                    let also: Vec<Value> = inverses.collect();
                    if !also.is_empty() {
                        record["also"] = json!(also);
                    }
                }
            }
        }
        Some(Inverse::Nothing(why)) => record["nothing_to_undo"] = json!(why),
    }
    record
}

/// What undoes a tag write (`request`: TagResource's `Tags` or UntagResource's `TagKeys`)
/// on a resource that had the tags `old`: the keys it added (to remove), and the tags whose
/// value it overwrote or removed, with their old values (to put back).
fn tags_to_undo<'a>(request: &'a Value, old: &'a [Value]) -> (Vec<&'a str>, Vec<Value>) {
    let old: HashMap<&str, &Value> = old
        .iter()
        .filter_map(|t| Some((t["Key"].as_str()?, &t["Value"])))
        .collect();
    let touched: Vec<(&str, Option<&Value>)> = match request["Tags"].as_array() {
        Some(tags) => tags
            .iter()
            .filter_map(|t| Some((t["Key"].as_str()?, Some(&t["Value"]))))
            .collect(),
        None => request["TagKeys"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|k| Some((k.as_str()?, None)))
            .collect(),
    };
    let mut removed = Vec::new();
    let mut put_back = Vec::new();
    for (key, new) in touched {
        match (old.get(key), new) {
            // Added by the change.
            (None, Some(_)) => removed.push(key),
            // Removed where there was none, or written as it was: nothing changed.
            (None, None) => {}
            (Some(was), Some(now)) if *was == now => {}
            (Some(was), _) => put_back.push(json!({"Key": key, "Value": was})),
        }
    }
    (removed, put_back)
}

/// The id naming the object whose earlier state undoing `operation` needs (the value of
/// its row's `key` in `request`), if its row needs one.
fn state_key(operation: &str, request: &Value) -> Option<String> {
    match inverse_of(operation)? {
        Inverse::Recreate { key, .. }
        | Inverse::Revert { key }
        | Inverse::PutBack { key, .. }
        | Inverse::Retag { key, .. } => request[key].as_str().map(str::to_string),
        _ => None,
    }
}

/// The permission set a write changes: `PermissionSetArn` of the writes of a permission set
/// (`...PermissionSet`), `ResourceArn` of its tag writes.
fn permission_set_of<'a>(operation: &str, request: &'a Value) -> Option<&'a str> {
    if operation.ends_with("PermissionSet") {
        request["PermissionSetArn"].as_str()
    } else if matches!(inverse_of(operation), Some(Inverse::Retag { .. })) {
        request["ResourceArn"].as_str()
    } else {
        None
    }
}

/// Collects the changes of one command, from every thread that writes.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    changes: Mutex<Vec<Value>>,
    before: Mutex<HashMap<String, Value>>,
    /// The permission sets this command created.
    created: Mutex<Vec<String>>,
}

impl Recorder {
    /// Notes the state of the object `id` before `operation` changes it: `object` as
    /// described, and the groups it was a member of (or, for a group, its members) to
    /// restore them when it is recreated.
    pub(crate) fn before(
        &self,
        operation: &str,
        id: &str,
        object: &Value,
        group_ids: Option<Vec<String>>,
    ) {
        let mut state = json!({ "object": object });
        if let Some(groups) = group_ids {
            state["group_ids"] = json!(groups);
        }
        if let Ok(mut map) = self.before.lock() {
            map.insert(format!("{operation} {id}"), state);
        }
    }

    /// Notes that the state of object `id` before `operation` could not be read, and why.
    pub(crate) fn unread(&self, operation: &str, id: &str, why: &str) {
        if let Ok(mut map) = self.before.lock() {
            map.insert(format!("{operation} {id}"), json!({ "unread": why }));
        }
    }

    /// The id of the object whose state before `operation` (with `request`) undoing it
    /// needs and nobody noted yet; `None` when it needs none, it is noted, or the
    /// permission set it changes was created by this same command (deleting it undoes all).
    pub(crate) fn wants_state_before(&self, operation: &str, request: &Value) -> Option<String> {
        let id = state_key(operation, request)?;
        if self
            .before
            .lock()
            .is_ok_and(|map| map.contains_key(&format!("{operation} {id}")))
        {
            return None;
        }
        let created = permission_set_of(operation, request).is_some_and(|arn| {
            self.created
                .lock()
                .is_ok_and(|c| c.iter().any(|a| a == arn))
        });
        (!created).then_some(id)
    }

    /// Records a write that succeeded.
    pub(crate) fn wrote(&self, service: &str, operation: &str, request: &Value, reply: &Value) {
        let key = state_key(operation, request).map(|id| format!("{operation} {id}"));
        // Each noted state serves one write: a later write to the same object reads anew.
        let before = key.and_then(|k| self.before.lock().ok()?.remove(&k));
        let permission_set = permission_set_of(operation, request);
        let record = if operation == "CreatePermissionSet" {
            if let (Ok(mut created), Some(arn)) = (
                self.created.lock(),
                at(reply, "PermissionSet.PermissionSetArn").and_then(Value::as_str),
            ) {
                created.push(arn.to_string());
            }
            change_record(service, operation, request, reply, None)
        } else if operation != "DeletePermissionSet"
            && permission_set.is_some_and(|arn| {
                self.created
                    .lock()
                    .is_ok_and(|c| c.iter().any(|a| a == arn))
            })
        {
            json!({
                "service": service,
                "operation": operation,
                "request": request,
                "nothing_to_undo": "the permission set was created by this operation: deleting it undoes this too",
            })
        } else {
            change_record(service, operation, request, reply, before.as_ref())
        };
        if let Ok(mut changes) = self.changes.lock() {
            changes.push(record);
        }
    }

    /// Forgets the last recorded `operation` with `request`: a request AWS accepted that
    /// then failed (an assignment whose status ended FAILED) changed nothing.
    pub(crate) fn withdraw(&self, operation: &str, request: &Value) {
        if let Ok(mut changes) = self.changes.lock()
            && let Some(at) = changes
                .iter()
                .rposition(|c| c["operation"] == operation && &c["request"] == request)
        {
            changes.remove(at);
        }
    }

    /// The changes recorded so far, taken out.
    pub(crate) fn take(&self) -> Vec<Value> {
        self.changes
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }
}

/// Where the journal is and how long it keeps records.
#[derive(Debug, Clone)]
pub(crate) struct Journal {
    /// The directory (`rollback.storage_directory`).
    pub(crate) dir: PathBuf,
    /// The directory awsideman keeps (a journal inside it is checked from there down).
    pub(crate) top: PathBuf,
    /// Records older than this many days are pruned (`rollback.retention_days`).
    pub(crate) retention_days: Option<u64>,
    /// At most this many records are kept (`rollback.max_operations`).
    pub(crate) max_operations: Option<usize>,
    /// How long to wait for other writers.
    pub(crate) lock_timeout: Duration,
}

/// A new operation id: sortable by time (`20261204T070012Z-3f9a1c`).
pub(crate) fn new_id(time: SystemTime) -> String {
    let stamp: String = format_rfc3339(time)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let mut noise = [0u8; 3];
    let _ = getrandom::getrandom(&mut noise);
    let hex: String = noise.iter().map(|b| format!("{b:02x}")).collect();
    format!("{stamp}-{hex}")
}

/// The record of one operation.
pub(crate) fn operation_record(
    id: &str,
    time: SystemTime,
    actor: &Actor,
    command: &str,
    rolls_back: Option<&str>,
    changes: Vec<Value>,
) -> Value {
    let mut record = json!({
        "id": id,
        "time": format_rfc3339(time),
        "user": actor.user,
        "host": actor.host,
        "profile": actor.profile,
        "command": command,
        "changes": changes,
    });
    if let Some(original) = rolls_back {
        record["rolls_back"] = json!(original);
    }
    record
}

impl Journal {
    /// The journal file.
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// Appends `record`, then prunes what retention no longer keeps.
    pub(crate) fn append(&self, record: &Value) -> Result<()> {
        let mut notes = Vec::new();
        let mut note = |n: String| notes.push(n);
        if self.dir.starts_with(&self.top) {
            fsutil::ensure_private_dir(&self.top, &self.dir, &mut note)?;
        } else {
            fsutil::ensure_private_dir(&self.dir, &self.dir, &mut note)?;
        }
        for n in notes {
            eprintln!("awsideman: note: {n}");
        }
        let line = serde_json::to_string(record)
            .map_err(|e| Error::runtime(format!("encoding the record: {e}")))?;
        let _lock = fsutil::lock_file(
            &self.dir.join(LOCK_NAME),
            fsutil::LockKind::Exclusive,
            self.lock_timeout,
        )?;
        fsutil::append_record(&self.path(), line.as_bytes(), self.lock_timeout)?;
        self.prune(SystemTime::now())
    }

    /// Whether the journal holds more records than kept, or its oldest is past `cutoff`:
    /// lines are counted and only the first one parsed, so a command that writes does not
    /// parse the whole journal each time.
    fn needs_pruning(&self, cutoff: Option<SystemTime>) -> Result<bool> {
        let opened = fsutil::open_private_file(&self.path(), Links::Refuse, u64::MAX)?;
        let Some(mut file) = opened else {
            return Ok(false);
        };
        let (text, unread) = file.read_tail(MAX_READ_BYTES)?;
        if unread > 0 {
            return Ok(true);
        }
        let lines = text.split(|b| *b == b'\n').filter(|l| !l.is_empty());
        let mut count = 0usize;
        let mut first = None;
        for line in lines {
            count += 1;
            first.get_or_insert(line);
        }
        let too_many = self.max_operations.is_some_and(|max| count > max);
        let too_old = match (cutoff, first) {
            (Some(cutoff), Some(line)) => serde_json::from_slice::<Value>(line)
                .ok()
                .and_then(|r| record_time(&r))
                .is_none_or(|t| t < cutoff),
            _ => false,
        };
        Ok(too_many || too_old)
    }

    /// Drops records older than the retention or beyond the count (under the lock).
    fn prune(&self, now: SystemTime) -> Result<()> {
        if self.retention_days.is_none() && self.max_operations.is_none() {
            return Ok(());
        }
        let cutoff = self
            .retention_days
            .and_then(|d| now.checked_sub(Duration::from_secs(d.saturating_mul(86_400))));
        if !self.needs_pruning(cutoff)? {
            return Ok(());
        }
        let contents = read(&self.path())?;
        let total = contents.records.len();
        let mut kept: Vec<&Value> = contents
            .records
            .iter()
            .filter(|r| cutoff.is_none_or(|c| record_time(r).is_none_or(|t| t >= c)))
            .collect();
        if let Some(max) = self.max_operations
            && kept.len() > max
        {
            kept.drain(..kept.len() - max);
        }
        if kept.len() == total && contents.skipped == 0 {
            return Ok(());
        }
        let mut text = Vec::new();
        for record in kept {
            let line = serde_json::to_vec(record)
                .map_err(|e| Error::runtime(format!("encoding the record: {e}")))?;
            text.extend_from_slice(&line);
            text.push(b'\n');
        }
        fsutil::write_private_atomically(&self.path(), &text)
    }
}

/// What [`read`] found in the journal.
#[derive(Debug, Default)]
pub(crate) struct Contents {
    /// The records, oldest first.
    pub(crate) records: Vec<Value>,
    /// Lines that are not records.
    pub(crate) skipped: usize,
}

/// The records of the journal at `path` (its newest [`MAX_READ_BYTES`]); a missing file is
/// an empty journal; a link, a FIFO or a file others can write is refused.
pub(crate) fn read(path: &Path) -> Result<Contents> {
    let opened = fsutil::open_private_file(path, Links::Refuse, u64::MAX)
        .map_err(|e| Error::runtime(format!("reading the rollback journal: {e}")))?;
    let Some(mut file) = opened else {
        return Ok(Contents::default());
    };
    let (mut text, unread) = file
        .read_tail(MAX_READ_BYTES)
        .map_err(|e| Error::runtime(format!("reading the rollback journal: {e}")))?;
    if unread > 0 {
        let cut = text
            .iter()
            .position(|b| *b == b'\n')
            .map_or(text.len(), |i| i + 1);
        text.drain(..cut);
    }
    let mut contents = Contents::default();
    for line in text.split(|b| *b == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(record @ Value::Object(_)) if record["id"].is_string() => {
                contents.records.push(record)
            }
            _ => contents.skipped += 1,
        }
    }
    Ok(contents)
}

/// The time of a record, if valid.
pub(crate) fn record_time(record: &Value) -> Option<SystemTime> {
    record["time"].as_str().and_then(parse_rfc3339)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_undo_with_the_same_request() {
        let request = json!({"InstanceArn": "i", "TargetId": "1", "PrincipalId": "p"});
        let r = change_record(
            "sso-admin",
            "CreateAccountAssignment",
            &request,
            &json!({}),
            None,
        );
        assert_eq!(r["inverse"]["operation"], "DeleteAccountAssignment");
        assert_eq!(r["inverse"]["request"], request);
    }

    #[test]
    fn a_created_membership_is_deleted_by_the_id_in_the_reply() {
        let request = json!({"IdentityStoreId": "d", "GroupId": "g", "MemberId": {"UserId": "u"}});
        let r = change_record(
            "identitystore",
            "CreateGroupMembership",
            &request,
            &json!({"MembershipId": "m1", "IdentityStoreId": "d"}),
            None,
        );
        assert_eq!(
            r["inverse"]["request"],
            json!({"IdentityStoreId": "d", "MembershipId": "m1"})
        );
        let lost = change_record(
            "identitystore",
            "CreateGroupMembership",
            &request,
            &json!({}),
            None,
        );
        assert!(lost["cannot_undo"].is_string() && lost.get("inverse").is_none());
    }

    #[test]
    fn a_deleted_user_is_recreated_from_its_attributes() {
        let recorder = Recorder::default();
        let user = json!({"UserId": "u1", "IdentityStoreId": "d", "UserName": "ann",
                          "DisplayName": "Ann", "Name": {"GivenName": "A"}, "Meta": 1});
        recorder.before("DeleteUser", "u1", &user, Some(vec!["g1".into()]));
        recorder.wrote(
            "identitystore",
            "DeleteUser",
            &json!({"IdentityStoreId": "d", "UserId": "u1"}),
            &json!({}),
        );
        let changes = recorder.take();
        assert_eq!(
            changes[0]["inverse"]["request"],
            json!({"IdentityStoreId": "d", "UserName": "ann", "DisplayName": "Ann",
                   "Name": {"GivenName": "A"}})
        );
        assert_eq!(changes[0]["group_ids"], json!(["g1"]));
        // Without its attributes, it cannot be undone.
        recorder.wrote(
            "identitystore",
            "DeleteUser",
            &json!({"IdentityStoreId": "d", "UserId": "u2"}),
            &json!({}),
        );
        assert!(recorder.take()[0]["cannot_undo"].is_string());
    }

    #[test]
    fn an_update_reverts_to_the_old_values() {
        let recorder = Recorder::default();
        recorder.before(
            "UpdateUser",
            "u1",
            &json!({"DisplayName": "Old", "Name": {"GivenName": "G"}}),
            None,
        );
        recorder.wrote(
            "identitystore",
            "UpdateUser",
            &json!({"IdentityStoreId": "d", "UserId": "u1", "Operations": [
                {"AttributePath": "displayName", "AttributeValue": "New"},
                {"AttributePath": "name.givenName", "AttributeValue": "H"},
                {"AttributePath": "title", "AttributeValue": "T"}]}),
            &json!({}),
        );
        assert_eq!(
            recorder.take()[0]["inverse"]["request"]["Operations"],
            json!([{"AttributePath": "displayName", "AttributeValue": "Old"},
                   {"AttributePath": "name.givenName", "AttributeValue": "G"},
                   {"AttributePath": "title"}])
        );
    }

    #[test]
    fn a_boundary_put_over_another_puts_the_old_one_back_and_a_new_one_is_deleted() {
        let request = json!({"InstanceArn": "i", "PermissionSetArn": "ps",
                             "PermissionsBoundary": {"ManagedPolicyArn": "new"}});
        let recorder = Recorder::default();
        assert_eq!(
            recorder.wants_state_before("PutPermissionsBoundaryToPermissionSet", &request),
            Some("ps".to_string())
        );
        let old = json!({"PermissionsBoundary": {"ManagedPolicyArn": "old"}});
        recorder.before("PutPermissionsBoundaryToPermissionSet", "ps", &old, None);
        assert_eq!(
            recorder.wants_state_before("PutPermissionsBoundaryToPermissionSet", &request),
            None,
            "noted once"
        );
        let op = "PutPermissionsBoundaryToPermissionSet";
        recorder.wrote("sso-admin", op, &request, &json!({}));
        let none = json!({"PermissionsBoundary": null});
        recorder.before(op, "ps", &none, None);
        recorder.wrote("sso-admin", op, &request, &json!({}));
        let changes = recorder.take();
        assert_eq!(changes[0]["inverse"]["operation"], op);
        assert_eq!(
            changes[0]["inverse"]["request"],
            json!({"InstanceArn": "i", "PermissionSetArn": "ps",
                   "PermissionsBoundary": {"ManagedPolicyArn": "old"}})
        );
        assert_eq!(
            changes[1]["inverse"]["operation"],
            "DeletePermissionsBoundaryFromPermissionSet"
        );
        assert_eq!(
            changes[1]["inverse"]["request"],
            json!({"InstanceArn": "i", "PermissionSetArn": "ps"})
        );
        // Each noted state serves one write: the next one wants its own.
        assert!(recorder.wants_state_before(op, &request).is_some());
    }

    #[test]
    fn a_tag_write_removes_the_keys_it_added_and_puts_back_what_it_overwrote() {
        let recorder = Recorder::default();
        let op = "TagResource";
        let request = json!({"InstanceArn": "i", "ResourceArn": "ps",
            "Tags": [{"Key": "new", "Value": "1"}, {"Key": "team", "Value": "ops"},
                     {"Key": "same", "Value": "s"}]});
        assert_eq!(
            recorder.wants_state_before(op, &request),
            Some("ps".to_string())
        );
        let old = json!({"Tags": [{"Key": "same", "Value": "s"},
                                  {"Key": "team", "Value": "platform"}]});
        recorder.before(op, "ps", &old, None);
        recorder.wrote("sso-admin", op, &request, &json!({}));
        let change = &recorder.take()[0];
        assert_eq!(
            change["inverse"],
            json!({"service": "sso-admin", "operation": "UntagResource",
                   "request": {"InstanceArn": "i", "ResourceArn": "ps", "TagKeys": ["new"]}})
        );
        assert_eq!(
            change["also"],
            json!([{"service": "sso-admin", "operation": "TagResource",
                    "request": {"InstanceArn": "i", "ResourceArn": "ps",
                                "Tags": [{"Key": "team", "Value": "platform"}]}}])
        );
        // Only new keys: one inverse, no `also`.
        let fresh = json!({"InstanceArn": "i", "ResourceArn": "ps",
                           "Tags": [{"Key": "new", "Value": "1"}]});
        recorder.before(op, "ps", &old, None);
        recorder.wrote("sso-admin", op, &fresh, &json!({}));
        let change = &recorder.take()[0];
        assert_eq!(change["inverse"]["operation"], "UntagResource");
        assert!(change.get("also").is_none());
        // Written as it was: nothing to undo. Unread: cannot be undone.
        let same = json!({"InstanceArn": "i", "ResourceArn": "ps",
                          "Tags": [{"Key": "same", "Value": "s"}]});
        recorder.before(op, "ps", &old, None);
        recorder.wrote("sso-admin", op, &same, &json!({}));
        recorder.wrote("sso-admin", op, &same, &json!({}));
        let changes = recorder.take();
        assert!(changes[0]["nothing_to_undo"].is_string(), "{}", changes[0]);
        assert!(changes[1]["cannot_undo"].is_string(), "{}", changes[1]);
    }

    #[test]
    fn an_untag_tags_the_removed_keys_again_with_their_old_values() {
        let recorder = Recorder::default();
        let op = "UntagResource";
        let request = json!({"InstanceArn": "i", "ResourceArn": "ps",
                             "TagKeys": ["team", "missing"]});
        let old = json!({"Tags": [{"Key": "team", "Value": "platform"},
                                  {"Key": "other", "Value": "o"}]});
        recorder.before(op, "ps", &old, None);
        recorder.wrote("sso-admin", op, &request, &json!({}));
        let change = &recorder.take()[0];
        assert_eq!(
            change["inverse"],
            json!({"service": "sso-admin", "operation": "TagResource",
                   "request": {"InstanceArn": "i", "ResourceArn": "ps",
                               "Tags": [{"Key": "team", "Value": "platform"}]}})
        );
        assert!(change.get("also").is_none());
        // The tags of a set this command created need no undoing of their own.
        recorder.wrote(
            "sso-admin",
            "CreatePermissionSet",
            &json!({"InstanceArn": "i", "Name": "N"}),
            &json!({"PermissionSet": {"PermissionSetArn": "ps"}}),
        );
        assert_eq!(recorder.wants_state_before(op, &request), None);
        recorder.wrote("sso-admin", op, &request, &json!({}));
        assert!(recorder.take()[1]["nothing_to_undo"].is_string());
    }

    #[test]
    fn a_deleted_permission_set_is_recreated_with_everything_recorded() {
        let recorder = Recorder::default();
        let set = json!({"Name": "Ops", "PermissionSetArn": "ps", "Description": "d",
            "SessionDuration": "PT2H", "RelayState": "https://x", "CreatedDate": 1,
            "Tags": [{"Key": "k", "Value": "v"}], "InlinePolicy": "{}",
            "AwsManagedPolicies": [{"Arn": "a", "Name": "A"}],
            "CustomerManagedPolicies": [{"Name": "c", "Path": "/"}],
            "PermissionsBoundary": {"ManagedPolicyArn": "b"}, "Unknown": []});
        recorder.before("DeletePermissionSet", "ps", &set, None);
        let request = json!({"InstanceArn": "i", "PermissionSetArn": "ps"});
        recorder.wrote("sso-admin", "DeletePermissionSet", &request, &json!({}));
        let change = &recorder.take()[0];
        assert_eq!(change["inverse"]["operation"], "CreatePermissionSet");
        assert_eq!(
            change["inverse"]["request"],
            json!({"InstanceArn": "i", "Name": "Ops", "Description": "d",
                   "SessionDuration": "PT2H", "RelayState": "https://x",
                   "Tags": [{"Key": "k", "Value": "v"}]})
        );
        assert_eq!(change["recreates"], true);
        assert_eq!(
            change["then"],
            json!({"AwsManagedPolicies": [{"Arn": "a", "Name": "A"}],
                   "CustomerManagedPolicies": [{"Name": "c", "Path": "/"}],
                   "InlinePolicy": "{}", "PermissionsBoundary": {"ManagedPolicyArn": "b"},
                   "Unknown": []})
        );
    }

    #[test]
    fn a_state_that_could_not_be_read_says_why_and_created_sets_need_none() {
        let recorder = Recorder::default();
        let request = json!({"InstanceArn": "i", "PermissionSetArn": "ps", "InlinePolicy": "{}"});
        let op = "PutInlinePolicyToPermissionSet";
        recorder.unread(op, "ps", "access denied");
        recorder.wrote("sso-admin", op, &request, &json!({}));
        let change = &recorder.take()[0];
        assert!(change.get("inverse").is_none());
        assert_eq!(
            change["cannot_undo"],
            "its state before the change could not be read: access denied"
        );
        recorder.wrote(
            "sso-admin",
            "CreatePermissionSet",
            &json!({"InstanceArn": "i", "Name": "N"}),
            &json!({"PermissionSet": {"PermissionSetArn": "ps"}}),
        );
        assert_eq!(recorder.wants_state_before(op, &request), None);
    }

    #[test]
    fn an_update_cannot_clear_what_had_no_value() {
        let recorder = Recorder::default();
        recorder.before(
            "UpdatePermissionSet",
            "ps",
            &json!({"Description": "old", "SessionDuration": "PT1H"}),
            None,
        );
        recorder.wrote(
            "sso-admin",
            "UpdatePermissionSet",
            &json!({"InstanceArn": "i", "PermissionSetArn": "ps", "Description": "new",
                    "SessionDuration": "PT1H", "RelayState": "https://x"}),
            &json!({}),
        );
        let change = &recorder.take()[0];
        assert_eq!(
            change["inverse"]["request"],
            json!({"InstanceArn": "i", "PermissionSetArn": "ps", "Description": "old",
                   "SessionDuration": "PT1H"})
        );
        assert!(change["partly"].as_str().unwrap().starts_with("RelayState"));
    }

    #[test]
    fn a_failed_request_is_withdrawn() {
        let recorder = Recorder::default();
        let request = json!({"TargetId": "1"});
        recorder.wrote("sso-admin", "CreateAccountAssignment", &request, &json!({}));
        recorder.withdraw("CreateAccountAssignment", &request);
        assert!(recorder.take().is_empty());
    }

    #[test]
    fn ids_sort_by_time() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_554_000);
        let id = new_id(t);
        assert!(id.starts_with("20261124T210000Z-"), "{id}");
        assert!(new_id(t + Duration::from_secs(1)) > id);
    }

    #[test]
    fn retention_prunes_by_count_and_age() {
        let mut noise = [0u8; 6];
        getrandom::getrandom(&mut noise).unwrap();
        let hex: String = noise.iter().map(|b| format!("{b:02x}")).collect();
        let top = std::env::temp_dir().join(format!("awsideman-rollback-{hex}"));
        let journal = Journal {
            dir: top.join("rollback"),
            top: top.clone(),
            retention_days: Some(1),
            max_operations: Some(2),
            lock_timeout: Duration::from_secs(1),
        };
        let actor = Actor {
            user: "u".into(),
            host: "h".into(),
            profile: "p".into(),
        };
        let old = SystemTime::now() - Duration::from_secs(3 * 86_400);
        journal
            .append(&operation_record("old", old, &actor, "x", None, vec![]))
            .unwrap();
        assert!(read(&journal.path()).unwrap().records.is_empty());
        for id in ["a", "b", "c"] {
            let record = operation_record(id, SystemTime::now(), &actor, "x", None, vec![]);
            journal.append(&record).unwrap();
        }
        let ids: Vec<Value> = read(&journal.path())
            .unwrap()
            .records
            .into_iter()
            .map(|r| r["id"].clone())
            .collect();
        assert_eq!(ids, [json!("b"), json!("c")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(journal.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(top).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_link_at_the_journal_is_never_written_through_nor_read() {
        let mut noise = [0u8; 6];
        getrandom::getrandom(&mut noise).unwrap();
        let hex: String = noise.iter().map(|b| format!("{b:02x}")).collect();
        let top = std::env::temp_dir().join(format!("awsideman-rollback-link-{hex}"));
        let journal = Journal {
            dir: top.join("rollback"),
            top: top.clone(),
            retention_days: None,
            max_operations: None,
            lock_timeout: Duration::from_secs(1),
        };
        std::fs::create_dir_all(&journal.dir).unwrap();
        let victim = top.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, journal.path()).unwrap();
        let actor = Actor {
            user: "u".into(),
            host: "h".into(),
            profile: "p".into(),
        };
        let record = operation_record("a", SystemTime::now(), &actor, "x", None, vec![]);
        assert!(journal.append(&record).is_err());
        assert!(read(&journal.path()).is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        std::fs::remove_dir_all(top).unwrap();
    }
}
