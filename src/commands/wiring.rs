//! Wiring: how a command's [`Context`] builds what it uses, each on first use and in one
//! place: the AWS session and transport, the client, the cache backends (chosen by
//! [`open_backend`]) and manager with their key stores, and the audit log.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::audit::{Actor, AuditLog, Event, EventKind};
use crate::aws::credentials::disk_cache::Sealer;
use crate::aws::http::HttpSettings;
use crate::aws::retry::RetryPolicy;
use crate::aws::service::Service;
use crate::aws::session::{ProfileSource, Session, SessionSettings};
use crate::aws::transport::{Transport, TransportSettings};
use crate::cache::dynamodb::{self, DynamoBackend, DynamoCaller, DynamoSettings};
use crate::cache::keys::sealer::KeysSealer;
use crate::cache::open::{BackendParts, open_backend};
use crate::cache::stale::StaleTags;
use crate::cache::{CacheBackend, CacheManager};
use crate::client::{Client, Operation};
use crate::config::{BackendType, CacheSettings, EncryptionType};
use crate::error::{Error, Result};
use crate::rollback::{self, Journal};
use serde_json::Value;

use super::{Context, encryption};

impl Context {
    pub(super) fn build_client(&self) -> Result<Client> {
        let scope = format!(
            "instance={} store={}",
            self.profile.sso_instance_arn.as_deref().unwrap_or("-"),
            self.profile.identity_store_id.as_deref().unwrap_or("-")
        );
        let client = Client::new(
            self.build_session()?,
            self.open_cache()?,
            !self.globals.no_cache,
            self.profile_name.clone(),
        )
        .with_scope(scope)
        .refreshing(self.globals.refresh);
        // Writes are recorded (and the state they change read first) only for the journal.
        Ok(if self.journalling() {
            client.recording(self.recorder.clone())
        } else {
            client
        })
    }

    /// A new AWS session for this profile: transport, profile, region. Touches nothing until
    /// a request is sent.
    pub(crate) fn build_session(&self) -> Result<Session> {
        self.build_session_with(None, None, |transport| transport)
    }

    /// A session with another AWS profile and/or region (the DynamoDB cache table may live
    /// elsewhere) and adjusted transport settings.
    pub(crate) fn build_session_with(
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
        )
        .with_sealer(self.credentials_sealer()))
    }

    /// With cache encryption on, what seals the credentials cached on disk: the cache's keys
    /// (loaded only if credentials are cached or read). A KMS key source needs credentials
    /// itself, so with it (or a key source that cannot be opened) nothing is cached on disk.
    fn credentials_sealer(&self) -> Option<Arc<dyn Sealer>> {
        let settings = self.cache_settings().ok()?;
        if !settings.encryption_enabled || settings.encryption_type == EncryptionType::None {
            return None;
        }
        let store = match settings.encryption_key_source.as_str() {
            "kms" => None,
            _ => encryption::key_store(self, &settings).ok(),
        };
        Some(Arc::new(KeysSealer::new(store)))
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

    /// The cache backend `kind` built from `settings` (see [`open_backend`]).
    pub(crate) fn cache_backend(
        &self,
        settings: &CacheSettings,
        kind: BackendType,
    ) -> Result<Box<dyn CacheBackend>> {
        self.cache_backend_guarded(settings, kind, None)
    }

    /// [`Context::cache_backend`], writing to a DynamoDB table only while the kms key
    /// source's shared key set still has `key_guard`, the version whose keys seal the
    /// entries (see `DynamoBackend::with_key_guard`).
    pub(crate) fn cache_backend_guarded(
        &self,
        settings: &CacheSettings,
        kind: BackendType,
        key_guard: Option<String>,
    ) -> Result<Box<dyn CacheBackend>> {
        let table = || {
            Ok(self
                .dynamo_backend(settings)?
                .with_key_guard(key_guard.clone()))
        };
        let parts = BackendParts {
            table: &table,
            notes: Some(self.notes()),
        };
        open_backend(kind, settings, &parts)
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

    /// The DynamoDB backend of `settings`: its own session (table region and profile, the
    /// cache's timeout and retries) over the same transport code as every AWS call.
    pub(crate) fn dynamo_backend(&self, settings: &CacheSettings) -> Result<DynamoBackend> {
        let session = self.build_session_with(
            settings.dynamodb_profile.as_deref(),
            settings.dynamodb_region.as_deref(),
            |base| dynamodb::transport_settings(&base, settings),
        )?;
        let place = session
            .endpoint(Service::DynamoDb)
            .map(|e| crate::redact::userinfo(&e.url))
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
    pub(crate) fn cache_manager(&self, settings: &CacheSettings) -> Result<CacheManager> {
        self.cache_manager_guarded(settings, None)
    }

    /// [`Context::cache_manager`] over a backend guarded by `key_guard` (see
    /// [`Context::cache_backend_guarded`]).
    pub(crate) fn cache_manager_guarded(
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
    pub(crate) fn lock_timeout(&self) -> Result<Duration> {
        crate::config::lock_timeout(&self.config, &self.env, Some(&self.profile_name))
    }

    /// The cache, or `None` when caching is disabled. A cache that cannot be opened (a
    /// backend or an encryption key that is not available) is one warning and no cached
    /// answer for this command, never a failed command and never plaintext in place of
    /// encryption: without its keys it is opened to invalidate only
    /// ([`CacheManager::invalidation_only`]).
    pub(crate) fn open_cache(&self) -> Result<Option<CacheManager>> {
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
    pub(crate) fn audit(&self) -> AuditLog {
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

    /// The rollback journal (the `rollback` section), or `None` when it is off.
    pub(crate) fn rollback_journal(&self) -> Result<Option<Journal>> {
        let settings = crate::config::rollback_settings(&self.config, &self.env, &self.config_dir)?;
        if !settings.enabled {
            return Ok(None);
        }
        Ok(Some(Journal {
            dir: settings.dir,
            top: self.config_dir.clone(),
            retention_days: settings.retention_days,
            max_operations: settings
                .max_operations
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            lock_timeout: self
                .lock_timeout()
                .unwrap_or(crate::fsutil::DEFAULT_LOCK_TIMEOUT),
        }))
    }

    /// Whether this command's changes are journalled (`rollback.enabled`): what only the
    /// journal needs is read only then.
    pub(crate) fn journalling(&self) -> bool {
        matches!(self.rollback_journal(), Ok(Some(_)))
    }

    /// Notes the state of object `id` before `operation` changes it, for the rollback
    /// journal (see [`crate::rollback::Recorder::before`]).
    pub(crate) fn note_before(
        &self,
        operation: &Operation,
        id: &str,
        object: &Value,
        group_ids: Option<Vec<String>>,
    ) {
        self.recorder.before(operation.name, id, object, group_ids);
    }

    /// Marks this command as the rollback of operation `original`.
    pub(crate) fn rolling_back(&self, original: &str) {
        let _ = self.rolls_back.set(original.to_string());
    }

    /// Writes the changes this command made as one record of the rollback journal (nothing
    /// when it changed nothing); a journal that cannot be written is a warning. Returns the
    /// operation's id.
    pub(crate) fn journal_changes(&self, command: &str) -> Option<String> {
        let changes = self.recorder.take();
        if changes.is_empty() {
            return None;
        }
        let journal = match self.rollback_journal() {
            Ok(Some(journal)) => journal,
            Ok(None) => return None,
            Err(e) => {
                self.warn(format!("rollback journal: {e}"));
                return None;
            }
        };
        let now = std::time::SystemTime::now();
        let id = rollback::new_id(now);
        let record = rollback::operation_record(
            &id,
            now,
            &Actor::from_env(&self.env, &self.profile_name),
            command,
            self.rolls_back.get().map(String::as_str),
            changes,
        );
        match journal.append(&record) {
            Ok(()) => Some(id),
            Err(e) => {
                eprintln!("awsideman: warning: rollback journal: operation {id} not recorded: {e}");
                None
            }
        }
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
}
