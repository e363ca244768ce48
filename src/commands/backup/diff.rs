//! The exact difference between two backup documents (or a backup and AWS now): per
//! resource, the items added, removed or changed, each changed item with every top-level
//! attribute that differs, before and after.
//!
//! Items are matched by what a restore recreates them by: users by user name, groups by
//! display name, memberships by group and user name, permission sets by name, assignments
//! by account, permission set, principal type and principal name, accounts by id, OUs by
//! path. Ids are attributes like any other, so an item deleted and recreated under the same
//! name shows as changed ids.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// The list members compared, with the members of an item that identify it.
const KEYS: &[(&str, &[&str])] = &[
    ("Users", &["UserName"]),
    ("Groups", &["DisplayName"]),
    ("Memberships", &["GroupName", "UserName"]),
    ("PermissionSets", &["Name"]),
    (
        "Assignments",
        &[
            "AccountId",
            "PermissionSetName",
            "PrincipalType",
            "PrincipalName",
        ],
    ),
    ("Accounts", &["Id"]),
    ("OrganizationalUnits", &["Path"]),
];

/// The members identifying an item of document member `resource` (none for an unknown one).
pub(crate) fn key_fields(resource: &str) -> &'static [&'static str] {
    KEYS.iter()
        .find(|(member, _)| *member == resource)
        .map(|(_, fields)| *fields)
        .unwrap_or(&[])
}

/// The differences from `before` to `after`, as rows: `{"Resource", "Key", "Change":
/// "added" | "removed" | "changed", "Fields": [{"Field", "Before", "After"}]}`, sorted by
/// resource (in document order), then key. Only the members both documents hold are
/// compared; the names of those compared are returned too.
pub(crate) fn compare(before: &Value, after: &Value) -> (Vec<Value>, Vec<&'static str>) {
    let mut rows = Vec::new();
    let mut compared = Vec::new();
    for (member, key_fields) in KEYS {
        let (Some(old), Some(new)) = (before[*member].as_array(), after[*member].as_array()) else {
            continue;
        };
        compared.push(*member);
        let old = keyed(old, key_fields);
        let new = keyed(new, key_fields);
        let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for key in keys {
            let row = |change: &str, fields: Vec<Value>| json!({"Resource": member, "Key": key, "Change": change, "Fields": fields});
            match (old.get(key), new.get(key)) {
                (Some(_), None) => rows.push(row("removed", Vec::new())),
                (None, Some(_)) => rows.push(row("added", Vec::new())),
                (Some(a), Some(b)) => {
                    let fields = changed_fields(a, b);
                    if !fields.is_empty() {
                        rows.push(row("changed", fields));
                    }
                }
                (None, None) => {}
            }
        }
    }
    (rows, compared)
}

/// The items of a list by their key (the key members' texts joined with ` / `); an item
/// whose key repeats is kept under the key with its position, so nothing is lost.
pub(crate) fn keyed<'a>(items: &'a [Value], key_fields: &[&str]) -> BTreeMap<String, &'a Value> {
    let mut out = BTreeMap::new();
    for item in items {
        let key = key_fields
            .iter()
            .map(|k| match &item[*k] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" / ");
        let mut unique = key.clone();
        let mut n = 1;
        while out.contains_key(&unique) {
            n += 1;
            unique = format!("{key} #{n}");
        }
        out.insert(unique, item);
    }
    out
}

/// The top-level members of two items that differ, each whole, before and after:
/// `[{"Field", "Before", "After"}]` by field name.
pub(crate) fn changed_fields(a: &Value, b: &Value) -> Vec<Value> {
    let empty = serde_json::Map::new();
    let a = a.as_object().unwrap_or(&empty);
    let b = b.as_object().unwrap_or(&empty);
    let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let before = a.get(name).unwrap_or(&Value::Null);
            let after = b.get(name).unwrap_or(&Value::Null);
            (before != after).then(|| json!({"Field": name, "Before": before, "After": after}))
        })
        .collect()
}

/// One line per difference, for tables and text: `Users alice: changed DisplayName`.
pub(crate) fn describe(row: &Value) -> String {
    let fields: Vec<&str> = row["Fields"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f["Field"].as_str()).collect())
        .unwrap_or_default();
    let change = row["Change"].as_str().unwrap_or("?");
    if fields.is_empty() {
        change.to_string()
    } else {
        format!("{change} {}", fields.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_removed_and_changed_items_with_their_fields() {
        let before = json!({
            "Users": [
                {"UserName": "alice", "UserId": "1", "DisplayName": "Alice"},
                {"UserName": "bob", "UserId": "2"},
            ],
            "Groups": [{"DisplayName": "Admins", "GroupId": "g"}],
            "Memberships": [{"GroupName": "Admins", "UserName": "alice"}],
        });
        let after = json!({
            "Users": [
                {"UserName": "alice", "UserId": "1", "DisplayName": "Alice A."},
                {"UserName": "carol", "UserId": "3"},
            ],
            "Groups": [{"DisplayName": "Admins", "GroupId": "g"}],
        });
        let (rows, compared) = compare(&before, &after);
        assert_eq!(
            compared,
            ["Users", "Groups"],
            "memberships: only one side has them"
        );
        assert_eq!(
            rows,
            vec![
                json!({"Resource": "Users", "Key": "alice", "Change": "changed", "Fields": [
                    {"Field": "DisplayName", "Before": "Alice", "After": "Alice A."}]}),
                json!({"Resource": "Users", "Key": "bob", "Change": "removed", "Fields": []}),
                json!({"Resource": "Users", "Key": "carol", "Change": "added", "Fields": []}),
            ]
        );
        assert_eq!(describe(&rows[0]), "changed DisplayName");
        assert!(compare(&before, &before).0.is_empty());
    }

    #[test]
    fn repeated_keys_are_all_kept() {
        let items = [json!({"Name": "x", "i": 1}), json!({"Name": "x", "i": 2})];
        let keyed = keyed(&items, &["Name"]);
        assert_eq!(keyed.len(), 2);
        assert!(keyed.contains_key("x #2"));
    }
}
