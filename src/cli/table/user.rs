//! The `user` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::user;

/// `--yes/-y` of destructive commands.
pub(super) const YES: Flag = Flag::switch(
    "yes",
    Some('y'),
    "Do not ask for confirmation (required when stdin is not a terminal).",
);

/// `--limit N` of listings.
pub(super) const LIMIT: Flag = Flag::value(
    "limit",
    "N",
    "Show at most N results (0: all). On a terminal a cut list says so on stderr.",
);

/// `--filter REGEX` of listings.
pub(super) const FILTER: Flag = Flag::value(
    "filter",
    "REGEX",
    "Keep only results matching REGEX (case-insensitive).",
);

/// The `PATTERN` of `find`.
pub(super) const PATTERN: Positional =
    Positional::required("PATTERN", "Regular expression, matched case-insensitively.");

const USER: Positional = Positional::required("USER", "User id, user name or email.");

/// The `user` group.
pub(crate) const GROUP: Group = Group {
    name: "user",
    about: "Identity Store users",
    groups: &[],
    commands: &[
        Command {
            name: "list",
            about: "List users",
            doc: "Lists every user of the profile's identity store, following every page. \
                  --filter keeps the users whose user name, display name or any email \
                  address matches the regular expression (case-insensitive, anywhere in \
                  the value; anchor with ^ and $). An invalid expression is a usage error.",
            args: &[],
            flags: &[FILTER, LIMIT],
            examples: &[
                "user list",
                "user list --filter '@example\\.com$' --limit 20",
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
            args: &[USER],
            flags: &[],
            examples: &["user get alice", "user get alice@example.com --output json"],
            access: Access::Read,
            json: "The DescribeUser reply (UserId, UserName, DisplayName, Name, Emails, \
                   IdentityStoreId, ...) plus \"Groups\": [{GroupId, DisplayName, MembershipId}].",
            run: user::get,
        },
        Command {
            name: "find",
            about: "Find users by regular expression",
            doc: "Same matching as 'user list --filter': the user name, display name and \
                  every email address, case-insensitively. No match is an empty list and \
                  exit status 0.",
            args: &[PATTERN],
            flags: &[LIMIT],
            examples: &["user find alice", "user find '^(alice|bob)$' --output text"],
            access: Access::Read,
            json: "{\"Users\": [User, ...]} like 'user list'.",
            run: user::find,
        },
        Command {
            name: "create",
            about: "Create a user",
            doc: "Creates a user with one or more email addresses (all of type work, the \
                  first one primary). The given and family names default to the first word \
                  of the display name and the rest of it; a one-word display name needs \
                  --family-name.",
            args: &[],
            flags: &[
                Flag::value("username", "NAME", "The unique user name.").required(),
                Flag::value("display-name", "NAME", "The name shown to people.").required(),
                Flag::value(
                    "email",
                    "ADDRESS",
                    "The email address (AWS takes one; a second is a usage error).",
                )
                .required()
                .multiple(),
                Flag::value(
                    "given-name",
                    "NAME",
                    "Given name (default: from the display name).",
                ),
                Flag::value(
                    "family-name",
                    "NAME",
                    "Family name (default: from the display name).",
                ),
            ],
            examples: &[
                "user create --username alice --display-name 'Alice Liddell' --email alice@example.com",
                "user create --username cher --display-name Cher --email cher@example.com --family-name Sarkisian",
            ],
            access: Access::Write,
            json: "The new user as DescribeUser returns it (UserId, UserName, DisplayName, \
                   Name, Emails, IdentityStoreId, ...).",
            run: user::create,
        },
        Command {
            name: "update",
            about: "Change a user's attributes",
            doc: "Changes only the attributes given, in one UpdateUser call. --email \
                  replaces the whole list of email addresses (the first given is primary).",
            args: &[USER],
            flags: &[
                Flag::value("display-name", "NAME", "The name shown to people."),
                Flag::value("given-name", "NAME", "Given name."),
                Flag::value("family-name", "NAME", "Family name."),
                Flag::value("title", "TITLE", "Job title."),
                Flag::value(
                    "email",
                    "ADDRESS",
                    "The email address (AWS takes one; a second is a usage error).",
                )
                .multiple(),
            ],
            examples: &[
                "user update alice --display-name 'Alice P. Liddell' --title Engineer",
                "user update alice --email alice@corp.example.com --email alice@example.com",
            ],
            access: Access::Write,
            json: "The user after the change, as DescribeUser returns it.",
            run: user::update,
        },
        Command {
            name: "delete",
            about: "Delete a user",
            doc: "Asks for confirmation on a terminal; without one, --yes is required.",
            args: &[USER],
            flags: &[YES],
            examples: &["user delete alice --yes"],
            access: Access::Write,
            json: "{\"UserId\", \"UserName\", \"deleted\": true}.",
            run: user::delete,
        },
        Command {
            name: "groups",
            about: "List the groups of a user",
            doc: "One ListGroupMembershipsForMember, then the group names, fetched in \
                  parallel; never a scan of every group.",
            args: &[USER],
            flags: &[],
            examples: &[
                "user groups alice",
                "user groups alice --output json | jq -r '.Groups[].DisplayName'",
            ],
            access: Access::Read,
            json: "{\"UserId\", \"UserName\", \"Groups\": [{GroupId, DisplayName, MembershipId}]}.",
            run: user::groups,
        },
    ],
};
