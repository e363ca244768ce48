//! Input limits from the AWS service models, checked before the first request: each is a
//! usage error (exit 2) naming the flag and the limit, with no request sent; and the table
//! agrees with botocore's models (read with the test venv's Python).

use awsideman::testing::{Counted, INPUT_LIMITS};

use crate::common::{TestEnv, botocore, requests, text};

/// The arguments of `command` that are valid except for `flag`'s `value` (repeated
/// `times`); positionals name things that need not exist (nothing is sent anyway).
fn command_line(command: &str, flag: &str, value: &str, times: usize) -> Vec<String> {
    let mut args: Vec<String> = command.split(' ').map(str::to_string).collect();
    let needed: &[(&str, &str)] = match command {
        "user create" => &[
            ("username", "limit"),
            ("display-name", "Limit Test"),
            ("email", "limit@example.com"),
        ],
        "group create" => &[("name", "limit")],
        "permission-set create" => &[("name", "Limit")],
        "permission-set clone" => &[("to", "Copy")],
        _ => &[],
    };
    if command.ends_with("update") || command.ends_with("clone") {
        args.push("someone".into());
    }
    for (name, default) in needed {
        if *name != flag {
            args.extend([format!("--{name}"), default.to_string()]);
        }
    }
    for _ in 0..times {
        args.extend([format!("--{flag}"), value.to_string()]);
    }
    args
}

#[test]
fn every_limit_is_a_usage_error_before_any_request() {
    let t = TestEnv::new();
    t.instance();
    for limit in INPUT_LIMITS {
        let cases: Vec<(String, usize)> = match limit.counted {
            Counted::Characters => {
                let mut cases = vec![("x".repeat(limit.max + 1), 1)];
                if limit.min > 0 {
                    cases.push((String::new(), 1));
                }
                cases
            }
            Counted::Values => vec![("a@example.com".into(), limit.max + 1)],
        };
        for (value, times) in cases {
            let args = command_line(limit.command, limit.flag, &value, times);
            let mut all = vec!["--debug".to_string()];
            all.extend(args);
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            let out = t.run(&all);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{all:?}: {stderr}");
            let error = stderr
                .lines()
                .find(|l| l.starts_with("awsideman: error:"))
                .unwrap_or("");
            assert!(
                error.contains(&format!("--{}", limit.flag))
                    && error.contains(&limit.max.to_string()),
                "{all:?}: {stderr}"
            );
            assert_eq!(requests(&stderr), Vec::<(String, String)>::new(), "{all:?}");
        }
    }
}

/// Every row's bounds are the service model's (botocore, in the test venv).
#[test]
fn the_limits_are_the_service_models() {
    let rows: Vec<String> = INPUT_LIMITS
        .iter()
        .map(|l| format!("{} {} {}", l.service, l.operation, l.member))
        .collect();
    let script = r#"
import sys, botocore.session
s = botocore.session.get_session()
for line in sys.stdin.read().splitlines():
    service, operation, member = line.split(" ")
    shape = s.get_service_model(service).operation_model(operation).input_shape
    for part in member.split("."):
        shape = shape.member if part == "[]" else shape.members[part]
    print(shape.metadata.get("min", 0), shape.metadata.get("max"))
"#;
    let models = botocore(script, &rows);
    assert_eq!(models.len(), INPUT_LIMITS.len());
    for (limit, model) in INPUT_LIMITS.iter().zip(models) {
        assert_eq!(
            model,
            format!("{} {}", limit.min, limit.max),
            "{} --{}: {} {}",
            limit.command,
            limit.flag,
            limit.operation,
            limit.member
        );
    }
}
