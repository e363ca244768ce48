//! Security hardening end to end: the generated IAM policies, the permission checks of the
//! config and key files, and secret hygiene (no secret ever printed or written outside the
//! files that hold it).

use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;

use crate::common::{TestEnv, assert_success, mode, text};

/// Secret values recognisable anywhere they might leak.
const ACCESS_KEY: &str = "AKIDHYGIENETEST00001";
const SECRET_KEY: &str = "SECRETsecretSECRETsecret0123456789abcd";
const SESSION_TOKEN: &str = "TOKENtokenTOKENtoken0123456789";
const RAW_CACHE_KEY: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn actions(doc: &Value) -> Vec<String> {
    doc["Statement"][0]["Action"]
        .as_array()
        .expect("Action list")
        .iter()
        .map(|a| a.as_str().expect("action").to_string())
        .collect()
}

#[test]
fn iam_policies_are_valid_json_with_resources_substituted() {
    let t = TestEnv::new();
    t.write(
        ".awsideman/config.yaml",
        "cache:\n  dynamodb_table_name: team-cache\n  dynamodb_region: eu-west-2\n  \
         encryption_kms_key_id: arn:aws:kms:eu-west-2:123456789012:key/abcd-1234\n",
    );
    let read_only = t.json(&["iam-policy", "read-only"]);
    assert_eq!(read_only["Version"], "2012-10-17");
    assert_eq!(read_only["Statement"][0]["Resource"], "*");
    let reads = actions(&read_only);
    assert!(reads.contains(&"identitystore:ListUsers".to_string()));
    assert!(reads.contains(&"sso:ListInstances".to_string()));
    assert!(reads.contains(&"organizations:ListAccounts".to_string()));
    assert!(
        !reads
            .iter()
            .any(|a| a.contains(":Create") || a.contains(":Delete"))
    );

    let admin = actions(&t.json(&["iam-policy", "admin"]));
    assert!(admin.contains(&"identitystore:CreateUser".to_string()));
    assert!(reads.iter().all(|a| admin.contains(a)));
    // Tag writes of permission sets, which AWS also requires for CreatePermissionSet with
    // tags (permission-set clone of a tagged set); reading tags is browsing.
    for action in [
        "sso:CreatePermissionSet",
        "sso:TagResource",
        "sso:UntagResource",
    ] {
        assert!(admin.contains(&action.to_string()), "{action}: {admin:?}");
    }
    assert!(reads.contains(&"sso:ListTagsForResource".to_string()));
    assert!(!reads.iter().any(|a| a.ends_with(":TagResource")));

    let table = t.json(&["iam-policy", "cache-dynamodb", "--account", "123456789012"]);
    assert_eq!(
        table["Statement"][0]["Resource"],
        "arn:aws:dynamodb:eu-west-2:123456789012:table/team-cache"
    );
    assert!(actions(&table).contains(&"dynamodb:GetItem".to_string()));
    let any_account = t.json(&["iam-policy", "cache-dynamodb"]);
    assert_eq!(
        any_account["Statement"][0]["Resource"],
        "arn:aws:dynamodb:eu-west-2:*:table/team-cache"
    );

    let kms = t.json(&["iam-policy", "kms"]);
    assert_eq!(
        kms["Statement"][0]["Resource"],
        "arn:aws:kms:eu-west-2:123456789012:key/abcd-1234"
    );
    assert_eq!(
        actions(&kms),
        ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    );

    // Text output is the same document, indented.
    let pretty = t.ok(&["--output", "text", "iam-policy", "read-only"]);
    let parsed: Value = serde_json::from_str(&pretty).expect("text output is JSON");
    assert_eq!(parsed, read_only);

    t.fails(2, &["iam-policy", "kms", "--account", "12345"]);
}

#[test]
fn iam_policy_regions_come_from_the_profile_and_aliases_are_noted() {
    let t = TestEnv::new();
    t.write(
        ".awsideman/config.yaml",
        "cache:\n  encryption_kms_key_id: alias/awsideman\n",
    );
    // No cache.dynamodb_region: the AWS profile's region (us-east-1 in TestEnv).
    let table = t.json(&["iam-policy", "cache-dynamodb"]);
    assert_eq!(
        table["Statement"][0]["Resource"],
        "arn:aws:dynamodb:us-east-1:*:table/awsideman-cache"
    );
    let out = t.run(&["--output", "json", "iam-policy", "kms"]);
    assert_success(&out, &["iam-policy", "kms"]);
    let kms: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        kms["Statement"][0]["Resource"],
        "arn:aws:kms:us-east-1:*:key/*"
    );
    assert!(
        text(&out.stderr).contains("alias/awsideman"),
        "{}",
        text(&out.stderr)
    );
}

#[cfg(unix)]
#[test]
fn config_file_writable_by_others_is_refused_readable_is_a_warning() {
    let t = TestEnv::new();
    let path = t.write(".awsideman/config.yaml", "default_profile: dev\n");
    for mode in [0o664, 0o666, 0o620, 0o602] {
        chmod(&path, mode);
        let err = t.fails(2, &["config", "show"]);
        assert!(
            err.contains(&format!("chmod 600 {}", path.display())),
            "{err}"
        );
        assert!(err.contains(&format!("{mode:04o}")), "{err}");
    }
    chmod(&path, 0o644);
    let out = t.run(&["config", "show"]);
    assert_success(&out, &["config", "show"]);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning") && stderr.contains("chmod 600"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("chmod 600").count(),
        1,
        "warned once: {stderr}"
    );
    let quiet = t.run(&["--quiet", "config", "show"]);
    assert!(
        !text(&quiet.stderr).contains("chmod"),
        "{}",
        text(&quiet.stderr)
    );
    // Once per change of the file, not on every command.
    let again = t.run(&["config", "show"]);
    assert_success(&again, &["config", "show"]);
    assert!(
        !text(&again.stderr).contains("chmod"),
        "{}",
        text(&again.stderr)
    );
    let state = t.config_dir().join(".config-permissions-warned");
    assert_eq!(mode(&state), 0o600, "a private state file");
    // config validate reports it in its own warnings, every time.
    let validated = t.json(&["config", "validate"]);
    let warnings = validated["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("chmod 600")),
        "{validated}"
    );
    // Another mode (0640), or the file rewritten: said again, once.
    chmod(&path, 0o640);
    let changed = t.run(&["config", "show"]);
    assert!(
        text(&changed.stderr).contains("0640"),
        "{}",
        text(&changed.stderr)
    );
    assert!(!text(&t.run(&["config", "show"]).stderr).contains("chmod"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&path, "default_profile: prod\n").unwrap();
    let rewritten = t.run(&["config", "show"]);
    assert!(
        text(&rewritten.stderr).contains("chmod 600"),
        "{}",
        text(&rewritten.stderr)
    );
    chmod(&path, 0o600);
    let out = t.run(&["config", "show"]);
    assert_success(&out, &["config", "show"]);
    assert!(
        !text(&out.stderr).contains("chmod"),
        "{}",
        text(&out.stderr)
    );
}

#[cfg(unix)]
#[test]
fn key_file_readable_by_others_is_refused() {
    let mut t = TestEnv::new();
    let key_file = t.home.join("keys/cache.key");
    t.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "file");
    t.set_var("AWSIDEMAN_CACHE_KEY_FILE", key_file.display().to_string());
    t.json(&["cache", "encryption", "enable"]);
    assert_eq!(crate::common::mode(&key_file), 0o600);
    chmod(&key_file, 0o644);
    // `status` reports the refused key source (in its document); a read warns and goes to AWS.
    let out = t.run(&["cache", "encryption", "status"]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        said.contains(&format!("chmod 600 {}", key_file.display())) && said.contains("0644"),
        "{said}"
    );
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => files_under(&path, out),
            Ok(kind) if kind.is_file() => out.push(path),
            _ => {}
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn secrets_never_appear_in_output_or_files() {
    let cache_key_b64 = base64::engine::general_purpose::STANDARD.encode(RAW_CACHE_KEY);
    let mut t = TestEnv::new();
    // Seeded before the keys go into the environment (the seeding session would use them).
    t.seed_org();
    // The base credentials the role is assumed with, session token included, in the file a
    // user keeps them in; the same values in the environment, where --profile makes the AWS
    // CLI (and awsideman) ignore them: they must leak from neither.
    let credentials = t.write(
        ".aws/credentials",
        &format!(
            "[base]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n\
             aws_session_token = {SESSION_TOKEN}\n"
        ),
    );
    t.set_var("AWS_ACCESS_KEY_ID", ACCESS_KEY);
    t.set_var("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    t.set_var("AWS_SESSION_TOKEN", SESSION_TOKEN);
    t.set_var("AWSIDEMAN_CACHE_KEY_SOURCE", "env");
    t.set_var("AWSIDEMAN_CACHE_KEY", &cache_key_b64);

    let secrets: [(&str, &[u8]); 4] = [
        ("secret key", SECRET_KEY.as_bytes()),
        ("session token", SESSION_TOKEN.as_bytes()),
        ("cache key", RAW_CACHE_KEY),
        ("cache key (base64)", cache_key_b64.as_bytes()),
    ];
    let check = |what: &str, bytes: &[u8]| {
        for (name, secret) in secrets {
            assert!(!contains(bytes, secret), "the {name} appears in {what}");
        }
    };
    let run = |args: &[&str]| -> Value {
        let mut all = vec!["--debug", "--profile", "default", "--output", "json"];
        all.extend_from_slice(args);
        let out = t.run(&all);
        assert_success(&out, args);
        check(&format!("stdout of {args:?}"), &out.stdout);
        check(&format!("stderr of {args:?}"), &out.stderr);
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    };

    run(&["cache", "encryption", "enable"]);
    run(&["sso", "discover"]);
    run(&["user", "list"]);
    run(&[
        "user",
        "create",
        "--username",
        "hygiene",
        "--display-name",
        "Hy Giene",
        "--email",
        "hy@example.com",
    ]);
    run(&["user", "get", "hygiene"]);
    run(&["user", "list"]);
    run(&["group", "list"]);
    run(&["group", "create", "--name", "cleaners"]);
    run(&["group", "add-member", "cleaners", "hygiene"]);
    run(&["permission-set", "list"]);
    run(&["permission-set", "create", "--name", "Tidy"]);
    run(&["org", "tree"]);
    run(&["assignment", "list"]);
    run(&["cache", "status"]);
    run(&["cache", "inspect"]);
    run(&["cache", "warm", "user list", "group list"]);
    run(&["cache", "encryption", "status"]);
    run(&["config", "show", "--effective"]);
    run(&["profile", "list"]);

    // The one place the key may appear: export-key, on stdout only.
    let out = t.run(&[
        "--debug",
        "--profile",
        "default",
        "cache",
        "encryption",
        "export-key",
    ]);
    assert_success(&out, &["cache", "encryption", "export-key"]);
    check("stderr of export-key", &out.stderr);

    let mut files = Vec::new();
    files_under(&t.home, &mut files);
    assert!(files.len() > 3, "the commands wrote files: {files:?}");
    for file in files.iter().filter(|f| **f != credentials) {
        let bytes = std::fs::read(file).expect("read file");
        check(&file.display().to_string(), &bytes);
    }
}
