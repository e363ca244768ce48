//! `credential_process`: run a command and read credentials from its standard output.
//!
//! The output holds secrets, so it never appears in an error message.

use std::process::{Command, Stdio};

use serde_json::Value;

use super::Credentials;
use crate::error::{Error, Result};
use crate::rfc3339::parse_rfc3339;

/// Runs `command` through the system shell (`sh -c` / `cmd /C`) with stdin closed and
/// stderr passed through, and parses what it prints. `profile` names the AWS profile in errors.
pub(crate) fn run(command: &str, profile: &str) -> Result<Credentials> {
    let output = shell(command)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped())
        .output()
        .map_err(|e| {
            Error::runtime(format!(
                "credential_process of AWS profile \"{profile}\": cannot run the command: {e}"
            ))
        })?;
    if !output.status.success() {
        let how = output.status.code().map_or_else(
            || "was killed by a signal".to_string(),
            |c| format!("exited with status {c}"),
        );
        return Err(Error::runtime(format!(
            "credential_process of AWS profile \"{profile}\" {how}"
        )));
    }
    parse_output(&output.stdout, profile)
}

#[cfg(unix)]
fn shell(command: &str) -> Command {
    let mut shell = Command::new("sh");
    shell.arg("-c").arg(command);
    shell
}

#[cfg(windows)]
fn shell(command: &str) -> Command {
    let mut shell = Command::new("cmd");
    shell.arg("/C").arg(command);
    shell
}

/// Parses `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken"?, "Expiration"?}`.
pub(crate) fn parse_output(stdout: &[u8], profile: &str) -> Result<Credentials> {
    let bad = |what: &str| {
        Error::runtime(format!(
            "credential_process of AWS profile \"{profile}\": {what}"
        ))
    };
    let value: Value = serde_json::from_slice(stdout).map_err(|_| {
        bad("the output is not a JSON object (output not shown: it may hold secrets)")
    })?;
    if !value.is_object() {
        return Err(bad("the output is not a JSON object"));
    }
    match value.get("Version") {
        Some(v) if v.as_u64() == Some(1) => {}
        Some(_) => return Err(bad("unsupported \"Version\" (only 1 is supported)")),
        None => return Err(bad("the output has no \"Version\" (expected 1)")),
    }
    let text = |name: &str| -> Result<Option<String>> {
        match value.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(&format!("\"{name}\" is not a string"))),
        }
    };
    let access_key_id = text("AccessKeyId")?.ok_or_else(|| bad("no \"AccessKeyId\""))?;
    let secret_access_key =
        text("SecretAccessKey")?.ok_or_else(|| bad("no \"SecretAccessKey\""))?;
    let mut credentials = Credentials::new(access_key_id, secret_access_key, text("SessionToken")?);
    if let Some(expiration) = text("Expiration")? {
        credentials.expires_at = Some(parse_rfc3339(&expiration).ok_or_else(|| {
            bad(&format!(
                "\"Expiration\" {expiration:?} is not an RFC 3339 time"
            ))
        })?);
    }
    Ok(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn parses_full_and_minimal_output() {
        let c = parse_output(
            br#"{"Version":1,"AccessKeyId":"ASIA1","SecretAccessKey":"s","SessionToken":"t",
                "Expiration":"2026-11-24T21:00:00Z"}"#,
            "p",
        )
        .unwrap();
        assert_eq!(c.access_key_id, "ASIA1");
        assert_eq!(c.session_token.as_deref(), Some("t"));
        assert_eq!(
            c.expires_at,
            Some(UNIX_EPOCH + Duration::from_secs(1_795_554_000))
        );
        let c = parse_output(
            br#"{"Version":1,"AccessKeyId":"AKIA1","SecretAccessKey":"s"}"#,
            "p",
        )
        .unwrap();
        assert_eq!(c.session_token, None);
        assert_eq!(c.expires_at, None);
    }

    #[test]
    fn bad_output_names_the_profile_but_not_the_output() {
        for (out, want) in [
            (&b"not json SECRETSTUFF"[..], "not a JSON object"),
            (br#"["SECRETSTUFF"]"#, "not a JSON object"),
            (br#"{"AccessKeyId":"SECRETSTUFF"}"#, "no \"Version\""),
            (br#"{"Version":2,"AccessKeyId":"SECRETSTUFF"}"#, "unsupported"),
            (br#"{"Version":1,"SecretAccessKey":"SECRETSTUFF"}"#, "no \"AccessKeyId\""),
            (br#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":7}"#, "not a string"),
            (
                br#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"SECRETSTUFF","Expiration":"soon"}"#,
                "not an RFC 3339 time",
            ),
        ] {
            let e = parse_output(out, "dev").unwrap_err().to_string();
            assert!(e.starts_with("credential_process of AWS profile \"dev\": "), "{e}");
            assert!(e.contains(want), "{e}");
            assert!(!e.contains("SECRETSTUFF"), "{e}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn runs_a_real_command() {
        let command =
            r#"printf '{"Version":1,"AccessKeyId":"AKIDPROC","SecretAccessKey":"%s"}' "s3cr et""#;
        let c = run(command, "p").unwrap();
        assert_eq!(c.access_key_id, "AKIDPROC");
        assert_eq!(c.secret_access_key, "s3cr et");

        let e = run("printf 'SECRETSTUFF'; exit 3", "p")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "credential_process of AWS profile \"p\" exited with status 3"
        );
        let e = run("printf 'SECRETSTUFF'", "p").unwrap_err().to_string();
        assert!(!e.contains("SECRETSTUFF"));
        // stdin is closed: a command reading it sees end of file at once.
        let e = run("cat", "p").unwrap_err().to_string();
        assert!(e.contains("not a JSON object"), "{e}");
    }
}
