//! The `org` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::org;

/// The `org` group.
pub(crate) const GROUP: Group = Group {
    name: "org",
    about: "The AWS Organizations tree: roots, OUs and accounts",
    groups: &[],
    commands: &[
        Command {
            name: "tree",
            about: "Show the organization as a tree",
            doc: "Walks the organization from its roots one level at a time, listing the OUs \
                  and accounts of every parent of a level in parallel. The table form draws an \
                  indented tree; --flat lists the accounts with the path of the OU holding \
                  them. Children are sorted by name, OUs before accounts.",
            args: &[],
            flags: &[Flag::switch(
                "flat",
                None,
                "List the accounts with their OU paths instead of nesting them.",
            )],
            examples: &[
                "org tree",
                "org tree --flat --output json | jq -r '.Accounts[] | \"\\(.Path)\\t\\(.Name)\"'",
            ],
            access: Access::Read,
            json: "{\"Roots\": [{\"Type\": \"ROOT\", \"Id\", \"Name\", \"Children\": [Node, ...]}]} \
                   where a Node is {\"Type\": \"ORGANIZATIONAL_UNIT\", \"Id\", \"Name\", \
                   \"Children\": [Node, ...]} or {\"Type\": \"ACCOUNT\", \"Id\", \"Name\", \
                   \"Email\", \"Status\"}. With --flat: {\"Accounts\": [{Id, Name, Email, Status, \
                   Path}]} with Path like \"Root/Engineering/Prod\".",
            run: org::tree,
        },
        Command {
            name: "account",
            about: "Show an account, its tags and its OU path",
            doc: "Finds an account by 12-digit id or name (any case) and shows it with its tags \
                  and the path of OUs from the root down to it.",
            args: &[Positional::required("ACCOUNT", "Account id or name.")],
            flags: &[],
            examples: &[
                "org account prod-app",
                "org account 123456789012 --output json",
            ],
            access: Access::Read,
            json: "{\"Account\": Account as AWS returns it (Id, Arn, Name, Email, Status, \
                   JoinedMethod, JoinedTimestamp, ...), \"Tags\": [{Key, Value}], \"Path\": \
                   \"Root/Engineering/Prod\", \"ParentIds\": [root id, OU id, ...] from the root \
                   down to the account's parent}.",
            run: org::account,
        },
        Command {
            name: "search",
            about: "Find accounts by name, email or id",
            doc: "Lists the accounts whose name, email or id contains QUERY (any case; an \
                  empty QUERY matches every account), optionally only below an OU (its whole \
                  subtree) and only those carrying every --tag given (exact key and value). \
                  OU accepts an id (ou-..., r-...) or a path of names (Root/Engineering/Prod \
                  or Engineering/Prod).",
            args: &[Positional::required(
                "QUERY",
                "Text to look for in account names, emails and ids.",
            )],
            flags: &[
                Flag::value("ou", "OU", "Only accounts below this OU (id or path)."),
                Flag::value(
                    "tag",
                    "KEY=VALUE",
                    "Only accounts with this tag (repeatable).",
                )
                .multiple(),
            ],
            examples: &[
                "org search prod",
                "org search '' --ou Engineering/Prod",
                "org search app --tag env=prod --tag team=app",
            ],
            access: Access::Read,
            json: "{\"Accounts\": [{Id, Name, Email, Status, Path}]}; with --tag each account \
                   also carries \"Tags\": [{Key, Value}].",
            run: org::search,
        },
        Command {
            name: "trace-policies",
            about: "Show the SCPs and RCPs that apply to an account, and where they attach",
            doc: "Lists the service control policies and resource control policies attached \
                  to the root, to each OU on the way down and to the account itself, in that \
                  order: everything that bounds what the account's principals may do. One \
                  ListPoliciesForTarget per level and policy type, in parallel; a policy type \
                  the organization never enabled has none.",
            args: &[Positional::required("ACCOUNT", "Account id or name.")],
            flags: &[],
            examples: &[
                "org trace-policies prod-app",
                "org trace-policies 123456789012 --output json | jq -r '.Policies[].PolicyName'",
            ],
            access: Access::Read,
            json: "{\"AccountId\", \"AccountName\", \"Path\": \"Root/Engineering/Prod\", \
                   \"Policies\": [{\"TargetType\": \"ROOT\" | \"ORGANIZATIONAL_UNIT\" | \
                   \"ACCOUNT\", \"TargetId\", \"TargetName\", \"Path\", \"PolicyType\": \
                   \"SERVICE_CONTROL_POLICY\" | \"RESOURCE_CONTROL_POLICY\", \"Type\": \"SCP\" | \
                   \"RCP\", \"PolicyId\", \"PolicyName\", \"AwsManaged\", \"Description\"}]}, root \
                   first, then each OU down to the account.",
            run: org::trace_policies,
        },
        Command {
            name: "accounts",
            about: "List every account of the organization",
            doc: "Lists every account (ListAccounts), sorted by name.",
            args: &[],
            flags: &[],
            examples: &[
                "org accounts",
                "org accounts --output json | jq -r '.Accounts[].Id'",
            ],
            access: Access::Read,
            json: "{\"Accounts\": [Account, ...]} with Account as AWS returns it (Id, Arn, Name, \
                   Email, Status, JoinedMethod, JoinedTimestamp).",
            run: org::accounts,
        },
    ],
};
