//! The command table: every group, command, argument and flag of awsideman, with its docs.
//!
//! The parser, `--help`, the man page and the completions are all generated from this table.
//! Each group lives in its own file.

mod access_review;
mod assignment;
mod audit;
mod bulk;
mod cache;
mod completion;
mod config;
mod group;
mod iam_policy;
mod org;
mod permission_set;
mod profile;
mod sso;
mod status;
mod user;

use super::spec::Group;

/// Every command group, in the order help lists them.
pub const GROUPS: &[Group] = &[
    user::GROUP,
    group::GROUP,
    permission_set::GROUP,
    assignment::GROUP,
    bulk::GROUP,
    access_review::GROUP,
    status::GROUP,
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
