//! Web identity federation (EKS IRSA, GitHub Actions OIDC, ...): an OIDC token in a file,
//! exchanged for role credentials with STS `AssumeRoleWithWebIdentity`.

use super::disk_cache::DiskCache;
use super::sts::{self, AssumeRoleWithWebIdentity};
use super::{Chain, Credentials};
use crate::error::{Error, Result};
use crate::fsutil::read_text_at_most;

/// What a web identity exchange needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct WebIdentity<'a> {
    /// The role to assume.
    pub(crate) role_arn: &'a str,
    /// The file holding the token (re-read on every exchange: it is rotated).
    pub(crate) token_file: &'a str,
    /// An explicit session name (`AWS_ROLE_SESSION_NAME`, `role_session_name`).
    pub(crate) session_name: Option<&'a str>,
}

/// The web identity configured in the environment: `AWS_WEB_IDENTITY_TOKEN_FILE` with
/// `AWS_ROLE_ARN` (or the profile's `role_arn` when the profile does not assume its role
/// from another source). `Err` explains why there is none.
pub(super) fn from_env<'a>(chain: &Chain<'a>) -> std::result::Result<WebIdentity<'a>, String> {
    let env = chain.settings.env;
    let shared = chain.settings.shared;
    let profile = chain.settings.profile;
    let Some(token_file) = env.get("AWS_WEB_IDENTITY_TOKEN_FILE") else {
        return Err("AWS_WEB_IDENTITY_TOKEN_FILE not set".to_string());
    };
    let profile_role = shared.profile_value(profile, "role_arn").filter(|_| {
        shared.profile_value(profile, "source_profile").is_none()
            && shared.profile_value(profile, "credential_source").is_none()
    });
    let Some(role_arn) = env.get("AWS_ROLE_ARN").or(profile_role) else {
        return Err("AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not".to_string());
    };
    Ok(WebIdentity {
        role_arn,
        token_file,
        session_name: env
            .get("AWS_ROLE_SESSION_NAME")
            .or_else(|| shared.profile_value(profile, "role_session_name")),
    })
}

/// Exchanges the token for credentials (cached on disk). `profile` supplies the STS region
/// and endpoint.
pub(super) fn assume(
    chain: &Chain<'_>,
    profile: &str,
    identity: &WebIdentity<'_>,
) -> Result<Credentials> {
    let endpoint = chain.sts_endpoint(profile)?;
    let key = DiskCache::key(&[
        "web-identity",
        identity.role_arn,
        identity.session_name.unwrap_or(""),
        identity.token_file,
        &endpoint.url,
    ]);
    if let Some(cached) = chain.cached(&key, "web identity") {
        return Ok(cached);
    }
    // AWS takes tokens of up to 20,000 characters.
    let token =
        read_text_at_most(std::path::Path::new(identity.token_file), 64 * 1024).map_err(|e| {
            Error::runtime(format!(
                "reading the web identity token file {}: {e}",
                identity.token_file
            ))
        })?;
    let token = token.trim();
    if token.is_empty() {
        return Err(Error::runtime(format!(
            "the web identity token file {} is empty",
            identity.token_file
        )));
    }
    let default_name = chain.default_session_name();
    let call = AssumeRoleWithWebIdentity {
        role_arn: identity.role_arn,
        session_name: identity.session_name.unwrap_or(&default_name),
        token,
        duration_seconds: None,
    };
    let credentials = sts::assume_role_with_web_identity(chain.transport, &endpoint, &call)?;
    chain.store(&key, &credentials);
    Ok(credentials)
}
