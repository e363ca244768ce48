//! The command table: every group, command, argument and flag of awsideman, with its docs.
//!
//! The parser, `--help`, the man page and the completions are all generated from this table.
//! Each group lives in its own file.

mod assignment;
mod audit;
mod cache;
mod completion;
mod config;
mod group;
mod iam_policy;
mod org;
mod permission_set;
mod profile;
mod sso;
mod user;

use super::spec::Group;

/// Every command group, in the order help lists them.
pub const GROUPS: &[Group] = &[
    user::GROUP,
    group::GROUP,
    permission_set::GROUP,
    assignment::GROUP,
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

    #[test]
    fn table_is_well_formed() {
        assert_eq!(check_table(GROUPS), Vec::<String>::new());
        for group in GROUPS {
            for command in group.commands {
                assert!(
                    !command.examples.is_empty(),
                    "{} {} has an example",
                    group.name,
                    command.name
                );
                assert!(
                    !command.json.is_empty(),
                    "{} {} documents its JSON",
                    group.name,
                    command.name
                );
            }
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
