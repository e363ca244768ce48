//! The `user` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::user;

/// The `user` group.
pub const GROUP: Group = Group {
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
};
