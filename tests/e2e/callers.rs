//! One shared cache table, two AWS accounts behind the same awsideman profile name: keys are
//! scoped to the caller, so neither is ever served the other's answers. moto serves a role
//! assumed into another account as that account (its own Identity Center instance, its own
//! organization or none).

use awsideman::testing::Env;
use awsideman::testing::Service;
use awsideman::testing::{ProfileSource, Session, SessionSettings};
use awsideman::testing::{Transport, TransportSettings};

use crate::common::{TestEnv, requests, text};

/// A world of account A (the `default` AWS profile) with an AWS profile `other` that assumes
/// a role in a fresh account B, both with their instance discovered, and a shared table.
fn two_accounts() -> (TestEnv, String) {
    let mut t = TestEnv::new();
    let other = format!(
        "{:012}",
        900_000_000_000 + (t.account.parse::<u64>().unwrap() % 99_999_999_999)
    );
    let config = t.home.join(".aws/config");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[profile other]\nrole_arn = arn:aws:iam::{other}:role/x\nsource_profile = base\n\
         region = us-east-1\n"
    ));
    std::fs::write(&config, text).unwrap();
    t.set_var("AWSIDEMAN_CACHE_BACKEND", "dynamodb");
    t.set_var(
        "AWSIDEMAN_CACHE_DYNAMODB_TABLE",
        format!("callers-{}", t.account),
    );
    (t, other)
}

/// Runs `args` with `--debug`; returns the exit code, the AWS requests sent and stderr.
fn run(t: &TestEnv, args: &[&str]) -> (Option<i32>, Vec<(String, String)>, String) {
    let mut all = vec!["--debug", "--output", "json"];
    all.extend_from_slice(args);
    let out = t.run(&all);
    let stderr = text(&out.stderr);
    (out.status.code(), requests(&stderr), stderr)
}

fn sent(calls: &[(String, String)], service: &str, operation: &str) -> bool {
    calls.iter().any(|(s, o)| s == service && o == operation)
}

/// The same awsideman profile (`default`) as account A and then, through `AWS_PROFILE`, as
/// account B: B's first read of every organization and instance operation reaches AWS,
/// `sso discover` saves B's own instance, and A's answers are still A's afterwards.
#[test]
fn two_accounts_behind_one_profile_name_never_share_answers() {
    let (mut t, other) = two_accounts();
    let org = t.seed_org();
    let a_instance = t.instance();

    // Account A warms the table: organization reads, then hits.
    for args in [
        &["org", "accounts"][..],
        &["org", "tree"],
        &["user", "list"],
    ] {
        let (code, _, stderr) = run(&t, args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        let (code, calls, stderr) = run(&t, args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        let reached: Vec<_> = calls
            .iter()
            .filter(|(s, _)| s != "dynamodb" && s != "sts")
            .collect();
        assert!(reached.is_empty(), "{args:?} warm: {reached:?}");
        assert!(stderr.contains("caller role:arn:aws:iam::"), "{stderr}");
    }

    // Account B, same awsideman profile name: every read is a miss that reaches AWS (what
    // AWS answers B is B's business; it is never A's cached answer).
    t.set_var("AWS_PROFILE", "other");
    let (_, calls, stderr) = run(&t, &["org", "accounts"]);
    assert!(sent(&calls, "organizations", "ListAccounts"), "{calls:?}");
    assert!(
        stderr.contains(&format!("caller role:arn:aws:iam::{other}:role/x")),
        "{stderr}"
    );
    let (_, calls, _) = run(&t, &["org", "tree"]);
    assert!(sent(&calls, "organizations", "ListRoots"), "{calls:?}");

    // `sso discover` asks AWS (never a shared cache) and saves B's own instance.
    let (code, calls, stderr) = run(&t, &["sso", "discover"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(sent(&calls, "sso-admin", "ListInstances"), "{calls:?}");
    let b_instance = t.json(&["sso", "info"]);
    let b_arn = b_instance["sso_instance_arn"].as_str().unwrap().to_string();
    assert_ne!(b_arn, a_instance.arn, "B saved A's instance");
    assert!(b_arn.contains("ssoins-"), "{b_instance}");
    let (code, calls, stderr) = run(&t, &["user", "list"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(sent(&calls, "identitystore", "ListUsers"), "{calls:?}");

    // Back to A (its instance saved again): A's entries are still A's, served as hits.
    t.remove_var("AWS_PROFILE");
    t.ok(&["sso", "set", &a_instance.arn, &a_instance.store]);
    let (code, calls, stderr) = run(&t, &["org", "accounts"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!sent(&calls, "organizations", "ListAccounts"), "{calls:?}");
    let accounts = t.json(&["org", "accounts"]);
    let ids: Vec<&str> = accounts["Accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["Id"].as_str())
        .collect();
    for id in org.accounts.values() {
        assert!(ids.contains(&id.as_str()), "{accounts}");
    }
}

/// Pointing the profile at another AWS profile (`aws_profile`) leaves its old answers
/// unreachable: the next read goes to AWS.
#[test]
fn switching_aws_profile_gives_fresh_answers() {
    let (t, _other) = two_accounts();
    t.seed_org();
    t.instance();
    let (code, _, stderr) = run(&t, &["org", "accounts"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (_, calls, _) = run(&t, &["org", "accounts"]);
    assert!(!sent(&calls, "organizations", "ListAccounts"), "{calls:?}");
    t.ok(&["profile", "update", "default", "--aws-profile", "other"]);
    let (_, calls, _) = run(&t, &["org", "accounts"]);
    assert!(sent(&calls, "organizations", "ListAccounts"), "{calls:?}");
    // And back: the first profile's answers are there again, as hits.
    t.ok(&["profile", "update", "default", "--aws-profile", ""]);
    let (code, calls, stderr) = run(&t, &["org", "accounts"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!sent(&calls, "organizations", "ListAccounts"), "{calls:?}");
}

/// Temporary keys exported into the environment (what CI jobs get): who they belong to is
/// learned from STS once per set of keys and remembered; later commands with the same keys
/// ask nothing more, and a cache hit sends no request at all but the table's.
#[test]
fn temporary_environment_keys_learn_the_caller_once() {
    let (mut t, _other) = two_accounts();
    t.seed_org();
    t.instance();
    let keys = session(t.vars.clone(), "default", &t.home.join("keys-for-env"))
        .credentials()
        .unwrap();
    t.set_var("AWS_ACCESS_KEY_ID", keys.access_key_id.clone());
    t.set_var("AWS_SECRET_ACCESS_KEY", keys.secret_access_key.clone());
    t.set_var("AWS_SESSION_TOKEN", keys.session_token.clone().unwrap());

    let (code, calls, stderr) = run(&t, &["org", "accounts"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        calls
            .iter()
            .filter(|c| *c == &("sts".to_string(), "GetCallerIdentity".to_string()))
            .count(),
        1,
        "{calls:?}"
    );
    assert!(
        stderr.contains(&format!(
            "caller principal:arn:aws:sts::{}:assumed-role/awsideman-test ",
            t.account
        )),
        "{stderr}"
    );
    let (code, calls, stderr) = run(&t, &["org", "accounts"]);
    assert_eq!(code, Some(0), "{stderr}");
    let not_table: Vec<_> = calls.iter().filter(|(s, _)| s != "dynamodb").collect();
    assert!(
        not_table.is_empty(),
        "a hit with remembered caller: {not_table:?}"
    );
    assert!(stderr.contains("remembered"), "{stderr}");

    // Other keys of another account: a miss, never A's answer.
    t.remove_var("AWS_SESSION_TOKEN");
    t.set_var("AWS_ACCESS_KEY_ID", "AKIDSOMEONEELSE");
    t.set_var("AWS_ACCOUNT_ID", "123456789012");
    let (_, calls, stderr) = run(&t, &["org", "accounts"]);
    assert!(
        sent(&calls, "organizations", "ListAccounts"),
        "{calls:?}\n{stderr}"
    );
    assert!(stderr.contains("caller account:123456789012"), "{stderr}");
}

/// `cache.dynamodb_profile` chooses the table's credentials even when keys are in the
/// environment, so jobs of different accounts share one table.
#[test]
fn the_table_profile_beats_environment_keys() {
    let (mut t, _other) = two_accounts();
    t.ok(&["config", "set", "cache.dynamodb_profile", "other"]);
    let table = format!("callers-{}", t.account);
    t.set_var("AWS_ACCESS_KEY_ID", "AKIDENVIRONMENT");
    t.set_var("AWS_SECRET_ACCESS_KEY", "s");
    let (_, calls, stderr) = run(&t, &["cache", "dynamodb", "create-table"]);
    assert!(
        sent(&calls, "dynamodb", "CreateTable"),
        "{calls:?}\n{stderr}"
    );
    let tables = |profile: &str, env_keys: bool| -> Vec<String> {
        let mut vars = t.vars.clone();
        if !env_keys {
            vars.remove("AWS_ACCESS_KEY_ID");
            vars.remove("AWS_SECRET_ACCESS_KEY");
        }
        let reply = session(vars, profile, &t.home.join(format!("keys-{profile}")))
            .call(Service::DynamoDb, "ListTables", &serde_json::json!({}))
            .unwrap();
        reply["TableNames"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect()
    };
    assert!(
        tables("other", false).contains(&table),
        "not in the table profile's account"
    );
    assert!(
        !tables("default", true).contains(&table),
        "created with the environment keys"
    );
}

/// A library session as AWS profile `profile` of the environment `vars`.
fn session(
    vars: std::collections::BTreeMap<String, String>,
    profile: &str,
    keys: &std::path::Path,
) -> Session {
    Session::new(
        SessionSettings {
            env: Env::from_pairs(vars),
            aws_profile: profile.into(),
            profile_source: ProfileSource::Implied,
            region: Some("us-east-1".into()),
            credentials_cache_dir: keys.to_path_buf(),
            interactive: false,
        },
        Transport::new(TransportSettings::default()),
    )
}

/// Which AWS profile a command uses: the awsideman profile's `aws_profile`, else
/// `AWS_PROFILE` (also when a default awsideman profile is configured), else the AWS
/// profile named like the awsideman profile.
#[test]
fn aws_profile_precedence_is_what_aws_cli_users_expect() {
    let (mut t, other) = two_accounts();
    t.write(
        ".awsideman/config.yaml",
        "default_profile: default\nprofiles:\n  default:\n    region: us-east-1\n  \
         pinned:\n    region: us-east-1\n    aws_profile: default\n",
    );
    let caller = |t: &TestEnv, args: &[&str]| {
        let (_, _, stderr) = run(t, args);
        stderr
            .lines()
            .find_map(|l| l.strip_prefix("awsideman: debug: caller "))
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .unwrap_or_else(|| panic!("no caller line: {stderr}"))
    };
    let a = format!("role:arn:aws:iam::{}:role/awsideman-test", t.account);
    let b = format!("role:arn:aws:iam::{other}:role/x");
    assert_eq!(
        caller(&t, &["org", "accounts"]),
        a,
        "the same-named AWS profile"
    );
    t.set_var("AWS_PROFILE", "other");
    assert_eq!(
        caller(&t, &["org", "accounts"]),
        b,
        "AWS_PROFILE beats the name"
    );
    assert_eq!(
        caller(&t, &["--profile", "pinned", "org", "accounts"]),
        a,
        "an explicit aws_profile beats AWS_PROFILE"
    );
}
