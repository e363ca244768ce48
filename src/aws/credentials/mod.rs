//! AWS credentials and the standard credential chain.
//!
//! Order, as in the AWS SDKs: environment keys, web identity from the environment, the shared
//! config profile (assume-role, web identity, SSO, static keys, `credential_process`),
//! container credentials, then EC2 instance metadata. The first source configured wins; a
//! source that is configured but fails is an error (it does not fall through).

pub(crate) mod caller;
pub(crate) mod container;
pub(crate) mod disk_cache;
pub(crate) mod imds;
pub(crate) mod process;
mod profile;
pub(crate) mod sso;
pub(crate) mod sts;
#[cfg(test)]
pub(crate) mod test_support;
mod web_identity;

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use self::disk_cache::{DiskCache, Sealer};
use super::endpoint::{self, Endpoint};
pub(crate) use super::keys::Credentials;
use super::service::Service;
use super::shared_config::SharedConfig;
use super::transport::Transport;
use crate::env::Env;
use crate::error::{Context, Error, Result};

/// What the credential chain works from.
pub(crate) struct ChainSettings<'a> {
    /// The environment snapshot.
    pub(crate) env: &'a Env,
    /// The shared config and credentials files.
    pub(crate) shared: &'a SharedConfig,
    /// The AWS profile name to use.
    pub(crate) profile: &'a str,
    /// The user named the profile explicitly: it is an error if no file defines it.
    pub(crate) profile_required: bool,
    /// Whether `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` may be used (botocore skips them
    /// when `--profile` is given on the command line).
    pub(crate) use_env_credentials: bool,
    /// The region of the command: used for STS when the profile sets none.
    pub(crate) region: Option<&'a str>,
    /// Where temporary credentials are cached on disk (created 0700, files 0600).
    pub(crate) cache_dir: &'a Path,
    /// A terminal is present: MFA codes may be asked for.
    pub(crate) interactive: bool,
    /// Seals the cached credentials (the response cache's keys, when encryption is on).
    pub(crate) sealer: Option<&'a dyn Sealer>,
}

/// Shows the settings, never the environment or the files' values (they hold secrets).
impl fmt::Debug for ChainSettings<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainSettings")
            .field("profile", &self.profile)
            .field("profile_required", &self.profile_required)
            .field("use_env_credentials", &self.use_env_credentials)
            .field("region", &self.region)
            .field("cache_dir", &self.cache_dir)
            .field("interactive", &self.interactive)
            .finish_non_exhaustive()
    }
}

/// Resolves credentials through the standard chain. MFA codes, when a role needs one and
/// `interactive` is set, are asked for on stderr and read from stdin.
pub fn resolve(settings: &ChainSettings<'_>, transport: &Transport) -> Result<Credentials> {
    resolve_with_prompt(settings, transport, &prompt_on_terminal)
}

/// [`resolve`] with a custom way of asking for an MFA code (given the device serial).
pub(crate) fn resolve_with_prompt(
    settings: &ChainSettings<'_>,
    transport: &Transport,
    mfa_prompt: &dyn Fn(&str) -> Result<String>,
) -> Result<Credentials> {
    let chain = Chain {
        settings,
        transport,
        cache: DiskCache::new(settings.cache_dir).sealed_with(settings.sealer),
        now: SystemTime::now(),
        mfa_prompt,
    };
    let found = |credentials: Credentials, source: &str| {
        transport.debug(|| format!("credentials from {source}"));
        Ok(credentials)
    };
    let env = settings.env;
    let profile = settings.profile;
    let mut tried: Vec<String> = Vec::new();

    if settings.use_env_credentials {
        match from_environment(env)? {
            Some(credentials) => return found(credentials, "environment variables"),
            None => tried.push("environment variables (AWS_ACCESS_KEY_ID not set)".into()),
        }
    } else {
        tried.push("environment variables (skipped: --profile given)".into());
    }

    match web_identity::from_env(&chain) {
        Ok(identity) => {
            let credentials = web_identity::assume(&chain, profile, &identity)
                .map_err(|e| e.context("web identity (AWS_WEB_IDENTITY_TOKEN_FILE)"))?;
            return found(credentials, "web identity");
        }
        Err(why) => tried.push(format!("web identity ({why})")),
    }

    let shared = settings.shared;
    if shared.has_profile(profile) {
        match profile::resolve(&chain, profile)? {
            Some(credentials) => return found(credentials, &format!("AWS profile {profile}")),
            None => tried.push(format!(
                "AWS profile \"{profile}\" (it sets no credentials)"
            )),
        }
    } else if settings.profile_required {
        let existing = shared.profile_names();
        let fix = match existing.first() {
            Some(example) => format!(
                " (AWS profiles that exist: {}): give the awsideman profile the AWS profile to \
                 use with `awsideman profile update NAME --aws-profile {example}`, or create \
                 the AWS profile",
                existing.join(", ")
            ),
            None => ": create it with `aws configure --profile NAME` (or `aws configure sso`)"
                .to_string(),
        };
        return Err(Error::config(format!(
            "AWS profile \"{profile}\" not found in {} or {}{fix}",
            shared.config_label(),
            shared.credentials_label()
        )));
    } else {
        tried.push(format!(
            "AWS profile \"{profile}\" (not in {} or {})",
            shared.config_label(),
            shared.credentials_label()
        ));
    }

    match container::fetch(env, transport)? {
        Some(credentials) => return found(credentials, "the container credentials endpoint"),
        None => tried.push("container credentials (AWS_CONTAINER_CREDENTIALS_* not set)".into()),
    }

    match imds::fetch(env, transport) {
        Ok(credentials) => return found(credentials, "EC2 instance metadata"),
        Err(why) => tried.push(format!("EC2 instance metadata ({why})")),
    }

    let existing = shared.profile_names();
    let fix = match existing.first() {
        Some(example) => format!(
            "AWS profiles that exist: {}. To fix: point the awsideman profile at one \
             (`awsideman profile update NAME --aws-profile {example}`) or set \
             AWS_PROFILE={example}; for an IAM Identity Center profile run \
             `aws sso login --profile {example}`",
            existing.join(", ")
        ),
        None => format!(
            "no AWS profile exists yet. To fix: run `aws configure` (or `aws configure sso`) \
             to create one, then `awsideman profile update NAME --aws-profile default` if it \
             is not named \"{profile}\""
        ),
    };
    Err(Error::runtime(format!(
        "no AWS credentials found for AWS profile \"{profile}\". Tried: {}. {fix}",
        tried.join("; ")
    )))
}

/// One run of the chain: its settings and the shared helpers of the sources.
struct Chain<'a> {
    settings: &'a ChainSettings<'a>,
    transport: &'a Transport,
    cache: DiskCache<'a>,
    now: SystemTime,
    mfa_prompt: &'a dyn Fn(&str) -> Result<String>,
}

impl Chain<'_> {
    /// The STS endpoint for a call made on behalf of `profile`: its `region`, else the
    /// command's, else us-east-1; its `endpoint_url` if set.
    fn sts_endpoint(&self, profile: &str) -> Result<Endpoint> {
        let shared = self.settings.shared;
        let region = shared
            .profile_value(profile, "region")
            .or(self.settings.region)
            .unwrap_or("us-east-1");
        let lookup = |key: &str| Ok(shared.profile_value(profile, key).map(str::to_string));
        endpoint::resolve(Service::Sts, region, self.settings.env, &lookup)
    }

    /// Credentials from the disk cache, if still good.
    fn cached(&self, key: &str, what: &str) -> Option<Credentials> {
        let cached = self.cache.load(key, self.now)?;
        self.transport
            .debug(|| format!("credentials: {what} from the disk cache"));
        Some(cached)
    }

    /// Stores temporary credentials in the disk cache; a failure only costs a later call.
    fn store(&self, key: &str, credentials: &Credentials) {
        if let Err(e) = self.cache.store(key, credentials, self.now) {
            self.transport
                .debug(|| format!("credentials: not cached on disk: {e}"));
        }
    }

    /// `awsideman-<epoch seconds>`, the session name when none is configured.
    fn default_session_name(&self) -> String {
        let seconds = self
            .now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        format!("awsideman-{seconds}")
    }
}

/// Keys from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`
/// (`AWS_CREDENTIAL_EXPIRATION` if set); `None` when no access key is set.
pub(crate) fn from_environment(env: &Env) -> Result<Option<Credentials>> {
    let Some(access_key_id) = env.get("AWS_ACCESS_KEY_ID") else {
        return Ok(None);
    };
    let secret = env.get("AWS_SECRET_ACCESS_KEY").ok_or_else(|| {
        Error::config("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
    })?;
    let token = env
        .get("AWS_SESSION_TOKEN")
        .or_else(|| env.get("AWS_SECURITY_TOKEN"));
    let mut credentials = Credentials::new(access_key_id, secret, token.map(str::to_string));
    credentials.expires_at = env
        .get("AWS_CREDENTIAL_EXPIRATION")
        .and_then(crate::rfc3339::parse_rfc3339);
    Ok(Some(credentials))
}

/// Asks for an MFA code on stderr and reads one line from stdin.
fn prompt_on_terminal(serial: &str) -> Result<String> {
    let mut err = std::io::stderr().lock();
    write!(err, "MFA code for {serial}: ")
        .and_then(|()| err.flush())
        .context("asking for the MFA code")?;
    drop(err);
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::Read::take(std::io::stdin().lock(), 256),
        &mut line,
    )
    .context("reading the MFA code")?;
    let code = line.trim();
    if code.is_empty() {
        return Err(Error::runtime(format!("no MFA code entered for {serial}")));
    }
    Ok(code.to_string())
}

#[cfg(test)]
mod tests;
