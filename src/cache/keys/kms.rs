//! The `kms` key source: master keys are AWS KMS data keys, stored wrapped (encrypted under a
//! KMS key) in a small JSON document kept where the cache is: a file next to a file cache, or
//! an item of the DynamoDB cache table (see [`WrappedKeysPlace`]). Whoever may call KMS
//! Decrypt with that KMS key can unwrap them, which is how several machines share one
//! encrypted cache with nothing to copy between them.
//!
//! A new key is a `GenerateDataKey` (AES_256) plaintext whose wrapped form is remembered for
//! `save`; a key from elsewhere (an imported key) is wrapped with `Encrypt` when saved. Every
//! call pins the KMS key id and an encryption context, so a wrapped key made for something
//! else, or under another KMS key, is refused by KMS itself. Plaintext keys from KMS replies
//! are wiped from the reply once decoded; they are never printed.
//!
//! The wrapped key document: `{"version":1,"kms_key_id":"...","active":"<id>",
//! "keys":{"<id>":"<base64 CiphertextBlob>"}}`; as a file, 0600 and replaced atomically.
//!
//! Machines sharing a table share the document, so it is never written blindly: each stored
//! document has a version (a random token in the table item, the content's hash in a file),
//! a change is written only if the version is still the one read, and on a conflict the
//! document is read again and the change made again on it ([`KeyStore::update`]). Two
//! machines rotating at once therefore never lose a key.

use std::collections::BTreeMap;

use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use zeroize::Zeroize;

use super::{KeyStore, Keyset, KmsCaller, MasterKey, is_key_id};
use crate::error::{Error, Result};
use crate::fsutil::{Links, read_private_file, verify_private_dir, write_private_atomically};

/// The encryption context of every KMS call: binds wrapped keys to this purpose (and shows in
/// CloudTrail).
pub(crate) const KMS_ENCRYPTION_CONTEXT: (&str, &str) = ("awsideman", "cache-key");

/// Every KMS operation the kms key source calls: the source of `awsideman iam-policy kms`.
/// A test checks it against the operation names this module passes to its caller.
pub(crate) const KMS_OPERATIONS: &[&str] = &["GenerateDataKey", "Decrypt", "Encrypt"];

/// The version written in, and required of, wrapped key files.
const FILE_VERSION: u32 = 1;

/// A wrapped key document larger than this is not one.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A stored wrapped key document and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Versioned {
    /// The document.
    pub(crate) document: Vec<u8>,
    /// Its version: any change makes a new one.
    pub(crate) version: String,
}

/// Where the wrapped key document is kept. The keys in it are useless without KMS Decrypt on
/// the KMS key, so it may sit wherever the cache does.
pub(crate) trait WrappedKeysPlace: Send + Sync {
    /// Where, for messages: `wrapped key file <path>`, `dynamodb table <name> (item ...)`.
    fn describe(&self) -> String;
    /// The stored document and its version, `None` when there is none yet.
    fn read(&self) -> Result<Option<Versioned>>;
    /// Stores `document` if the stored version is still `expected` (`None`: nothing is
    /// stored yet), replacing the old one at once; returns its new version, or `None` when
    /// someone wrote in between (nothing was written).
    fn write_if(&self, document: &[u8], expected: Option<&str>) -> Result<Option<String>>;
    #[cfg(test)]
    /// Removes the document; none stored is not an error.
    fn remove(&self) -> Result<()>;
    /// Whether other machines share this place (a table: yes; a file: no).
    fn is_shared(&self) -> bool {
        false
    }
}

/// The wrapped key document as a file next to a file cache (0600, replaced atomically).
///
/// Its directory must be private (ours or root's, not writable by others: nothing is
/// repaired here, the cache does that). The file is read without following a link or
/// waiting, only when it is a regular file of ours that others cannot write, and at most
/// 1 MiB of it.
pub(crate) struct WrappedKeysFile(pub(crate) PathBuf);

impl WrappedKeysFile {
    /// Refuses a directory that others control; `Ok(false)` when it does not exist yet.
    fn check_dir(&self) -> Result<bool> {
        match self.0.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) => verify_private_dir(dir, dir).map_err(|e| Error::runtime(e.to_string())),
            None => Ok(true),
        }
    }
}

impl WrappedKeysPlace for WrappedKeysFile {
    fn describe(&self) -> String {
        format!("wrapped key file {}", self.0.display())
    }

    fn read(&self) -> Result<Option<Versioned>> {
        if !self.check_dir()? {
            return Ok(None);
        }
        let document = read_private_file(&self.0, Links::Refuse, MAX_FILE_BYTES)
            .map_err(|e| Error::runtime(e.to_string()))?;
        Ok(document.map(|document| Versioned {
            version: content_version(&document),
            document,
        }))
    }

    /// Changes of a file on one machine run one at a time (the key-change lock): the check
    /// against `expected` only guards against a change made without it.
    fn write_if(&self, document: &[u8], expected: Option<&str>) -> Result<Option<String>> {
        let current = self.read()?.map(|v| v.version);
        if current.as_deref() != expected {
            return Ok(None);
        }
        self.check_dir()?;
        write_private_atomically(&self.0, document)?;
        Ok(Some(content_version(document)))
    }

    #[cfg(test)]
    fn remove(&self) -> Result<()> {
        match std::fs::remove_file(&self.0) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::runtime(format!("cannot remove it ({e})"))),
        }
    }
}

/// The wrapped key file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WrappedFile {
    version: u32,
    kms_key_id: String,
    active: String,
    keys: BTreeMap<String, String>,
}

/// The version of a wrapped key file: a hash of its content.
fn content_version(document: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(document)[..8])
}

/// How many times a change of the wrapped keys is tried against concurrent writers.
const UPDATE_ATTEMPTS: usize = 20;

/// Master keys wrapped by a KMS key.
pub(crate) struct KmsStore {
    key_id: String,
    place: Box<dyn WrappedKeysPlace>,
    caller: KmsCaller,
    /// The wrapped form (base64 CiphertextBlob) of each key id this store generated or loaded.
    wrapped: Mutex<BTreeMap<String, String>>,
    /// The keys this store generated or unwrapped, so that reading the document again (a
    /// conflicting change) costs no second KMS call.
    keys: Mutex<BTreeMap<String, MasterKey>>,
    /// The version of the document last read or written here.
    version: Mutex<Option<String>>,
}

impl KmsStore {
    /// The kms source: data keys of KMS key `key_id` (id, ARN, alias name or alias ARN), kept
    /// wrapped in `place`, KMS called through `caller`.
    pub(crate) fn new(
        key_id: String,
        place: Box<dyn WrappedKeysPlace>,
        caller: KmsCaller,
    ) -> KmsStore {
        KmsStore {
            key_id,
            place,
            caller,
            wrapped: Mutex::new(BTreeMap::new()),
            keys: Mutex::new(BTreeMap::new()),
            version: Mutex::new(None),
        }
    }

    /// A new data key from KMS `GenerateDataKey` (AES_256); its wrapped form is remembered so
    /// that [`KeyStore::save`] can store it.
    pub(crate) fn generate_key(&self) -> Result<MasterKey> {
        let input = json!({
            "KeyId": self.key_id,
            "KeySpec": "AES_256",
            "EncryptionContext": context(),
        });
        let mut reply = (self.caller)("GenerateDataKey", &input)
            .map_err(|e| e.context(self.doing("generating a data key")))?;
        let key = take_plaintext(&mut reply).map_err(|e| {
            Error::runtime(format!(
                "{}: {}",
                self.doing("generating a data key"),
                e.message()
            ))
        })?;
        let blob = blob_of(&reply)
            .ok_or_else(|| self.bad_reply("GenerateDataKey", "has no CiphertextBlob"))?;
        self.remember(key.id(), blob);
        self.remember_key(&key);
        Ok(key)
    }

    fn unwrap_key(&self, id: &str, blob: &str) -> Result<MasterKey> {
        let doing = || self.doing(&format!("unwrapping cache key {id}"));
        let input = json!({
            "CiphertextBlob": blob,
            "KeyId": self.key_id,
            "EncryptionContext": context(),
        });
        let mut reply = (self.caller)("Decrypt", &input).map_err(|e| e.context(doing()))?;
        let key = take_plaintext(&mut reply)
            .map_err(|e| Error::runtime(format!("{}: {}", doing(), e.message())))?;
        if key.id() != id {
            return Err(Error::runtime(format!(
                "{}: KMS returned a key that does not match the id (the {} was edited or \
                 damaged)",
                doing(),
                self.place.describe()
            )));
        }
        self.remember(id, blob.to_string());
        self.remember_key(&key);
        Ok(key)
    }

    /// Wraps a key this store did not generate (an imported one) with KMS `Encrypt`.
    fn wrap_key(&self, key: &MasterKey) -> Result<String> {
        let doing = || self.doing(&format!("wrapping cache key {}", key.id()));
        let mut input = json!({
            "KeyId": self.key_id,
            "Plaintext": key.to_base64().as_str(),
            "EncryptionContext": context(),
        });
        let outcome = (self.caller)("Encrypt", &input);
        if let Some(Value::String(plaintext)) = input.get_mut("Plaintext") {
            plaintext.zeroize();
        }
        let reply = outcome.map_err(|e| e.context(doing()))?;
        let blob =
            blob_of(&reply).ok_or_else(|| self.bad_reply("Encrypt", "has no CiphertextBlob"))?;
        self.remember(key.id(), blob.clone());
        Ok(blob)
    }

    fn remember(&self, id: &str, blob: String) {
        self.wrapped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), blob);
    }

    fn remember_key(&self, key: &MasterKey) {
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.id().to_string(), key.clone());
    }

    fn remembered(&self, id: &str) -> Option<String> {
        self.wrapped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    fn doing(&self, what: &str) -> String {
        format!("cache encryption: {what} with KMS key {}", self.key_id)
    }

    fn bad_reply(&self, operation: &str, what: &str) -> Error {
        Error::runtime(format!(
            "cache encryption: the KMS {operation} reply {what} (KMS key {})",
            self.key_id
        ))
    }

    fn file_error(&self, what: impl std::fmt::Display) -> Error {
        Error::runtime(format!(
            "cache encryption: {}: {what}",
            self.place.describe()
        ))
    }

    /// The stored document, decoded and checked, with its version.
    fn read_file(&self) -> Result<Option<(WrappedFile, String)>> {
        let Some(Versioned {
            document: bytes,
            version,
        }) = self
            .place
            .read()
            .map_err(|e| self.file_error(e.message()))?
        else {
            return Ok(None);
        };
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(self.file_error("too large for a wrapped key file"));
        }
        let file: WrappedFile = serde_json::from_slice(&bytes)
            .map_err(|e| self.file_error(format_args!("not a wrapped key file ({e})")))?;
        if file.version != FILE_VERSION {
            return Err(self.file_error(format_args!(
                "version {}, this awsideman reads version {FILE_VERSION}",
                file.version
            )));
        }
        if file.kms_key_id != self.key_id {
            return Err(self.file_error(format_args!(
                "its keys are wrapped by KMS key {}, but the configured KMS key is {}; \
                 configure {} again, or remove it to start over with new keys",
                file.kms_key_id, self.key_id, file.kms_key_id
            )));
        }
        if let Some(bad) = file
            .keys
            .keys()
            .chain([&file.active])
            .find(|id| !is_key_id(id))
        {
            return Err(self.file_error(format_args!("{bad:?} is not a key id")));
        }
        if !file.keys.contains_key(&file.active) {
            return Err(self.file_error(format_args!(
                "the active key {} is not in the file",
                file.active
            )));
        }
        Ok(Some((file, version)))
    }

    /// The keyset of a stored document: every key unwrapped by KMS.
    fn keyset_of(&self, file: &WrappedFile) -> Result<Keyset> {
        let mut active = None;
        let mut older = Vec::new();
        for (id, blob) in &file.keys {
            let key = match (self.remembered(id), self.known_key(id)) {
                // Unwrapped before by this store: no second KMS call.
                (Some(known_blob), Some(key)) if known_blob == *blob => key,
                _ => self.unwrap_key(id, blob)?,
            };
            if *id == file.active {
                active = Some(key);
            } else {
                older.push(key);
            }
        }
        let active = active.ok_or_else(|| self.file_error("no active key"))?;
        Ok(Keyset::with_older(active, older))
    }

    /// A key this store unwrapped or generated before, by id.
    fn known_key(&self, id: &str) -> Option<MasterKey> {
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// The document for `keys`, every key wrapped (with `Encrypt` for keys this store did
    /// not make or unwrap).
    fn document_of(&self, keys: &Keyset) -> Result<Vec<u8>> {
        let mut wrapped = BTreeMap::new();
        for key in keys.keys() {
            let blob = match self.remembered(key.id()) {
                Some(blob) => blob,
                None => self.wrap_key(key)?,
            };
            wrapped.insert(key.id().to_string(), blob);
        }
        let file = WrappedFile {
            version: FILE_VERSION,
            kms_key_id: self.key_id.clone(),
            active: keys.active().id().to_string(),
            keys: wrapped,
        };
        let mut text = serde_json::to_vec_pretty(&file)
            .map_err(|e| self.file_error(format_args!("encoding it: {e}")))?;
        text.push(b'\n');
        Ok(text)
    }

    fn set_version(&self, version: Option<String>) {
        *self.version.lock().unwrap_or_else(|e| e.into_inner()) = version;
    }
}

impl KeyStore for KmsStore {
    fn name(&self) -> &'static str {
        "kms"
    }

    fn describe(&self) -> String {
        format!("KMS key {} ({})", self.key_id, self.place.describe())
    }

    fn load(&self) -> Result<Option<Keyset>> {
        let Some((file, version)) = self.read_file()? else {
            self.set_version(None);
            return Ok(None);
        };
        let keys = self.keyset_of(&file)?;
        self.set_version(Some(version));
        Ok(Some(keys))
    }

    /// Stores `keys` over whatever is stored (retrying on concurrent writers). Changes that
    /// must not lose another machine's keys go through [`KeyStore::update`].
    fn save(&self, keys: &Keyset) -> Result<()> {
        self.update(&mut |_| Ok(Some(keys.clone()))).map(drop)
    }

    fn update(
        &self,
        change: &mut dyn FnMut(Option<Keyset>) -> Result<Option<Keyset>>,
    ) -> Result<Option<Keyset>> {
        for _ in 0..UPDATE_ATTEMPTS {
            let (current, version) = match self.read_file()? {
                Some((file, version)) => (Some(self.keyset_of(&file)?), Some(version)),
                None => (None, None),
            };
            let Some(next) = change(current.clone())? else {
                self.set_version(version);
                return Ok(current);
            };
            let document = self.document_of(&next)?;
            let written = self
                .place
                .write_if(&document, version.as_deref())
                .map_err(|e| e.context("cache encryption: saving the wrapped keys"))?;
            if let Some(version) = written {
                self.set_version(Some(version));
                return Ok(Some(next));
            }
        }
        Err(self.file_error(format_args!(
            "changed by other machines {UPDATE_ATTEMPTS} times while this change was being \
             saved; run the command again"
        )))
    }

    fn shared_version(&self) -> Option<String> {
        if !self.place.is_shared() {
            return None;
        }
        self.version
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    #[cfg(test)]
    fn delete(&self) -> Result<()> {
        self.place
            .remove()
            .map_err(|e| self.file_error(e.message()))
    }

    fn new_key(&self) -> Result<MasterKey> {
        self.generate_key()
    }
}

fn context() -> Value {
    let mut map = Map::new();
    map.insert(
        KMS_ENCRYPTION_CONTEXT.0.to_string(),
        Value::String(KMS_ENCRYPTION_CONTEXT.1.to_string()),
    );
    Value::Object(map)
}

/// The base64 `CiphertextBlob` of a KMS reply.
fn blob_of(reply: &Value) -> Option<String> {
    reply
        .get("CiphertextBlob")
        .and_then(Value::as_str)
        .filter(|b| !b.is_empty())
        .map(str::to_string)
}

/// Decodes the base64 `Plaintext` of a KMS reply into a key, and wipes it from the reply.
fn take_plaintext(reply: &mut Value) -> Result<MasterKey> {
    let Some(Value::String(plaintext)) = reply.get_mut("Plaintext") else {
        return Err(Error::runtime("the KMS reply has no Plaintext"));
    };
    let key = MasterKey::from_base64(plaintext)
        .map_err(|e| Error::runtime(format!("the KMS reply's Plaintext: {}", e.message())));
    plaintext.zeroize();
    key
}

#[cfg(test)]
mod tests {
    #[test]
    fn kms_operations_are_exactly_the_ones_called() {
        let source = include_str!("kms.rs");
        let code = source
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        let called: std::collections::BTreeSet<&str> = code
            .split("(self.caller)(\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        let listed: std::collections::BTreeSet<&str> = KMS_OPERATIONS.iter().copied().collect();
        assert_eq!(
            listed.len(),
            KMS_OPERATIONS.len(),
            "an operation is listed twice"
        );
        assert_eq!(listed, called);
    }

    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as BASE64;

    use super::*;
    use crate::cache::keys::test_support::{TempDir, assert_no_secret};

    const KEY_ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/fake";

    /// A fake KMS: a "wrapped" key is `fake-kms|<key id>|<plaintext>`. Counts calls per op.
    fn fake_kms(calls: Arc<[AtomicUsize; 3]>, fail_decrypt: bool) -> KmsCaller {
        Box::new(move |operation, input| {
            assert_eq!(input["EncryptionContext"]["awsideman"], "cache-key");
            let key_id = input["KeyId"].as_str().unwrap().to_string();
            let wrap = |plain: &[u8]| {
                let mut blob = format!("fake-kms|{key_id}|").into_bytes();
                blob.extend_from_slice(plain);
                BASE64.encode(blob)
            };
            match operation {
                "GenerateDataKey" => {
                    calls[0].fetch_add(1, Ordering::SeqCst);
                    assert_eq!(input["KeySpec"], "AES_256");
                    let key = MasterKey::generate().unwrap();
                    Ok(json!({
                        "CiphertextBlob": wrap(key.as_bytes()),
                        "Plaintext": key.to_base64().as_str(),
                        "KeyId": KEY_ARN,
                    }))
                }
                "Encrypt" => {
                    calls[1].fetch_add(1, Ordering::SeqCst);
                    let plain = BASE64.decode(input["Plaintext"].as_str().unwrap()).unwrap();
                    Ok(json!({"CiphertextBlob": wrap(&plain), "KeyId": KEY_ARN}))
                }
                "Decrypt" => {
                    calls[2].fetch_add(1, Ordering::SeqCst);
                    if fail_decrypt {
                        return Err(Error::aws(
                            "kms Decrypt: AccessDeniedException: not allowed",
                            "AccessDeniedException",
                            400,
                        ));
                    }
                    let blob = BASE64
                        .decode(input["CiphertextBlob"].as_str().unwrap())
                        .unwrap();
                    let prefix = format!("fake-kms|{key_id}|").into_bytes();
                    let Some(plain) = blob.strip_prefix(prefix.as_slice()) else {
                        return Err(Error::aws(
                            "kms Decrypt: IncorrectKeyException: wrong key",
                            "IncorrectKeyException",
                            400,
                        ));
                    };
                    Ok(json!({"Plaintext": BASE64.encode(plain), "KeyId": KEY_ARN}))
                }
                other => panic!("unexpected KMS operation {other}"),
            }
        })
    }

    fn counters() -> Arc<[AtomicUsize; 3]> {
        Arc::new([
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            AtomicUsize::new(0),
        ])
    }

    fn store(dir: &TempDir, calls: &Arc<[AtomicUsize; 3]>, fail_decrypt: bool) -> KmsStore {
        KmsStore::new(
            "alias/awsideman".into(),
            Box::new(WrappedKeysFile(dir.0.join("cache/keys.kms.json"))),
            fake_kms(calls.clone(), fail_decrypt),
        )
    }

    #[test]
    fn generate_save_load_round_trip() {
        let dir = TempDir::new("kms-round-trip");
        let calls = counters();
        let first = store(&dir, &calls, false);
        assert!(first.load().unwrap().is_none(), "no file yet: no key");
        let mut set = Keyset::single(first.new_key().unwrap());
        first.save(&set).unwrap();
        set.add_active(first.generate_key().unwrap());
        first.save(&set).unwrap();
        assert_eq!(calls[0].load(Ordering::SeqCst), 2);
        assert_eq!(
            calls[1].load(Ordering::SeqCst),
            0,
            "generated keys need no Encrypt"
        );

        let text = std::fs::read_to_string(dir.0.join("cache/keys.kms.json")).unwrap();
        let file: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(file["version"], 1);
        assert_eq!(file["kms_key_id"], "alias/awsideman");
        assert_eq!(file["active"], set.active().id());
        assert_eq!(file["keys"].as_object().unwrap().len(), 2);
        for key in set.keys() {
            assert_no_secret(&text, &key.to_base64());
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(dir.0.join("cache/keys.kms.json")).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        }

        // Another process: everything comes back through Decrypt.
        let second = store(&dir, &calls, false);
        let back = second.load().unwrap().unwrap();
        assert_eq!(calls[2].load(Ordering::SeqCst), 2);
        assert_eq!(back.ids(), set.ids());
        assert_eq!(back.active().id(), set.active().id());
        for key in set.keys() {
            assert_eq!(back.get(key.id()).unwrap().as_bytes(), key.as_bytes());
        }

        // Retiring and saving again reuses the remembered wrapped key: no KMS call.
        let mut back = back;
        back.retire_inactive();
        second.save(&back).unwrap();
        assert_eq!(calls[1].load(Ordering::SeqCst), 0);
        let again = store(&dir, &calls, false).load().unwrap().unwrap();
        assert_eq!(again.ids(), vec![set.active().id()]);

        second.delete().unwrap();
        assert!(second.load().unwrap().is_none());
        second.delete().unwrap();
    }

    #[test]
    fn imported_keys_are_wrapped_with_encrypt() {
        let dir = TempDir::new("kms-import");
        let calls = counters();
        let imported = Keyset::generate().unwrap();
        store(&dir, &calls, false).save(&imported).unwrap();
        assert_eq!(calls[1].load(Ordering::SeqCst), 1);
        let back = store(&dir, &calls, false).load().unwrap().unwrap();
        assert_eq!(back.active().as_bytes(), imported.active().as_bytes());
    }

    #[test]
    fn decrypt_failure_is_a_clear_error() {
        let dir = TempDir::new("kms-denied");
        let calls = counters();
        let set = Keyset::single(store(&dir, &calls, false).new_key().unwrap());
        store(&dir, &calls, false).save(&set).unwrap();
        let e = store(&dir, &calls, true).load().unwrap_err();
        let message = e.to_string();
        assert!(
            message.contains(&format!("unwrapping cache key {}", set.active().id())),
            "{message}"
        );
        assert!(message.contains("KMS key alias/awsideman"), "{message}");
        assert!(message.contains("AccessDeniedException"), "{message}");
        assert_eq!(e.aws_code(), Some("AccessDeniedException"));
    }

    #[test]
    fn another_kms_key_or_a_tampered_file_is_refused() {
        let dir = TempDir::new("kms-tamper");
        let calls = counters();
        let first = store(&dir, &calls, false);
        let set = Keyset::single(first.new_key().unwrap());
        first.save(&set).unwrap();
        let path = dir.0.join("cache/keys.kms.json");

        let other = KmsStore::new(
            "alias/other".into(),
            Box::new(WrappedKeysFile(path.clone())),
            fake_kms(calls.clone(), false),
        );
        let message = other.load().unwrap_err().to_string();
        assert!(
            message.contains("wrapped by KMS key alias/awsideman"),
            "{message}"
        );

        // A wrapped key swapped for another one: KMS unwraps it, the id check refuses it.
        let text = std::fs::read_to_string(&path).unwrap();
        let mut file: Value = serde_json::from_str(&text).unwrap();
        let intruder = first.new_key().unwrap();
        let blob = first.remembered(intruder.id()).unwrap();
        file["keys"][set.active().id()] = Value::String(blob);
        std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
        let message = store(&dir, &calls, false).load().unwrap_err().to_string();
        assert!(message.contains("does not match the id"), "{message}");
        assert_no_secret(&message, &intruder.to_base64());

        std::fs::write(&path, b"{\"version\":1}").unwrap();
        assert!(store(&dir, &calls, false).load().is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_wrapped_key_file_that_is_a_link_a_fifo_or_in_an_open_directory_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("kms-unsafe");
        let calls = counters();
        let first = store(&dir, &calls, false);
        first
            .save(&Keyset::single(first.new_key().unwrap()))
            .unwrap();
        let path = dir.0.join("cache/keys.kms.json");
        let moved = dir.0.join("elsewhere.json");
        std::fs::rename(&path, &moved).unwrap();
        std::os::unix::fs::symlink(&moved, &path).unwrap();
        let message = store(&dir, &calls, false).load().unwrap_err().to_string();
        assert!(message.contains("symbolic link"), "{message}");
        std::fs::remove_file(&path).unwrap();

        let name = std::ffi::CString::new(path.display().to_string()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let message = store(&dir, &calls, false).load().unwrap_err().to_string();
        assert!(message.contains("FIFO"), "{message}");
        std::fs::remove_file(&path).unwrap();

        std::fs::rename(&moved, &path).unwrap();
        assert!(store(&dir, &calls, false).load().unwrap().is_some());
        let cache = dir.0.join("cache");
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
        let message = store(&dir, &calls, false).load().unwrap_err().to_string();
        assert!(message.contains("chmod 700"), "{message}");
    }

    #[test]
    fn bad_replies_are_errors() {
        let dir = TempDir::new("kms-bad-reply");
        let no_plaintext: KmsCaller = Box::new(|_, _| Ok(json!({"CiphertextBlob": "AAAA"})));
        let s = KmsStore::new(
            "k".into(),
            Box::new(WrappedKeysFile(dir.0.join("w"))),
            no_plaintext,
        );
        assert!(
            s.new_key()
                .unwrap_err()
                .to_string()
                .contains("no Plaintext")
        );
        let short: KmsCaller = Box::new(|_, _| {
            Ok(json!({"CiphertextBlob": "AAAA", "Plaintext": BASE64.encode([1u8; 16])}))
        });
        let s = KmsStore::new(
            "k".into(),
            Box::new(WrappedKeysFile(dir.0.join("w"))),
            short,
        );
        assert!(s.new_key().unwrap_err().to_string().contains("32 bytes"));
        let no_blob: KmsCaller =
            Box::new(|_, _| Ok(json!({"Plaintext": BASE64.encode([1u8; 32])})));
        let s = KmsStore::new(
            "k".into(),
            Box::new(WrappedKeysFile(dir.0.join("w"))),
            no_blob,
        );
        assert!(
            s.new_key()
                .unwrap_err()
                .to_string()
                .contains("CiphertextBlob")
        );
    }

    #[test]
    fn plaintext_is_wiped_from_the_reply() {
        let mut reply = json!({"Plaintext": BASE64.encode([7u8; 32]), "CiphertextBlob": "x"});
        let key = take_plaintext(&mut reply).unwrap();
        assert_eq!(key.as_bytes(), &[7u8; 32]);
        assert_eq!(reply["Plaintext"], "");
    }
}
