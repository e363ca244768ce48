//! The `cache` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::{cache, cache_tools, dynamodb_table, encryption};

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
)
.shadowing_global();
const TAG: Flag = Flag::value(
    "tag",
    "TAG",
    "Invalidate the answers filed under this tag (users:d-123; repeatable), as a write does.",
)
.multiple();
const FROM: Flag = Flag::value("from", "BACKEND", "The backend to copy from.")
    .required()
    .choices(crate::config::BACKEND_CHOICES);
const TO: Flag = Flag::value("to", "BACKEND", "The backend to copy into.")
    .required()
    .choices(crate::config::BACKEND_CHOICES);
const FROM_DIR: Flag = Flag::value(
    "from-dir",
    "DIR",
    "With --from file: the cache directory to copy from, instead of cache.file_cache_dir.",
);
const TO_DIR: Flag = Flag::value(
    "to-dir",
    "DIR",
    "With --to file: the cache directory to copy into, instead of cache.file_cache_dir.",
);

/// The `cache` group.
pub(crate) const GROUP: Group = Group {
    name: "cache",
    about: "The response cache",
    groups: &[ENCRYPTION, DYNAMODB],
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
                   corrupt, expired}, \"oldestAgeSeconds\", \"newestAgeSeconds\", \"sides\": [{side, backend, \
                   location, entries, bytes}] (one per backend: the hybrid has a local and a \
                   shared side), \"operations\": [{service, operation, entries, bytes}]}.",
            run: cache::status,
        },
        Command {
            name: "clear",
            about: "Remove cached entries",
            doc: "Removes every entry, or those of one operation or profile. With --tag, \
                  invalidates the answers filed under each tag instead, as a write does, and \
                  ends the stale mark a failed invalidation left on it (see Security). Asks \
                  first; --yes is required when stdin is not a terminal.",
            args: &[],
            flags: &[OPERATION, PROFILE, TAG, YES],
            examples: &[
                "cache clear --yes",
                "cache clear --operation list_users --yes",
                "cache clear --tag users:d-1234567890 --yes",
            ],
            access: Access::Local,
            json: "{\"removed\": N}; with --tag also \"tagsInvalidated\": N.",
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
            run: crate::cli::warm::warm,
        },
        Command {
            name: "migrate",
            about: "Copy the cache to another backend",
            doc: "Copies every live entry from one backend to another (file, dynamodb or \
                  hybrid, built from the current cache settings; hybrid stands for its shared \
                  table, its local copies are neither read nor written), byte for byte: encrypted \
                  entries stay encrypted and are readable wherever the key is. Tags and expiry \
                  come along; expired entries and corrupt ones are skipped and counted, and the \
                  destination keeps what it already had. Entries are copied in key order, in \
                  batches; after each batch a checkpoint \
                  (<file_cache_dir>/migrate-FROM-TO.checkpoint.json) records how far it got, so \
                  running the same command again after an interruption resumes there, and \
                  after failures retries just the entries that failed. --verify then compares \
                  both sides. --from-dir and --to-dir point a file side at another directory, \
                  which also makes a backup of the cache. Exits 1 when entries could not be \
                  copied or verification found differences. Asks first; --yes is required when \
                  stdin is not a terminal.",
            args: &[],
            flags: &[
                FROM,
                TO,
                FROM_DIR,
                TO_DIR,
                Flag::switch(
                    "verify",
                    None,
                    "Compare both sides afterwards: every live entry must be in the destination, byte for byte.",
                ),
                YES,
            ],
            examples: &[
                "cache migrate --from file --to dynamodb --verify --yes",
                "cache migrate --from file --to file --to-dir /backup/awsideman-cache --yes",
            ],
            access: Access::Local,
            json: "{\"from\", \"fromLocation\", \"to\", \"toLocation\", \"copied\", \"skippedExpired\", \
                   \"skippedCorrupt\", \"failed\", \"resumedFrom\" (entries done before this run, or \
                   null), \"checkpoint\" (kept while entries failed, else null), \"verified\": \
                   {checked, missing, different, missingKeys, differentKeys} or null}.",
            run: cache_tools::migrate,
        },
        Command {
            name: "health",
            about: "Check that the cache backend works",
            doc: "Opens the configured backend, then writes, reads back and deletes a probe \
                  entry, printing how long each step took; a hybrid backend is checked on its \
                  local and its remote side. Exits 1, naming the step that failed, when the \
                  backend is unhealthy.",
            args: &[],
            flags: &[],
            examples: &["cache health", "cache health --output json"],
            access: Access::Local,
            json: "{\"backend\", \"location\", \"healthy\", \"steps\": [{side, step, ms, ok, error}]}.",
            run: cache_tools::health,
        },
        Command {
            name: "benchmark",
            about: "Measure the cache backend's speed",
            doc: "Writes N synthetic entries of SIZE bytes to the configured backend, reads \
                  them all back, then removes them, and prints the median and 95th percentile \
                  latency of writes and reads and their throughput. The entries live under a \
                  private probe namespace no command reads.",
            args: &[],
            flags: &[
                Flag::value("entries", "N", "How many entries (default 100)."),
                Flag::value(
                    "size",
                    "BYTES",
                    "The size of each entry's payload (default 4096).",
                ),
            ],
            examples: &[
                "cache benchmark",
                "cache benchmark --entries 1000 --size 20000 --output json",
            ],
            access: Access::Local,
            json: "{\"backend\", \"location\", \"entries\", \"sizeBytes\", \"results\": [{operation \
                   (set or get), medianMs, p95Ms, opsPerSecond, mbPerSecond}], \"deleteMs\", \"misses\"}.",
            run: cache_tools::benchmark,
        },
    ],
};

/// `cache encryption ...`.
const ENCRYPTION: Group = Group {
    name: "encryption",
    about: "Encrypt the cache, rotate or move its key",
    groups: &[],
    commands: &[
        Command {
            name: "status",
            about: "Show whether and how the cache is encrypted",
            doc: "Whether encryption is on, where the key is (cache.encryption_key_source), the \
                  active key id, and entries per key and in plaintext.\n\n\
                  Entries are sealed with AES-256-CBC and a random IV, authenticated with \
                  HMAC-SHA256 over the header (key, lifetime, key id) and the ciphertext, and \
                  checked before they are decrypted; an entry that does not authenticate is a \
                  miss. When encryption is on and the key source is unavailable, commands run \
                  uncached with one warning and never store plaintext.",
            args: &[],
            flags: &[],
            examples: &[
                "cache encryption status",
                "cache encryption status --output json",
            ],
            access: Access::Local,
            json: "{enabled, scheme, source, location, keyPresent, activeKeyId, keyIds, rotating, \
                   problem, entries: {plaintext, unreadable, byKey: [{keyId, entries, known}]}}.",
            run: encryption::run_status,
        },
        Command {
            name: "enable",
            about: "Turn encryption on and encrypt every entry",
            doc: "Creates a key if there is none (in the OS keyring by default, see \
                  cache.encryption_key_source), turns encryption on and encrypts every existing \
                  entry in place.",
            args: &[],
            flags: &[],
            examples: &["cache encryption enable"],
            access: Access::Local,
            json: "{enabled, source, keyId, keyCreated, encrypted, alreadyEncrypted, skipped}.",
            run: encryption::run_enable,
        },
        Command {
            name: "disable",
            about: "Decrypt every entry and turn encryption off",
            doc: "Asks first (--yes without a terminal), decrypts every entry in place and \
                  turns encryption off; the key is kept.",
            args: &[],
            flags: &[YES],
            examples: &["cache encryption disable --yes"],
            access: Access::Local,
            json: "{enabled, decrypted, skipped}.",
            run: encryption::run_disable,
        },
        Command {
            name: "rotate",
            about: "Re-encrypt every entry under a new key",
            doc: "Adds a new key and makes it active, re-encrypts every entry, and only then \
                  drops the old key. Run it again to finish a rotation that was interrupted.",
            args: &[],
            flags: &[],
            examples: &["cache encryption rotate"],
            access: Access::Local,
            json: "{activeKeyId, retiredKeyIds, reencrypted, unchanged, skipped, resumed}.",
            run: encryption::run_rotate,
        },
        Command {
            name: "export-key",
            about: "Print the key set, to move it to another machine",
            doc: "Prints the key set (JSON) to stdout, to move it to another machine or into a \
                  CI secret (AWSIDEMAN_CACHE_KEY).",
            args: &[],
            flags: &[],
            examples: &["cache encryption export-key > cache-key.json"],
            access: Access::Local,
            json: "The key set {version, active, keys}.",
            run: encryption::run_export_key,
        },
        Command {
            name: "import-key",
            about: "Add a key set read from standard input",
            doc: "Reads a key set or a base64 key from stdin (at most 64 KB) and adds it; it \
                  becomes the active key.",
            args: &[],
            flags: &[],
            examples: &["cache encryption import-key < cache-key.json"],
            access: Access::Local,
            json: "{activeKeyId, keyIds}.",
            run: encryption::run_import_key,
        },
    ],
};

/// `cache dynamodb ...`.
const DYNAMODB: Group = Group {
    name: "dynamodb",
    about: "Manage the DynamoDB table of the shared cache",
    groups: &[],
    commands: &[
        Command {
            name: "create-table",
            about: "Create the cache table if it is missing",
            doc: "Creates cache.dynamodb_table_name if it is missing (PAY_PER_REQUEST, key \
                  cache_key, optional SSE with cache.dynamodb_kms_key_id and tags from \
                  cache.dynamodb_table_tags), waits until it is ACTIVE and turns on TTL on the \
                  ttl attribute. The dynamodb and hybrid backends also do this on first use.",
            args: &[],
            flags: &[],
            examples: &["cache dynamodb create-table"],
            access: Access::Local,
            json: "{table, created, status, ttl: {status, attribute, note}}.",
            run: dynamodb_table::create_table,
        },
        Command {
            name: "describe",
            about: "Show the cache table",
            doc: "Status, items, size, billing, TTL and encryption of the table.",
            args: &[],
            flags: &[],
            examples: &[
                "cache dynamodb describe",
                "cache dynamodb describe --output json",
            ],
            access: Access::Local,
            json: "{table, location, arn, status, items, size_bytes, billing_mode, key_schema, \
                   ttl, encryption}.",
            run: dynamodb_table::describe,
        },
        Command {
            name: "repair",
            about: "Turn TTL back on and check the key schema",
            doc: "Turns TTL back on and checks the key schema, saying exactly what is wrong; \
                  exits 1 when a problem is left.",
            args: &[],
            flags: &[],
            examples: &["cache dynamodb repair"],
            access: Access::Local,
            json: "{table, ok, fixed, problems, notes}.",
            run: dynamodb_table::repair,
        },
        Command {
            name: "delete-table",
            about: "Delete the cache table",
            doc: "Deletes the table (asks first; --yes without a terminal).",
            args: &[],
            flags: &[YES],
            examples: &["cache dynamodb delete-table --yes"],
            access: Access::Local,
            json: "{table, deleted}.",
            run: dynamodb_table::delete_table,
        },
    ],
};
