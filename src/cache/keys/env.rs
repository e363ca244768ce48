//! The `env` key source: `AWSIDEMAN_CACHE_KEY`, for CI secrets. Read only.
//!
//! The variable holds the base64 of a 32-byte key, or a keyset text from
//! `cache encryption export-key`. Its value is never echoed, not even in part.

use zeroize::Zeroizing;

use super::{KeyStore, Keyset, MasterKey};
use crate::env::Env;
use crate::error::{Error, Result};

/// The variable the env source reads.
pub(crate) const ENV_VAR: &str = "AWSIDEMAN_CACHE_KEY";

/// The key in `AWSIDEMAN_CACHE_KEY`, as captured at start-up.
pub(crate) struct EnvStore {
    value: Option<Zeroizing<String>>,
}

impl EnvStore {
    /// The env source over the environment snapshot `env`.
    pub(crate) fn new(env: &Env) -> EnvStore {
        EnvStore {
            value: env.get(ENV_VAR).map(|v| Zeroizing::new(v.to_string())),
        }
    }
}

impl KeyStore for EnvStore {
    fn name(&self) -> &'static str {
        "env"
    }

    fn describe(&self) -> String {
        ENV_VAR.to_string()
    }

    fn load(&self) -> Result<Option<Keyset>> {
        let Some(value) = &self.value else {
            return Ok(None);
        };
        Keyset::from_text(value).map(Some).map_err(|e| {
            Error::config(format!(
                "cache encryption: {ENV_VAR} does not hold a cache key: {} (expected the base64 \
                 of 32 bytes, e.g. from 'openssl rand -base64 32', or the output of \
                 'cache encryption export-key')",
                e.message()
            ))
        })
    }

    fn save(&self, _keys: &Keyset) -> Result<()> {
        Err(read_only())
    }

    #[cfg(test)]
    fn delete(&self) -> Result<()> {
        Err(read_only())
    }

    fn new_key(&self) -> Result<MasterKey> {
        Err(read_only())
    }
}

fn read_only() -> Error {
    Error::config(format!(
        "cache encryption: the env key source is read-only: put the key in {ENV_VAR} (see \
         'cache encryption export-key')"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::keys::test_support::assert_no_secret;
    use crate::error::Kind;

    fn store(value: &str) -> EnvStore {
        EnvStore::new(&Env::from_pairs([(ENV_VAR, value)]))
    }

    #[test]
    fn missing_or_empty_is_no_key() {
        assert!(EnvStore::new(&Env::default()).load().unwrap().is_none());
        assert!(store("").load().unwrap().is_none());
    }

    #[test]
    fn base64_key_and_keyset_text_load() {
        let key = MasterKey::generate().unwrap();
        let set = store(&key.to_base64()).load().unwrap().unwrap();
        assert_eq!(set.active().as_bytes(), key.as_bytes());

        let mut rotating = Keyset::single(key.clone());
        rotating.add_active(MasterKey::generate().unwrap());
        let loaded = store(&rotating.to_text()).load().unwrap().unwrap();
        assert_eq!(loaded.ids(), rotating.ids());
        assert_eq!(loaded.active().id(), rotating.active().id());
    }

    #[test]
    fn malformed_names_the_variable_without_echoing_it() {
        let secretish = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==";
        for value in [secretish, "%%%%invalid%%%%", "{\"version\":1}"] {
            let e = store(value).load().unwrap_err();
            assert_eq!(e.kind(), Kind::Config);
            let message = e.to_string();
            assert!(message.contains(ENV_VAR), "{message}");
            assert_no_secret(&message, value);
        }
    }

    #[test]
    fn save_is_refused() {
        let s = store("");
        let e = s.save(&Keyset::generate().unwrap()).unwrap_err();
        assert!(e.to_string().contains("read-only"), "{e}");
        assert!(e.to_string().contains("export-key"), "{e}");
        assert!(s.new_key().is_err());
        assert!(s.delete().is_err());
        assert_eq!(s.describe(), ENV_VAR);
    }
}
