//! The `cache` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::cache;

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
