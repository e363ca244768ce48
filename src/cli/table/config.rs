//! The `config` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::config;

/// The `config` group.
pub(crate) const GROUP: Group = Group {
    name: "config",
    about: "The configuration file",
    groups: &[],
    commands: &[
        Command {
            name: "show",
            about: "Show the configuration",
            doc: "Shows the file as written or, with --effective, the settings in force \
                      after environment variables and flags.",
            args: &[],
            flags: &[Flag::switch(
                "effective",
                None,
                "Show the settings in force for the current profile.",
            )],
            examples: &["config show", "config show --effective --output json"],
            access: Access::Local,
            json: "The file's document, or with --effective {path, profile, \
                       profileSettings, cache, network}.",
            run: config::show,
        },
        Command {
            name: "get",
            about: "Print one value",
            doc: "Prints the value of a dotted key; exits 1 when it is not set.",
            args: &[Positional::required(
                "KEY",
                "Dotted key, e.g. cache.default_ttl.",
            )],
            flags: &[],
            examples: &["config get cache.backend_type"],
            access: Access::Local,
            json: "{\"key\", \"value\"}.",
            run: config::get,
        },
        Command {
            name: "set",
            about: "Set one value",
            doc: "Sets a dotted key after checking its type; the file is rewritten \
                      atomically with mode 0600. Unknown sections are kept. When a per-profile \
                      value (cache.profiles.NAME.KEY) still wins over a cache key just set, \
                      it says so.",
            args: &[
                Positional::required("KEY", "Dotted key, or KEY=VALUE."),
                Positional::optional("VALUE", "The value ('null' clears an optional key)."),
            ],
            flags: &[],
            examples: &[
                "config set cache.default_ttl 7200",
                "config set cache.enabled=false",
            ],
            access: Access::Local,
            json: "{\"key\", \"value\", \"shadowedBy\": [the per-profile keys, \
                   cache.profiles.NAME.KEY, that still win over it for their profile]}.",
            run: config::set,
        },
        Command {
            name: "path",
            about: "Print the path of the configuration file",
            doc: "",
            args: &[],
            flags: &[],
            examples: &["config path"],
            access: Access::Standalone,
            json: "{\"path\", \"exists\"}.",
            run: config::path,
        },
        Command {
            name: "validate",
            about: "Check the configuration file and AWSIDEMAN_* variables",
            doc: "Exits 2 with a message naming the key when a value is invalid. Its \
                  warnings include a file others can read (0644), every time (other \
                  commands warn about that once per change of the file).",
            args: &[],
            flags: &[],
            examples: &["config validate"],
            access: Access::Local,
            json: "{\"path\", \"valid\": true, \"warnings\": [...]}.",
            run: config::validate,
        },
    ],
};
