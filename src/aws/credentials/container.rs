//! Container credentials (ECS task roles, EKS Pod Identity): a local HTTP endpoint named by
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `AWS_CONTAINER_CREDENTIALS_FULL_URI`.

use std::time::Duration;

use serde_json::Value;

use super::Credentials;
use crate::aws::http::HttpRequest;
use crate::aws::transport::Transport;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsutil::read_text_at_most;
use crate::rfc3339::parse_rfc3339;

/// The ECS credentials host a relative URI is appended to.
const ECS_BASE: &str = "http://169.254.170.2";
/// Time allowed for each attempt.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts in all (the endpoint is local; failures are short).
const ATTEMPTS: u32 = 3;

/// Fetches container credentials; `Ok(None)` when no endpoint is configured.
pub(crate) fn fetch(env: &Env, transport: &Transport) -> Result<Option<Credentials>> {
    let Some(url) = endpoint_url(env)? else {
        return Ok(None);
    };
    let host = host_of(&url).to_string();
    let failed =
        |what: String| Error::runtime(format!("container credentials from {host}: {what}"));
    let mut request = HttpRequest::new("GET", url.as_str())
        .header("accept", "application/json")
        .timeout(TIMEOUT);
    if let Some(token) = authorization(env)? {
        request = request.header("authorization", token);
    }
    let mut attempt = 0;
    let response = loop {
        attempt += 1;
        match transport.http()?.send(&request) {
            Ok(response) if response.status >= 500 && attempt < ATTEMPTS => {}
            Ok(response) => break response,
            Err(e) if attempt >= ATTEMPTS => return Err(failed(e.message)),
            Err(_) => {}
        }
        transport.debug(|| format!("container credentials: retrying (attempt {attempt} failed)"));
        std::thread::sleep(Duration::from_millis(100));
    };
    transport.debug(|| format!("container credentials status={}", response.status));
    if !response.is_success() {
        let body: Option<Value> = serde_json::from_slice(&response.body).ok();
        let detail = body
            .as_ref()
            .and_then(|b| {
                let code = b.get("Code").and_then(Value::as_str);
                let message = b.get("Message").and_then(Value::as_str);
                match (code, message) {
                    (Some(c), Some(m)) => Some(format!(": {c}: {m}")),
                    (Some(c), None) => Some(format!(": {c}")),
                    (None, Some(m)) => Some(format!(": {m}")),
                    (None, None) => None,
                }
            })
            .unwrap_or_default();
        return Err(failed(format!("HTTP {}{detail}", response.status)));
    }
    parse_reply(&response.body)
        .map(Some)
        .map_err(|what| failed(format!("unreadable reply ({what})")))
}

/// The full URL to call: the relative URI on the ECS host, else the full URI (which must be
/// HTTPS or a loopback / container-agent address).
pub(crate) fn endpoint_url(env: &Env) -> Result<Option<String>> {
    if let Some(relative) = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        let relative = relative.trim();
        let separator = if relative.starts_with('/') { "" } else { "/" };
        return Ok(Some(format!("{ECS_BASE}{separator}{relative}")));
    }
    let Some(full) = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") else {
        return Ok(None);
    };
    let full = full.trim();
    if full.starts_with("https://") {
        return Ok(Some(full.to_string()));
    }
    if full.starts_with("http://") && is_allowed_http_host(host_of(full)) {
        return Ok(Some(full.to_string()));
    }
    Err(Error::config(format!(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI {full:?}: must be an https:// URL, or http:// to a \
         loopback address or the container credentials agent"
    )))
}

/// The `Authorization` value: the contents of `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`,
/// else `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
fn authorization(env: &Env) -> Result<Option<String>> {
    let token = match env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(path) => {
            let text = read_text_at_most(std::path::Path::new(path), 16 * 1024).map_err(|e| {
                Error::runtime(format!(
                    "reading AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {path}: {e}"
                ))
            })?;
            Some(text.trim().to_string())
        }
        None => env
            .get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
            .map(|t| t.trim().to_string()),
    };
    match token {
        Some(t) if t.contains(['\r', '\n']) => Err(Error::config(
            "the container authorization token contains a line break",
        )),
        Some(t) if t.is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// The host (without port) of an `http(s)://` URL, brackets removed from IPv6 literals.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(inner) = authority.strip_prefix('[') {
        return inner.split(']').next().unwrap_or(inner);
    }
    authority.split(':').next().unwrap_or(authority)
}

fn is_allowed_http_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            ip.is_loopback()
                || ip.octets() == [169, 254, 170, 2]
                || ip.octets() == [169, 254, 170, 23]
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.segments() == [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x23]
        }
        Err(_) => false,
    }
}

/// Parses `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}` (also IMDS's shape).
pub(crate) fn parse_reply(body: &[u8]) -> std::result::Result<Credentials, String> {
    let value: Value = serde_json::from_slice(body).map_err(|_| "not JSON".to_string())?;
    let text = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let mut credentials = Credentials::new(
        text("AccessKeyId").ok_or("no AccessKeyId")?,
        text("SecretAccessKey").ok_or("no SecretAccessKey")?,
        text("Token").map(str::to_string),
    );
    if let Some(expiration) = text("Expiration") {
        credentials.expires_at = Some(parse_rfc3339(expiration).ok_or("bad Expiration")?);
    }
    Ok(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::credentials::test_support::{Fixture, TempDir, transport};

    const REPLY: &str = r#"{"AccessKeyId":"ASIACONT","SecretAccessKey":"s","Token":"t",
        "Expiration":"2026-11-24T21:00:00Z","RoleArn":"arn:aws:iam::1:role/task"}"#;

    #[test]
    fn urls_and_allowed_hosts() {
        let env = Env::from_pairs([(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "/v2/credentials/abc",
        )]);
        assert_eq!(
            endpoint_url(&env).unwrap().as_deref(),
            Some("http://169.254.170.2/v2/credentials/abc")
        );
        for ok in [
            "http://127.0.0.1:8080/creds",
            "http://localhost/x",
            "http://[::1]:1/x",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
            "https://example.com/creds",
        ] {
            let env = Env::from_pairs([("AWS_CONTAINER_CREDENTIALS_FULL_URI", ok)]);
            assert_eq!(endpoint_url(&env).unwrap().as_deref(), Some(ok));
        }
        for bad in [
            "http://example.com/x",
            "http://10.0.0.1/x",
            "ftp://127.0.0.1/x",
        ] {
            let env = Env::from_pairs([("AWS_CONTAINER_CREDENTIALS_FULL_URI", bad)]);
            assert!(endpoint_url(&env).is_err(), "{bad}");
        }
        assert_eq!(endpoint_url(&Env::default()).unwrap(), None);
    }

    #[test]
    fn fetches_with_a_token_from_a_file() {
        let fixture = Fixture::serve(|r| match r.header("authorization") {
            Some("Bearer secret-token") => (200, "application/json", REPLY.to_string()),
            _ => (
                401,
                "application/json",
                r#"{"Code":"AccessDenied","Message":"bad token"}"#.to_string(),
            ),
        });
        let dir = TempDir::new("container-token");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "Bearer secret-token\n").unwrap();
        let url = format!("{}/creds", fixture.url);
        let env = Env::from_pairs([
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", url.as_str()),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                token_file.to_str().unwrap(),
            ),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored"),
        ]);
        let c = fetch(&env, &transport()).unwrap().unwrap();
        assert_eq!(c.access_key_id, "ASIACONT");
        assert_eq!(c.session_token.as_deref(), Some("t"));
        assert!(c.expires_at.is_some());
        assert_eq!(fixture.requests()[0].path, "/creds");

        let env = Env::from_pairs([
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", url.as_str()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong"),
        ]);
        let e = fetch(&env, &transport()).unwrap_err();
        assert!(
            e.to_string().ends_with("HTTP 401: AccessDenied: bad token"),
            "{e}"
        );
        assert!(!e.to_string().contains("/creds"), "{e}");
    }

    #[test]
    fn rejects_header_injection() {
        let env = Env::from_pairs([("AWS_CONTAINER_AUTHORIZATION_TOKEN", "a\r\nx-evil: 1")]);
        assert!(authorization(&env).is_err());
    }
}
