//! Assignment rows as `assignment list` and `access-review` print them: sorted by the names
//! of what they join, and written as JSON text without a tree of values in between.
//!
//! Thousands of rows mention a few hundred distinct accounts, permission sets and
//! principals, so the sort rank and the JSON members of each id are made once (names
//! lowercased, text escaped by serde_json) and a row is a few lookups and copies.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use super::grants::Names;
use crate::client::shapes::{AccountAssignment, PrincipalType};
use crate::document::Document;

/// What one id contributes to a row: where it sorts and its members' JSON text.
#[derive(Debug)]
pub(crate) struct Part {
    /// Dense rank: ids whose sort keys are equal share one.
    pub(crate) rank: u32,
    /// `"Key":value,...` (no surrounding braces, no trailing comma).
    pub(crate) json: String,
}

/// The [`Part`] of each distinct id: ranked by `key`, written by `json`.
pub(crate) fn parts<'a, K: Ord>(
    ids: impl IntoIterator<Item = &'a str>,
    key: impl Fn(&str) -> K,
    json: impl Fn(&str) -> String,
) -> HashMap<&'a str, Part> {
    // Rows repeat few ids many times: hash them to find the distinct ones, sort only those.
    let mut seen = HashSet::new();
    let distinct = ids.into_iter().filter(|id| seen.insert(*id));
    let mut keyed: Vec<(K, &str)> = distinct.into_iter().map(|id| (key(id), id)).collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut found = HashMap::with_capacity(keyed.len());
    let mut rank = 0;
    for (i, (key, id)) in keyed.iter().enumerate() {
        if i > 0 && keyed[i - 1].0 != *key {
            rank += 1;
        }
        found.insert(
            *id,
            Part {
                rank,
                json: json(id),
            },
        );
    }
    found
}

/// Appends `"key":value` (a JSON string, or `null`), with a comma before it unless it is the
/// first member of `out`.
pub(crate) fn member(out: &mut String, key: &str, value: Option<&str>) {
    if !out.is_empty() {
        out.push(',');
    }
    string(out, key);
    out.push(':');
    match value {
        Some(text) => string(out, text),
        None => out.push_str("null"),
    }
}

/// Appends `text` as a JSON string, escaped exactly as serde_json escapes it: `"`, `\\`
/// and control characters (short forms where JSON has them, else `\u00xx`).
fn string(out: &mut String, text: &str) {
    out.push('"');
    let mut plain = 0;
    for (i, byte) in text.bytes().enumerate() {
        let escaped = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[plain..i]);
        if escaped.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        } else {
            out.push_str(escaped);
        }
        plain = i + 1;
    }
    out.push_str(&text[plain..]);
    out.push('"');
}

/// The account, permission set and principal members of assignment rows, with their sort
/// order: account (name, id), permission set name, principal type, principal (name, id),
/// names in any case (the order of every printed list of assignments, backups included).
#[derive(Debug)]
pub(crate) struct Layout<'a> {
    accounts: HashMap<&'a str, Part>,
    permission_sets: HashMap<&'a str, Part>,
    principals: HashMap<&'a str, Part>,
}

impl<'a> Layout<'a> {
    /// The layout of `rows` and of more principals rows will name (group members), named
    /// by `names`.
    pub(crate) fn new(
        names: &Names,
        rows: impl IntoIterator<Item = &'a AccountAssignment> + Clone,
        more: impl IntoIterator<Item = (&'a str, PrincipalType)>,
    ) -> Layout<'a> {
        let lower = |name: Option<&str>| name.unwrap_or_default().to_lowercase();
        let mut kinds: HashMap<&str, PrincipalType> = HashMap::new();
        for a in rows.clone() {
            kinds.insert(&a.principal_id, a.principal_type);
        }
        kinds.extend(more);
        Layout {
            accounts: parts(
                rows.clone().into_iter().map(|a| a.account_id.as_str()),
                |id| (lower(names.account(id)), id.to_lowercase()),
                |id| {
                    let mut json = String::new();
                    member(&mut json, "AccountId", Some(id));
                    member(&mut json, "AccountName", names.account(id));
                    json
                },
            ),
            permission_sets: parts(
                rows.clone()
                    .into_iter()
                    .map(|a| a.permission_set_arn.as_str()),
                |arn| lower(names.permission_set(arn)),
                |arn| {
                    let mut json = String::new();
                    member(&mut json, "PermissionSetArn", Some(arn));
                    member(&mut json, "PermissionSetName", names.permission_set(arn));
                    json
                },
            ),
            principals: parts(
                kinds.keys().copied(),
                |id| (lower(names.principal(id)), id.to_lowercase()),
                |id| {
                    let mut json = String::new();
                    let kind = kinds.get(id).map(|k| k.as_aws());
                    member(&mut json, "PrincipalType", kind);
                    member(&mut json, "PrincipalId", Some(id));
                    member(&mut json, "PrincipalName", names.principal(id));
                    json
                },
            ),
        }
    }

    /// The part of an account of the rows.
    pub(crate) fn account(&self, id: &str) -> Option<&Part> {
        self.accounts.get(id)
    }

    /// The part of a permission set of the rows.
    pub(crate) fn permission_set(&self, arn: &str) -> Option<&Part> {
        self.permission_sets.get(arn)
    }

    /// The part of a principal of the rows (or of the more the layout was made with).
    pub(crate) fn principal(&self, id: &str) -> Option<&Part> {
        self.principals.get(id)
    }

    /// The sort key of one of the rows the layout was made from.
    pub(crate) fn key(&self, a: &AccountAssignment) -> [u32; 4] {
        let rank = |parts: &HashMap<&str, Part>, id: &str| parts.get(id).map_or(0, |p| p.rank);
        let kind = match a.principal_type {
            PrincipalType::Group => 0,
            PrincipalType::User => 1,
        };
        [
            rank(&self.accounts, &a.account_id),
            rank(&self.permission_sets, &a.permission_set_arn),
            kind,
            rank(&self.principals, &a.principal_id),
        ]
    }

    /// Appends the row's members (no braces): `AccountId`, `AccountName`,
    /// `PermissionSetArn`, `PermissionSetName`, `PrincipalType`, `PrincipalId`,
    /// `PrincipalName`.
    pub(crate) fn write(&self, a: &AccountAssignment, out: &mut String) {
        let parts = [
            self.accounts.get(a.account_id.as_str()),
            self.permission_sets.get(a.permission_set_arn.as_str()),
            self.principals.get(a.principal_id.as_str()),
        ];
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Every id of the rows has a part; an id from elsewhere would be a bug, so
            // say so in the output rather than write broken JSON.
            out.push_str(part.map_or("\"Missing\":null", |p| p.json.as_str()));
        }
    }
}

/// The document `{"<key>": [rows]}`, each row an object whose members `write` appends.
pub(crate) fn document<T>(key: &str, rows: &[T], write: impl Fn(&T, &mut String)) -> Document {
    let mut text = String::with_capacity(16 + rows.len() * 400);
    text.push('{');
    string(&mut text, key);
    text.push_str(":[");
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push('{');
        write(row, &mut text);
        text.push('}');
    }
    text.push_str("]}");
    Document::from_serialized(text)
}

/// The `assignment list` document of `rows` (key `AccountAssignments`), sorted.
pub(crate) fn assignments<'a>(
    names: &Names,
    rows: impl IntoIterator<Item = &'a AccountAssignment> + Clone,
) -> Document {
    let layout = Layout::new(names, rows.clone(), []);
    let mut keyed: Vec<([u32; 4], &AccountAssignment)> =
        rows.into_iter().map(|a| (layout.key(a), a)).collect();
    // Equal keys keep the given order (the sort is stable).
    keyed.sort_by_key(|(key, _)| *key);
    document("AccountAssignments", &keyed, |(_, a), out| {
        layout.write(a, out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn assignment(account: &str, set: &str, kind: PrincipalType, id: &str) -> AccountAssignment {
        AccountAssignment {
            account_id: account.into(),
            permission_set_arn: set.into(),
            principal_type: kind,
            principal_id: id.into(),
        }
    }

    #[test]
    fn rows_are_sorted_by_name_in_any_case_and_escaped() {
        let mut names = Names::default();
        names.learn_account("222", "alpha");
        names.learn_account("111", "Beta");
        names.learn_permission_set("arn:ps/1", "Admin\"\n\u{1b}[31m");
        names.learn_principal("u-1", "zoe");
        names.learn_principal("g-1", "Ops");
        let rows = [
            assignment("111", "arn:ps/1", PrincipalType::User, "u-1"),
            assignment("222", "arn:ps/1", PrincipalType::User, "u-1"),
            assignment("222", "arn:ps/1", PrincipalType::Group, "g-1"),
            assignment("222", "arn:ps/2", PrincipalType::User, "u-2"),
        ];
        let printed = assignments(&names, &rows);
        let row = |account: &str,
                   name: Option<&str>,
                   set: &str,
                   set_name: Option<&str>,
                   kind: &str,
                   id: &str,
                   who: Option<&str>| {
            json!({"AccountId": account, "AccountName": name, "PermissionSetArn": set,
                   "PermissionSetName": set_name, "PrincipalType": kind, "PrincipalId": id,
                   "PrincipalName": who})
        };
        let admin = Some("Admin\"\n\u{1b}[31m");
        let expected = json!({"AccountAssignments": [
            // The unnamed set sorts first (an empty name), then groups before users.
            row("222", Some("alpha"), "arn:ps/2", None, "USER", "u-2", None),
            row("222", Some("alpha"), "arn:ps/1", admin, "GROUP", "g-1", Some("Ops")),
            row("222", Some("alpha"), "arn:ps/1", admin, "USER", "u-1", Some("zoe")),
            row("111", Some("Beta"), "arn:ps/1", admin, "USER", "u-1", Some("zoe")),
        ]});
        let parsed: Value = serde_json::from_str(printed.as_str()).expect("valid JSON");
        assert_eq!(parsed, expected);
        // Member order is the documented one, and no raw control character is printed.
        assert!(printed.as_str().starts_with(
            "{\"AccountAssignments\":[{\"AccountId\":\"222\",\"AccountName\":\"alpha\","
        ));
        assert!(!printed.as_str().contains('\u{1b}'));
        assert!(!printed.as_str().contains('\n'));
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let all_controls: String = (0u8..0x20).map(char::from).collect();
        for text in [
            "",
            "plain",
            "quote\" back\\slash",
            "tab\tnew\nline\r\u{8}\u{c}",
            "\u{1b}[31mred\u{7f}",
            "é 名前 🦀",
            all_controls.as_str(),
        ] {
            let mut out = String::new();
            string(&mut out, text);
            assert_eq!(out, Value::String(text.to_owned()).to_string(), "{text:?}");
        }
    }

    #[test]
    fn equal_names_share_a_rank() {
        let found = parts(["b", "a", "c", "a"], |id| id == "c", |id| id.to_string());
        assert_eq!(found.len(), 3);
        assert_eq!(found["a"].rank, 0);
        assert_eq!(found["b"].rank, 0);
        assert_eq!(found["c"].rank, 1);
    }

    #[test]
    fn an_empty_list_is_an_empty_array() {
        let printed = document::<u8>("Access", &[], |_, _| {});
        assert_eq!(printed.as_str(), "{\"Access\":[]}");
    }
}
