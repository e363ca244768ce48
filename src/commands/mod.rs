//! The commands: what to ask AWS and how to shape the answer. One file per command group.
//!
//! Commands reach AWS only through [`Client`]; they build [`Report`]s and never print
//! results themselves. What a command is wired to (sessions, transports, cache backends,
//! key stores, the audit log) is built in `wiring.rs`, on first use.

pub(crate) mod access_review;
pub(crate) mod args;
pub(crate) mod assignment;
pub(crate) mod audit;
pub(crate) mod backup;
pub(crate) mod bulk;
pub(crate) mod cache;
pub(crate) mod cache_tools;
pub(crate) mod config;
pub(crate) mod directory;
pub(crate) mod dynamodb_table;
pub(crate) mod encryption;
pub(crate) mod fanout;
pub(crate) mod grants;
pub(crate) mod group;
pub(crate) mod iam_policy;
pub(crate) mod limits;
pub(crate) mod org;
pub(crate) mod pattern;
pub(crate) mod permission_set;
pub(crate) mod profile;
pub(crate) mod resolve;
pub(crate) mod rollback;
pub(crate) mod rows;
pub(crate) mod sso;
pub(crate) mod status;
pub(crate) mod templates;
pub(crate) mod user;
pub(crate) mod wait;
mod wiring;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::cache::keystate::KeyState;
use crate::client::Client;
use crate::commands::args::Globals;
use crate::config::{ConfigFile, ProfileConfig};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::output::OutputFormat;
use crate::printable;

/// Everything a command needs: settings, the client (built on first use), output choices.
pub(crate) struct Context {
    /// The environment snapshot.
    pub(crate) env: Env,
    /// The global options as given.
    pub(crate) globals: Globals,
    /// The awsideman configuration directory.
    pub(crate) config_dir: PathBuf,
    /// The configuration file.
    pub(crate) config: ConfigFile,
    /// The awsideman profile in effect.
    pub(crate) profile_name: String,
    /// Its settings (empty when the profile is not in the file).
    pub(crate) profile: ProfileConfig,
    /// Whether the profile was chosen with `--profile`.
    profile_from_flag: bool,
    /// The output format.
    pub(crate) output: OutputFormat,
    /// The cache encryption state as it was before the configuration was read: the cache
    /// stores answers only while it still holds.
    key_state: KeyState,
    client: OnceLock<Client>,
    /// Set once the directory of cached credentials was checked (and repaired or warned about).
    credentials_cache_checked: OnceLock<()>,
    /// The changes this command made, for the rollback journal.
    recorder: std::sync::Arc<crate::rollback::Recorder>,
    /// The operation this command rolls back, when it is `rollback apply`.
    rolls_back: OnceLock<String>,
    /// The instance found by ListInstances for a profile that names none.
    discovered: OnceLock<(String, String)>,
}

impl Context {
    /// Reads the configuration and settles the profile and output format. Touches no network.
    pub(crate) fn new(env: Env, globals: Globals) -> Result<Context> {
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
        let mut profile = config.profile(&profile_name)?.unwrap_or_default();
        instance_from_environment(&env, &mut profile)?;
        let configured = crate::config::default_output(&config, &env)?;
        let output = output_format(&globals, configured.as_deref());
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
            recorder: Default::default(),
            rolls_back: OnceLock::new(),
            discovered: OnceLock::new(),
        })
    }

    /// A context that has not read the configuration, for commands that need none
    /// (commands the table marks standalone): they run even when the file is invalid.
    pub(crate) fn standalone(env: Env, globals: Globals) -> Result<Context> {
        let config_dir = ConfigFile::dir(&env)?;
        let config = ConfigFile::unread(config_dir.join(crate::config::CONFIG_FILE_NAME));
        let profile_from_flag = globals.profile.is_some();
        let profile_name = globals
            .profile
            .clone()
            .or_else(|| env.get("AWS_PROFILE").map(str::to_string))
            .unwrap_or_else(|| "default".to_string());
        let configured = env
            .get("AWSIDEMAN_OUTPUT")
            .and_then(|v| v.trim().to_ascii_lowercase().parse::<OutputFormat>().ok());
        let output = globals
            .output
            .or(configured)
            .unwrap_or_else(terminal_default);
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
            recorder: Default::default(),
            rolls_back: OnceLock::new(),
            discovered: OnceLock::new(),
        })
    }

    /// A context for another configured awsideman profile (`backup restore --to-profile`):
    /// the same environment, configuration and global options, with that profile's own AWS
    /// profile, region and instance, and its own client and cache built on first use like
    /// this one's. `--region` and the instance variables (`AWSIDEMAN_SSO_INSTANCE_ARN`, ...)
    /// apply to the command's own profile, never to this one.
    pub(crate) fn for_profile(&self, name: &str) -> Result<Context> {
        let profile = self.config.profile(name)?.ok_or_else(|| {
            let known: Vec<String> = self
                .config
                .profiles()
                .map(|p| p.into_keys().collect())
                .unwrap_or_default();
            Error::config(format!(
                "no awsideman profile \"{}\" (profiles: {}): add it with 'awsideman profile \
                 add'",
                printable::one_line(name),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ))
        })?;
        let globals = Globals {
            profile: Some(name.to_string()),
            region: None,
            ..self.globals.clone()
        };
        Ok(Context {
            env: self.env.clone(),
            globals,
            config_dir: self.config_dir.clone(),
            config: self.config.clone(),
            profile_name: name.to_string(),
            profile,
            profile_from_flag: true,
            output: self.output,
            key_state: self.key_state.clone(),
            client: OnceLock::new(),
            credentials_cache_checked: OnceLock::new(),
            recorder: Default::default(),
            rolls_back: OnceLock::new(),
            discovered: OnceLock::new(),
        })
    }

    /// Whether a person is at the terminal (prompts and progress allowed).
    pub(crate) fn interactive(&self) -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    /// Prints a warning on stderr unless `--quiet`.
    pub(crate) fn warn(&self, message: impl std::fmt::Display) {
        if !self.globals.quiet {
            let message = message.to_string();
            let shown = printable::message(&message, printable::MAX_MESSAGE);
            eprintln!("awsideman: warning: {shown}");
        }
    }

    /// Prints a note on stderr unless `--quiet`: something awsideman fixed by itself.
    pub(crate) fn note(&self, message: impl std::fmt::Display) {
        if !self.globals.quiet {
            let message = message.to_string();
            let shown = printable::message(&message, printable::MAX_MESSAGE);
            eprintln!("awsideman: note: {shown}");
        }
    }

    /// Prints `message` on stderr when a person reads the output on a terminal (stdout and
    /// stderr are terminals) and not `--quiet`: hints that would be noise in a pipe.
    pub(crate) fn note_on_terminal(&self, message: impl std::fmt::Display) {
        if !self.globals.quiet && std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
        {
            let message = message.to_string();
            eprintln!(
                "awsideman: {}",
                printable::message(&message, printable::MAX_MESSAGE)
            );
        }
    }

    /// Asks before a destructive `action` ("delete user alice (Alice Liddell, id ...)"):
    /// `--yes` skips the question; without a terminal, `--yes` is required (a usage error,
    /// exit 2, otherwise). Any answer but yes is [`Error::declined`]: "nothing changed",
    /// exit 0.
    pub(crate) fn confirm(&self, m: &crate::commands::args::Matches, action: &str) -> Result<()> {
        if m.switch("yes") {
            return Ok(());
        }
        if !self.interactive() {
            return Err(Error::usage(format!(
                "{action}: refusing without --yes when stdin is not a terminal"
            )));
        }
        eprint!("awsideman: {}? [y/N] ", printable::one_line(action));
        let mut answer = String::new();
        std::io::BufRead::read_line(
            &mut std::io::Read::take(std::io::stdin().lock(), 256),
            &mut answer,
        )
        .map_err(|e| Error::runtime(format!("reading the answer: {e}")))?;
        if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            Ok(())
        } else {
            Err(Error::declined("nothing changed"))
        }
    }

    /// Saves what this process counted in the cache (see
    /// [`CacheManager::flush_counters`]); called once, at the end of a command.
    pub(crate) fn finish(&self) {
        if let Some(cache) = self.client.get().and_then(Client::cache) {
            cache.flush_counters();
        }
        self.say_how_old();
    }

    /// On a terminal (not for JSON), an answer served from a cache entry older than a
    /// minute says so in one dim line on stderr.
    fn say_how_old(&self) {
        if self.output == OutputFormat::Json {
            return;
        }
        let Some(read_at) = self.client.get().and_then(Client::oldest_cached) else {
            return;
        };
        let age = crate::clock::now_secs().saturating_sub(read_at);
        if age < 60 {
            return;
        }
        // Our own words only: nothing from AWS or a file, so printed as it is.
        let line = format!(
            "awsideman: cached {} ago; --refresh to update",
            age_in_words(age)
        );
        if self.globals.quiet
            || !std::io::stdout().is_terminal()
            || !std::io::stderr().is_terminal()
        {
            return;
        }
        if self.env.get("NO_COLOR").is_none() {
            eprintln!("\x1b[2m{line}\x1b[0m");
        } else {
            eprintln!("{line}");
        }
    }

    /// The AWS client, built on first use.
    pub(crate) fn client(&self) -> Result<&Client> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let client = self.build_client()?;
        Ok(self.client.get_or_init(|| client))
    }

    /// The identity store id of the profile, or a configuration error saying how to set it.
    pub(crate) fn identity_store_id(&self) -> Result<&str> {
        match self.profile.identity_store_id.as_deref() {
            Some(store) => Ok(store),
            None => self.discovered("identity_store_id").map(|(_, store)| store),
        }
    }

    /// The Identity Center instance ARN of the profile, or a configuration error.
    pub(crate) fn instance_arn(&self) -> Result<&str> {
        match self.profile.sso_instance_arn.as_deref() {
            Some(arn) => Ok(arn),
            None => self.discovered("sso_instance_arn").map(|(arn, _)| arn),
        }
    }

    /// The instance of a profile that names none (a CI job without a configuration file):
    /// found with one ListInstances on first use when the account has exactly one (the
    /// answer is cached on this machine for this caller). Never for a profile name the
    /// configuration does not know while it knows others: that is a typo, not a CI job.
    fn discovered(&self, key: &str) -> Result<(&str, &str)> {
        if let Some((arn, store)) = self.discovered.get() {
            return Ok((arn, store));
        }
        let known: Vec<String> = self
            .config
            .profiles()
            .map(|p| p.into_keys().collect())
            .unwrap_or_default();
        if !known.is_empty() && !known.contains(&self.profile_name) {
            return Err(self.not_configured(key));
        }
        let reply = self
            .client()?
            .list(&crate::client::LIST_INSTANCES, serde_json::json!({}))?;
        let instances: Vec<crate::client::shapes::InstanceSummary> =
            crate::client::shapes::items(&crate::client::LIST_INSTANCES, &reply, "Instances")?;
        let found = match instances.as_slice() {
            [] => Err(self.not_configured(key)),
            [one] => Ok((one.instance_arn.clone(), one.identity_store_id.clone())),
            several => Err(Error::config(format!(
                "this account has {} Identity Center instances ({}): choose one with \
                 AWSIDEMAN_SSO_INSTANCE_ARN and AWSIDEMAN_IDENTITY_STORE_ID, or 'awsideman sso \
                 set ARN STORE_ID'",
                several.len(),
                several
                    .iter()
                    .map(|i| i.instance_arn.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }?;
        let _ = self.discovered.set(found);
        let (arn, store) = self.discovered.get().expect("set just above");
        Ok((arn, store))
    }

    /// The error for a profile that lacks `key`: no configuration at all, no such profile
    /// (naming the ones there are), or a profile not yet pointed at an instance.
    fn not_configured(&self, key: &str) -> Error {
        let name = &self.profile_name;
        let known: Vec<String> = self
            .config
            .profiles()
            .map(|p| p.into_keys().collect())
            .unwrap_or_default();
        if known.is_empty() {
            return Error::config(format!(
                "no awsideman profile is configured yet: run 'awsideman profile add {name}' \
                 and then 'awsideman sso discover' (the README's Quick start)"
            ));
        }
        if !known.contains(name) {
            return Error::config(format!(
                "no awsideman profile \"{name}\" (profiles: {}): pass one with --profile, or \
                 add it with 'awsideman profile add {name}'",
                known.join(", ")
            ));
        }
        Error::config(format!(
            "profile \"{name}\" has no {key}: run 'awsideman sso discover' or \
             'awsideman sso set INSTANCE_ARN IDENTITY_STORE_ID'"
        ))
    }
}

/// The output format: `--output`, else `AWSIDEMAN_OUTPUT`, else the configuration's
/// `output`, else a table on a terminal and JSON otherwise.
fn output_format(globals: &Globals, configured: Option<&str>) -> OutputFormat {
    globals
        .output
        .or_else(|| configured.and_then(|c| c.parse().ok()))
        .unwrap_or_else(terminal_default)
}

/// A table on a terminal, JSON otherwise.
fn terminal_default() -> OutputFormat {
    if std::io::stdout().is_terminal() {
        OutputFormat::Table
    } else {
        OutputFormat::Json
    }
}

/// An age as people say it: `3 min`, `2 h 5 min`, `3 days`.
fn age_in_words(seconds: u64) -> String {
    let minutes = seconds / 60;
    match minutes {
        0..=59 => format!("{minutes} min"),
        60..=1439 if minutes.is_multiple_of(60) => format!("{} h", minutes / 60),
        60..=1439 => format!("{} h {} min", minutes / 60, minutes % 60),
        _ => format!("{} days", minutes / 1440),
    }
}

/// `AWSIDEMAN_SSO_INSTANCE_ARN` and `AWSIDEMAN_IDENTITY_STORE_ID` (for CI jobs without a
/// configuration file) win over the profile's values, like the AWS CLI's variables over its
/// files. A value that cannot be one is a configuration error.
fn instance_from_environment(env: &Env, profile: &mut ProfileConfig) -> Result<()> {
    if let Some(arn) = env
        .get("AWSIDEMAN_SSO_INSTANCE_ARN")
        .filter(|v| !v.is_empty())
    {
        let shaped = arn.starts_with("arn:") && arn.contains(":instance/") && arn.len() <= 1224;
        if !shaped {
            return Err(Error::config(format!(
                "AWSIDEMAN_SSO_INSTANCE_ARN is not an instance ARN (arn:aws:sso:::instance/ssoins-...): {}",
                printable::message(arn, printable::MAX_MESSAGE)
            )));
        }
        profile.sso_instance_arn = Some(arn.to_string());
    }
    if let Some(store) = env
        .get("AWSIDEMAN_IDENTITY_STORE_ID")
        .filter(|v| !v.is_empty())
    {
        let shaped =
            store.len() <= 64 && store.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !shaped {
            return Err(Error::config(format!(
                "AWSIDEMAN_IDENTITY_STORE_ID is not an identity store id (d-...): {}",
                printable::message(store, printable::MAX_MESSAGE)
            )));
        }
        profile.identity_store_id = Some(store.to_string());
    }
    Ok(())
}
