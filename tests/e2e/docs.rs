//! The reference documentation tells the truth: every key of every `--output json` document
//! a command prints is named in that command's JSON description (which the man page shows),
//! and every `AWSIDEMAN_*` variable the code reads is in the man page.

use std::collections::BTreeSet;

use awsideman::testing::GROUPS;
use awsideman::testing::{Command, every_command};
use serde_json::Value;

use crate::common::TestEnv;

/// The command table's entry for the command `args` run (`cache encryption status ...`).
fn command(args: &[&str]) -> &'static Command {
    every_command(GROUPS)
        .into_iter()
        .find(|(path, c)| {
            let words: Vec<&str> = path.iter().map(|g| g.name).chain([c.name]).collect();
            args.starts_with(&words)
        })
        .map(|(_, c)| c)
        .unwrap_or_else(|| panic!("no command for {args:?}"))
}

/// Keys of `doc` missing from `description`: each key must appear as a whole word.
fn undocumented(doc: &Value, description: &str) -> Vec<String> {
    let Value::Object(map) = doc else {
        return Vec::new();
    };
    map.keys()
        .filter(|key| !mentions(description, key))
        .cloned()
        .collect()
}

fn mentions(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        boundary(before) && boundary(after)
    })
}

/// Keys of the first element of the array member `list` of `doc` missing from `description`.
fn undocumented_items(doc: &Value, list: &str, description: &str) -> Vec<String> {
    doc[list]
        .as_array()
        .and_then(|items| items.first())
        .map(|item| undocumented(item, description))
        .unwrap_or_default()
}

/// Commands whose JSON document awsideman builds itself: every key, at the top level and in
/// the first item of their main list, must be named in the documentation. Commands that print
/// an AWS reply as it is (`user get`) are checked for the keys awsideman adds.
#[test]
fn every_key_of_the_json_documents_is_documented() {
    let t = TestEnv::new();
    let instance = t.instance();
    let alice = t.seed_user(&instance.store, "alice", "Alice", "Liddell");
    let group = t.seed_group(&instance.store, "admins", &[&alice]);
    let org = t.seed_org();
    let ps = t.seed_permission_set(
        &instance.arn,
        "ReadOnly",
        &["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        None,
    );
    t.seed_assignment(
        &instance.arn,
        &ps,
        "GROUP",
        &group,
        &org.accounts["prod-app"],
    );

    let template = t.write(
        "template.yaml",
        "metadata: {name: docs}\nassignments:\n  - entities: [group:admins]\n    \
         permission_sets: [ReadOnly]\n    targets: {account_ids: [prod-app], \
         account_tags: {team: data}}\n",
    );
    let template = template.to_str().expect("path");

    // (command line, the list whose first item is checked too, whole document ours?)
    let cases: &[(&[&str], Option<&str>, bool)] = &[
        (&["user", "list"], None, true),
        (&["user", "get", "alice"], Some("Groups"), false),
        (&["user", "groups", "alice"], Some("Groups"), true),
        (&["group", "get", "admins"], Some("Members"), false),
        (&["group", "members", "admins"], Some("Members"), true),
        (&["permission-set", "list"], Some("PermissionSets"), true),
        (&["assignment", "list"], Some("AccountAssignments"), true),
        (&["org", "tree"], Some("Roots"), true),
        (&["org", "account", "prod-app"], None, false),
        (&["org", "search", "prod"], Some("Accounts"), true),
        (&["sso", "info"], None, true),
        (&["profile", "list"], Some("profiles"), true),
        (&["config", "path"], None, true),
        (&["config", "validate"], None, true),
        (&["cache", "status"], None, true),
        (&["cache", "inspect"], Some("entries"), true),
        (&["cache", "health"], Some("steps"), true),
        (&["cache", "encryption", "status"], None, true),
        (&["audit", "show"], None, true),
        (&["completion", "bash"], None, true),
        (&["iam-policy", "read-only"], Some("Statement"), true),
        // Writes, in an order that leaves each one something to act on.
        (
            &[
                "user",
                "create",
                "--username",
                "bob",
                "--display-name",
                "Bob Dylan",
                "--email",
                "bob@example.com",
            ],
            None,
            false,
        ),
        (
            &["group", "add-member", "admins", "bob"],
            Some("results"),
            true,
        ),
        (
            &["group", "remove-member", "admins", "bob", "--yes"],
            Some("results"),
            true,
        ),
        (&["user", "delete", "bob", "--yes"], None, true),
        (&["group", "create", "--name", "ops"], None, false),
        (&["group", "delete", "ops", "--yes"], None, true),
        (
            &["assignment", "assign", "ReadOnly", "admins", "prod-data"],
            Some("results"),
            true,
        ),
        (
            &[
                "assignment",
                "revoke",
                "ReadOnly",
                "admins",
                "prod-data",
                "--yes",
            ],
            Some("results"),
            true,
        ),
        (&["permission-set", "create", "--name", "Temp"], None, false),
        (&["permission-set", "delete", "Temp", "--yes"], None, true),
        (&["cache", "warm", "user list"], None, true),
        (&["cache", "clear", "--yes"], None, true),
        (&["cache", "encryption", "status"], None, true),
        (
            &["cache", "benchmark", "--entries", "5", "--size", "100"],
            Some("results"),
            true,
        ),
        (&["config", "set", "cache.default_ttl", "3600"], None, true),
        (&["config", "get", "cache.default_ttl"], None, true),
        (
            &["profile", "add", "staging", "--region", "eu-west-1"],
            None,
            true,
        ),
        (&["profile", "remove", "staging", "--yes"], None, true),
        (&["templates", "validate", template], None, true),
        (&["templates", "show", template], Some("Assignments"), true),
        (
            &["templates", "apply", template, "--yes"],
            Some("Changes"),
            true,
        ),
        (&["templates", "plan", template], Some("Changes"), true),
    ];
    let mut problems = Vec::new();
    for (args, list, ours) in cases {
        let description = command(args).json;
        let mut line = vec!["--output", "json"];
        line.extend_from_slice(args);
        let doc = t.json(&line);
        let mut missing = if *ours {
            undocumented(&doc, description)
        } else {
            Vec::new()
        };
        if let Some(list) = list {
            missing.extend(undocumented_items(&doc, list, description));
        }
        if !missing.is_empty() {
            problems.push(format!(
                "{}: {missing:?} not in {description:?}",
                args.join(" ")
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every `AWSIDEMAN_*` variable named in the source (tests and test hooks aside) is in the
/// man page.
#[test]
fn every_environment_variable_is_in_the_man_page() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let man = std::fs::read_to_string(root.join("man/awsideman.1")).expect("man page");
    let mut names = BTreeSet::new();
    collect_variables(&root.join("src"), &mut names);
    assert!(names.len() > 20, "found only {names:?}");
    let missing: Vec<_> = names
        .iter()
        .filter(|name| !man.contains(name.as_str()))
        .collect();
    assert!(missing.is_empty(), "not in man/awsideman.1: {missing:?}");
}

/// `AWSIDEMAN_*` string literals in the Rust files under `dir`, outside test code.
fn collect_variables(dir: &std::path::Path, names: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            collect_variables(&path, names);
            continue;
        }
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !file.ends_with(".rs") || file.contains("tests") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("read source");
        // Unit tests sit at the end of a module, after `#[cfg(test)]`.
        let code = source.split("#[cfg(test)]").next().unwrap_or("");
        for (at, _) in code.match_indices("\"AWSIDEMAN_") {
            let name: String = code[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            // Test hooks are no user setting.
            if name.starts_with("AWSIDEMAN_TEST_") {
                continue;
            }
            // A prefix such as "AWSIDEMAN_CACHE_TTL_" is documented as ..._<OPERATION>.
            names.insert(name.trim_end_matches('_').to_string());
        }
    }
}

/// Every group and command of the command table is in the README's table of commands.
#[test]
fn every_command_is_in_the_readme() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let start = readme.find("## Commands").expect("a Commands section");
    let section = &readme[start..];
    let mut missing = Vec::new();
    for group in GROUPS {
        let row = section
            .lines()
            .find(|line| line.starts_with(&format!("| `{}`", group.name)));
        match row {
            None => missing.push(group.name.to_string()),
            Some(row) => missing.extend(
                group
                    .commands
                    .iter()
                    .map(|c| c.name)
                    .chain(group.groups.iter().map(|g| g.name))
                    .filter(|name| !mentions(row, name))
                    .map(|name| format!("{} {name}", group.name)),
            ),
        }
    }
    assert!(missing.is_empty(), "not in README.md: {missing:?}");
}
