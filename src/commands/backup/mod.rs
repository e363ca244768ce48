//! `backup create|list|show|validate|delete|export|import`: snapshots of Identity Center
//! (users, groups, memberships, permission sets, assignments, with the organization's
//! accounts and OUs for names) kept in a private directory or in S3.
//!
//! - `snapshot.rs`: reading the document from AWS, with the fewest requests.
//! - `format.rs`: the file: compressed, checksummed, optionally sealed with the cache's keys.
//! - `store.rs`: where backups are kept (directory or S3) and how they are listed.
//! - `diff.rs`: the exact difference between two documents.
//! - `restore.rs`: the plan of a restore (create, overwrite, prune), matched by name.
//! - `apply.rs`: carrying the plan out, with ids mapped by name.

pub(crate) mod apply;
pub(crate) mod diff;
pub(crate) mod format;
pub(crate) mod restore;
pub(crate) mod snapshot;
pub(crate) mod store;

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use self::format::Header;
use self::snapshot::{Resource, Source};
use self::store::Destination;
use super::Context;
use super::encryption;
use crate::cache::keys::Keyset;
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::fsutil::Links;
use crate::output::{Column, Report};

const LIST_COLUMNS: &[Column] = &[
    Column::new("ID", "Id"),
    Column::new("Size", "Size"),
    Column::new("Last modified", "LastModified"),
    Column::new("Location", "Location"),
];

const SUMMARY_FIELDS: &[Column] = &[
    Column::new("ID", "Id"),
    Column::new("Created", "CreatedAt"),
    Column::new("Location", "Location"),
    Column::new("Encrypted", "Encrypted"),
    Column::new("Size", "Size"),
    Column::new("Profile", "Source.Profile"),
    Column::new("Region", "Source.Region"),
    Column::new("Instance ARN", "Source.InstanceArn"),
    Column::new("Identity store ID", "Source.IdentityStoreId"),
    Column::new("Users", "Counts.Users"),
    Column::new("Groups", "Counts.Groups"),
    Column::new("Memberships", "Counts.Memberships"),
    Column::new("Permission sets", "Counts.PermissionSets"),
    Column::new("Assignments", "Counts.Assignments"),
    Column::new("Accounts", "Counts.Accounts"),
    Column::new("OUs", "Counts.OrganizationalUnits"),
    Column::new("Unknown", "Unknown"),
];

const DIFF_COLUMNS: &[Column] = &[
    Column::new("Resource", "Resource"),
    Column::new("Key", "Key"),
    Column::new("Change", "Summary"),
];

const RESTORE_COLUMNS: &[Column] = &[
    Column::new("Resource", "Resource"),
    Column::new("Key", "Key"),
    Column::new("Action", "Action"),
    Column::new("Detail", "Detail"),
];

/// `backup create`.
pub(crate) fn create(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let resources: BTreeSet<Resource> = match m.value("resources") {
        Some(text) => Resource::parse_list(text)?,
        None => Resource::ALL.into_iter().collect(),
    };
    let destination = Destination::parse(ctx, m.value("to"))?;
    let keys = if m.switch("encrypt") {
        Some(keys(ctx)?)
    } else {
        None
    };
    // A backup is true now: every answer comes from AWS (and replaces the cached one).
    ctx.globals.refresh = true;
    let now = crate::clock::now();
    let created_at = crate::rfc3339::format_rfc3339(now);
    let id = new_id(&created_at)?;
    let source = Source {
        id: &id,
        created_at: &created_at,
    };
    let document = snapshot::read(ctx, &resources, &source)?;
    let header = Header {
        id: id.clone(),
        created_at: created_at.clone(),
        key_id: None,
    };
    let bytes = format::encode(&document, &header, keys.as_ref())?;
    let size = bytes.len();
    destination.put(ctx, &id, bytes)?;
    let data = summary(&document, &destination, &id, size, keys.is_some());
    Ok(Report::record(data, "", SUMMARY_FIELDS))
}

/// `backup list`.
pub(crate) fn list(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let destination = Destination::parse(ctx, m.value("from"))?;
    let backups = destination.list(ctx)?;
    let data = json!({"Destination": destination.describe(), "Backups": backups});
    Ok(Report::list(data, "Backups", LIST_COLUMNS))
}

/// `backup show`.
pub(crate) fn show(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let (destination, id) = target(ctx, m)?;
    let bytes = destination.get(ctx, &id)?;
    let (document, encrypted) = open(ctx, &bytes).map_err(|e| e.context(format!("backup {id}")))?;
    if m.switch("document") {
        let pretty = serde_json::to_string_pretty(&document)
            .map_err(|e| Error::runtime(format!("printing the backup: {e}")))?;
        return Ok(Report::message(
            document,
            crate::printable::lines(&pretty).into_owned(),
        ));
    }
    let data = summary(&document, &destination, &id, bytes.len(), encrypted);
    Ok(Report::record(data, "", SUMMARY_FIELDS))
}

/// `backup validate`.
pub(crate) fn validate(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let (destination, id) = target(ctx, m)?;
    let bytes = destination.get(ctx, &id)?;
    let (document, encrypted) = open(ctx, &bytes).map_err(|e| e.context(format!("backup {id}")))?;
    let data = json!({
        "Id": id,
        "Valid": true,
        "Encrypted": encrypted,
        "Location": destination.location(&id),
        "Counts": document["Counts"],
    });
    Ok(Report::message(
        data,
        format!(
            "backup {id} is valid (checksum, format{})",
            if encrypted { ", decrypts" } else { "" }
        ),
    ))
}

/// `backup delete`.
pub(crate) fn delete(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let (destination, id) = target(ctx, m)?;
    ctx.confirm(
        m,
        &format!("delete backup {id} from {}", destination.describe()),
    )?;
    destination.delete(ctx, &id)?;
    Ok(Report::message(
        json!({"Id": id, "Deleted": true, "Location": destination.location(&id)}),
        format!("deleted backup {id}"),
    ))
}

/// `backup export`.
pub(crate) fn export(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let (destination, id) = target(ctx, m)?;
    let file = Path::new(m.required_arg("FILE")?);
    if std::fs::symlink_metadata(file).is_ok() {
        return Err(Error::runtime(format!(
            "{} exists: export to a new file",
            file.display()
        )));
    }
    let bytes = destination.get(ctx, &id)?;
    format::check(&bytes).map_err(|e| e.context(format!("backup {id}")))?;
    crate::fsutil::write_private_atomically(file, &bytes)?;
    Ok(Report::message(
        json!({"Id": id, "File": file.display().to_string(), "Size": bytes.len()}),
        format!("exported backup {id} to {}", file.display()),
    ))
}

/// `backup import`.
pub(crate) fn import(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let file = Path::new(m.required_arg("FILE")?);
    let destination = Destination::parse(ctx, m.value("to"))?;
    let bytes = store::read_file(file, Links::Follow)?
        .ok_or_else(|| Error::runtime(format!("{}: no such file", file.display())))?;
    let checked = format::check(&bytes).map_err(|e| e.context(file.display()))?;
    let id = checked.header.id.clone();
    store::validate_id(&id)?;
    open(ctx, &bytes).map_err(|e| e.context(file.display()))?;
    destination.put(ctx, &id, bytes)?;
    Ok(Report::message(
        json!({"Id": id, "Location": destination.location(&id)}),
        format!("imported backup {id} into {}", destination.describe()),
    ))
}

/// `backup diff`: exit status 3 when the documents differ.
pub(crate) fn diff(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let destination = Destination::parse(ctx, m.value("from"))?;
    let first = m.required_arg("A")?.to_string();
    store::validate_id(&first)?;
    let second = m.arg("B").map(str::to_string);
    if second.is_some() == m.switch("live") {
        return Err(Error::usage(
            "backup diff: compare with a second backup (B) or with AWS now (--live)",
        ));
    }
    let read = |ctx: &Context, id: &str| -> Result<Value> {
        let bytes = destination.get(ctx, id)?;
        Ok(open(ctx, &bytes)
            .map_err(|e| e.context(format!("backup {id}")))?
            .0)
    };
    let before = read(ctx, &first)?;
    let (after, against) = match second {
        Some(id) => {
            store::validate_id(&id)?;
            (read(ctx, &id)?, id)
        }
        None => {
            let names: Vec<&str> = before["Resources"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let resources = Resource::parse_list(&names.join(","))?;
            // AWS now, as a backup would read it (never the cache).
            ctx.globals.refresh = true;
            let created_at = crate::rfc3339::format_rfc3339(crate::clock::now());
            let source = Source {
                id: "live",
                created_at: &created_at,
            };
            (
                snapshot::read(ctx, &resources, &source)?,
                "live".to_string(),
            )
        }
    };
    let (mut rows, compared) = diff::compare(&before, &after);
    for row in &mut rows {
        row["Summary"] = json!(diff::describe(row));
    }
    let count = rows.len();
    let data = json!({
        "From": first,
        "To": against,
        "Compared": compared,
        "Differences": rows,
    });
    let report = Report::list(data, "Differences", DIFF_COLUMNS);
    if count == 0 {
        return Ok(report);
    }
    Ok(report.failed(Error::differences(format!(
        "backup diff: {count} difference(s) from {first} to {against}"
    ))))
}

/// `backup restore`: recreates by name what the backup holds and AWS no longer has; with
/// `--conflict overwrite` gives existing items the backup's attributes, with `--prune`
/// deletes what the backup lacks; into this profile's instance or `--to-profile`'s.
pub(crate) fn restore(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let (destination, id) = target(ctx, m)?;
    let chosen = m.value("resources").map(Resource::parse_list).transpose()?;
    let conflict = restore::Conflict::parse(m.value("conflict"));
    let mut other = m
        .value("to-profile")
        .map(|name| ctx.for_profile(name))
        .transpose()?;
    let bytes = destination.get(ctx, &id)?;
    let (backup, _) = open(ctx, &bytes).map_err(|e| e.context(format!("backup {id}")))?;
    let held: Vec<&str> = backup["Resources"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let held = Resource::parse_list(&held.join(","))?;
    let selected = match chosen {
        Some(chosen) => {
            if let Some(missing) = chosen.difference(&held).next() {
                return Err(Error::usage(format!(
                    "--resources: backup {id} holds no {} (it holds {})",
                    missing.name(),
                    held.iter().map(|r| r.name()).collect::<Vec<_>>().join(",")
                )));
            }
            chosen
        }
        None => held,
    };
    let options = restore::Options {
        members: selected.iter().map(|r| r.member()).collect(),
        conflict,
        prune: m.switch("prune"),
    };
    let run = |into: &mut Context| restore_into(into, m, &id, &backup, &selected, &options);
    match other.as_mut() {
        Some(into) => {
            let report = run(into);
            // The other profile's changes are journalled under it, also after a failure.
            into.journal_changes("backup restore");
            into.finish();
            report
        }
        None => run(ctx),
    }
}

/// The restore of `backup` into the instance of `into`: reads AWS there, plans, asks, writes.
fn restore_into(
    into: &mut Context,
    m: &Matches,
    id: &str,
    backup: &Value,
    selected: &BTreeSet<Resource>,
    options: &restore::Options,
) -> Result<Report> {
    // Ids by name need the users, groups and permission sets of AWS now.
    let mut resources = selected.clone();
    if resources.contains(&Resource::Memberships) || resources.contains(&Resource::Assignments) {
        resources.extend([Resource::Users, Resource::Groups]);
    }
    if resources.contains(&Resource::Assignments) {
        resources.insert(Resource::PermissionSets);
    }
    into.globals.refresh = true;
    let created_at = crate::rfc3339::format_rfc3339(crate::clock::now());
    let source = Source {
        id: "live",
        created_at: &created_at,
    };
    let live = snapshot::read(into, &resources, &source)?;
    let mut steps = restore::plan(backup, &live, options);
    let skipped = restore::skipped_accounts(&steps);
    for (account, name, count) in &skipped {
        let name = if name.is_empty() {
            String::new()
        } else {
            format!(" ({name})")
        };
        into.warn(format!(
            "account {account}{name} is not in the organization of profile {}: its {count} \
             assignment(s) are skipped",
            into.profile_name
        ));
    }
    let count = |action: restore::Action| steps.iter().filter(|s| s.action == action).count();
    let (creating, updating, deleting) = (
        count(restore::Action::Create),
        count(restore::Action::Update),
        count(restore::Action::Delete),
    );
    let dry_run = m.switch("dry-run");
    let mut failed = 0;
    if !dry_run && creating + updating + deleting > 0 {
        into.confirm(
            m,
            &format!(
                "restore backup {id} into profile {}: create {creating}, update {updating}, \
                 delete {deleting} item(s)",
                into.profile_name
            ),
        )?;
        failed = apply::run(into, &mut steps, &live)?;
    }
    let data = json!({
        "Id": id,
        "Profile": into.profile_name,
        "DryRun": dry_run,
        "Conflict": match options.conflict {
            restore::Conflict::Skip => "skip",
            restore::Conflict::Overwrite => "overwrite",
        },
        "Prune": options.prune,
        "Counts": {"Create": creating, "Update": updating, "Delete": deleting,
                   "Failed": failed},
        "SkippedAccounts": skipped.iter().map(|(account, name, count)| json!({
            "AccountId": account, "AccountName": name, "Assignments": count,
        })).collect::<Vec<_>>(),
        "Steps": restore::rows(&steps, dry_run),
    });
    let report = Report::list(data, "Steps", RESTORE_COLUMNS);
    if failed > 0 {
        return Ok(report.failed(Error::runtime(format!(
            "backup restore: AWS refused {failed} item(s) (see their Error)"
        ))));
    }
    Ok(report)
}

/// The destination (`--from`) and the checked `ID` of a command on one backup.
fn target(ctx: &Context, m: &Matches) -> Result<(Destination, String)> {
    let destination = Destination::parse(ctx, m.value("from"))?;
    let id = m.required_arg("ID")?.to_string();
    store::validate_id(&id)?;
    Ok((destination, id))
}

/// Checks and opens a backup file: its document, and whether it was encrypted.
fn open(ctx: &Context, bytes: &[u8]) -> Result<(Value, bool)> {
    let checked = format::check(bytes)?;
    let encrypted = checked.header.key_id.is_some();
    let keys = if encrypted { Some(keys(ctx)?) } else { None };
    Ok((checked.open(keys.as_ref())?, encrypted))
}

/// The keys of cache encryption's key source (`cache.encryption_key_source`).
fn keys(ctx: &Context) -> Result<Keyset> {
    let settings = ctx.cache_settings()?;
    let store = encryption::key_store(ctx, &settings)?;
    store.load()?.ok_or_else(|| {
        Error::config(format!(
            "{} holds no key: run 'awsideman cache encryption enable' (or import the key with \
             'cache encryption import-key') to encrypt or read encrypted backups",
            store.describe()
        ))
    })
}

/// A new backup id: the time, then six random hex digits (`20261204T061500Z-3f9a0c`).
fn new_id(created_at: &str) -> Result<String> {
    let mut noise = [0u8; 3];
    getrandom::getrandom(&mut noise)
        .map_err(|e| Error::runtime(format!("naming the backup: {e}")))?;
    let time: String = created_at
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    Ok(format!("{time}-{}", hex::encode(noise)))
}

/// What `create` and `show` print about a backup.
fn summary(
    document: &Value,
    destination: &Destination,
    id: &str,
    size: usize,
    encrypted: bool,
) -> Value {
    json!({
        "Id": id,
        "CreatedAt": document["CreatedAt"],
        "Location": destination.location(id),
        "Encrypted": encrypted,
        "Size": size,
        "Source": document["Source"],
        "Resources": document["Resources"],
        "Counts": document["Counts"],
        "Unknown": document["Unknown"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time() {
        let a = new_id("2026-12-04T06:15:00Z").unwrap();
        assert!(a.starts_with("20261204T061500Z-"), "{a}");
        assert_eq!(a.len(), "20261204T061500Z-".len() + 6);
        store::validate_id(&a).unwrap();
        assert!(new_id("2026-12-04T06:15:01Z").unwrap() > a);
    }
}
