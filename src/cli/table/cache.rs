//! The `cache` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::{cache, encryption};

const YES: Flag = Flag::switch("yes", Some('y'), "Do not ask for confirmation.");
const OPERATION: Flag = Flag::value(
    "operation",
    "OP",
    "Only entries of this operation (ListUsers or list_users).",
);
const PROFILE: Flag = Flag::value(
    "profile",
    "NAME",
    "Only entries cached for this awsideman profile.",
);

/// The `cache` group.
pub const GROUP: Group = Group {
    name: "cache",
    about: "The response cache",
    commands: &[
        Command {
            name: "status",
            about: "Show what is cached",
            doc: "Shows the backend and where it keeps entries, how many are valid, expired or \
                  corrupt, their size against the limit, hit and miss counts of every process \
                  so far, the ages of the oldest and newest entry, and a breakdown by operation.",
            args: &[],
            flags: &[],
            examples: &["cache status", "cache status --output json"],
            access: Access::Local,
            json: "{\"enabled\", \"backend\", \"location\", \"encryption\", \"entries\": {total, \
                   valid, expired, corrupt}, \"bytes\", \"limitBytes\", \"counters\": {hits, misses, \
                   corrupt, expired}, \"oldestAgeSeconds\", \"newestAgeSeconds\", \"operations\": \
                   [{service, operation, entries, bytes}]}.",
            run: cache::status,
        },
        Command {
            name: "clear",
            about: "Remove cached entries",
            doc: "Removes every entry, or those of one operation or profile. Asks first; \
                  --yes is required when stdin is not a terminal.",
            args: &[],
            flags: &[OPERATION, PROFILE, YES],
            examples: &[
                "cache clear --yes",
                "cache clear --operation list_users --yes",
            ],
            access: Access::Local,
            json: "{\"removed\": N}.",
            run: cache::clear,
        },
        Command {
            name: "cleanup",
            about: "Remove expired and unreadable entries",
            doc: "",
            args: &[],
            flags: &[],
            examples: &["cache cleanup"],
            access: Access::Local,
            json: "{\"removed\": N}.",
            run: cache::cleanup,
        },
        Command {
            name: "inspect",
            about: "List entries, or show one decoded",
            doc: "Without KEY, lists entries (operation, profile, age, time left, size). With \
                  KEY (at least 6 characters of it), shows the entry's header, the request \
                  parameters it answers and the cached answer.",
            args: &[Positional::optional(
                "KEY",
                "A cache key or a unique prefix of one.",
            )],
            flags: &[OPERATION, PROFILE],
            examples: &[
                "cache inspect",
                "cache inspect --operation ListUsers",
                "cache inspect 3f2a9c",
            ],
            access: Access::Local,
            json: "{\"entries\": [{key, shortKey, service, operation, profile, encryption, createdAt, \
                   expiresAt, ageSeconds, ttlLeftSeconds, bytes, status}]}; with KEY one entry plus \
                   \"tags\", \"params\" and \"value\".",
            run: cache::inspect,
        },
        Command {
            name: "encryption",
            about: "Encrypt the cache, rotate or move its key",
            doc: "ACTION is one of:\n\n\
                  status: whether encryption is on, where the key is (cache.encryption_key_source), \
                  the active key id, and entries per key and in plaintext.\n\n\
                  enable: creates a key if there is none (in the OS keyring by default), turns \
                  encryption on and encrypts every existing entry in place.\n\n\
                  disable: asks first (--yes without a terminal), decrypts every entry in place \
                  and turns encryption off; the key is kept.\n\n\
                  rotate: adds a new key and makes it active, re-encrypts every entry, and only \
                  then drops the old key. Run it again to finish a rotation that was interrupted.\n\n\
                  export-key: prints the key set (JSON) to stdout, to move it to another machine \
                  or into a CI secret (AWSIDEMAN_CACHE_KEY).\n\n\
                  import-key: reads a key set or a base64 key from stdin and adds it; it becomes \
                  the active key.\n\n\
                  Entries are sealed with AES-256-CBC and a random IV, authenticated with \
                  HMAC-SHA256 over the header (key, lifetime, key id) and the ciphertext, and \
                  checked before they are decrypted; an entry that does not authenticate is a \
                  miss. When encryption is on and the key source is unavailable, commands run \
                  uncached with one warning and never store plaintext.",
            args: &[Positional::required(
                "ACTION",
                "status, enable, disable, rotate, export-key or import-key.",
            )],
            flags: &[YES],
            examples: &[
                "cache encryption enable",
                "cache encryption status --output json",
                "cache encryption rotate",
                "cache encryption export-key > cache-key.json",
                "cache encryption import-key < cache-key.json",
            ],
            access: Access::Local,
            json: "status: {enabled, scheme, source, location, keyPresent, activeKeyId, keyIds, \
                   rotating, problem, entries: {plaintext, unreadable, byKey: [{keyId, entries, \
                   known}]}}; enable: {enabled, source, keyId, keyCreated, encrypted, \
                   alreadyEncrypted, skipped}; disable: {enabled, decrypted, skipped}; rotate: \
                   {activeKeyId, retiredKeyIds, reencrypted, unchanged, skipped, resumed}; \
                   export-key: the key set {version, active, keys}; import-key: {activeKeyId, keyIds}.",
            run: encryption::run,
        },
        Command {
            name: "warm",
            about: "Run read commands so their answers are cached",
            doc: "Runs each COMMAND (a quoted read command line such as \"user list\") in this \
                  process and reports the entries added. --all warms what the read commands \
                  need: users, groups and their members, permission sets, the organization tree \
                  and assignments. Commands that change AWS are refused.",
            args: &[Positional::optional("COMMAND", "A read command, quoted.").multiple()],
            flags: &[Flag::switch(
                "all",
                None,
                "Warm everything the read commands use.",
            )],
            examples: &[
                "cache warm \"user list\" \"group list\" \"org tree\"",
                "cache warm --all",
            ],
            access: Access::Read,
            json: "{\"commands\": [...], \"entriesAdded\", \"bytesAdded\", \"entries\"}.",
            run: cache::warm,
        },
    ],
};
