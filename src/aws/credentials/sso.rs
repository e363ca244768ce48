//! IAM Identity Center (SSO) profiles: the token the AWS CLI's `aws sso login` left in
//! `~/.aws/sso/cache`, its refresh, and `GetRoleCredentials` on the SSO portal.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::Credentials;
use super::disk_cache::write_private_atomically;
use super::sts::percent_encode;
use crate::aws::endpoint::{self, Endpoint, ProfileLookup};
use crate::aws::http::HttpRequest;
use crate::aws::service::Service;
use crate::aws::shared_config::SharedConfig;
use crate::aws::transport::{self, CallLabel, Transport};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsutil::read_file_at_most;
use crate::rfc3339::{format_rfc3339, from_epoch_millis, parse_rfc3339};

/// Refresh a refreshable token when it has less than this left.
const TOKEN_REFRESH_WINDOW: Duration = Duration::from_secs(10 * 60);

/// The SSO settings of one AWS profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SsoProfile {
    /// The AWS profile name (for messages).
    pub(crate) profile: String,
    /// The `[sso-session NAME]` used, or `None` for the legacy form.
    pub(crate) session_name: Option<String>,
    /// The AWS access portal URL.
    pub(crate) start_url: String,
    /// The region of Identity Center.
    pub(crate) region: String,
    /// The account to get credentials for.
    pub(crate) account_id: String,
    /// The permission set (role) name.
    pub(crate) role_name: String,
}

impl SsoProfile {
    /// Reads the SSO settings of `profile`: `None` when it has none, an error when they are
    /// incomplete or contradict their `[sso-session]`.
    pub(crate) fn from_config(shared: &SharedConfig, profile: &str) -> Result<Option<SsoProfile>> {
        let get = |key: &str| shared.profile_value(profile, key);
        let session_name = get("sso_session");
        let keys = [
            "sso_start_url",
            "sso_region",
            "sso_account_id",
            "sso_role_name",
        ];
        if session_name.is_none() && keys.iter().all(|k| get(k).is_none()) {
            return Ok(None);
        }
        let (start_url, region) = match session_name {
            Some(session) => {
                if !shared.has_sso_session(session) {
                    return Err(Error::config(format!(
                        "AWS profile \"{profile}\": sso_session \"{session}\" has no \
                         [sso-session {session}] section in {}",
                        shared.config_label()
                    )));
                }
                let pick = |key: &str| -> Result<Option<String>> {
                    let from_session = shared.sso_session_value(session, key);
                    match (get(key), from_session) {
                        (Some(mine), Some(theirs)) if mine != theirs => {
                            Err(Error::config(format!(
                                "AWS profile \"{profile}\": {key} {mine:?} differs from {theirs:?} \
                             in [sso-session {session}]"
                            )))
                        }
                        (mine, theirs) => Ok(theirs.or(mine).map(str::to_string)),
                    }
                };
                (pick("sso_start_url")?, pick("sso_region")?)
            }
            None => (
                get("sso_start_url").map(str::to_string),
                get("sso_region").map(str::to_string),
            ),
        };
        let account_id = get("sso_account_id").map(str::to_string);
        let role_name = get("sso_role_name").map(str::to_string);
        let missing: Vec<&str> = [
            ("sso_start_url", start_url.is_none()),
            ("sso_region", region.is_none()),
            ("sso_account_id", account_id.is_none()),
            ("sso_role_name", role_name.is_none()),
        ]
        .iter()
        .filter(|(_, absent)| *absent)
        .map(|(k, _)| *k)
        .collect();
        match (start_url, region, account_id, role_name) {
            (Some(start_url), Some(region), Some(account_id), Some(role_name)) => {
                Ok(Some(SsoProfile {
                    profile: profile.to_string(),
                    session_name: session_name.map(str::to_string),
                    start_url,
                    region,
                    account_id,
                    role_name,
                }))
            }
            _ => Err(Error::config(format!(
                "AWS profile \"{profile}\" is an SSO profile but lacks {}",
                missing.join(", ")
            ))),
        }
    }

    /// The name of the token cache file: SHA-1 hex of the session name (or of the start
    /// URL for legacy profiles), `.json`.
    pub(crate) fn token_file_name(&self) -> String {
        let source = self.session_name.as_deref().unwrap_or(&self.start_url);
        format!("{}.json", hex::encode(Sha1::digest(source.as_bytes())))
    }

    /// The disk cache description of the role credentials of this profile.
    pub(crate) fn cache_parts<'a>(&'a self, portal_url: &'a str) -> [&'a str; 6] {
        [
            "sso",
            &self.start_url,
            self.session_name.as_deref().unwrap_or(""),
            &self.account_id,
            &self.role_name,
            portal_url,
        ]
    }

    fn login_hint(&self) -> String {
        format!("run `aws sso login --profile {}`", self.profile)
    }
}

/// `~/.aws/sso/cache`, where the AWS CLI keeps SSO tokens.
pub(crate) fn token_cache_dir(env: &Env) -> Option<PathBuf> {
    Some(env.home()?.join(".aws").join("sso").join("cache"))
}

/// The portal endpoint of `sso`'s region (`profile` looks keys up in the AWS profile).
pub(crate) fn portal_endpoint(
    sso: &SsoProfile,
    env: &Env,
    profile: ProfileLookup<'_>,
) -> Result<Endpoint> {
    endpoint::resolve(Service::SsoPortal, &sso.region, env, profile)
}

/// A valid access token for `sso`, refreshed (and written back) when it is about to expire
/// and the AWS CLI left what a refresh needs.
pub(crate) fn access_token(
    sso: &SsoProfile,
    env: &Env,
    profile: ProfileLookup<'_>,
    transport: &Transport,
    now: SystemTime,
) -> Result<String> {
    let dir = token_cache_dir(env).ok_or_else(|| {
        Error::runtime(format!(
            "AWS profile \"{}\" uses SSO but there is no home directory to find the SSO token in",
            sso.profile
        ))
    })?;
    let path = dir.join(sso.token_file_name());
    let token = read_token_file(&path, sso)?;
    let remaining = token
        .expires_at
        .duration_since(now)
        .unwrap_or(Duration::ZERO);
    if remaining > TOKEN_REFRESH_WINDOW {
        return Ok(token.access_token);
    }
    let refreshed = match refreshable(&token.document, sso, now) {
        Some(refresh) => refresh_token(&refresh, sso, env, profile, transport, now).map(
            |(access_token, expires_at, refresh_token)| {
                let mut document = token.document.clone();
                document["accessToken"] = json!(access_token);
                document["expiresAt"] = json!(format_rfc3339(expires_at));
                if let Some(refresh_token) = refresh_token {
                    document["refreshToken"] = json!(refresh_token);
                }
                // Best effort: the new token works even when it cannot be saved.
                let _ = write_private_atomically(&path, document.to_string().as_bytes());
                transport.debug(|| format!("refreshed the SSO token of profile {}", sso.profile));
                access_token
            },
        ),
        None => Err(Error::runtime("the token cannot be refreshed")),
    };
    match refreshed {
        Ok(access_token) => Ok(access_token),
        Err(_) if remaining > Duration::ZERO => Ok(token.access_token),
        Err(e) => Err(Error::runtime(format!(
            "the SSO session of AWS profile \"{}\" has expired ({}): {}",
            sso.profile,
            e.message(),
            sso.login_hint()
        ))),
    }
}

struct TokenFile {
    document: Value,
    access_token: String,
    expires_at: SystemTime,
}

fn read_token_file(path: &Path, sso: &SsoProfile) -> Result<TokenFile> {
    let text = read_file_at_most(path, 1 << 20).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::NotFound {
            "no SSO token found".to_string()
        } else {
            format!("cannot read the SSO token {}: {e}", path.display())
        };
        Error::runtime(format!(
            "AWS profile \"{}\": {why}: {}",
            sso.profile,
            sso.login_hint()
        ))
    })?;
    let bad = || {
        Error::runtime(format!(
            "AWS profile \"{}\": the SSO token {} is unreadable: {}",
            sso.profile,
            path.display(),
            sso.login_hint()
        ))
    };
    let document: Value = serde_json::from_slice(&text).map_err(|_| bad())?;
    let access_token = document
        .get("accessToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(bad)?
        .to_string();
    let expires_at = document
        .get("expiresAt")
        .and_then(Value::as_str)
        .and_then(parse_rfc3339)
        .ok_or_else(bad)?;
    Ok(TokenFile {
        document,
        access_token,
        expires_at,
    })
}

/// What an SSO OIDC refresh needs. Not `Debug`: it holds secrets.
struct Refresh {
    client_id: String,
    client_secret: String,
    refresh_token: String,
}

fn refreshable(document: &Value, sso: &SsoProfile, now: SystemTime) -> Option<Refresh> {
    // Only `sso-session` logins are refreshable (as in the AWS CLI).
    sso.session_name.as_ref()?;
    let text = |key: &str| {
        document
            .get(key)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let registration_expires = text("registrationExpiresAt").and_then(|t| parse_rfc3339(&t))?;
    if registration_expires <= now {
        return None;
    }
    Some(Refresh {
        client_id: text("clientId")?,
        client_secret: text("clientSecret")?,
        refresh_token: text("refreshToken")?,
    })
}

/// Calls SSO OIDC `CreateToken` with the refresh token: new access token, expiry, and
/// possibly a new refresh token.
fn refresh_token(
    refresh: &Refresh,
    sso: &SsoProfile,
    env: &Env,
    profile: ProfileLookup<'_>,
    transport: &Transport,
    now: SystemTime,
) -> Result<(String, SystemTime, Option<String>)> {
    let oidc = endpoint::resolve(Service::SsoOidc, &sso.region, env, profile)?;
    let url = format!("{}/token", oidc.url);
    let body = json!({
        "clientId": refresh.client_id,
        "clientSecret": refresh.client_secret,
        "grantType": "refresh_token",
        "refreshToken": refresh.refresh_token,
    })
    .to_string();
    let build = || {
        Ok(HttpRequest::new("POST", url.as_str())
            .header("content-type", "application/json")
            .body(body.clone().into_bytes()))
    };
    let label = CallLabel {
        service: Service::SsoOidc,
        operation: "CreateToken",
    };
    let response = transport.send(label, &build, transport::json_error_code)?;
    if !response.is_success() {
        return Err(Error::runtime(format!(
            "refreshing the token failed with HTTP {}{}",
            response.status,
            transport::json_error_code(&response)
                .map(|c| format!(" {c}"))
                .unwrap_or_default()
        )));
    }
    let reply: Value = serde_json::from_slice(&response.body)
        .map_err(|_| Error::runtime("unreadable CreateToken reply"))?;
    let access_token = reply
        .get("accessToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::runtime("CreateToken reply without accessToken"))?;
    let expires_in = reply
        .get("expiresIn")
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::runtime("CreateToken reply without expiresIn"))?;
    let new_refresh = reply
        .get("refreshToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    Ok((
        access_token.to_string(),
        now + Duration::from_secs(expires_in),
        new_refresh,
    ))
}

/// Calls the portal's `GetRoleCredentials` with the access token.
pub(crate) fn get_role_credentials(
    sso: &SsoProfile,
    portal: &Endpoint,
    access_token: &str,
    transport: &Transport,
) -> Result<Credentials> {
    let url = format!(
        "{}/federation/credentials?role_name={}&account_id={}",
        portal.url,
        percent_encode(&sso.role_name),
        percent_encode(&sso.account_id)
    );
    let build =
        || Ok(HttpRequest::new("GET", url.as_str()).header("x-amz-sso_bearer_token", access_token));
    let label = CallLabel {
        service: Service::SsoPortal,
        operation: "GetRoleCredentials",
    };
    let response = transport.send(label, &build, transport::json_error_code)?;
    if !response.is_success() {
        let code = transport::json_error_code(&response);
        if response.status == 401 || code.as_deref() == Some("UnauthorizedException") {
            return Err(Error::runtime(format!(
                "the SSO session of AWS profile \"{}\" is no longer valid: {}",
                sso.profile,
                sso.login_hint()
            )));
        }
        return Err(transport::json_error(label, &response).context(format!(
            "AWS profile \"{}\" (account {}, role {})",
            sso.profile, sso.account_id, sso.role_name
        )));
    }
    parse_role_credentials(&response.body)
}

/// Parses `{"roleCredentials": {"accessKeyId", "secretAccessKey", "sessionToken",
/// "expiration": <epoch millis>}}`.
pub(crate) fn parse_role_credentials(body: &[u8]) -> Result<Credentials> {
    let bad =
        |what: &str| Error::runtime(format!("sso GetRoleCredentials: unreadable reply ({what})"));
    let reply: Value = serde_json::from_slice(body).map_err(|_| bad("not JSON"))?;
    let role = reply
        .get("roleCredentials")
        .ok_or_else(|| bad("no roleCredentials"))?;
    let text = |name: &str| {
        role.get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad(&format!("no {name}")))
    };
    let mut credentials = Credentials::new(
        text("accessKeyId")?,
        text("secretAccessKey")?,
        Some(text("sessionToken")?.to_string()),
    );
    let millis = role
        .get("expiration")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("no expiration"))?;
    credentials.expires_at = Some(from_epoch_millis(millis));
    Ok(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::credentials::test_support::{Fixture, TempDir, transport};

    const CONFIG: &str = "\
[profile new]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Admin
[profile legacy]
sso_start_url = https://legacy.awsapps.com/start
sso_region = eu-west-1
sso_account_id = 111122223333
sso_role_name = ReadOnly
[profile partial]
sso_start_url = https://x.awsapps.com/start
[profile conflict]
sso_session = corp
sso_region = eu-west-1
sso_account_id = 1
sso_role_name = r
[profile dangling]
sso_session = nope
sso_account_id = 1
sso_role_name = r
[profile plain]
region = us-east-1
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
";

    fn shared() -> SharedConfig {
        SharedConfig::parse(CONFIG, "").unwrap()
    }

    #[test]
    fn reads_new_and_legacy_profiles() {
        let new = SsoProfile::from_config(&shared(), "new").unwrap().unwrap();
        assert_eq!(new.session_name.as_deref(), Some("corp"));
        assert_eq!(new.start_url, "https://corp.awsapps.com/start");
        assert_eq!(new.region, "us-east-1");
        assert_eq!(new.account_id, "111122223333");
        let legacy = SsoProfile::from_config(&shared(), "legacy")
            .unwrap()
            .unwrap();
        assert_eq!(legacy.session_name, None);
        assert_eq!(legacy.region, "eu-west-1");
        assert_eq!(SsoProfile::from_config(&shared(), "plain").unwrap(), None);
    }

    #[test]
    fn incomplete_or_contradictory_profiles_are_errors() {
        let e = SsoProfile::from_config(&shared(), "partial").unwrap_err();
        assert_eq!(
            e.to_string(),
            "AWS profile \"partial\" is an SSO profile but lacks sso_region, sso_account_id, \
             sso_role_name"
        );
        assert_eq!(e.exit_code(), 2);
        let e = SsoProfile::from_config(&shared(), "conflict").unwrap_err();
        assert!(e.to_string().contains("differs"), "{e}");
        let e = SsoProfile::from_config(&shared(), "dangling").unwrap_err();
        assert!(e.to_string().contains("[sso-session nope]"), "{e}");
    }

    #[test]
    fn token_file_names_are_sha1_hex() {
        // printf %s corp | sha1sum
        let new = SsoProfile::from_config(&shared(), "new").unwrap().unwrap();
        assert_eq!(
            new.token_file_name(),
            "ee0bfd2552fbd840c02cc48b6e823320543c450f.json"
        );
        let legacy = SsoProfile::from_config(&shared(), "legacy")
            .unwrap()
            .unwrap();
        assert_eq!(
            legacy.token_file_name(),
            "79e435d7a515078e81c9dffc35f38d5687ebd3a7.json"
        );
    }

    fn write_token(home: &Path, sso: &SsoProfile, document: &Value) {
        let dir = home.join(".aws/sso/cache");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(sso.token_file_name()), document.to_string()).unwrap();
    }

    #[test]
    fn token_missing_expired_or_valid() {
        let home = TempDir::new("sso-token");
        let env = Env::from_pairs([("HOME", home.path().to_str().unwrap())]);
        let sso = SsoProfile::from_config(&shared(), "legacy")
            .unwrap()
            .unwrap();
        let now = SystemTime::now();
        let t = transport();
        let e = access_token(&sso, &env, &endpoint::no_profile, &t, now).unwrap_err();
        assert_eq!(
            e.to_string(),
            "AWS profile \"legacy\": no SSO token found: run `aws sso login --profile legacy`"
        );
        write_token(
            home.path(),
            &sso,
            &json!({"accessToken": "tok", "expiresAt": format_rfc3339(now - Duration::from_secs(60))}),
        );
        let e = access_token(&sso, &env, &endpoint::no_profile, &t, now).unwrap_err();
        assert!(e.to_string().contains("has expired"), "{e}");
        assert!(
            e.to_string()
                .ends_with("run `aws sso login --profile legacy`"),
            "{e}"
        );
        write_token(
            home.path(),
            &sso,
            &json!({"accessToken": "tok", "expiresAt": "2099-01-01T00:00:00UTC"}),
        );
        assert_eq!(
            access_token(&sso, &env, &endpoint::no_profile, &t, now).unwrap(),
            "tok"
        );
        // Nearly expired but not refreshable: still used.
        write_token(
            home.path(),
            &sso,
            &json!({"accessToken": "tok2", "expiresAt": format_rfc3339(now + Duration::from_secs(120))}),
        );
        assert_eq!(
            access_token(&sso, &env, &endpoint::no_profile, &t, now).unwrap(),
            "tok2"
        );
        write_token(
            home.path(),
            &sso,
            &json!({"expiresAt": "2099-01-01T00:00:00Z"}),
        );
        assert!(
            access_token(&sso, &env, &endpoint::no_profile, &t, now)
                .unwrap_err()
                .to_string()
                .contains("unreadable")
        );
    }

    #[test]
    fn expired_sso_session_tokens_are_refreshed_and_saved() {
        let oidc = Fixture::serve(|r| {
            assert_eq!(r.path, "/token");
            (
                200,
                "application/json",
                r#"{"accessToken":"fresh","expiresIn":3600,"refreshToken":"r2","tokenType":"Bearer"}"#
                    .to_string(),
            )
        });
        let home = TempDir::new("sso-refresh");
        let env = Env::from_pairs([
            ("HOME", home.path().to_str().unwrap()),
            ("AWS_ENDPOINT_URL_SSO_OIDC", oidc.url.as_str()),
        ]);
        let sso = SsoProfile::from_config(&shared(), "new").unwrap().unwrap();
        let now = SystemTime::now();
        write_token(
            home.path(),
            &sso,
            &json!({
                "startUrl": "https://corp.awsapps.com/start",
                "region": "us-east-1",
                "accessToken": "old",
                "expiresAt": format_rfc3339(now - Duration::from_secs(60)),
                "clientId": "cid",
                "clientSecret": "csecret",
                "refreshToken": "r1",
                "registrationExpiresAt": "2099-01-01T00:00:00Z",
            }),
        );
        assert_eq!(
            access_token(&sso, &env, &endpoint::no_profile, &transport(), now).unwrap(),
            "fresh"
        );
        let sent: Value = serde_json::from_str(&oidc.requests()[0].body).unwrap();
        assert_eq!(
            sent,
            json!({"clientId":"cid","clientSecret":"csecret","grantType":"refresh_token","refreshToken":"r1"})
        );
        let saved: Value = serde_json::from_slice(
            &std::fs::read(
                home.path()
                    .join(".aws/sso/cache")
                    .join(sso.token_file_name()),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(saved["accessToken"], "fresh");
        assert_eq!(saved["refreshToken"], "r2");
        assert_eq!(saved["startUrl"], "https://corp.awsapps.com/start");
        // The saved token is now used without a call.
        assert_eq!(
            access_token(&sso, &env, &endpoint::no_profile, &transport(), now).unwrap(),
            "fresh"
        );
        assert_eq!(oidc.requests().len(), 1);
    }

    #[test]
    fn role_credentials_from_the_portal() {
        let portal = Fixture::serve(|r| {
            if r.header("x-amz-sso_bearer_token") == Some("good") {
                (
                    200,
                    "application/json",
                    r#"{"roleCredentials":{"accessKeyId":"ASIASSO","secretAccessKey":"s",
                        "sessionToken":"t","expiration":1795554000000}}"#
                        .to_string(),
                )
            } else {
                (
                    401,
                    "application/json",
                    r#"{"message":"Session token not found or invalid"}"#.to_string(),
                )
            }
        });
        let sso = SsoProfile::from_config(&shared(), "legacy")
            .unwrap()
            .unwrap();
        let endpoint = Endpoint {
            url: portal.url.clone(),
            signing_region: "eu-west-1".into(),
        };
        let t = transport();
        let c = get_role_credentials(&sso, &endpoint, "good", &t).unwrap();
        assert_eq!(c.access_key_id, "ASIASSO");
        assert_eq!(c.expires_at, Some(from_epoch_millis(1_795_554_000_000)));
        let seen = &portal.requests()[0];
        assert_eq!(seen.method, "GET");
        assert_eq!(
            seen.path,
            "/federation/credentials?role_name=ReadOnly&account_id=111122223333"
        );
        let e = get_role_credentials(&sso, &endpoint, "bad", &t).unwrap_err();
        assert!(
            e.to_string().contains("aws sso login --profile legacy"),
            "{e}"
        );
        assert!(parse_role_credentials(b"{}").is_err());
    }
}
