//! The `audit` group of the command table.

use crate::cli::spec::{Access, Command, Flag, Group};
use crate::commands::audit;

/// The `audit` group.
pub(crate) const GROUP: Group = Group {
    name: "audit",
    about: "The audit log of key and cache operations",
    groups: &[],
    commands: &[Command {
        name: "show",
        about: "Print the audit log",
        doc: "Prints the records of the audit log (cache.audit_log, default \
              <config dir>/audit.log): one per key generated, imported or exported, rotation \
              started or finished, encryption enabled or disabled, key source unavailable, \
              migration started or finished, cache cleared and DynamoDB table created, repaired \
              or deleted. Each has the UTC time, the local user, the host, the awsideman \
              profile, the event, its outcome (ok or failed) and, where relevant, the key id, \
              the key source and details such as counts; never key material or cached data. \
              Lines that are not records are skipped and counted. A missing log is empty.",
        args: &[],
        flags: &[
            Flag::value(
                "since",
                "DURATION",
                "Only records of the last DURATION: a whole number and s, m, h, d or w (30m, 24h, 7d).",
            ),
            Flag::value(
                "event",
                "NAME",
                "Only records of this event (key_generated, key_imported, key_exported, \
                 rotation_started, rotation_finished, encryption_enabled, encryption_disabled, \
                 key_source_unavailable, migration_started, migration_finished, cache_cleared, \
                 dynamodb_table_created, dynamodb_table_repaired, dynamodb_table_deleted).",
            ),
        ],
        examples: &[
            "audit show",
            "audit show --since 24h --event rotation_finished",
            "audit show --since 7d --output json",
        ],
        access: Access::Local,
        json: "{\"records\": [{time, user, host, profile, event, outcome, key_id, source, \
               details}], \"skipped\": N}.",
        run: audit::show,
    }],
};

#[cfg(test)]
mod tests {
    use crate::audit::EventKind;

    #[test]
    fn the_event_flag_documents_every_event() {
        let show = super::super::GROUPS
            .iter()
            .filter(|g| g.name == "audit")
            .flat_map(|g| g.commands)
            .find(|c| c.name == "show")
            .expect("audit show");
        let about = show
            .flags
            .iter()
            .find(|f| f.long == "event")
            .expect("--event")
            .about;
        let documented = about
            .split(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .filter(|w| w.contains('_'))
            .collect::<Vec<_>>();
        assert_eq!(documented, EventKind::names());
    }
}
