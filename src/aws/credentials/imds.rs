//! EC2 instance metadata (IMDSv2): the credentials of the instance's IAM role.
//!
//! Every request is made once with a 1 s timeout, so a machine that is not on EC2 (a laptop,
//! a CI runner) loses at most about a second here.

use std::time::Duration;

use serde_json::Value;

use super::Credentials;
use super::container::parse_reply;
use crate::aws::http::{HttpRequest, HttpResponse};
use crate::aws::transport::Transport;
use crate::env::Env;

/// The default metadata address.
const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
/// The IPv6 metadata address (`AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`).
const DEFAULT_ENDPOINT_V6: &str = "http://[fd00:ec2::254]";
/// Time allowed for each request.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Lifetime asked for the session token (6 hours, the maximum).
const TOKEN_TTL_SECONDS: &str = "21600";
const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials/";

/// Whether `AWS_EC2_METADATA_DISABLED` turns the metadata service off.
pub(crate) fn is_disabled(env: &Env) -> bool {
    env.is_true("AWS_EC2_METADATA_DISABLED")
}

/// The metadata base URL: `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else the IPv4 or IPv6 default.
pub(crate) fn base_url(env: &Env) -> String {
    match env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") {
        Some(url) => url.trim().trim_end_matches('/').to_string(),
        None if env
            .get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE")
            .is_some_and(|m| m.eq_ignore_ascii_case("ipv6")) =>
        {
            DEFAULT_ENDPOINT_V6.to_string()
        }
        None => DEFAULT_ENDPOINT.to_string(),
    }
}

/// Fetches the instance role's credentials. `Err` carries why none were found (disabled,
/// not on EC2, no role, an unexpected answer) for the chain's final message.
pub(crate) fn fetch(env: &Env, transport: &Transport) -> Result<Credentials, String> {
    if is_disabled(env) {
        return Err("disabled by AWS_EC2_METADATA_DISABLED".to_string());
    }
    let base = base_url(env);
    let send = |request: HttpRequest| -> Result<HttpResponse, String> {
        let what = format!(
            "{} {}",
            request.method,
            request
                .url
                .strip_prefix(base.as_str())
                .unwrap_or(&request.url)
        );
        let outcome = transport
            .http()
            .map_err(|e| format!("no HTTP client ({})", e.message()))?
            .send(&request.timeout(TIMEOUT));
        transport.debug(|| match &outcome {
            Ok(r) => format!("imds {what} status={}", r.status),
            Err(e) => format!("imds {what}: {}", e.message),
        });
        outcome.map_err(|e| format!("no answer from {base} ({})", e.message))
    };

    let token_reply = send(
        HttpRequest::new("PUT", format!("{base}/latest/api/token"))
            .header("x-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL_SECONDS),
    )?;
    let token = match token_reply.status {
        200 => Some(
            String::from_utf8_lossy(&token_reply.body)
                .trim()
                .to_string(),
        ),
        403..=405 if !env.is_true("AWS_EC2_METADATA_V1_DISABLED") => None,
        status => return Err(format!("{base} refused a session token (HTTP {status})")),
    };
    let get = |path: &str| {
        let mut request = HttpRequest::new("GET", format!("{base}{path}"));
        if let Some(token) = &token {
            request = request.header("x-aws-ec2-metadata-token", token.as_str());
        }
        send(request)
    };

    let roles = get(CREDENTIALS_PATH)?;
    if roles.status == 404 {
        return Err("no IAM role is attached to this instance".to_string());
    }
    if !roles.is_success() {
        return Err(format!(
            "listing the instance role answered HTTP {}",
            roles.status
        ));
    }
    let roles_text = String::from_utf8_lossy(&roles.body);
    let role = roles_text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .ok_or("no IAM role is attached to this instance")?;
    if role.contains(['/', '?', '#', '%']) {
        return Err("the instance role name is not usable".to_string());
    }

    let reply = get(&format!("{CREDENTIALS_PATH}{role}"))?;
    if !reply.is_success() {
        return Err(format!(
            "reading the credentials of role {role} answered HTTP {}",
            reply.status
        ));
    }
    let status = serde_json::from_slice::<Value>(&reply.body)
        .ok()
        .and_then(|v| v.get("Code").and_then(Value::as_str).map(str::to_string));
    if let Some(code) = status.filter(|c| c != "Success") {
        return Err(format!(
            "the credentials of role {role} are not available ({code})"
        ));
    }
    parse_reply(&reply.body)
        .map_err(|what| format!("unreadable credentials of role {role} ({what})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::credentials::test_support::{Fixture, transport};
    use std::time::Instant;

    const CREDS: &str = r#"{"Code":"Success","LastUpdated":"2026-11-24T20:00:00Z","Type":"AWS-HMAC",
        "AccessKeyId":"ASIAIMDS","SecretAccessKey":"s","Token":"t","Expiration":"2026-11-24T21:00:00Z"}"#;

    fn imds(v1_only: bool, role: Option<&'static str>) -> Fixture {
        Fixture::serve(move |r| {
            let authorized = r.header("x-aws-ec2-metadata-token") == Some("TOKEN");
            match (r.method.as_str(), r.path.as_str()) {
                ("PUT", "/latest/api/token") if v1_only => (403, "text/plain", String::new()),
                ("PUT", "/latest/api/token") => {
                    assert_eq!(
                        r.header("x-aws-ec2-metadata-token-ttl-seconds"),
                        Some("21600")
                    );
                    (200, "text/plain", "TOKEN".to_string())
                }
                _ if !v1_only && !authorized => (401, "text/plain", String::new()),
                ("GET", CREDENTIALS_PATH) => match role {
                    Some(role) => (200, "text/plain", format!("{role}\n")),
                    None => (404, "text/plain", String::new()),
                },
                ("GET", path) if role.is_some_and(|r| path == format!("{CREDENTIALS_PATH}{r}")) => {
                    (200, "application/json", CREDS.to_string())
                }
                _ => (404, "text/plain", String::new()),
            }
        })
    }

    #[test]
    fn imdsv2_flow() {
        let fixture = imds(false, Some("web-role"));
        let env = Env::from_pairs([("AWS_EC2_METADATA_SERVICE_ENDPOINT", fixture.url.as_str())]);
        let c = fetch(&env, &transport()).unwrap();
        assert_eq!(c.access_key_id, "ASIAIMDS");
        assert!(c.expires_at.is_some());
        let paths: Vec<_> = fixture
            .requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert_eq!(
            paths,
            [
                "PUT /latest/api/token",
                "GET /latest/meta-data/iam/security-credentials/",
                "GET /latest/meta-data/iam/security-credentials/web-role"
            ]
        );
    }

    #[test]
    fn no_role_and_v1_fallback() {
        let fixture = imds(false, None);
        let env = Env::from_pairs([("AWS_EC2_METADATA_SERVICE_ENDPOINT", fixture.url.as_str())]);
        assert_eq!(
            fetch(&env, &transport()).unwrap_err(),
            "no IAM role is attached to this instance"
        );
        let fixture = imds(true, Some("r"));
        let mut env =
            Env::from_pairs([("AWS_EC2_METADATA_SERVICE_ENDPOINT", fixture.url.as_str())]);
        assert_eq!(fetch(&env, &transport()).unwrap().access_key_id, "ASIAIMDS");
        env.set("AWS_EC2_METADATA_V1_DISABLED", "true");
        assert!(fetch(&env, &transport()).unwrap_err().contains("HTTP 403"));
    }

    #[test]
    fn disabled_and_absent_are_quick() {
        let env = Env::from_pairs([("AWS_EC2_METADATA_DISABLED", "true")]);
        assert!(fetch(&env, &transport()).unwrap_err().contains("disabled"));

        // A closed loopback port: refused at once, one attempt.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let env = Env::from_pairs([("AWS_EC2_METADATA_SERVICE_ENDPOINT", url.as_str())]);
        let started = Instant::now();
        assert!(
            fetch(&env, &transport())
                .unwrap_err()
                .starts_with("no answer from")
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn endpoint_selection() {
        assert_eq!(base_url(&Env::default()), DEFAULT_ENDPOINT);
        let env = Env::from_pairs([("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6")]);
        assert_eq!(base_url(&env), DEFAULT_ENDPOINT_V6);
        let env = Env::from_pairs([("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://x:1/")]);
        assert_eq!(base_url(&env), "http://x:1");
    }
}
