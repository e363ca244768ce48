//! The command line: help, version, usage errors, suggestions, the man page.

use crate::common::{TestEnv, text};
use awsideman::testing::{every_command, path_words};

#[test]
fn help_and_version_need_no_config_or_network() {
    let mut t = TestEnv::new();
    // Point AWS at nothing: help and version must not touch it.
    t.set_var("AWS_ENDPOINT_URL", "http://127.0.0.1:1");
    let help = t.ok(&["--help"]);
    for group in ["user", "sso", "profile", "config"] {
        assert!(
            help.contains(group),
            "top-level help lists {group}:\n{help}"
        );
    }
    assert!(t.ok(&["--version"]).starts_with("awsideman "));
    let user_help = t.ok(&["user", "--help"]);
    assert!(user_help.contains("list") && user_help.contains("get"));
    let cmd_help = t.ok(&["user", "get", "--help"]);
    assert!(cmd_help.contains("USER"), "{cmd_help}");
    // Help short-circuits required arguments.
    assert!(t.ok(&["profile", "add", "--help"]).contains("--region"));
    assert!(t.ok(&["help", "config", "set"]).contains("KEY"));
    assert!(
        !t.config_dir().exists(),
        "help must not create the config dir"
    );
}

#[test]
fn usage_errors_exit_2_with_suggestions() {
    let t = TestEnv::new();
    let err = t.fails(2, &["user", "lst"]);
    assert!(
        err.contains("did you mean") && err.contains("list"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    let err = t.fails(2, &["usr", "list"]);
    assert!(err.contains("user"), "{err}");
    let err = t.fails(2, &["user", "list", "--limt", "3"]);
    assert!(err.contains("--limit"), "{err}");
    let err = t.fails(2, &["--output", "xml", "user", "list"]);
    assert!(err.contains("table") && err.contains("json"), "{err}");
    let err = t.fails(2, &["user", "get"]);
    assert!(err.contains("USER"), "{err}");
    t.fails(2, &["user"]);
}

#[test]
fn global_flags_anywhere() {
    let t = TestEnv::new();
    let a = t.ok(&["config", "path", "--output", "json"]);
    let b = t.ok(&["--output", "json", "config", "path"]);
    let c = t.ok(&["config", "--output=json", "path"]);
    assert_eq!(a, b);
    assert_eq!(b, c);
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert!(
        v["path"]
            .as_str()
            .unwrap()
            .ends_with(".awsideman/config.yaml")
    );
}

#[test]
fn broken_pipe_is_quiet() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let t = TestEnv::new();
    let mut child = Command::new(crate::common::binary())
        .args(["--help"])
        .env_clear()
        .envs(&t.vars)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away at once
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status:?}, stderr {err}");
    assert!(err.is_empty(), "no message on a broken pipe: {err}");
}

#[test]
fn man_page_is_generated_from_the_command_table() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man/awsideman.1");
    let generated = awsideman::testing::man_page();
    if std::env::var_os("AWSIDEMAN_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read(&path).map(|b| text(&b)).unwrap_or_default();
    assert!(
        committed == generated,
        "man/awsideman.1 is stale: regenerate it with AWSIDEMAN_BLESS=1 ./tests/run.sh"
    );
}

#[test]
fn completion_scripts_know_every_command() {
    let t = TestEnv::new();
    for shell in ["bash", "zsh", "fish"] {
        let script = t.ok(&["--output", "text", "completion", shell]);
        for group in awsideman::testing::GROUPS {
            assert!(script.contains(group.name), "{shell} lacks {}", group.name);
        }
        for (path, command) in every_command(awsideman::testing::GROUPS) {
            let words = format!("{} {}", path_words(&path), command.name);
            assert!(script.contains(&words), "{shell} lacks {words}");
        }
        let json = t.json(&["completion", shell]);
        assert_eq!(json["shell"], shell);
    }
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_ok()
    {
        let script = t.ok(&["--output", "text", "completion", "bash"]);
        // Off a terminal (a pipe, process substitution) the script itself is printed.
        assert_eq!(t.ok(&["completion", "bash"]), script);
        let binary = crate::common::binary();
        let sourced = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source <('{}' completion bash) && complete -p awsideman",
                binary.display()
            ))
            .env("HOME", &t.home)
            .env("AWSIDEMAN_CONFIG_DIR", t.home.join(".awsideman"))
            .output()
            .unwrap();
        assert!(
            sourced.status.success() && text(&sourced.stdout).contains("awsideman"),
            "source <(awsideman completion bash): {}",
            text(&sourced.stderr)
        );
        let path = t.write("completion.bash", &script);
        let status = std::process::Command::new("bash")
            .arg("-n")
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success(), "bash -n rejects the script");
    }
}

/// Every group and command, at every depth, has help of its own: its usage path, its own
/// flags and examples for a command, its commands and groups for a group.
#[test]
fn every_level_has_its_own_help() {
    use awsideman::testing::every_group;
    let t = TestEnv::new();
    let groups = awsideman::testing::GROUPS;
    for path in every_group(groups) {
        let words = path_words(&path);
        let mut args: Vec<&str> = words.split(' ').collect();
        args.push("--help");
        let help = t.ok(&args);
        assert!(
            help.contains(&format!("Usage: awsideman {words} <COMMAND>")),
            "{words}: {help}"
        );
        let group = path.last().unwrap();
        for name in group
            .commands
            .iter()
            .map(|c| c.name)
            .chain(group.groups.iter().map(|g| g.name))
        {
            assert!(
                help.contains(&format!("\n  {name}")),
                "{words} lists {name}"
            );
        }
    }
    for (path, command) in every_command(groups) {
        let words = format!("{} {}", path_words(&path), command.name);
        let mut args: Vec<&str> = words.split(' ').collect();
        args.push("--help");
        let help = t.ok(&args);
        assert!(
            help.contains(&format!("Usage: awsideman {words}")),
            "{words}"
        );
        for flag in command.flags {
            assert!(
                help.contains(&format!("--{}", flag.long)),
                "{words} --{}",
                flag.long
            );
        }
        for example in command.examples {
            assert!(help.contains(example), "{words}: {example}");
        }
    }
    // A typo at the third level gets a suggestion from the same place as the others.
    let err = t.fails(2, &["cache", "encryption", "rotat"]);
    assert!(
        err.contains("cache encryption: unknown command \"rotat\" (did you mean \"rotate\"?)"),
        "{err}"
    );
    let err = t.fails(2, &["cache", "encryption"]);
    assert!(err.contains("missing command (status, enable"), "{err}");
}

/// The words of an example command line, shell redirections and pipes (and what follows
/// them) left out.
fn example_words(example: &str) -> Vec<String> {
    awsideman::testing::split_words(example)
        .expect("an example splits into words")
        .into_iter()
        .take_while(|word| !word.starts_with(['>', '<', '|']))
        .collect()
}

/// Every example of every command, run against moto: no runner reads an argument its table
/// entry does not declare (debug builds panic when one does), whatever the example's outcome.
#[test]
fn every_command_reads_only_the_arguments_it_declares() {
    let t = TestEnv::new();
    let instance = t.instance();
    t.seed_user(&instance.store, "alice", "Alice", "Liddell");
    let config = t.config_dir().join("config.yaml");
    let saved = std::fs::read(&config).unwrap();
    let mut ran = 0;
    for (path, command) in every_command(awsideman::testing::GROUPS) {
        for example in command.examples {
            std::fs::write(&config, &saved).unwrap();
            let words = example_words(example);
            let args: Vec<&str> = words.iter().map(String::as_str).collect();
            let out = t.run_within(std::time::Duration::from_secs(60), &args);
            let stderr = text(&out.stderr);
            assert!(
                !stderr.contains("does not declare") && out.status.code() != Some(101),
                "{} {}: {example}: {stderr}",
                path_words(&path),
                command.name
            );
            ran += 1;
        }
    }
    assert!(ran > 50, "only {ran} examples");
}
