//! Credentials of a shared config profile: static keys, `credential_process`, SSO, web
//! identity, and `role_arn` with `source_profile` or `credential_source` (recursively, as
//! botocore resolves them).

use super::disk_cache::DiskCache;
use super::sso::{self, SsoProfile};
use super::sts::{self, AssumeRole};
use super::web_identity::{self, WebIdentity};
use super::{Chain, Credentials, container, from_environment, imds, process};
use crate::error::{Error, Result};

/// The credentials `profile` (which exists) yields; `None` when it configures none.
pub(super) fn resolve(chain: &Chain<'_>, profile: &str) -> Result<Option<Credentials>> {
    if assumes_role(chain, profile) {
        let mut visited = vec![profile.to_string()];
        return assume_role(chain, profile, &mut visited).map(Some);
    }
    own_credentials(chain, profile)
}

/// Whether `profile` assumes its role from another source (`role_arn` without a web
/// identity token file).
fn assumes_role(chain: &Chain<'_>, profile: &str) -> bool {
    let get = |key: &str| chain.settings.shared.profile_value(profile, key);
    get("role_arn").is_some() && get("web_identity_token_file").is_none()
}

fn has_static_keys(chain: &Chain<'_>, profile: &str) -> bool {
    chain
        .settings
        .shared
        .profile_value(profile, "aws_access_key_id")
        .is_some()
}

/// What a profile yields by itself, without assuming a role from a source: web identity,
/// SSO, static keys, then `credential_process`.
fn own_credentials(chain: &Chain<'_>, profile: &str) -> Result<Option<Credentials>> {
    let shared = chain.settings.shared;
    let get = |key: &str| shared.profile_value(profile, key);
    if let (Some(role_arn), Some(token_file)) = (get("role_arn"), get("web_identity_token_file")) {
        let identity = WebIdentity {
            role_arn,
            token_file,
            session_name: get("role_session_name"),
        };
        return web_identity::assume(chain, profile, &identity).map(Some);
    }
    if let Some(sso) = SsoProfile::from_config(shared, profile)? {
        return sso_credentials(chain, &sso).map(Some);
    }
    if let Some(access_key_id) = get("aws_access_key_id") {
        let secret = get("aws_secret_access_key").ok_or_else(|| {
            Error::config(format!(
                "AWS profile \"{profile}\" has aws_access_key_id but no aws_secret_access_key"
            ))
        })?;
        let token = get("aws_session_token").or_else(|| get("aws_security_token"));
        return Ok(Some(Credentials::new(
            access_key_id,
            secret,
            token.map(str::to_string),
        )));
    }
    if let Some(command) = get("credential_process") {
        return process_credentials(chain, profile, command).map(Some);
    }
    Ok(None)
}

fn process_credentials(chain: &Chain<'_>, profile: &str, command: &str) -> Result<Credentials> {
    let key = DiskCache::key(&["process", command]);
    if let Some(cached) = chain.cached(&key, "credential_process") {
        return Ok(cached);
    }
    let credentials = process::run(command, profile)?;
    if credentials.expires_at.is_some() {
        chain.store(&key, &credentials);
    }
    Ok(credentials)
}

fn sso_credentials(chain: &Chain<'_>, sso: &SsoProfile) -> Result<Credentials> {
    let env = chain.settings.env;
    let shared = chain.settings.shared;
    let lookup = |key: &str| Ok(shared.profile_value(&sso.profile, key).map(str::to_string));
    let portal = sso::portal_endpoint(sso, env, &lookup)?;
    let key = DiskCache::key(&sso.cache_parts(&portal.url));
    if let Some(cached) = chain.cached(&key, "SSO") {
        return Ok(cached);
    }
    let token = sso::access_token(sso, env, &lookup, chain.transport, chain.now)?;
    let credentials = sso::get_role_credentials(sso, &portal, &token, chain.transport)?;
    chain.store(&key, &credentials);
    Ok(credentials)
}

/// Assumes `profile`'s `role_arn` with credentials from its `source_profile` or
/// `credential_source`. `visited` is the chain of profiles so far (for loop detection).
fn assume_role(chain: &Chain<'_>, profile: &str, visited: &mut Vec<String>) -> Result<Credentials> {
    let shared = chain.settings.shared;
    let get = |key: &str| shared.profile_value(profile, key);
    let config_error = |what: String| Error::config(format!("AWS profile \"{profile}\": {what}"));
    let role_arn = get("role_arn").ok_or_else(|| config_error("no role_arn".into()))?;
    let source = match (get("source_profile"), get("credential_source")) {
        (Some(source), None) => source_profile(chain, source, profile, visited)?,
        (None, Some(source)) => credential_source(chain, source, profile)?,
        (Some(_), Some(_)) => {
            return Err(config_error(
                "source_profile and credential_source are mutually exclusive".into(),
            ));
        }
        (None, None) => {
            return Err(config_error(
                "role_arn needs a source_profile, a credential_source or a \
                 web_identity_token_file"
                    .into(),
            ));
        }
    };
    let duration_seconds = match get("duration_seconds") {
        None => None,
        Some(text) => Some(
            text.parse::<u32>()
                .ok()
                .filter(|d| (900..=43_200).contains(d))
                .ok_or_else(|| {
                    config_error(format!(
                        "duration_seconds {text:?} is not a number of seconds between 900 and 43200"
                    ))
                })?,
        ),
    };
    let external_id = get("external_id");
    let session_name = get("role_session_name");
    let mfa_serial = get("mfa_serial");
    let endpoint = chain.sts_endpoint(profile)?;
    let duration_text = duration_seconds.map(|d| d.to_string()).unwrap_or_default();
    let key = DiskCache::key(&[
        "assume-role",
        role_arn,
        session_name.unwrap_or(""),
        external_id.unwrap_or(""),
        mfa_serial.unwrap_or(""),
        &duration_text,
        &source.access_key_id,
        &endpoint.url,
    ]);
    if let Some(cached) = chain.cached(&key, &format!("assumed role {role_arn}")) {
        return Ok(cached);
    }
    let code = match mfa_serial {
        None => None,
        Some(serial) if chain.settings.interactive => Some((chain.mfa_prompt)(serial)?),
        Some(serial) => {
            return Err(Error::runtime(format!(
                "AWS profile \"{profile}\" needs an MFA code for {serial}, but there is no \
                 terminal to ask for it: run the command once in a terminal (the role \
                 credentials are then cached until they expire)"
            )));
        }
    };
    let default_name = chain.default_session_name();
    let call = AssumeRole {
        role_arn,
        session_name: session_name.unwrap_or(&default_name),
        external_id,
        duration_seconds,
        mfa: mfa_serial.zip(code.as_deref()),
    };
    let credentials = sts::assume_role(chain.transport, &endpoint, &source, &call)
        .map_err(|e| e.context(format!("AWS profile \"{profile}\"")))?;
    chain.store(&key, &credentials);
    Ok(credentials)
}

/// The credentials of `source`, the `source_profile` of `parent`.
fn source_profile(
    chain: &Chain<'_>,
    source: &str,
    parent: &str,
    visited: &mut Vec<String>,
) -> Result<Credentials> {
    let shared = chain.settings.shared;
    if !shared.has_profile(source) {
        return Err(Error::config(format!(
            "AWS profile \"{parent}\": source_profile \"{source}\" is not defined in {} or {}",
            shared.config_label(),
            shared.credentials_label()
        )));
    }
    if visited.iter().any(|v| v == source) {
        // A profile may name itself to use its own static keys; anything else loops.
        if source != parent || !has_static_keys(chain, source) {
            return Err(Error::config(format!(
                "AWS profiles form a loop through source_profile: {} -> {source}",
                visited.join(" -> ")
            )));
        }
    }
    visited.push(source.to_string());
    if has_static_keys(chain, source) || !assumes_role(chain, source) {
        return own_credentials(chain, source)?.ok_or_else(|| {
            Error::config(format!(
                "AWS profile \"{parent}\": its source_profile \"{source}\" has no credentials"
            ))
        });
    }
    assume_role(chain, source, visited)
}

/// The credentials named by `credential_source` of `profile`.
fn credential_source(chain: &Chain<'_>, source: &str, profile: &str) -> Result<Credentials> {
    let env = chain.settings.env;
    let failed = |what: String| {
        Error::runtime(format!(
            "AWS profile \"{profile}\": credential_source {source}: {what}"
        ))
    };
    match source {
        "Environment" => from_environment(env)?.ok_or_else(|| {
            failed("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set".into())
        }),
        "Ec2InstanceMetadata" => imds::fetch(env, chain.transport).map_err(failed),
        "EcsContainer" => container::fetch(env, chain.transport)?.ok_or_else(|| {
            failed(
                "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor \
                 AWS_CONTAINER_CREDENTIALS_FULL_URI is set"
                    .into(),
            )
        }),
        other => Err(Error::config(format!(
            "AWS profile \"{profile}\": unknown credential_source {other:?} (expected \
             Environment, Ec2InstanceMetadata or EcsContainer)"
        ))),
    }
}
