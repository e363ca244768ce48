//! The commands: what to ask AWS and how to shape the answer. One file per command group.
//!
//! Commands reach AWS only through [`Client`]; they build [`Report`]s and never print
//! results themselves.

pub mod args;
pub mod assignment;
pub mod audit;
pub mod cache;
pub mod cache_tools;
pub mod config;
pub mod directory;
pub mod dynamodb_table;
pub mod encryption;
pub mod fanout;
pub mod group;
pub mod iam_policy;
pub mod org;
pub mod pattern;
pub mod permission_set;
pub mod profile;
pub mod resolve;
pub mod sso;
pub mod user;
pub mod wait;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use crate::audit::{Actor, AuditLog, Event, EventKind};
use crate::aws::http::HttpSettings;
use crate::aws::retry::RetryPolicy;
use crate::aws::service::Service;
use crate::aws::session::{ProfileSource, Session, SessionSettings};
use crate::aws::transport::{Transport, TransportSettings};
use crate::cache::dynamodb::{self, DynamoBackend, DynamoCaller, DynamoSettings};
use crate::cache::file::FileBackend;
use crate::cache::hybrid::{self, HybridBackend};
use crate::cache::keystate::KeyState;
use crate::cache::stale::StaleTags;
use crate::cache::{CacheBackend, CacheManager};
use crate::client::Client;
use crate::commands::args::Globals;
use crate::config::{BackendType, CacheSettings, ConfigFile, EncryptionType, ProfileConfig};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::output::OutputFormat;

/// Everything a command needs: settings, the client (built on first use), output choices.
pub struct Context {
    /// The environment snapshot.
    pub env: Env,
    /// The global options as given.
    pub globals: Globals,
    /// The awsideman configuration directory.
    pub config_dir: PathBuf,
    /// The configuration file.
    pub config: ConfigFile,
    /// The awsideman profile in effect.
    pub profile_name: String,
    /// Its settings (empty when the profile is not in the file).
    pub profile: ProfileConfig,
    /// Whether the profile was chosen with `--profile`.
    profile_from_flag: bool,
    /// The output format.
    pub output: OutputFormat,
    /// The cache encryption state as it was before the configuration was read: the cache
    /// stores answers only while it still holds.
    key_state: KeyState,
    client: OnceLock<Client>,
    /// Set once the directory of cached credentials was checked (and repaired or warned about).
    credentials_cache_checked: OnceLock<()>,
}

impl Context {
    /// Reads the configuration and settles the profile and output format. Touches no network.
    pub fn new(env: Env, globals: Globals) -> Result<Context> {
        let config_dir = ConfigFile::dir(&env)?;
        let key_state = KeyState::observe(&config_dir);
        let config = ConfigFile::load(&config_dir)?;
        config.warn_permissions(globals.quiet);
        let profile_from_flag = globals.profile.is_some();
        let profile_name = globals
            .profile
            .clone()
            .or_else(|| config.default_profile().map(str::to_string))
            .or_else(|| env.get("AWS_PROFILE").map(str::to_string))
            .unwrap_or_else(|| "default".to_string());
        let profile = config.profile(&profile_name)?.unwrap_or_default();
        let output = globals
            .output
            .unwrap_or(if std::io::stdout().is_terminal() {
                OutputFormat::Table
            } else {
                OutputFormat::Json
            });
        Ok(Context {
            env,
            globals,
            config_dir,
            config,
            profile_name,
            profile,
            profile_from_flag,
            output,
            key_state,
            client: OnceLock::new(),
            credentials_cache_checked: OnceLock::new(),
        })
    }

    /// A context that has not read the configuration, for commands that need none
    /// (commands the table marks standalone): they run even when the file is invalid.
    pub fn standalone(env: Env, globals: Globals) -> Result<Context> {
        let config_dir = ConfigFile::dir(&env)?;
        let config = ConfigFile::unread(config_dir.join(crate::config::CONFIG_FILE_NAME));
        let profile_from_flag = globals.profile.is_some();
        let profile_name = globals
            .profile
            .clone()
            .or_else(|| env.get("AWS_PROFILE").map(str::to_string))
            .unwrap_or_else(|| "default".to_string());
        let output = globals
            .output
            .unwrap_or(if std::io::stdout().is_terminal() {
                OutputFormat::Table
            } else {
                OutputFormat::Json
            });
        Ok(Context {
            env,
            globals,
            key_state: KeyState::observe(&config_dir),
            config_dir,
            config,
            profile_name,
            profile: ProfileConfig::default(),
            profile_from_flag,
            output,
            client: OnceLock::new(),
            credentials_cache_checked: OnceLock::new(),
        })
    }

    /// Whether a person is at the terminal (prompts and progress allowed).
    pub fn interactive(&self) -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    /// Prints a warning on stderr unless `--quiet`.
    pub fn warn(&self, message: impl std::fmt::Display) {
        if !self.globals.quiet {
            eprintln!("awsideman: warning: {message}");
        }
    }

    /// Prints a note on stderr unless `--quiet`: something awsideman fixed by itself.
    pub fn note(&self, message: impl std::fmt::Display) {
        if !self.globals.quiet {
            eprintln!("awsideman: note: {message}");
        }
    }

    /// Asks before a destructive `action` ("delete user alice"): `--yes` skips the question;
    /// without a terminal, `--yes` is required (a usage error, exit 2, otherwise).
    pub fn confirm(&self, m: &crate::commands::args::Matches, action: &str) -> Result<()> {
        if m.switch("yes") {
            return Ok(());
        }
        if !self.interactive() {
            return Err(Error::usage(format!(
                "{action}: refusing without --yes when stdin is not a terminal"
            )));
        }
        eprint!("awsideman: {action}? [y/N] ");
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Error::runtime(format!("reading the answer: {e}")))?;
        if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            Ok(())
        } else {
            Err(Error::runtime(format!("{action}: cancelled")))
        }
    }

    /// Saves what this process counted in the cache (see
    /// [`CacheManager::flush_counters`]); called once, at the end of a command.
    pub fn finish(&self) {
        if let Some(cache) = self.client.get().and_then(Client::cache) {
            cache.flush_counters();
        }
    }

    /// The AWS client, built on first use.
    pub fn client(&self) -> Result<&Client> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = self.build_client()?;
        Ok(self.client.get_or_init(|| client))
    }

    fn build_client(&self) -> Result<Client> {
        let scope = format!(
            "instance={} store={}",
            self.profile.sso_instance_arn.as_deref().unwrap_or("-"),
            self.profile.identity_store_id.as_deref().unwrap_or("-")
        );
        Ok(Client::new(
            self.build_session()?,
            self.open_cache()?,
            !self.globals.no_cache,
            self.profile_name.clone(),
        )
        .with_scope(scope))
    }

    /// A new AWS session for this profile: transport, profile, region. Touches nothing until
    /// a request is sent.
    pub fn build_session(&self) -> Result<Session> {
        self.build_session_with(None, None, |transport| transport)
    }

    /// A session with another AWS profile and/or region (the DynamoDB cache table may live
    /// elsewhere) and adjusted transport settings.
    pub fn build_session_with(
        &self,
        aws_profile: Option<&str>,
        region: Option<&str>,
        adjust: impl FnOnce(TransportSettings) -> TransportSettings,
    ) -> Result<Session> {
        let network = crate::config::network_settings(&self.config, &self.env)?;
        let transport = Transport::new(adjust(TransportSettings {
            http: HttpSettings {
                connect_timeout: Duration::from_millis(network.connect_timeout_ms),
                read_timeout: Duration::from_millis(network.read_timeout_ms),
                ca_bundle: self.env.get("AWS_CA_BUNDLE").map(PathBuf::from),
            },
            retry: RetryPolicy::from_settings(
                self.env.get("AWS_MAX_ATTEMPTS"),
                self.env.get("AWS_RETRY_MODE"),
            )?,
            identity_center_rps: network.identity_center_rps,
            debug: self.globals.debug,
        }));
        let (aws_profile, profile_source) = match aws_profile {
            Some(name) => (name.to_string(), ProfileSource::Dedicated),
            None => self.aws_profile(),
        };
        let credentials_cache_dir = self.config_dir.join("credentials-cache");
        self.check_credentials_cache(&credentials_cache_dir);
        let region = region
            .map(str::to_string)
            .or_else(|| self.globals.region.clone())
            .or_else(|| self.profile.region.clone())
            .or_else(|| self.env.get("AWS_REGION").map(str::to_string))
            .or_else(|| self.env.get("AWS_DEFAULT_REGION").map(str::to_string));
        Ok(Session::new(
            SessionSettings {
                env: self.env.clone(),
                aws_profile,
                profile_source,
                region,
                credentials_cache_dir,
                interactive: self.interactive(),
            },
            transport,
        ))
    }

    /// Checks, once per command, the directory of cached credentials: one of ours that others
    /// could write is made 0700 with a note; one that cannot be trusted is a warning (the
    /// credentials cache then neither reads nor writes it, and credentials come from their
    /// source every time).
    fn check_credentials_cache(&self, dir: &std::path::Path) {
        self.credentials_cache_checked.get_or_init(|| {
            let mut notes = Vec::new();
            match crate::fsutil::check_private_dir(&self.config_dir, dir, &mut |n| notes.push(n)) {
                Ok(_) => notes.into_iter().for_each(|n| self.note(n)),
                Err(e) => self.warn(format!("cached credentials not used: {e}")),
            }
        });
    }

    /// The cache backend `kind` built from `settings`: the one place backends are chosen.
    pub fn cache_backend(
        &self,
        settings: &CacheSettings,
        kind: BackendType,
    ) -> Result<Box<dyn CacheBackend>> {
        self.cache_backend_guarded(settings, kind, None)
    }

    /// [`Context::cache_backend`], writing to a DynamoDB table only while the kms key
    /// source's shared key set still has `key_guard`, the version whose keys seal the
    /// entries (see `DynamoBackend::with_key_guard`).
    pub fn cache_backend_guarded(
        &self,
        settings: &CacheSettings,
        kind: BackendType,
        key_guard: Option<String>,
    ) -> Result<Box<dyn CacheBackend>> {
        let limit = settings.max_size_mb.saturating_mul(1024 * 1024);
        Ok(match kind {
            BackendType::File => Box::new(
                FileBackend::new(settings.file_cache_dir.clone(), limit).with_notes(self.notes()),
            ),
            BackendType::Dynamodb => {
                Box::new(self.dynamo_backend(settings)?.with_key_guard(key_guard))
            }
            BackendType::Hybrid => Box::new(self.hybrid_backend_guarded(settings, key_guard)?),
        })
    }

    /// Where the file cache's notes go: stderr, unless `--quiet`.
    fn notes(&self) -> crate::cache::file::Notes {
        let quiet = self.globals.quiet;
        std::sync::Arc::new(move |note: String| {
            if !quiet {
                eprintln!("awsideman: note: {note}");
            }
        })
    }

    /// The hybrid backend of `settings`: local file copies (under [`hybrid::local_dir`],
    /// reused for `cache.hybrid_local_ttl` seconds) in front of the DynamoDB table.
    pub fn hybrid_backend(&self, settings: &CacheSettings) -> Result<HybridBackend> {
        self.hybrid_backend_guarded(settings, None)
    }

    /// [`Context::hybrid_backend`] whose table side is guarded by `key_guard` (see
    /// [`Context::cache_backend_guarded`]).
    fn hybrid_backend_guarded(
        &self,
        settings: &CacheSettings,
        key_guard: Option<String>,
    ) -> Result<HybridBackend> {
        let limit = settings.max_size_mb.saturating_mul(1024 * 1024);
        Ok(HybridBackend::new(
            Box::new(
                FileBackend::new(hybrid::local_dir(&settings.file_cache_dir), limit)
                    .with_notes(self.notes()),
            ),
            Box::new(self.dynamo_backend(settings)?.with_key_guard(key_guard)),
            settings.hybrid_local_ttl,
        ))
    }

    /// The DynamoDB backend of `settings`: its own session (table region and profile, the
    /// cache's timeout and retries) over the same transport code as every AWS call.
    pub fn dynamo_backend(&self, settings: &CacheSettings) -> Result<DynamoBackend> {
        let session = self.build_session_with(
            settings.dynamodb_profile.as_deref(),
            settings.dynamodb_region.as_deref(),
            |base| dynamodb::transport_settings(&base, settings),
        )?;
        let place = session
            .endpoint(Service::DynamoDb)
            .map(|e| e.url)
            .unwrap_or_else(|_| "region not set".into());
        let caller: DynamoCaller =
            Box::new(move |operation, input| session.call(Service::DynamoDb, operation, input));
        Ok(DynamoBackend::new(
            settings.dynamodb_table_name.clone(),
            caller,
            DynamoSettings::from_cache(settings),
        )
        .with_location(&place))
    }

    /// An unencrypted manager over the configured backend (the encryption commands add keys),
    /// storing answers only while the encryption state this process started with holds,
    /// and keeping the stale-tag marks of the configuration directory.
    pub fn cache_manager(&self, settings: &CacheSettings) -> Result<CacheManager> {
        self.cache_manager_guarded(settings, None)
    }

    /// [`Context::cache_manager`] over a backend guarded by `key_guard` (see
    /// [`Context::cache_backend_guarded`]).
    pub fn cache_manager_guarded(
        &self,
        settings: &CacheSettings,
        key_guard: Option<String>,
    ) -> Result<CacheManager> {
        let lock_timeout = self.lock_timeout()?;
        Ok(CacheManager::with_backend(
            self.cache_backend_guarded(settings, settings.backend_type, key_guard)?,
            settings.clone(),
            self.globals.quiet,
        )
        .with_key_state(self.key_state.clone().with_timeout(lock_timeout))
        .with_stale_tags(StaleTags::new(&self.config_dir, lock_timeout)))
    }

    /// The cache settings in force for this profile (config file, environment, defaults).
    pub fn cache_settings(&self) -> Result<crate::config::CacheSettings> {
        crate::config::cache_settings(
            &self.config,
            Some(&self.profile_name),
            &self.env,
            &self.config_dir,
        )
    }

    /// How long to wait for a lock on a local file (`cache.lock_timeout_ms`).
    pub fn lock_timeout(&self) -> Result<Duration> {
        crate::config::lock_timeout(&self.config, &self.env, Some(&self.profile_name))
    }

    /// The cache, or `None` when caching is disabled. A cache that cannot be opened (a
    /// backend or an encryption key that is not available) is one warning and no cached
    /// answer for this command, never a failed command and never plaintext in place of
    /// encryption: without its keys it is opened to invalidate only
    /// ([`CacheManager::invalidation_only`]).
    pub fn open_cache(&self) -> Result<Option<CacheManager>> {
        let settings = self.cache_settings()?;
        if !settings.enabled {
            return Ok(None);
        }
        let opened = (|| {
            if !settings.encryption_enabled || settings.encryption_type == EncryptionType::None {
                return self.cache_manager(&settings);
            }
            let store = encryption::key_store(self, &settings)?;
            let unavailable = |reason: &str| {
                self.audit().record(
                    &Event::new(EventKind::KeySourceUnavailable)
                        .failed()
                        .source(store.name())
                        .detail("reason", reason),
                )
            };
            let keyset = match store.load() {
                Ok(Some(keyset)) => keyset,
                Ok(None) => {
                    unavailable("no key");
                    return Err(Error::runtime(format!(
                        "cache encryption is enabled but {} holds no key (run 'awsideman cache \
                         encryption enable', or import one with 'cache encryption import-key')",
                        store.describe()
                    )));
                }
                Err(e) => {
                    unavailable("key source error");
                    return Err(e);
                }
            };
            Ok(self
                .cache_manager_guarded(&settings, store.shared_version())?
                .with_encryption(encryption::encryption_of(&keyset)?))
        })();
        // Invalid values were refused above (exit 2); anything about opening the cache or its
        // keys only costs this command its cache. Without its keys, the cache still
        // invalidates what a write changes, and can be looked after (cleared, listed).
        match opened {
            Ok(cache) => Ok(Some(cache)),
            Err(e) => {
                self.warn(format!("cache unavailable, reading from AWS: {e}"));
                Ok(self
                    .cache_manager(&settings)
                    .ok()
                    .map(CacheManager::invalidation_only))
            }
        }
    }

    /// The audit log (`cache.audit_log`). A setting that cannot be resolved is a warning and
    /// the default place, so a command never fails, nor goes unrecorded, because of it.
    pub fn audit(&self) -> AuditLog {
        let path = crate::config::audit_log_path(&self.config, &self.env, &self.config_dir)
            .unwrap_or_else(|e| {
                self.warn(format!("audit log: {e}"));
                Some(self.config_dir.join("audit.log"))
            });
        let lock_timeout = self.lock_timeout().unwrap_or_else(|e| {
            self.warn(format!("audit log: {e}"));
            crate::fsutil::DEFAULT_LOCK_TIMEOUT
        });
        AuditLog::new(path, Actor::from_env(&self.env, &self.profile_name))
            .within(self.config_dir.clone())
            .with_lock_timeout(lock_timeout)
    }

    /// The AWS profile behind the awsideman profile, and how it was chosen: its explicit
    /// `aws_profile`; else the same-named AWS profile when `--profile` named it (the
    /// command line beats the environment); else `AWS_PROFILE`; else the same-named one.
    fn aws_profile(&self) -> (String, ProfileSource) {
        if let Some(aws_profile) = &self.profile.aws_profile {
            return (aws_profile.clone(), ProfileSource::Explicit);
        }
        if self.profile_from_flag {
            return (self.profile_name.clone(), ProfileSource::Flag);
        }
        match self.env.get("AWS_PROFILE") {
            Some(p) => (p.to_string(), ProfileSource::Explicit),
            None => (self.profile_name.clone(), ProfileSource::Implied),
        }
    }

    /// The identity store id of the profile, or a configuration error saying how to set it.
    pub fn identity_store_id(&self) -> Result<&str> {
        self.profile.identity_store_id.as_deref().ok_or_else(|| {
            Error::config(format!(
                "profile \"{}\" has no identity_store_id: run 'awsideman sso discover' or \
                 'awsideman sso set INSTANCE_ARN IDENTITY_STORE_ID'",
                self.profile_name
            ))
        })
    }

    /// The Identity Center instance ARN of the profile, or a configuration error.
    pub fn instance_arn(&self) -> Result<&str> {
        self.profile.sso_instance_arn.as_deref().ok_or_else(|| {
            Error::config(format!(
                "profile \"{}\" has no sso_instance_arn: run 'awsideman sso discover' or \
                 'awsideman sso set INSTANCE_ARN IDENTITY_STORE_ID'",
                self.profile_name
            ))
        })
    }
}
