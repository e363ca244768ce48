//! The command table: every group, command, argument and flag of awsideman, with its docs.
//!
//! The parser, `--help`, the man page and the completions are all generated from this table.

use super::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::{config, profile, sso, user};

const YES: Flag = Flag::switch("yes", Some('y'), "Do not ask for confirmation.");

const PROFILE_FLAGS: &[Flag] = &[
    Flag::value(
        "region",
        "REGION",
        "AWS region of the Identity Center instance.",
    ),
    Flag::value("sso-instance-arn", "ARN", "Identity Center instance ARN."),
    Flag::value(
        "identity-store-id",
        "ID",
        "Identity store id (d-xxxxxxxxxx).",
    ),
    Flag::value(
        "sso-instance-name",
        "NAME",
        "A name for the instance, for display.",
    ),
    Flag::value(
        "aws-profile",
        "NAME",
        "AWS profile for credentials (default: the profile's own name).",
    ),
    Flag::switch("default", None, "Make this the default profile."),
];

/// Every command group, in the order help lists them.
pub const GROUPS: &[Group] = &[
    Group {
        name: "user",
        about: "Identity Store users",
        commands: &[
            Command {
                name: "list",
                about: "List users",
                doc: "Lists every user of the profile's identity store, following every page.",
                args: &[],
                flags: &[Flag::value("limit", "N", "Show at most N users.")],
                examples: &[
                    "user list",
                    "user list --output json | jq -r '.Users[].UserName'",
                ],
                access: Access::Read,
                json: "{\"Users\": [User, ...]} with User as AWS returns it (UserId, UserName, \
                       DisplayName, Name, Emails, ...); \"Truncated\": true when --limit cut the list.",
                run: user::list,
            },
            Command {
                name: "get",
                about: "Show a user and its groups",
                doc: "Finds a user by user id, user name or email address and shows it with \
                      the groups it belongs to.",
                args: &[Positional::required("USER", "User id, user name or email.")],
                flags: &[],
                examples: &["user get alice", "user get alice@example.com --output json"],
                access: Access::Read,
                json: "The DescribeUser reply (UserId, UserName, DisplayName, Name, Emails, \
                       IdentityStoreId, ...) plus \"Groups\": [{GroupId, DisplayName, MembershipId}].",
                run: user::get,
            },
        ],
    },
    Group {
        name: "sso",
        about: "The IAM Identity Center instance of a profile",
        commands: &[
            Command {
                name: "discover",
                about: "Find the instance and save it into the profile",
                doc: "Calls sso-admin ListInstances. With exactly one instance, saves its ARN \
                      and identity store id into the profile (creating the profile if needed); \
                      with several, lists them for 'sso set'.",
                args: &[],
                flags: &[],
                examples: &["sso discover --profile prod --region eu-west-1"],
                access: Access::Read,
                json: "{\"profile\", \"saved\": bool, \"Instances\": [Instance, ...]}.",
                run: sso::discover,
            },
            Command {
                name: "set",
                about: "Set the instance of the profile by hand",
                doc: "",
                args: &[
                    Positional::required("INSTANCE_ARN", "arn:aws:sso:::instance/ssoins-..."),
                    Positional::required("IDENTITY_STORE_ID", "d-xxxxxxxxxx"),
                ],
                flags: &[Flag::value("name", "NAME", "A name for the instance.")],
                examples: &["sso set arn:aws:sso:::instance/ssoins-0123456789abcdef d-0123456789"],
                access: Access::Local,
                json: "Same as 'sso info'.",
                run: sso::set,
            },
            Command {
                name: "info",
                about: "Show the instance settings of the profile",
                doc: "",
                args: &[],
                flags: &[],
                examples: &["sso info"],
                access: Access::Local,
                json: "{\"profile\", \"region\", \"sso_instance_arn\", \"identity_store_id\", \
                       \"sso_instance_name\"}.",
                run: sso::info,
            },
        ],
    },
    Group {
        name: "profile",
        about: "Named settings: region, instance, AWS profile",
        commands: &[
            Command {
                name: "list",
                about: "List profiles",
                doc: "",
                args: &[],
                flags: &[],
                examples: &["profile list"],
                access: Access::Local,
                json: "{\"defaultProfile\", \"profiles\": [{name, default, region, \
                       sso_instance_arn, identity_store_id, sso_instance_name, aws_profile}]}.",
                run: profile::list,
            },
            Command {
                name: "add",
                about: "Add a profile",
                doc: "Adds a profile. The first profile added becomes the default.",
                args: &[Positional::required("NAME", "Profile name.")],
                flags: PROFILE_FLAGS,
                examples: &["profile add prod --region us-east-1 --default"],
                access: Access::Local,
                json: "The saved profile: {name, default, region, sso_instance_arn, ...}.",
                run: profile::add,
            },
            Command {
                name: "update",
                about: "Change a profile",
                doc: "Changes the given settings; an empty value removes a setting.",
                args: &[Positional::required("NAME", "Profile name.")],
                flags: PROFILE_FLAGS,
                examples: &["profile update prod --region eu-west-1"],
                access: Access::Local,
                json: "The saved profile.",
                run: profile::update,
            },
            Command {
                name: "remove",
                about: "Remove a profile",
                doc: "",
                args: &[Positional::required("NAME", "Profile name.")],
                flags: &[YES],
                examples: &["profile remove old"],
                access: Access::Local,
                json: "{\"name\", \"removed\": true}.",
                run: profile::remove,
            },
            Command {
                name: "set-default",
                about: "Make a profile the default",
                doc: "",
                args: &[Positional::required("NAME", "Profile name.")],
                flags: &[],
                examples: &["profile set-default prod"],
                access: Access::Local,
                json: "The profile.",
                run: profile::set_default,
            },
        ],
    },
    Group {
        name: "config",
        about: "The configuration file",
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
                      atomically with mode 0600. Unknown sections are kept.",
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
                json: "{\"key\", \"value\"}.",
                run: config::set,
            },
            Command {
                name: "path",
                about: "Print the path of the configuration file",
                doc: "",
                args: &[],
                flags: &[],
                examples: &["config path"],
                access: Access::Local,
                json: "{\"path\", \"exists\"}.",
                run: config::path,
            },
            Command {
                name: "validate",
                about: "Check the configuration file and AWSIDEMAN_* variables",
                doc: "Exits 2 with a message naming the key when a value is invalid.",
                args: &[],
                flags: &[],
                examples: &["config validate"],
                access: Access::Local,
                json: "{\"path\", \"valid\": true, \"warnings\": [...]}.",
                run: config::validate,
            },
        ],
    },
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
