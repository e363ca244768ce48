//! The global output options people switching from other tools reach for: `--no-header`,
//! `--local-time`, and what an empty or cut list says on a terminal (and never in a pipe).

use crate::common::{TestEnv, text};

/// A world with an instance discovered and two users.
fn seeded() -> TestEnv {
    let t = TestEnv::new();
    let store = t.discover();
    t.seed_user(&store, "alice", "Alice", "Liddell");
    t.seed_user(&store, "bob", "Bob", "Builder");
    t
}

#[test]
fn no_header_drops_the_header_line_of_text_and_csv() {
    let t = seeded();
    let text_out = t.ok(&["--output", "text", "--no-header", "user", "list"]);
    let lines: Vec<&str> = text_out.lines().collect();
    assert_eq!(lines.len(), 2, "{text_out}");
    assert!(
        lines.iter().all(|l| !l.starts_with("User name")),
        "{text_out}"
    );
    assert!(text_out.contains("alice\t"), "{text_out}");

    let csv = t.ok(&["user", "list", "-o", "csv", "--no-header"]);
    assert_eq!(csv.matches("\r\n").count(), 2, "{csv}");
    assert!(!csv.contains("User name"), "{csv}");

    // A record (`user get`: the user, then its groups) loses its header lines the same way.
    let record = t.ok(&["-o", "text", "--no-header", "user", "get", "alice"]);
    assert!(!record.contains("User name"), "{record}");
    assert!(
        record.lines().next().unwrap().contains("\talice\t"),
        "{record}"
    );

    // JSON has no header: the document is unchanged.
    let json = t.json(&["--no-header", "user", "list"]);
    assert_eq!(json["Users"].as_array().unwrap().len(), 2);
}

/// The time on the line of `text` that starts with `label` (`2026-12-03T06:56:21Z`).
fn time_after<'a>(text: &'a str, label: &str) -> &'a str {
    let line = text
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label} in {text}"));
    line[label.len()..].trim()
}

#[test]
fn local_time_shows_the_offset_of_tz_and_json_keeps_aws_values() {
    let mut t = TestEnv::new();
    t.seed_org();
    let account = t.account.clone();
    let args = ["-o", "table", "org", "account", account.as_str()];
    let utc_table = t.ok(&args);
    let utc = time_after(&utc_table, "Joined:").to_string();
    assert!(utc.ends_with('Z'), "UTC by default: {utc}");

    // A POSIX TZ two hours east of UTC, with no daylight saving: the same moment, +02:00.
    t.set_var("TZ", "XYZ-2");
    let local_args = [
        "--local-time",
        "-o",
        "table",
        "org",
        "account",
        account.as_str(),
    ];
    let local_table = t.ok(&local_args);
    let local = time_after(&local_table, "Joined:");
    assert!(local.ends_with("+02:00"), "{local}");
    let hour = |s: &str| s[11..13].parse::<u32>().unwrap();
    assert_eq!(hour(local), (hour(&utc) + 2) % 24, "{utc} vs {local}");
    assert_eq!(&local[13..19], &utc[13..19], "minutes and seconds");

    // Text too; TZ west of UTC gives a negative offset.
    t.set_var("TZ", "ABC+5");
    let text_out = t.ok(&["--local-time", "-o", "text", "org", "account", &account]);
    assert!(text_out.contains("-05:00"), "{text_out}");

    // JSON keeps AWS's epoch seconds whatever the option.
    let json = t.json(&["--local-time", "org", "account", &account]);
    assert!(json["Account"]["JoinedTimestamp"].is_number(), "{json}");
}

#[test]
fn an_empty_list_says_so_on_a_terminal_only() {
    let t = TestEnv::new();
    t.discover();
    // In a pipe nothing changes: a bare header, an empty JSON list, nothing on stderr.
    let out = t.run(&["-o", "table", "user", "list"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("USER NAME"), "{stdout}");
    assert_eq!(text(&out.stderr), "");
    let json = t.json(&["user", "list"]);
    assert_eq!(json["Users"], serde_json::json!([]));

    let Some(table) = t.run_in_terminal(&["user", "list"], "") else {
        eprintln!("skipped: util-linux script not found (needed for a pseudo-terminal)");
        return;
    };
    assert_eq!(table.code, 0, "{}", table.screen);
    assert_eq!(table.screen.trim(), "no users");

    let groups = t.run_in_terminal(&["group", "list"], "").unwrap();
    assert_eq!(groups.screen.trim(), "no groups");

    // Text on a terminal keeps its form (the header) and says it on stderr.
    let tsv = t
        .run_in_terminal(&["-o", "text", "user", "list"], "")
        .unwrap();
    assert!(tsv.screen.contains("User name\t"), "{}", tsv.screen);
    assert!(tsv.screen.contains("awsideman: no users"), "{}", tsv.screen);
}

#[test]
fn a_cut_list_says_how_much_more_on_a_terminal_only() {
    let t = TestEnv::new();
    let store = t.discover();
    for (name, given, family) in [
        ("alice", "Alice", "Liddell"),
        ("bob", "Bob", "Builder"),
        ("carol", "Carol", "Danvers"),
    ] {
        t.seed_user(&store, name, given, family);
    }
    // In a pipe: the JSON says Truncated, stderr stays empty.
    let out = t.run(&["-o", "json", "user", "list", "--limit", "1"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stderr), "");
    let limited: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(limited["Users"].as_array().unwrap().len(), 1);
    assert_eq!(limited["Truncated"], true);
    // --limit 0 is every user.
    let all = t.json(&["user", "list", "--limit", "0"]);
    assert_eq!(all["Users"].as_array().unwrap().len(), 3, "{all}");
    assert!(all.get("Truncated").is_none(), "{all}");

    let Some(cut) = t.run_in_terminal(&["user", "list", "--limit", "2"], "") else {
        eprintln!("skipped: util-linux script not found (needed for a pseudo-terminal)");
        return;
    };
    assert_eq!(cut.code, 0, "{}", cut.screen);
    assert!(
        cut.screen
            .contains("awsideman: showing 2 of at least 3; --limit 0 for all"),
        "{}",
        cut.screen
    );
    // Filtered, every page is read: the count is exact.
    let filtered = t
        .run_in_terminal(
            &[
                "user",
                "list",
                "--filter",
                "Builder|Danvers",
                "--limit",
                "1",
            ],
            "",
        )
        .unwrap();
    assert!(
        filtered
            .screen
            .contains("showing 1 of 2; --limit 0 for all"),
        "{}",
        filtered.screen
    );
    // Nothing cut: nothing said.
    let whole = t
        .run_in_terminal(&["user", "list", "--limit", "3"], "")
        .unwrap();
    assert!(!whole.screen.contains("showing"), "{}", whole.screen);
    let quiet = t
        .run_in_terminal(&["-q", "user", "list", "--limit", "1"], "")
        .unwrap();
    assert!(!quiet.screen.contains("showing"), "{}", quiet.screen);
}

/// An answer from a cache entry older than a minute says how old on a terminal (table and
/// text), never in a pipe and never with JSON; a fresh one says nothing.
#[test]
fn an_old_cached_answer_says_how_old_on_a_terminal_only() {
    let mut t = TestEnv::new();
    let store = t.discover();
    t.seed_user(&store, "alice", "Alice", "Liddell");
    t.json(&["user", "list"]);
    let Some(fresh) = t.run_in_terminal(&["user", "list"], "") else {
        eprintln!("skipped: util-linux script not found (needed for a pseudo-terminal)");
        return;
    };
    assert!(!fresh.screen.contains("cached"), "{}", fresh.screen);

    // Ten minutes later (the entry lives an hour).
    t.set_var("AWSIDEMAN_TEST_CLOCK_OFFSET_SECS", "600");
    let table = t.run_in_terminal(&["user", "list"], "").unwrap();
    assert!(table.screen.contains("alice"), "{}", table.screen);
    assert!(
        table
            .screen
            .contains("awsideman: cached 10 min ago; --refresh to update"),
        "{}",
        table.screen
    );
    let tsv = t
        .run_in_terminal(&["-o", "text", "user", "list"], "")
        .unwrap();
    assert!(tsv.screen.contains("cached 10 min ago"), "{}", tsv.screen);
    let json = t
        .run_in_terminal(&["-o", "json", "user", "list"], "")
        .unwrap();
    assert!(!json.screen.contains("cached"), "{}", json.screen);
    let piped = t.run(&["-o", "table", "user", "list"]);
    assert!(
        !text(&piped.stderr).contains("cached"),
        "{}",
        text(&piped.stderr)
    );
    // --refresh reads AWS now: nothing to say.
    let refreshed = t
        .run_in_terminal(&["--refresh", "user", "list"], "")
        .unwrap();
    assert!(!refreshed.screen.contains("cached"), "{}", refreshed.screen);
}
