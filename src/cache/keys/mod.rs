//! The key material of cache encryption: master keys, keysets, and the stores that keep
//! them (OS keyring, environment, key file, AWS KMS).
//!
//! This module never prints, logs or puts key material in an error or a `Debug` output, and
//! never decides policy: a store answers "here is the keyset", "there is none yet" or "I am
//! unusable here (and these are the alternatives)"; what to do then is the cache manager's
//! call. Opening a store touches nothing; each `load` reads its source again, so callers
//! load once per process and hold the keyset.

mod env;
mod file;
mod keyring;
mod keyset;
mod kms;
pub(crate) mod sealer;

use std::fmt;
use std::path::PathBuf;

use serde_json::Value;

use crate::env::Env;
use crate::error::Result;

pub(crate) use env::EnvStore;
pub(crate) use file::FileStore;
pub(crate) use keyring::KeyringStore;
pub use keyset::Keyset;
pub(crate) use keyset::{MasterKey, is_key_id};
pub(crate) use kms::{KMS_OPERATIONS, KmsStore, Versioned, WrappedKeysFile, WrappedKeysPlace};

/// What to say after "this key source is unusable": the other sources and their settings.
pub(crate) const ALTERNATIVES: &str = "use cache.encryption_key_source env (AWSIDEMAN_CACHE_KEY), \
                                file (cache.encryption_key_file) or kms";

/// Where the master keys of cache encryption are kept.
pub(crate) trait KeyStore: Send + Sync {
    /// The source's name in `cache.encryption_key_source`: `keyring`, `env`, `file` or `kms`.
    fn name(&self) -> &'static str;

    /// Where exactly, for `cache encryption status` and messages: `OS keyring (service
    /// awsideman-cache)`, `AWSIDEMAN_CACHE_KEY`, the key file's path, `KMS key <id> (wrapped
    /// keys in <path>)`.
    fn describe(&self) -> String;

    /// The stored keyset. `Ok(None)`: no key stored yet (or it vanished, e.g. a keyring
    /// emptied by a reboot). `Err`: the source is unusable or its content is damaged; the
    /// message names the source and, when the source cannot be used here, the alternatives.
    fn load(&self) -> Result<Option<Keyset>>;

    /// Stores `keys`, replacing what was stored. Read-only sources (env) refuse.
    fn save(&self, keys: &Keyset) -> Result<()>;

    /// Changes the stored keyset to what `change` makes of the current one (`Ok(None)`: no
    /// change), safely against other machines sharing the store: the current keyset is
    /// read, changed and written only if nobody wrote in between, else read again and
    /// `change` runs again on what is there now. Returns the keyset stored afterwards.
    /// Stores only this machine uses (every one but kms with a shared table) are changed
    /// one at a time by the key-change lock, so the default reads, changes and saves.
    fn update(
        &self,
        change: &mut dyn FnMut(Option<Keyset>) -> Result<Option<Keyset>>,
    ) -> Result<Option<Keyset>> {
        let current = self.load()?;
        match change(current.clone())? {
            Some(keys) => {
                self.save(&keys)?;
                Ok(Some(keys))
            }
            None => Ok(current),
        }
    }

    /// The version of the stored keyset last loaded or stored here, when the store is
    /// shared between machines: entries sealed with it are written only while it is still
    /// the stored one (see the DynamoDB backend's key guard). `None` for a store only this
    /// machine uses.
    fn shared_version(&self) -> Option<String> {
        None
    }

    #[cfg(test)]
    /// Removes the stored keyset; nothing stored is not an error.
    fn delete(&self) -> Result<()>;

    /// A new master key made by this source: random for the keyring and file sources,
    /// a KMS data key for kms (which [`KeyStore::save`] can then store wrapped). The env
    /// source cannot make keys.
    fn new_key(&self) -> Result<MasterKey>;
}

/// Calls one AWS KMS operation (`GenerateDataKey`, `Decrypt`, `Encrypt`) with a JSON input and
/// returns the JSON reply: the signed AWS transport, or a fake in tests.
pub(crate) type KmsCaller = Box<dyn Fn(&str, &Value) -> Result<Value> + Send + Sync>;

/// Which key store to open (from `cache.encryption_key_source` and its settings).
pub(crate) enum KeySource {
    /// The OS keyring: macOS Keychain, Windows Credential Manager, Linux kernel keyutils.
    Keyring,
    /// `AWSIDEMAN_CACHE_KEY` (read only).
    Env,
    /// A key file (tilde already expanded); it must be a 0600 file of the current user.
    File(PathBuf),
    /// KMS data keys, stored wrapped in `place`.
    Kms {
        /// The KMS key id, ARN, alias name or alias ARN that wraps the data keys.
        key_id: String,
        /// Where the wrapped data keys are kept: a file next to a file cache, an item of the
        /// DynamoDB cache table.
        place: Box<dyn WrappedKeysPlace>,
        /// How KMS is called.
        caller: KmsCaller,
    },
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Keyring => f.write_str("Keyring"),
            KeySource::Env => f.write_str("Env"),
            KeySource::File(path) => f.debug_tuple("File").field(path).finish(),
            KeySource::Kms {
                key_id,
                place,
                caller: _,
            } => f
                .debug_struct("Kms")
                .field("key_id", key_id)
                .field("place", &place.describe())
                .finish_non_exhaustive(),
        }
    }
}

/// Opens the key store of `source`. Touches nothing: every failure shows in the store's
/// operations. `env` is where the env source reads its key.
pub(crate) fn open(source: KeySource, env: &Env) -> Result<Box<dyn KeyStore>> {
    Ok(match source {
        KeySource::Keyring => Box::new(KeyringStore::new()),
        KeySource::Env => Box::new(EnvStore::new(env)),
        KeySource::File(path) => Box::new(FileStore::new(path)),
        KeySource::Kms {
            key_id,
            place,
            caller,
        } => Box::new(KmsStore::new(key_id, place, caller)),
    })
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers shared by the stores' tests.

    use std::path::PathBuf;

    /// A fresh, empty directory under the system temp dir, removed when dropped.
    pub(crate) struct TempDir(pub(crate) PathBuf);

    impl TempDir {
        /// Creates the directory; `label` helps tell tests apart.
        pub(crate) fn new(label: &str) -> TempDir {
            let mut noise = [0u8; 8];
            getrandom::getrandom(&mut noise).unwrap();
            let dir = std::env::temp_dir().join(format!(
                "awsideman-keys-{label}-{}-{:016x}",
                std::process::id(),
                u64::from_le_bytes(noise)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Asserts that `message` quotes no run of 6 or more characters of `secret`.
    pub(crate) fn assert_no_secret(message: &str, secret: &str) {
        let secret: Vec<char> = secret.chars().collect();
        for window in secret.windows(6) {
            let piece: String = window.iter().collect();
            assert!(
                !message.contains(&piece),
                "message {message:?} quotes the secret"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_names_each_source() {
        let env = Env::from_pairs([("X", "y")]);
        let caller: KmsCaller = Box::new(|_, _| Ok(Value::Null));
        let sources = [
            (KeySource::Keyring, "keyring"),
            (KeySource::Env, "env"),
            (KeySource::File(PathBuf::from("/k")), "file"),
            (
                KeySource::Kms {
                    key_id: "alias/x".into(),
                    place: Box::new(kms::WrappedKeysFile(PathBuf::from("/w"))),
                    caller,
                },
                "kms",
            ),
        ];
        for (source, name) in sources {
            let shown = format!("{source:?}");
            let store = open(source, &env).unwrap();
            assert_eq!(store.name(), name, "{shown}");
            assert!(!store.describe().is_empty());
        }
    }
}
