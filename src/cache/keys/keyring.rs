//! The `keyring` key source (the default): the OS keyring, through `keyring-core` with an
//! explicit store per platform: the Linux kernel keyutils, the macOS Keychain, the Windows
//! Credential Manager. No process-global default store is set: each operation builds its
//! entry from a store object of its own.
//!
//! The keyset is one secret (its text form) under service `awsideman-cache`, user `keyset`.
//! On Linux the kernel keyring needs a session keyring; where there is none usable (CI
//! runners, cron, `docker exec`) the store reports the keyring as unavailable, never as
//! "no key". Kernel keys do not survive a reboot: a vanished key is "no key", not damage.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};
use zeroize::Zeroizing;

use super::{ALTERNATIVES, KeyStore, Keyset, MasterKey};
use crate::error::{Error, Result};

/// The keyring service the keyset is stored under.
pub(crate) const KEYRING_SERVICE: &str = "awsideman-cache";

/// The keyring user (account) the keyset is stored under.
pub(crate) const KEYRING_USER: &str = "keyset";

/// The keyset in the OS keyring.
#[derive(Debug, Clone)]
pub(crate) struct KeyringStore {
    service: String,
}

impl KeyringStore {
    /// The keyring source (service `awsideman-cache`).
    pub(crate) fn new() -> KeyringStore {
        KeyringStore::with_service(KEYRING_SERVICE)
    }

    /// A keyring source under another service name (tests, probes).
    pub(crate) fn with_service(service: &str) -> KeyringStore {
        KeyringStore {
            service: service.to_string(),
        }
    }

    fn entry(&self) -> Result<Entry> {
        let store = platform_store()?;
        Entry::new_in_store(&store, &self.service, KEYRING_USER).map_err(unavailable)
    }

    fn damaged(&self, what: &str) -> Error {
        Error::runtime(format!(
            "cache encryption: the OS keyring entry {}/{KEYRING_USER} {what}; import the key \
             again ('cache encryption import-key') or delete the entry to start over (the \
             cache is then unreadable and refilled)",
            self.service
        ))
    }
}

impl Default for KeyringStore {
    fn default() -> KeyringStore {
        KeyringStore::new()
    }
}

impl KeyStore for KeyringStore {
    fn name(&self) -> &'static str {
        "keyring"
    }

    fn describe(&self) -> String {
        format!("OS keyring (service {})", self.service)
    }

    fn load(&self) -> Result<Option<Keyset>> {
        let entry = self.entry()?;
        let secret = match entry.get_secret() {
            Ok(secret) => Zeroizing::new(secret),
            Err(keyring_core::Error::NoEntry) => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        let text = std::str::from_utf8(&secret).map_err(|_| self.damaged("is not text"))?;
        Keyset::from_text(text)
            .map(Some)
            .map_err(|e| self.damaged(&format!("is not a keyset: {}", e.message())))
    }

    fn save(&self, keys: &Keyset) -> Result<()> {
        self.entry()?
            .set_secret(keys.to_text().as_bytes())
            .map_err(unavailable)
    }

    #[cfg(test)]
    fn delete(&self) -> Result<()> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn new_key(&self) -> Result<MasterKey> {
        MasterKey::generate()
    }
}

/// "The keyring cannot be used here", with the platform's reason and the alternatives.
fn unavailable(e: keyring_core::Error) -> Error {
    Error::runtime(format!(
        "cache encryption: the OS keyring is not available here ({}); {ALTERNATIVES}",
        describe_error(&e)
    ))
}

/// A keyring error in words, without the secret bytes some variants carry.
fn describe_error(e: &keyring_core::Error) -> String {
    use keyring_core::Error as K;
    match e {
        K::NoStorageAccess(inner) => format!("no access to the keyring: {inner}"),
        K::PlatformFailure(inner) => format!("keyring failure: {inner}"),
        K::NoEntry => "no entry".to_string(),
        K::BadEncoding(_) | K::BadDataFormat(..) => "the stored secret is malformed".to_string(),
        K::BadStoreFormat(why) => format!("the keyring is malformed: {why}"),
        K::TooLong(what, limit) => format!("{what} is longer than the keyring allows ({limit})"),
        K::Invalid(what, why) => format!("{what} is invalid: {why}"),
        K::Ambiguous(_) => "several keyring entries match".to_string(),
        K::NoDefaultStore => "no keyring store".to_string(),
        K::NotSupportedByStore(what) => format!("not supported: {what}"),
        _ => "unknown keyring error".to_string(),
    }
}

/// The credential store of this platform, built afresh (it is a small handle).
#[cfg(target_os = "linux")]
fn platform_store() -> Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> =
        linux_keyutils_keyring_store::Store::new().map_err(unavailable)?;
    Ok(store)
}

/// The credential store of this platform, built afresh (it is a small handle).
#[cfg(target_os = "macos")]
fn platform_store() -> Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> =
        apple_native_keyring_store::keychain::Store::new().map_err(unavailable)?;
    Ok(store)
}

/// The credential store of this platform, built afresh (it is a small handle).
#[cfg(target_os = "windows")]
fn platform_store() -> Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> =
        windows_native_keyring_store::Store::new().map_err(unavailable)?;
    Ok(store)
}

/// No OS keyring is supported on this platform.
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn platform_store() -> Result<Arc<CredentialStore>> {
    Err(Error::runtime(format!(
        "cache encryption: the OS keyring is unavailable on this platform; {ALTERNATIVES}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Set (to anything) to make a missing keyring fail the keyring tests instead of
    /// skipping them: `keyctl session - env AWSIDEMAN_TEST_REQUIRE_KEYRING=1 cargo test ...`.
    const REQUIRE_KEYRING: &str = "AWSIDEMAN_TEST_REQUIRE_KEYRING";

    /// A keyring store under a throw-away service, or `None` (with a note) when no usable
    /// keyring is present here. The name is fixed per test: where the keyring half works
    /// (the key is added but cannot be linked or removed, as in containers whose session
    /// keyring belongs to another user namespace) a failed probe leaves one small test key
    /// behind, overwritten by the next run rather than piling up.
    fn probe(label: &str) -> Option<KeyringStore> {
        let store = KeyringStore::with_service(&format!("awsideman-cache-test-{label}"));
        let outcome = store
            .save(&Keyset::generate().unwrap())
            .and_then(|()| store.load());
        match outcome {
            Ok(Some(_)) => {
                store.delete().unwrap();
                Some(store)
            }
            Ok(None) => panic!("keyring: a saved keyset did not load"),
            Err(e) if std::env::var_os(REQUIRE_KEYRING).is_some() => {
                panic!("{REQUIRE_KEYRING} is set but the keyring is unusable: {e}")
            }
            Err(e) => {
                eprintln!(
                    "note: skipping keyring test {label}: no usable keyring here ({e}); run \
                     'keyctl session - cargo test --lib cache::keys' to include it"
                );
                None
            }
        }
    }

    #[test]
    fn describe_names_the_service() {
        assert_eq!(
            KeyringStore::new().describe(),
            "OS keyring (service awsideman-cache)"
        );
    }

    #[test]
    fn keyring_round_trip_when_available() {
        let Some(store) = probe("round-trip") else {
            return;
        };
        assert!(store.load().unwrap().is_none(), "deleted entry is no key");
        let mut set = Keyset::generate().unwrap();
        store.save(&set).unwrap();
        set.add_active(store.new_key().unwrap());
        store.save(&set).unwrap();
        let back = store.load().unwrap().unwrap();
        assert_eq!(back.ids(), set.ids());
        assert_eq!(back.active().as_bytes(), set.active().as_bytes());
        store.delete().unwrap();
        assert!(store.load().unwrap().is_none());
        store.delete().unwrap();
    }

    #[test]
    fn damaged_entry_is_an_error_not_no_key() {
        let Some(store) = probe("damaged") else {
            return;
        };
        let entry = store.entry().unwrap();
        entry.set_secret(b"{\"version\":1}").unwrap();
        let message = store.load().unwrap_err().to_string();
        assert!(message.contains("is not a keyset"), "{message}");
        store.delete().unwrap();
    }
}
