//! The credential chain, as the binary uses it against moto.

use crate::common::{TestEnv, requests, text};

#[test]
fn assumed_role_credentials_are_cached_on_disk() {
    let t = TestEnv::new();
    let first = t.run(&["--debug", "--output", "json", "sso", "discover"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let calls = requests(&text(&first.stderr));
    assert!(
        calls.contains(&("sts".into(), "AssumeRole".into())),
        "{calls:?}"
    );
    // --no-cache: the answer itself would come from the response cache.
    let second = t.run(&[
        "--debug",
        "--no-cache",
        "--output",
        "json",
        "sso",
        "discover",
    ]);
    assert!(second.status.success(), "{}", text(&second.stderr));
    let calls = requests(&text(&second.stderr));
    assert!(
        !calls.iter().any(|(s, _)| s == "sts"),
        "second run reuses: {calls:?}"
    );
    assert_eq!(
        calls,
        [("sso-admin".to_string(), "ListInstances".to_string())]
    );
    // The assumed role's account is the test's own.
    let out: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(out["Instances"][0]["OwnerAccountId"], t.account.as_str());
}

#[test]
fn static_keys_of_a_named_profile() {
    let t = TestEnv::new();
    t.write(
        ".aws/config",
        "[profile static]\nregion = eu-west-1\naws_access_key_id = AKIDSTATIC\naws_secret_access_key = s\n",
    );
    let out = t.json(&["--profile", "static", "sso", "discover"]);
    assert_eq!(out["profile"], "static");
    let info = t.json(&["--profile", "static", "sso", "info"]);
    assert_eq!(info["region"], "eu-west-1");
}

#[test]
fn credential_process() {
    let t = TestEnv::new();
    let marker = t.home.join("process-ran");
    let script = t.write(
        "bin/creds.sh",
        &format!(
            "#!/bin/sh\ntouch '{}'\nprintf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"AKIDPROCESS\", \"SecretAccessKey\": \"s\"}}'\n",
            marker.display()
        ),
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    t.write(
        ".aws/config",
        &format!(
            "[profile proc]\nregion = us-west-2\ncredential_process = {}\n",
            script.display()
        ),
    );
    let out = t.json(&["--profile", "proc", "sso", "discover"]);
    assert_eq!(out["saved"], true);
    assert!(marker.exists(), "credential_process ran");
}

#[test]
fn environment_keys() {
    let mut t = TestEnv::new();
    std::fs::remove_dir_all(t.home.join(".aws")).unwrap();
    t.set_var("AWS_ACCESS_KEY_ID", "AKIDENV");
    t.set_var("AWS_SECRET_ACCESS_KEY", "s");
    t.set_var("AWS_REGION", "ap-southeast-2");
    let out = t.json(&["sso", "discover"]);
    assert_eq!(out["saved"], true);
    assert_eq!(t.json(&["sso", "info"])["region"], "ap-southeast-2");
}

#[test]
fn no_credentials_is_a_clear_error() {
    let mut t = TestEnv::new();
    std::fs::remove_dir_all(t.home.join(".aws")).unwrap();
    t.set_var("AWS_REGION", "us-east-1");
    let err = t.fails(1, &["sso", "discover"]);
    assert!(err.to_lowercase().contains("credentials"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let mut t2 = TestEnv::new();
    t2.remove_var("AWS_ENDPOINT_URL");
    t2.set_var("AWS_REGION", "us-east-1");
    // A named AWS profile that does not exist is a configuration error.
    let err = t2.fails(2, &["--profile", "missing", "sso", "discover"]);
    assert!(err.contains("\"missing\" not found"), "{err}");
}
