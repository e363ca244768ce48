//! An AWS session: which AWS profile and region, and, resolved only when a request is
//! actually sent, the shared config files and the credentials.
//!
//! Building a session touches no file and no socket; a command answered from the cache never
//! resolves credentials.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::credentials::caller::{self, CallerHint};
use super::credentials::disk_cache::Sealer;
use super::credentials::{self, ChainSettings, Credentials, sts};
use super::endpoint::{self, Endpoint};
use super::http::HttpResponse;
use super::s3::Addressing;
use super::service::Service;
use super::shared_config::SharedConfig;
use super::transport::{RestRequest, Transport};
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
    /// A profile configuration names for one purpose (`cache.dynamodb_profile`): it must
    /// exist and, like `--profile`, beats environment keys (as botocore does for a
    /// profile named explicitly).
    Dedicated,
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
    caller: OnceLock<String>,
    sealer: Option<Arc<dyn Sealer>>,
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
            caller: OnceLock::new(),
            sealer: None,
        }
    }

    /// The same session, sealing the credentials it caches on disk with `sealer`.
    pub(crate) fn with_sealer(mut self, sealer: Option<Arc<dyn Sealer>>) -> Session {
        self.sealer = sealer;
        self
    }

    /// The transport requests go through.
    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The shared AWS config files, read on first use.
    pub(crate) fn shared_config(&self) -> Result<Arc<SharedConfig>> {
        if let Some(shared) = self.shared.get() {
            return Ok(shared.clone());
        }
        let loaded = Arc::new(SharedConfig::load(&self.settings.env)?);
        Ok(self.shared.get_or_init(|| loaded).clone())
    }

    /// The region: the one given, else the AWS profile's `region`. Reads the AWS config
    /// files only when no region was given.
    pub(crate) fn region(&self) -> Result<String> {
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

    /// The endpoint of `service` for this session. The AWS config files are read only when
    /// the environment leaves a question (endpoint URL, FIPS, dual-stack) to the profile.
    pub(crate) fn endpoint(&self, service: Service) -> Result<Endpoint> {
        let region = self.region()?;
        let lookup = |key: &str| -> Result<Option<String>> {
            Ok(self
                .shared_config()?
                .profile_value(&self.settings.aws_profile, key)
                .map(str::to_string))
        };
        endpoint::resolve(service, &region, &self.settings.env, &lookup)
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
        let chain = self.chain_settings(&shared, region.as_deref());
        let credentials = credentials::resolve(&chain, &self.transport)?;
        *slot = Some(credentials.clone());
        Ok(credentials)
    }

    /// The settings the credential chain runs with.
    fn chain_settings<'a>(
        &'a self,
        shared: &'a SharedConfig,
        region: Option<&'a str>,
    ) -> ChainSettings<'a> {
        let profile = self.settings.aws_profile.as_str();
        let env = &self.settings.env;
        let named = self.settings.profile_source != ProfileSource::Implied;
        // Like the AWS CLI, `--profile` (and a profile configured for one purpose) beats
        // keys in the environment, but only for a profile the AWS files define (awsideman
        // profiles need not be AWS profiles).
        let beats_env = matches!(
            self.settings.profile_source,
            ProfileSource::Flag | ProfileSource::Dedicated
        );
        let use_env_credentials = !(beats_env && shared.has_profile(profile));
        let env_keys =
            env.get("AWS_ACCESS_KEY_ID").is_some() && env.get("AWS_SECRET_ACCESS_KEY").is_some();
        // A named profile the files lack is fine when usable keys are in the environment.
        let profile_required = named && !(use_env_credentials && env_keys);
        ChainSettings {
            env,
            shared,
            profile,
            profile_required,
            use_env_credentials,
            region,
            cache_dir: &self.settings.credentials_cache_dir,
            interactive: self.settings.interactive,
            sealer: self.sealer.as_deref(),
        }
    }

    /// Who is calling, for scoping cached answers (see [`credentials::caller`]): read from
    /// the configuration where it names the caller, else learned from STS once per
    /// credential session. Settled once per session.
    pub(crate) fn caller(&self) -> Result<String> {
        if let Some(caller) = self.caller.get() {
            return Ok(caller.clone());
        }
        let shared = self.shared_config()?;
        let region = self.region().ok();
        let hint = caller::from_configuration(&self.chain_settings(&shared, region.as_deref()));
        let (identity, source) = match hint {
            CallerHint::Known { identity, source } => (identity, source),
            CallerHint::Learn { source } => (self.learn_caller()?, source),
        };
        self.transport
            .debug(|| format!("caller {identity} (from {source})"));
        Ok(self.caller.get_or_init(|| identity).clone())
    }

    /// The caller as STS names it, remembered per access key id until the credentials
    /// expire (a failure to remember only costs a later call).
    fn learn_caller(&self) -> Result<String> {
        let credentials = self.credentials()?;
        let remembered = caller::Remembered::new(&self.settings.credentials_cache_dir);
        let now = SystemTime::now();
        if let Some(identity) = remembered.load(&credentials.access_key_id, now) {
            self.transport
                .debug(|| "caller: remembered for these credentials".to_string());
            return Ok(identity);
        }
        let endpoint = self.endpoint(Service::Sts)?;
        let arn =
            sts::get_caller_identity(&self.transport, &endpoint, &credentials).map_err(|e| {
                e.context("learning who the credentials belong to (to scope the cache)")
            })?;
        let identity = caller::identity_of_arn(&arn);
        if let Err(e) = remembered.store(
            &credentials.access_key_id,
            &identity,
            credentials.expires_at,
            now,
        ) {
            self.transport
                .debug(|| format!("caller: not remembered on disk: {e}"));
        }
        Ok(identity)
    }

    /// Calls a REST-protocol operation of `service` (S3).
    pub(crate) fn call_rest(
        &self,
        service: Service,
        operation: &str,
        request: &RestRequest,
    ) -> Result<HttpResponse> {
        let endpoint = self.endpoint(service)?;
        let credentials = self.credentials()?;
        self.transport
            .call_rest(service, operation, &endpoint, &credentials, request)
    }

    /// How `bucket` is addressed at this session's S3 endpoint (see [`Addressing`]).
    pub(crate) fn s3_addressing(&self, bucket: &str) -> Result<Addressing> {
        let endpoint = self.endpoint(Service::S3)?;
        Addressing::choose(&self.settings.env, &endpoint, &self.region()?, bucket)
    }

    /// Calls a JSON-protocol operation of `service`.
    pub fn call(&self, service: Service, operation: &str, input: &Value) -> Result<Value> {
        let endpoint = self.endpoint(service)?;
        let credentials = self.credentials()?;
        self.transport
            .call_json(service, operation, &endpoint, &credentials, input)
    }
}
