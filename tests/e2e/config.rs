//! `config` and `profile`: the file, its validation, precedence and atomic writes.

use crate::common::{TestEnv, mode};

#[test]
fn set_get_show_and_keep_unknown_sections() {
    let t = TestEnv::new();
    t.write(
        ".awsideman/config.yaml",
        "default_profile: prod\nprofiles:\n  prod:\n    region: eu-west-1\nbackup:\n  keep: 7\n  targets: [a, b]\n",
    );
    t.ok(&["config", "set", "cache.default_ttl", "7200"]);
    t.ok(&["config", "set", "cache.backend_type=hybrid"]);
    assert_eq!(
        t.ok(&["-o", "text", "config", "get", "cache.default_ttl"])
            .trim(),
        "7200"
    );
    assert_eq!(
        t.json(&["config", "get", "cache.default_ttl"])["value"],
        7200
    );
    let doc = t.json(&["config", "show"]);
    assert_eq!(doc["cache"]["default_ttl"], 7200);
    assert_eq!(doc["cache"]["backend_type"], "hybrid");
    assert_eq!(doc["backup"]["keep"], 7, "unknown sections are preserved");
    assert_eq!(doc["backup"]["targets"][1], "b");
    assert_eq!(doc["profiles"]["prod"]["region"], "eu-west-1");
    assert_eq!(mode(&t.config_dir().join("config.yaml")), 0o600);
    // Unset key: exit 1, like git config.
    t.fails(1, &["config", "get", "cache.dynamodb_region"]);
}

#[test]
fn invalid_values_exit_2_naming_the_key() {
    let t = TestEnv::new();
    let err = t.fails(2, &["config", "set", "cache.backend_type", "s3"]);
    assert!(
        err.contains("cache.backend_type") && err.contains("dynamodb"),
        "{err}"
    );
    let err = t.fails(2, &["config", "set", "cache.default_ttl", "-5"]);
    assert!(err.contains("cache.default_ttl"), "{err}");
    assert!(
        !t.config_dir().join("config.yaml").exists(),
        "nothing written"
    );

    t.write(".awsideman/config.yaml", "cache:\n  default_ttl: forever\n");
    let err = t.fails(2, &["config", "validate"]);
    assert!(err.contains("cache.default_ttl"), "{err}");
    // Every command refuses a broken config the same way.
    let err = t.fails(2, &["config", "show", "--effective"]);
    assert!(err.contains("cache.default_ttl"), "{err}");

    t.write(".awsideman/config.yaml", "cache: [unclosed\n");
    let err = t.fails(2, &["config", "validate"]);
    assert!(err.contains("config.yaml"), "{err}");
}

#[test]
fn env_beats_profile_block_beats_cache_block() {
    let mut t = TestEnv::new();
    t.write(
        ".awsideman/config.yaml",
        "default_profile: prod\nprofiles:\n  prod: {region: us-east-1}\ncache:\n  backend_type: file\n  default_ttl: 100\n  profiles:\n    prod: {backend_type: dynamodb, default_ttl: 200}\n",
    );
    let eff = t.json(&["config", "show", "--effective"]);
    assert_eq!(eff["cache"]["backend_type"], "dynamodb");
    assert_eq!(eff["cache"]["default_ttl"], 200);
    t.set_var("AWSIDEMAN_CACHE_BACKEND", "hybrid");
    t.set_var("AWSIDEMAN_CACHE_TTL_DEFAULT", "300");
    let eff = t.json(&["config", "show", "--effective"]);
    assert_eq!(eff["cache"]["backend_type"], "hybrid");
    assert_eq!(eff["cache"]["default_ttl"], 300);
    // --no-cache beats everything.
    assert_eq!(
        t.json(&["--no-cache", "config", "show", "--effective"])["cache"]["enabled"],
        false
    );
    t.set_var("AWSIDEMAN_CACHE_BACKEND", "redis");
    let err = t.fails(2, &["config", "show", "--effective"]);
    assert!(err.contains("AWSIDEMAN_CACHE_BACKEND"), "{err}");
}

#[test]
fn set_says_when_a_profile_value_still_wins() {
    let t = TestEnv::new();
    t.write(
        ".awsideman/config.yaml",
        "default_profile: prod\nprofiles:\n  prod: {region: us-east-1}\ncache:\n  default_ttl: 100\n  profiles:\n    prod: {default_ttl: 200}\n    dev: {backend_type: file}\n",
    );
    let set = t.json(&["config", "set", "cache.default_ttl", "300"]);
    assert_eq!(set["value"], 300);
    assert_eq!(
        set["shadowedBy"],
        serde_json::json!(["cache.profiles.prod.default_ttl"])
    );
    let said = t.ok(&["-o", "table", "config", "set", "cache.default_ttl", "400"]);
    assert!(
        said.contains("note: cache.profiles.prod.default_ttl (profile prod) still wins"),
        "{said}"
    );
    // A key no profile overrides: nothing to say.
    let plain = t.json(&["config", "set", "cache.enabled", "true"]);
    assert_eq!(plain["shadowedBy"], serde_json::json!([]));
    let said = t.ok(&["-o", "table", "config", "set", "cache.enabled", "true"]);
    assert!(!said.contains("note"), "{said}");
}

#[test]
fn config_dir_override() {
    let mut t = TestEnv::new();
    let dir = t.home.join("elsewhere");
    t.set_var("AWSIDEMAN_CONFIG_DIR", dir.display().to_string());
    t.ok(&["config", "set", "cache.enabled", "false"]);
    assert!(dir.join("config.yaml").exists());
    assert_eq!(mode(&dir), 0o700);
}

#[test]
fn profiles_lifecycle() {
    let t = TestEnv::new();
    t.ok(&["profile", "add", "prod", "--region", "us-east-1"]);
    t.ok(&[
        "profile",
        "add",
        "dev",
        "--region",
        "eu-west-1",
        "--aws-profile",
        "dev-sso",
    ]);
    let list = t.json(&["profile", "list"]);
    assert_eq!(
        list["defaultProfile"], "prod",
        "the first profile becomes the default"
    );
    assert_eq!(list["profiles"].as_array().unwrap().len(), 2);
    t.fails(2, &["profile", "add", "prod", "--region", "us-east-1"]);
    t.ok(&["profile", "update", "dev", "--region", "eu-central-1"]);
    t.ok(&["profile", "set-default", "dev"]);
    let list = t.json(&["profile", "list"]);
    assert_eq!(list["defaultProfile"], "dev");
    let dev = list["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "dev")
        .unwrap()
        .clone();
    assert_eq!(dev["region"], "eu-central-1");
    assert_eq!(dev["aws_profile"], "dev-sso");
    assert_eq!(dev["default"], true);
    let refused = t.fails(2, &["profile", "remove", "dev"]);
    assert!(refused.contains("--yes"), "{refused}");
    t.ok(&["profile", "remove", "dev", "--yes"]);
    let list = t.json(&["profile", "list"]);
    assert_eq!(list["profiles"].as_array().unwrap().len(), 1);
    let err = t.fails(1, &["profile", "remove", "nope"]);
    assert!(err.contains("nope"), "{err}");
    t.fails(2, &["profile", "add", "bad name", "--region", "us-east-1"]);
}

/// Help, version, completion scripts and `config path` need no configuration: they work
/// with an invalid or unsafe `config.yaml`; `config validate` reports the problem (exit 2)
/// and so does every command that needs the file.
#[test]
fn special_commands_work_with_an_invalid_or_unsafe_config() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestEnv::new();
    t.write(".awsideman/config.yaml", "profiles: [oops\n  bad: : :\n");
    let file = t.config_dir().join("config.yaml");
    for unsafe_mode in [false, true] {
        if unsafe_mode {
            t.write(".awsideman/config.yaml", "profiles: {}\n");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
            std::fs::set_permissions(t.config_dir(), std::fs::Permissions::from_mode(0o777))
                .unwrap();
        }
        for args in [
            &["--help"][..],
            &["--version"],
            &["user", "--help"],
            &["completion", "bash"],
            &["completion", "zsh"],
            &["config", "path"],
        ] {
            let out = t.run(args);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{args:?} (unsafe: {unsafe_mode}): {}",
                crate::common::text(&out.stderr)
            );
        }
        let path = t.json(&["config", "path"]);
        assert_eq!(path["exists"], true);
        assert_eq!(path["path"], file.display().to_string());
    }
    t.write(".awsideman/config.yaml", "profiles: [oops\n  bad: : :\n");
    let err = t.fails(2, &["config", "validate"]);
    assert!(err.contains("invalid YAML"), "{err}");
    let err = t.fails(2, &["user", "list"]);
    assert!(err.contains("config.yaml"), "{err}");
}

/// The errors a new user meets say what to do next: no configuration yet, no such profile
/// (naming the ones there are), no credentials (naming the AWS profiles that exist and the
/// `profile update --aws-profile` fix).
#[test]
fn setup_mistakes_name_their_fix() {
    let t = TestEnv::new();
    t.discover();
    let err = t.fails(2, &["--profile", "nosuch", "user", "list"]);
    assert!(
        err.contains("no awsideman profile \"nosuch\" (profiles: default)"),
        "{err}"
    );
    // Credentials under another AWS profile name than the awsideman profile's.
    t.ok(&["profile", "add", "prod", "--region", "us-east-1"]);
    let err = t.fails(2, &["--profile", "prod", "sso", "discover"]);
    assert!(
        err.contains("AWS profile \"prod\" not found")
            && err.contains("AWS profiles that exist: base, default")
            && err.contains("awsideman profile update NAME --aws-profile base"),
        "{err}"
    );
}

/// The default output: `--output` > `AWSIDEMAN_OUTPUT` > `output` in the configuration >
/// table on a terminal, JSON otherwise.
#[test]
fn the_default_output_can_be_chosen() {
    let mut t = TestEnv::new();
    t.discover();
    t.ok(&["config", "set", "output", "text"]);
    let text_out = t.ok(&["profile", "list"]);
    assert!(text_out.starts_with("Name\t"), "{text_out}");
    t.set_var("AWSIDEMAN_OUTPUT", "csv");
    let csv = t.ok(&["profile", "list"]);
    assert!(csv.starts_with("Name,"), "{csv}");
    let json = t.ok(&["--output", "json", "profile", "list"]);
    assert!(json.starts_with('{'), "{json}");
    t.set_var("AWSIDEMAN_OUTPUT", "xml");
    let err = t.fails(2, &["profile", "list"]);
    assert!(err.contains("AWSIDEMAN_OUTPUT"), "{err}");
    t.remove_var("AWSIDEMAN_OUTPUT");
    let err = t.fails(2, &["config", "set", "output", "yaml"]);
    assert!(err.contains("output"), "{err}");
}

/// A CI job has no configuration file: with exactly one instance in the account, the first
/// command finds it with one ListInstances (cached on this machine for the caller, so the
/// next command asks nothing more); AWSIDEMAN_SSO_INSTANCE_ARN and
/// AWSIDEMAN_IDENTITY_STORE_ID name it instead (no ListInstances at all) and win over the
/// profile's values; a value that cannot be one is a configuration error (exit 2); a
/// profile name the configuration does not know is still an error, never discovered.
#[test]
fn without_a_configuration_file_the_instance_is_found_or_named_by_the_environment() {
    let configured = TestEnv::new();
    let instance = configured.instance();
    configured.seed_user(&instance.store, "alice", "Alice", "Liddell");

    let mut ci = configured.sibling();
    assert!(!ci.config_dir().join("config.yaml").exists());
    let list_instances = |stderr: &str| {
        crate::common::requests(stderr)
            .iter()
            .filter(|(_, op)| op == "ListInstances")
            .count()
    };
    let first = ci.run(&["--debug", "--output", "json", "user", "list"]);
    let stderr = crate::common::text(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(crate::common::text(&first.stdout).contains("alice"));
    assert_eq!(list_instances(&stderr), 1, "{stderr}");
    let second = ci.run(&["--debug", "--output", "json", "group", "list"]);
    let stderr = crate::common::text(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert_eq!(list_instances(&stderr), 0, "remembered: {stderr}");
    assert!(
        !ci.config_dir().join("config.yaml").exists(),
        "nothing written"
    );

    let mut named = configured.sibling();
    named.set_var("AWSIDEMAN_SSO_INSTANCE_ARN", instance.arn.clone());
    named.set_var("AWSIDEMAN_IDENTITY_STORE_ID", instance.store.clone());
    let out = named.run(&["--debug", "--output", "json", "user", "list"]);
    let stderr = crate::common::text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(crate::common::text(&out.stdout).contains("alice"));
    assert_eq!(list_instances(&stderr), 0, "{stderr}");

    ci.set_var("AWSIDEMAN_IDENTITY_STORE_ID", "d-123;rm -rf");
    let bad = ci.fails(2, &["user", "list"]);
    assert!(bad.contains("AWSIDEMAN_IDENTITY_STORE_ID"), "{bad}");

    // A profile that is not in a configuration that has others is a typo.
    let typo = configured.fails(2, &["--profile", "prdo", "user", "list"]);
    assert!(typo.contains("no awsideman profile \"prdo\""), "{typo}");
}

/// Started with stdout closed, a command that writes the configuration succeeds and the
/// file holds only YAML: whatever descriptor the file was given, the report never went
/// into it.
#[test]
fn closed_standard_descriptors_never_become_files() {
    let t = TestEnv::new();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" \"$@\" >&-")
        .arg(crate::common::binary())
        .args(["profile", "add", "prod", "--region", "us-east-1"])
        .env_clear()
        .envs(&t.vars)
        .current_dir(&t.home)
        .output()
        .expect("run awsideman");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = t.json(&["profile", "list"]);
    assert_eq!(list["profiles"][0]["name"], "prod", "{list}");
    let text = std::fs::read_to_string(t.home.join(".awsideman/config.yaml")).unwrap();
    assert!(!text.contains("prod\"") && text.contains("prod:"), "{text}");
}
