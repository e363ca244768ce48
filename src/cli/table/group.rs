//! The `group` group of the command table.

use super::user::{FILTER, LIMIT, PATTERN, YES};
use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::group;

const GROUP_ARG: Positional = Positional::required("GROUP", "Group id or display name.");

const USERS: Positional =
    Positional::required("USER", "User ids, user names or emails.").multiple();

/// The `group` group.
pub(crate) const GROUP: Group = Group {
    name: "group",
    about: "Identity Store groups and their members",
    groups: &[],
    commands: &[
        Command {
            name: "list",
            about: "List groups",
            doc: "Lists every group of the profile's identity store, following every page. \
                  --filter keeps the groups whose display name or description matches the \
                  regular expression (case-insensitive).",
            args: &[],
            flags: &[FILTER, LIMIT],
            examples: &["group list", "group list --filter '^eng-' --output text"],
            access: Access::Read,
            json: "{\"Groups\": [Group, ...]} with Group as AWS returns it (GroupId, \
                   DisplayName, Description, IdentityStoreId, ...); \"Truncated\": true when \
                   --limit cut the list.",
            run: group::list,
        },
        Command {
            name: "get",
            about: "Show a group and its members",
            doc: "Finds a group by id or display name and shows it with its members.",
            args: &[GROUP_ARG],
            flags: &[],
            examples: &["group get admins", "group get admins --output json"],
            access: Access::Read,
            json: "The DescribeGroup reply (GroupId, DisplayName, Description, \
                   IdentityStoreId, ...) plus \"MemberCount\" and \"Members\": [{MembershipId, \
                   UserId, UserName, DisplayName}].",
            run: group::get,
        },
        Command {
            name: "find",
            about: "Find groups by regular expression",
            doc: "Same matching as 'group list --filter': display name and description, \
                  case-insensitively. No match is an empty list and exit status 0.",
            args: &[PATTERN],
            flags: &[LIMIT],
            examples: &["group find admin"],
            access: Access::Read,
            json: "{\"Groups\": [Group, ...]} like 'group list'.",
            run: group::find,
        },
        Command {
            name: "create",
            about: "Create a group",
            doc: "",
            args: &[],
            flags: &[
                Flag::value("name", "NAME", "The group's display name (unique).").required(),
                Flag::value("description", "TEXT", "What the group is for."),
            ],
            examples: &["group create --name admins --description 'Administrators'"],
            access: Access::Write,
            json: "The new group as DescribeGroup returns it (GroupId, DisplayName, \
                   Description, IdentityStoreId, ...).",
            run: group::create,
        },
        Command {
            name: "update",
            about: "Rename a group or change its description",
            doc: "Changes only what is given, in one UpdateGroup call.",
            args: &[GROUP_ARG],
            flags: &[
                Flag::value("name", "NAME", "New display name."),
                Flag::value("description", "TEXT", "New description."),
            ],
            examples: &["group update admins --description 'Full administrators'"],
            access: Access::Write,
            json: "The group after the change, as DescribeGroup returns it.",
            run: group::update,
        },
        Command {
            name: "delete",
            about: "Delete a group",
            doc: "Asks for confirmation on a terminal; without one, --yes is required.",
            args: &[GROUP_ARG],
            flags: &[YES],
            examples: &["group delete old-team --yes"],
            access: Access::Write,
            json: "{\"GroupId\", \"DisplayName\", \"deleted\": true}.",
            run: group::delete,
        },
        Command {
            name: "members",
            about: "List the members of a group",
            doc: "One ListGroupMemberships, then the user names, fetched in parallel.",
            args: &[GROUP_ARG],
            flags: &[],
            examples: &[
                "group members admins",
                "group members admins --output json | jq -r '.Members[].UserName'",
            ],
            access: Access::Read,
            json: "{\"GroupId\", \"DisplayName\", \"Members\": [{MembershipId, UserId, \
                   UserName, DisplayName}]}.",
            run: group::members,
        },
        Command {
            name: "add-member",
            about: "Add users to a group",
            doc: "Every user is found first: an unknown one exits 1 and changes nothing. \
                  A user already in the group is skipped with a warning and reported as \
                  already-member.",
            args: &[GROUP_ARG, USERS],
            flags: &[],
            examples: &["group add-member admins alice bob@example.com"],
            access: Access::Write,
            json: "{\"GroupId\", \"DisplayName\", \"results\": [{UserId, UserName, status: \
                   \"added\"|\"already-member\", MembershipId}]}.",
            run: group::add_member,
        },
        Command {
            name: "remove-member",
            about: "Remove users from a group",
            doc: "Every user is found first: an unknown one exits 1 and changes nothing. \
                  Asks for confirmation on a terminal; without one, --yes is required. A \
                  user who is not in the group is reported as not-a-member with a warning; \
                  the others are still removed and the exit status is 0.",
            args: &[GROUP_ARG, USERS],
            flags: &[YES],
            examples: &["group remove-member admins alice bob --yes"],
            access: Access::Write,
            json: "{\"GroupId\", \"DisplayName\", \"results\": [{UserId, UserName, status: \
                   \"removed\"|\"not-a-member\", MembershipId}]}.",
            run: group::remove_member,
        },
    ],
};
