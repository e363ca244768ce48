//! Who is calling AWS, for scoping the cache: an identity known from local configuration
//! wherever the configuration names one, so that a cached answer is found without
//! resolving credentials or opening a socket.
//!
//! Stable per account and role wherever possible, so that jobs and people with the same
//! configuration share a cache: a role ARN (assume-role and web-identity profiles,
//! `AWS_ROLE_ARN`), an SSO account and role, an account id (`aws_account_id`,
//! `AWS_ACCOUNT_ID`), or the access key id of long-term keys. Where only temporary keys
//! are known (keys exported into the environment, `credential_process`, containers,
//! instance metadata) the identity is learned from STS `GetCallerIdentity` once per
//! credential session and remembered beside the cached credentials.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::ChainSettings;
use crate::error::Result;
use crate::fsutil::{
    Links, create_private_dir, read_private_file, verify_private_dir, write_private_atomically,
};
use crate::rfc3339::{format_rfc3339, parse_rfc3339};

/// A remembered identity is kept this long when its credentials carry no expiry.
const REMEMBER_WITHOUT_EXPIRY: Duration = Duration::from_secs(3600);

/// A remembered-identity file larger than this is not one.
const MAX_FILE_BYTES: u64 = 4 * 1024;

/// What local configuration says about the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallerHint {
    /// The identity, and the setting it comes from (for `--debug`).
    Known {
        /// `role:ARN`, `sso:ACCOUNT:ROLE`, `account:ID` or `access-key:ID`.
        identity: String,
        /// Where it was read (`AWS profile "x" role_arn`).
        source: String,
    },
    /// Only temporary keys are known: ask STS once per credential session.
    Learn {
        /// Where the credentials come from (for `--debug`).
        source: String,
    },
}

/// The caller as the credential chain of `settings` would resolve it, read from the
/// environment and the AWS files only. Follows the chain's order: environment keys, web
/// identity from the environment, the profile, then container and instance credentials.
pub(crate) fn from_configuration(settings: &ChainSettings<'_>) -> CallerHint {
    let env = settings.env;
    let known = |identity: String, source: String| CallerHint::Known { identity, source };
    if settings.use_env_credentials
        && let Some(key_id) = env.get("AWS_ACCESS_KEY_ID")
    {
        if let Some(account) = env.get("AWS_ACCOUNT_ID") {
            return known(format!("account:{account}"), "AWS_ACCOUNT_ID".into());
        }
        let temporary =
            env.get("AWS_SESSION_TOKEN").is_some() || env.get("AWS_SECURITY_TOKEN").is_some();
        if !temporary {
            return known(format!("access-key:{key_id}"), "AWS_ACCESS_KEY_ID".into());
        }
        return CallerHint::Learn {
            source: "temporary keys in the environment".into(),
        };
    }
    let shared = settings.shared;
    let profile = settings.profile;
    if env.get("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() {
        let profile_role = shared.profile_value(profile, "role_arn").filter(|_| {
            shared.profile_value(profile, "source_profile").is_none()
                && shared.profile_value(profile, "credential_source").is_none()
        });
        if let Some(role) = env.get("AWS_ROLE_ARN") {
            return known(format!("role:{role}"), "AWS_ROLE_ARN".into());
        }
        if let Some(role) = profile_role {
            return known(
                format!("role:{role}"),
                format!("AWS profile \"{profile}\" role_arn"),
            );
        }
    }
    if shared.has_profile(profile) {
        let get = |key: &str| shared.profile_value(profile, key);
        let from = |key: &str| format!("AWS profile \"{profile}\" {key}");
        if let Some(role) = get("role_arn") {
            return known(format!("role:{role}"), from("role_arn"));
        }
        if let (Some(account), Some(role)) = (get("sso_account_id"), get("sso_role_name")) {
            return known(
                format!("sso:{account}:{role}"),
                from("sso_account_id and sso_role_name"),
            );
        }
        if let Some(account) = get("aws_account_id") {
            return known(format!("account:{account}"), from("aws_account_id"));
        }
        let temporary = get("aws_session_token").is_some() || get("aws_security_token").is_some();
        if let Some(key_id) = get("aws_access_key_id").filter(|_| !temporary) {
            return known(format!("access-key:{key_id}"), from("aws_access_key_id"));
        }
        return CallerHint::Learn {
            source: format!("AWS profile \"{profile}\" (temporary credentials)"),
        };
    }
    CallerHint::Learn {
        source: "container or instance credentials".into(),
    }
}

/// The identity STS named for `arn` (a `GetCallerIdentity` answer): the principal without
/// the session name of an assumed role, so every session of one role is one caller.
pub(crate) fn identity_of_arn(arn: &str) -> String {
    let principal = match arn.split_once(":assumed-role/") {
        Some((head, rest)) => match rest.split_once('/') {
            Some((role, _session)) => format!("{head}:assumed-role/{role}"),
            None => arn.to_string(),
        },
        None => arn.to_string(),
    };
    format!("principal:{principal}")
}

/// The identities learned from STS, remembered per access key id until the credentials
/// expire, in the (private) directory of cached credentials.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Remembered<'a> {
    dir: &'a Path,
}

impl<'a> Remembered<'a> {
    /// The remembered identities in `dir`.
    pub(crate) fn new(dir: &'a Path) -> Remembered<'a> {
        Remembered { dir }
    }

    /// The identity learned for `access_key_id`, if still valid at `now`.
    pub(crate) fn load(&self, access_key_id: &str, now: SystemTime) -> Option<String> {
        if !verify_private_dir(self.dir, self.dir).ok()? {
            return None;
        }
        let bytes = read_private_file(&self.path(access_key_id), Links::Refuse, MAX_FILE_BYTES)
            .ok()
            .flatten()?;
        let document: Value = serde_json::from_slice(&bytes).ok()?;
        let until = parse_rfc3339(document.get("Expiration")?.as_str()?)?;
        let identity = document.get("Identity")?.as_str()?;
        (until > now && identity.starts_with("principal:")).then(|| identity.to_string())
    }

    /// Remembers `identity` for `access_key_id` until `expires_at` (an hour from `now`
    /// when the credentials do not say).
    pub(crate) fn store(
        &self,
        access_key_id: &str,
        identity: &str,
        expires_at: Option<SystemTime>,
        now: SystemTime,
    ) -> Result<()> {
        create_private_dir(self.dir)?;
        verify_private_dir(self.dir, self.dir)?;
        let until = expires_at.unwrap_or(now + REMEMBER_WITHOUT_EXPIRY);
        let document = json!({
            "Version": 1,
            "Identity": identity,
            "Expiration": format_rfc3339(until),
        });
        write_private_atomically(&self.path(access_key_id), document.to_string().as_bytes())
    }

    fn path(&self, access_key_id: &str) -> PathBuf {
        let digest = Sha256::digest(format!("caller-identity\0{access_key_id}").as_bytes());
        self.dir
            .join(format!("caller-{}.json", hex::encode(&digest[..16])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::shared_config::SharedConfig;
    use crate::env::Env;

    fn hint(env: &[(&str, &str)], config: &str, profile: &str, use_env: bool) -> CallerHint {
        let env = Env::from_pairs(env.iter().copied());
        let shared = SharedConfig::parse(config, "").unwrap();
        let settings = ChainSettings {
            env: &env,
            shared: &shared,
            profile,
            profile_required: false,
            use_env_credentials: use_env,
            region: None,
            cache_dir: Path::new("/nonexistent"),
            interactive: false,
            sealer: None,
        };
        from_configuration(&settings)
    }

    fn identity(hint: CallerHint) -> Option<String> {
        match hint {
            CallerHint::Known { identity, .. } => Some(identity),
            CallerHint::Learn { .. } => None,
        }
    }

    #[test]
    fn stable_identities_come_from_configuration() {
        let config = "[profile a]\nrole_arn = arn:aws:iam::111111111111:role/x\nsource_profile = b\n\
                      [profile b]\naws_access_key_id = AKIDB\naws_secret_access_key = s\n\
                      [profile s]\nsso_account_id = 222222222222\nsso_role_name = Admin\n\
                      [profile c]\naws_account_id = 333333333333\ncredential_process = x\n\
                      [profile t]\naws_access_key_id = ASIAT\naws_secret_access_key = s\n\
                      aws_session_token = tok\n\
                      [profile p]\ncredential_process = x\n";
        let cases = [
            ("a", Some("role:arn:aws:iam::111111111111:role/x")),
            ("b", Some("access-key:AKIDB")),
            ("s", Some("sso:222222222222:Admin")),
            ("c", Some("account:333333333333")),
            ("t", None),
            ("p", None),
            ("missing", None),
        ];
        for (profile, want) in cases {
            let got = identity(hint(&[], config, profile, true));
            assert_eq!(got.as_deref(), want, "{profile}");
        }
    }

    #[test]
    fn environment_keys_come_first_unless_skipped() {
        let config = "[profile a]\nrole_arn = arn:aws:iam::111111111111:role/x\n";
        let long_term = [
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ];
        assert_eq!(
            identity(hint(&long_term, config, "a", true)).as_deref(),
            Some("access-key:AKIDENV")
        );
        assert_eq!(
            identity(hint(&long_term, config, "a", false)).as_deref(),
            Some("role:arn:aws:iam::111111111111:role/x"),
            "--profile skips environment keys"
        );
        let temporary = [
            ("AWS_ACCESS_KEY_ID", "ASIAENV"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_SESSION_TOKEN", "t"),
        ];
        assert_eq!(identity(hint(&temporary, config, "a", true)), None);
        let with_account = [
            ("AWS_ACCESS_KEY_ID", "ASIAENV"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_SESSION_TOKEN", "t"),
            ("AWS_ACCOUNT_ID", "444444444444"),
        ];
        assert_eq!(
            identity(hint(&with_account, config, "a", true)).as_deref(),
            Some("account:444444444444")
        );
        let web = [
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/t"),
            ("AWS_ROLE_ARN", "arn:aws:iam::555555555555:role/ci"),
        ];
        assert_eq!(
            identity(hint(&web, "", "default", true)).as_deref(),
            Some("role:arn:aws:iam::555555555555:role/ci")
        );
    }

    #[test]
    fn learned_identities_drop_the_session_name() {
        assert_eq!(
            identity_of_arn("arn:aws:sts::111111111111:assumed-role/ci/job-1234"),
            "principal:arn:aws:sts::111111111111:assumed-role/ci"
        );
        assert_eq!(
            identity_of_arn("arn:aws:iam::111111111111:user/alice"),
            "principal:arn:aws:iam::111111111111:user/alice"
        );
    }

    #[test]
    fn remembered_identities_expire_and_ignore_planted_files() {
        let dir = std::env::temp_dir().join(format!("awsideman-caller-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let remembered = Remembered::new(&dir);
        let now = SystemTime::now();
        remembered
            .store(
                "ASIA1",
                "principal:arn:x",
                Some(now + Duration::from_secs(60)),
                now,
            )
            .unwrap();
        assert_eq!(
            remembered.load("ASIA1", now).as_deref(),
            Some("principal:arn:x")
        );
        assert_eq!(remembered.load("ASIA2", now), None);
        assert_eq!(
            remembered.load("ASIA1", now + Duration::from_secs(61)),
            None
        );
        std::fs::write(remembered.path("ASIA3"), "{\"Identity\": 1}").unwrap();
        assert_eq!(remembered.load("ASIA3", now), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
