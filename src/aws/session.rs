//! An AWS session: which AWS profile and region, and, resolved only when a request is
//! actually sent, the shared config files and the credentials.
//!
//! Building a session touches no file and no socket; a command answered from the cache never
//! resolves credentials.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::credentials::{self, ChainSettings, Credentials};
use super::endpoint::{self, Endpoint};
use super::service::Service;
use super::shared_config::SharedConfig;
use super::transport::Transport;
use crate::env::Env;
use crate::error::{Error, Result};

/// Refresh temporary credentials this long before they expire.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// Where the AWS profile name came from; decides how strictly it is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileSource {
    /// `--profile` on the command line: it must exist and beats environment keys.
    Flag,
    /// `aws_profile` in the awsideman profile or `AWS_PROFILE`: it must exist.
    Explicit,
    /// Implied by the awsideman profile's name or `default`: used when it exists.
    Implied,
}

/// What a session is built from.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// The environment snapshot.
    pub env: Env,
    /// The AWS profile name.
    pub aws_profile: String,
    /// Where the name came from.
    pub profile_source: ProfileSource,
    /// The region when already known (flag, awsideman profile, environment).
    pub region: Option<String>,
    /// Where temporary credentials are cached.
    pub credentials_cache_dir: PathBuf,
    /// Whether a terminal is present for prompts (MFA).
    pub interactive: bool,
}

/// A lazily connected AWS session, shareable across threads.
pub struct Session {
    settings: SessionSettings,
    transport: Transport,
    shared: OnceLock<Arc<SharedConfig>>,
    region: OnceLock<String>,
    credentials: Mutex<Option<Credentials>>,
}

impl Session {
    /// A session that has not touched anything yet.
    pub fn new(settings: SessionSettings, transport: Transport) -> Session {
        Session {
            settings,
            transport,
            shared: OnceLock::new(),
            region: OnceLock::new(),
            credentials: Mutex::new(None),
        }
    }

    /// The transport requests go through.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The AWS profile name in use.
    pub fn aws_profile(&self) -> &str {
        &self.settings.aws_profile
    }

    /// The shared AWS config files, read on first use.
    pub fn shared_config(&self) -> Result<Arc<SharedConfig>> {
        if let Some(shared) = self.shared.get() {
            return Ok(shared.clone());
        }
        let loaded = Arc::new(SharedConfig::load(&self.settings.env)?);
        Ok(self.shared.get_or_init(|| loaded).clone())
    }

    /// The region: the one given, else the AWS profile's `region`. Reads the AWS config
    /// files only when no region was given.
    pub fn region(&self) -> Result<String> {
        if let Some(region) = self.region.get() {
            return Ok(region.clone());
        }
        let region = match &self.settings.region {
            Some(region) => region.clone(),
            None => self
                .shared_config()?
                .profile_value(&self.settings.aws_profile, "region")
                .map(str::to_string)
                .ok_or_else(|| {
                    Error::config(format!(
                        "no region: pass --region, set region in the awsideman profile, set \
                         AWS_REGION, or set region in AWS profile \"{}\"",
                        self.settings.aws_profile
                    ))
                })?,
        };
        endpoint::validate_region(&region)?;
        Ok(self.region.get_or_init(|| region).clone())
    }

    /// The endpoint of `service` for this session.
    pub fn endpoint(&self, service: Service) -> Result<Endpoint> {
        let region = self.region()?;
        let configured = if self
            .settings
            .env
            .is_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            || self.settings.env.get("AWS_ENDPOINT_URL").is_some()
        {
            None
        } else {
            self.shared_config()?
                .profile_value(&self.settings.aws_profile, "endpoint_url")
                .map(str::to_string)
        };
        endpoint::resolve(service, &region, &self.settings.env, configured.as_deref())
    }

    /// The credentials, resolved through the chain on first use and refreshed near expiry.
    pub fn credentials(&self) -> Result<Credentials> {
        let mut slot = self.credentials.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(credentials) = slot.as_ref() {
            let fresh = credentials
                .expires_at
                .is_none_or(|at| at > SystemTime::now() + EXPIRY_MARGIN);
            if fresh {
                return Ok(credentials.clone());
            }
        }
        let shared = self.shared_config()?;
        let region = self.region().ok();
        let profile = self.settings.aws_profile.as_str();
        let env = &self.settings.env;
        let named = self.settings.profile_source != ProfileSource::Implied;
        // Like the AWS CLI, `--profile` beats keys in the environment, but only for a
        // profile the AWS files define (awsideman profiles need not be AWS profiles).
        let use_env_credentials =
            !(self.settings.profile_source == ProfileSource::Flag && shared.has_profile(profile));
        let env_keys =
            env.get("AWS_ACCESS_KEY_ID").is_some() && env.get("AWS_SECRET_ACCESS_KEY").is_some();
        // A named profile the files lack is fine when usable keys are in the environment.
        let profile_required = named && !(use_env_credentials && env_keys);
        let chain = ChainSettings {
            env,
            shared: &shared,
            profile,
            profile_required,
            use_env_credentials,
            region: region.as_deref(),
            cache_dir: &self.settings.credentials_cache_dir,
            interactive: self.settings.interactive,
        };
        let credentials = credentials::resolve(&chain, &self.transport)?;
        *slot = Some(credentials.clone());
        Ok(credentials)
    }

    /// Calls a JSON-protocol operation of `service`.
    pub fn call(&self, service: Service, operation: &str, input: &Value) -> Result<Value> {
        let endpoint = self.endpoint(service)?;
        let credentials = self.credentials()?;
        self.transport
            .call_json(service, operation, &endpoint, &credentials, input)
    }
}
