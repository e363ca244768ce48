//! The `rollback` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group, Positional};
use crate::commands::rollback;

const OPERATION: Positional = Positional::required(
    "OPERATION",
    "The operation id (see rollback list), or a prefix naming one.",
);

/// The `rollback` group.
pub(crate) const GROUP: Group = Group {
    name: "rollback",
    about: "The journal of every change awsideman made, and undoing one",
    groups: &[],
    commands: &[
        Command {
            name: "list",
            about: "List the operations of the rollback journal",
            doc: "Every command that changes AWS (assignment assign, revoke and copy, bulk \
                  assign and revoke, user and group create, update and delete, group \
                  membership changes, permission set changes, backup restore, rollback apply) \
                  appends one record, an operation, to the rollback journal \
                  (<rollback.storage_directory>/operations.jsonl, default \
                  <config dir>/rollback, mode 0600): each change it made, its request, and \
                  the inverse that undoes it, or why it cannot be undone. Lists the \
                  operations, oldest first, with how many changes each made, how many can be \
                  undone, and whether it was rolled back. Records older than \
                  rollback.retention_days (default 90) or beyond rollback.max_operations \
                  (default 10000) are pruned when a record is written; rollback.enabled: \
                  false turns the journal off.",
            args: &[],
            flags: &[Flag::value(
                "since",
                "DURATION",
                "Only operations of the last DURATION: a whole number and s, m, h, d or w \
                 (30m, 24h, 7d).",
            )],
            examples: &["rollback list", "rollback list --since 24h"],
            access: Access::Local,
            json: "{\"operations\": [{id, time, user, profile, command, changes: N, \
                   undoable: N, status}]}.",
            run: rollback::list,
        },
        Command {
            name: "show",
            about: "Show the changes of one operation and how each is undone",
            doc: "Prints each change of the operation: the AWS operation, what it was about, \
                  the inverse operation that undoes it (two joined by +, as UntagResource + \
                  TagResource for a tag write that added some keys and changed others), and a note when it cannot be undone \
                  or when undoing it recreates an object (a deleted user or group comes back \
                  from its recorded attributes with a new id, with its memberships; a deleted \
                  permission set with its policies, boundary and tags and a new ARN), or \
                  when it can be undone only in part.",
            args: &[OPERATION],
            flags: &[],
            examples: &["rollback show 20261204T070012Z-3f9a1c"],
            access: Access::Local,
            json: "{id, time, user, host, profile, command, rolls_back, rolled_back_by, \
                   \"changes\": [{index, operation, target, inverse, note, change: {service, \
                   operation, request, inverse: {service, operation, request}, also: [a second \
                   inverse, run after it], cannot_undo, \
                   nothing_to_undo, recreates, group_ids, then, partly}}]}.",
            run: rollback::show,
        },
        Command {
            name: "apply",
            about: "Undo one operation: run the inverses of its changes, newest first",
            doc: "Runs the inverse of every change of the operation, newest change first, \
                  through the same engines as the commands that made them (assignments are \
                  submitted at most ten at a time and each waited for). The whole plan is \
                  checked first; --dry-run prints it and changes nothing. Asks on a terminal; \
                  needs --yes otherwise. Reports each step: done, failed, cannot be undone \
                  (with the reason) or nothing to undo; a deleted user or group is recreated \
                  from its recorded attributes with a new id (the old one cannot come back) \
                  and its memberships restored; a deleted permission set is recreated with \
                  its description, session duration, relay state, tags, AWS managed and \
                  customer managed policies, inline policy and boundary, with a new ARN, and \
                  the assignments the same operation deleted follow it to the new ARN. A \
                  boundary put over another gets the old one back (one put where there was \
                  none is removed); a tag write untags the keys it added and tags again the \
                  values it overwrote or removed (two steps when it did both). The rollback \
                  is itself an operation of the \
                  journal (so it can be undone too), and the original is marked rolled back: \
                  applying it again needs --force, as does an operation made with another \
                  profile. Exit status 1 when any step failed or a change cannot be undone.",
            args: &[OPERATION],
            flags: &[
                Flag::switch("dry-run", None, "Print the plan; change nothing."),
                Flag::switch("yes", Some('y'), "Do not ask for confirmation."),
                Flag::switch(
                    "force",
                    None,
                    "Apply even if the operation was already rolled back or made with \
                     another profile.",
                ),
            ],
            examples: &[
                "rollback apply 20261204T070012Z-3f9a1c --dry-run",
                "rollback apply 20261204T070012Z-3f9a1c --yes",
            ],
            access: Access::Write,
            json: "{id, dry_run: bool, \"steps\": [{index, operation, target, status: \"would \
                   run\" | \"done\" | \"failed\" | \"cannot be undone\" | \"nothing to undo\", \
                   note, request}]}.",
            run: rollback::apply,
        },
    ],
};
