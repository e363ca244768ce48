//! The command table: every group, command, argument and flag of awsideman, with its docs.
//!
//! The parser, `--help`, the man page and the completions are all generated from this table.
//! Each group lives in its own file.

mod access_review;
mod assignment;
mod audit;
mod backup;
mod bulk;
mod cache;
mod completion;
mod config;
mod group;
mod iam_policy;
mod org;
mod permission_set;
mod profile;
mod rollback;
mod sso;
mod status;
mod templates;
mod user;

use super::spec::Group;

/// Every command group, in the order help lists them.
pub const GROUPS: &[Group] = &[
    user::GROUP,
    group::GROUP,
    permission_set::GROUP,
    assignment::GROUP,
    bulk::GROUP,
    templates::GROUP,
    access_review::GROUP,
    status::GROUP,
    backup::GROUP,
    rollback::GROUP,
    org::GROUP,
    sso::GROUP,
    profile::GROUP,
    cache::GROUP,
    audit::GROUP,
    config::GROUP,
    iam_policy::GROUP,
    completion::GROUP,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::parse::{Parsed, check_table, parse};
    use crate::cli::spec::{every_command, path_words};

    #[test]
    fn table_is_well_formed() {
        assert_eq!(check_table(GROUPS), Vec::<String>::new());
        for (path, command) in every_command(GROUPS) {
            let words = format!("{} {}", path_words(&path), command.name);
            assert!(!command.examples.is_empty(), "{words} has an example");
            assert!(!command.json.is_empty(), "{words} documents its JSON");
            for example in command.examples {
                assert!(
                    example.starts_with(&format!("{words} ")) || *example == words,
                    "{words}: example {example:?} runs another command"
                );
            }
        }
    }

    /// Every name of the Python awsideman leads to a command or flag that exists, and hides
    /// none of ours.
    #[test]
    fn python_names_lead_somewhere_and_hide_nothing() {
        use crate::cli::spec::{COMMAND_ALIASES, FLAG_ALIASES, every_group};
        for (path, alias, ours) in COMMAND_ALIASES {
            let group = every_group(GROUPS)
                .into_iter()
                .find(|g| path_words(g) == *path)
                .unwrap_or_else(|| panic!("no group {path}"))
                .last()
                .copied()
                .unwrap();
            assert!(
                group.commands.iter().any(|c| c.name == *ours),
                "{path} {ours}"
            );
            assert!(
                !group.commands.iter().any(|c| c.name == *alias),
                "{path} {alias}"
            );
        }
        let commands = every_command(GROUPS);
        for (path, alias, ours) in FLAG_ALIASES {
            let (_, command) = commands
                .iter()
                .find(|(p, c)| format!("{} {}", path_words(p), c.name) == *path)
                .unwrap_or_else(|| panic!("no command {path}"));
            assert!(
                command.flags.iter().any(|f| f.long == *ours),
                "{path} --{ours}"
            );
            assert!(
                !command.flags.iter().any(|f| f.long == *alias),
                "{path} --{alias}"
            );
        }
        let parsed = |args: &[&str]| parse(GROUPS, args.iter().map(std::ffi::OsString::from));
        match parsed(&["group", "list-members", "admins"]) {
            Ok(Parsed::Run { command, .. }) => assert_eq!(command.name, "members"),
            other => panic!("{other:?}"),
        }
        match parsed(&["assignment", "list", "--account-id", "123456789012"]) {
            Ok(Parsed::Run { matches, .. }) => {
                assert_eq!(matches.value("account"), Some("123456789012"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parsed(&["version"]), Ok(Parsed::Version)));
        match parsed(&["templates", "preview", "t.yaml"]) {
            Ok(Parsed::Run { command, .. }) => assert_eq!(command.name, "plan"),
            other => panic!("{other:?}"),
        }
        match parsed(&["info"]) {
            Ok(Parsed::Run { command, .. }) => assert_eq!(command.name, "info"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_input_limit_names_a_flag_its_command_declares() {
        let commands = every_command(GROUPS);
        for limit in crate::commands::limits::INPUT_LIMITS {
            let command = commands
                .iter()
                .find(|(path, c)| format!("{} {}", path_words(path), c.name) == limit.command)
                .unwrap_or_else(|| panic!("no command {}", limit.command));
            assert!(
                command.1.flags.iter().any(|f| f.long == limit.flag),
                "{} has no --{}",
                limit.command,
                limit.flag
            );
        }
    }

    #[test]
    fn negative_numbers_are_values() {
        let args = ["config", "set", "cache.default_ttl", "-5"].map(std::ffi::OsString::from);
        match parse(GROUPS, args).unwrap() {
            Parsed::Run { matches, .. } => assert_eq!(matches.arg("VALUE"), Some("-5")),
            _ => panic!("expected a command"),
        }
    }
}
