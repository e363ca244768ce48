//! `status check` and `status cleanup`: the health of the Identity Center instance, read from
//! AWS now (never from the cache: a health check must be true now).
//!
//! The checks: the instance's status; asynchronous operations in progress or failed
//! (permission set provisioning, assignment creation and deletion); permission sets whose
//! latest version is not provisioned to an account they are on; assignments whose principal
//! no longer exists (orphaned); assignments in accounts that left the organization. The
//! assignments are read per permission set from the accounts it is provisioned to, so those
//! of deleted principals and of former accounts are seen too (a per-principal or per-member
//! -account reading would miss them).

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use super::Context;
use super::assignment::{self, Change};
use super::grants;
use super::resolve::PrincipalType;
use crate::client::shapes::{
    self, AccountAssignment, Group, Instance, InstanceStatus, OperationStatus, User,
};
use crate::client::{self, Operation};
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::output::{Column, Report, View};

/// One check of `status check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Instance,
    Provisioning,
    AssignmentCreation,
    AssignmentDeletion,
    OutdatedPermissionSets,
    OrphanedAssignments,
    FormerAccounts,
}

impl Check {
    fn name(self) -> &'static str {
        match self {
            Check::Instance => "instance",
            Check::Provisioning => "permission-set-provisioning",
            Check::AssignmentCreation => "assignment-creation",
            Check::AssignmentDeletion => "assignment-deletion",
            Check::OutdatedPermissionSets => "outdated-permission-sets",
            Check::OrphanedAssignments => "orphaned-assignments",
            Check::FormerAccounts => "former-accounts",
        }
    }
}

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Nothing wrong.
    Healthy,
    /// This many problems (listed in the report).
    Problems(usize),
    /// AWS could not answer: why.
    Unreadable(String),
}

/// The status listings: which operation, its result member, and the statuses asked for.
const OPERATION_LISTINGS: [(Check, &Operation, &str); 3] = [
    (
        Check::Provisioning,
        &client::LIST_PERMISSION_SET_PROVISIONING_STATUS,
        "PermissionSetsProvisioningStatus",
    ),
    (
        Check::AssignmentCreation,
        &client::LIST_ACCOUNT_ASSIGNMENT_CREATION_STATUS,
        "AccountAssignmentsCreationStatus",
    ),
    (
        Check::AssignmentDeletion,
        &client::LIST_ACCOUNT_ASSIGNMENT_DELETION_STATUS,
        "AccountAssignmentsDeletionStatus",
    ),
];

/// What `status check` found.
struct Health {
    verdicts: Vec<(Check, Verdict)>,
    /// One row per problem (and per operation still in progress, marked so).
    findings: Vec<Value>,
    /// The orphaned assignments, for `cleanup`.
    orphans: Vec<AccountAssignment>,
    /// Permission set names by ARN.
    set_names: HashMap<String, String>,
}

impl Health {
    fn problems(&self) -> usize {
        self.verdicts
            .iter()
            .map(|(_, v)| match v {
                Verdict::Problems(n) => *n,
                _ => 0,
            })
            .sum()
    }

    fn unreadable(&self) -> Vec<String> {
        self.verdicts
            .iter()
            .filter_map(|(c, v)| match v {
                Verdict::Unreadable(why) => Some(format!("{}: {why}", c.name())),
                _ => None,
            })
            .collect()
    }
}

const CHECK_COLUMNS: &[Column] = &[
    Column::new("Check", "Check"),
    Column::new("Result", "Result"),
    Column::new("Problems", "Problems"),
    Column::new("Detail", "Detail"),
];

const FINDING_COLUMNS: &[Column] = &[
    Column::new("Check", "Check"),
    Column::new("Account", "AccountName"),
    Column::new("Account ID", "AccountId"),
    Column::new("Permission set", "PermissionSetName"),
    Column::new("Principal", "PrincipalId"),
    Column::new("Request ID", "RequestId"),
    Column::new("Detail", "Detail"),
];

/// `status check`: exit 0 when healthy, 3 when it found problems, 1 when a check could not
/// be read (and nothing was found wrong).
pub(crate) fn check(ctx: &mut Context, _: &Matches) -> Result<Report> {
    let health = inspect(ctx)?;
    let problems = health.problems();
    let unreadable = health.unreadable();
    let checks: Vec<Value> = health
        .verdicts
        .iter()
        .map(|(check, verdict)| {
            let (result, count, detail) = match verdict {
                Verdict::Healthy => ("ok", 0, None),
                Verdict::Problems(n) => ("problems", *n, None),
                Verdict::Unreadable(why) => ("could not be read", 0, Some(why.clone())),
            };
            json!({"Check": check.name(), "Result": result, "Problems": count, "Detail": detail})
        })
        .collect();
    let data = json!({
        "Healthy": problems == 0 && unreadable.is_empty(),
        "InstanceArn": ctx.instance_arn()?,
        "Checks": checks,
        "Problems": health.findings,
    });
    let report = Report::new(
        data,
        View::Sections(vec![
            (
                "Checks".into(),
                View::List {
                    path: "Checks",
                    columns: CHECK_COLUMNS,
                },
            ),
            (
                "Problems".into(),
                View::List {
                    path: "Problems",
                    columns: FINDING_COLUMNS,
                },
            ),
        ]),
    );
    if problems > 0 {
        return Ok(report.failed(Error::differences(format!(
            "status check: {problems} problem(s) found"
        ))));
    }
    if !unreadable.is_empty() {
        return Ok(report.failed(Error::runtime(format!(
            "status check: {} check(s) could not be read: {}",
            unreadable.len(),
            unreadable.join("; ")
        ))));
    }
    Ok(report)
}

const CLEANUP_COLUMNS: &[Column] = &[
    Column::new("Account", "AccountId"),
    Column::new("Permission set", "PermissionSetName"),
    Column::new("Type", "PrincipalType"),
    Column::new("Principal ID", "PrincipalId"),
    Column::new("Status", "Status"),
    Column::new("Failure reason", "FailureReason"),
];

/// `status cleanup [--dry-run] [--yes]`: deletes the orphaned assignments `status check`
/// finds (every one is tried; exit 1 if any failed).
pub(crate) fn cleanup(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let health = inspect(ctx)?;
    let (orphans, names) = (health.orphans, health.set_names);
    let row = |a: &AccountAssignment| {
        json!({
            "AccountId": a.account_id,
            "PermissionSetArn": a.permission_set_arn,
            "PermissionSetName": names.get(&a.permission_set_arn),
            "PrincipalType": a.principal_type.as_aws(),
            "PrincipalId": a.principal_id,
        })
    };
    let dry_run = m.switch("dry-run");
    let mut rows: Vec<Value> = orphans.iter().map(row).collect();
    let mut failed = 0;
    if dry_run {
        for r in &mut rows {
            r["Status"] = json!("DRY-RUN");
        }
    } else if !orphans.is_empty() {
        ctx.confirm(
            m,
            &format!("delete {} orphaned assignment(s)", orphans.len()),
        )?;
        for (r, done) in rows.iter_mut().zip(assignment::submit_each(
            ctx,
            Change::Delete,
            &orphans,
            true,
        )?) {
            if done.status != "SUCCEEDED" {
                failed += 1;
            }
            r["Status"] = json!(done.status);
            r["RequestId"] = json!(done.request_id);
            r["FailureReason"] = json!(done.failure);
        }
    }
    let report = Report::list(
        json!({"DryRun": dry_run, "Orphans": rows}),
        "Orphans",
        CLEANUP_COLUMNS,
    );
    if failed > 0 {
        return Ok(report.failed(Error::runtime(format!(
            "status cleanup: {failed} of {} deletion(s) did not succeed (see the results)",
            orphans.len()
        ))));
    }
    Ok(report)
}

/// Runs every check.
fn inspect(ctx: &Context) -> Result<Health> {
    let client = ctx.client()?;
    let instance = ctx.instance_arn()?;
    let mut health = Health {
        verdicts: Vec::new(),
        findings: Vec::new(),
        orphans: Vec::new(),
        set_names: HashMap::new(),
    };

    // The instance itself.
    let verdict = match client.call(&client::DESCRIBE_INSTANCE, json!({"InstanceArn": instance})) {
        Ok(reply) => match shapes::decode::<Instance>(&client::DESCRIBE_INSTANCE, &reply) {
            Ok(Instance {
                status: InstanceStatus::Active,
            }) => Verdict::Healthy,
            Ok(Instance { status }) => {
                health.findings.push(json!({
                    "Check": Check::Instance.name(),
                    "Detail": format!("instance status {status:?}"),
                }));
                Verdict::Problems(1)
            }
            Err(e) => Verdict::Unreadable(e.to_string()),
        },
        Err(e) => Verdict::Unreadable(e.to_string()),
    };
    health.verdicts.push((Check::Instance, verdict));

    // Asynchronous operations in progress (reported) or failed (problems).
    for (check, op, key) in OPERATION_LISTINGS {
        let mut failed = 0;
        let mut unreadable = None;
        for status in ["FAILED", "IN_PROGRESS"] {
            let input = json!({"InstanceArn": instance, "Filter": {"Status": status}});
            match client
                .list_live(op, input)
                .and_then(|reply| shapes::items::<OperationStatus>(op, &reply, key))
            {
                Ok(found) => {
                    for s in found {
                        if status == "FAILED" {
                            failed += 1;
                        }
                        health.findings.push(json!({
                            "Check": check.name(),
                            "RequestId": s.request_id,
                            "Status": status,
                            "CreatedDate": s.created_date,
                            "Detail": if status == "FAILED" { "failed" } else { "in progress (not counted)" },
                        }));
                    }
                }
                Err(e) => unreadable = Some(e.to_string()),
            }
        }
        let verdict = match (unreadable, failed) {
            (Some(why), _) => Verdict::Unreadable(why),
            (None, 0) => Verdict::Healthy,
            (None, n) => Verdict::Problems(n),
        };
        health.verdicts.push((check, verdict));
    }

    // The permission sets, where each is provisioned, and where its latest version is not.
    let op = &client::LIST_PERMISSION_SETS;
    let sets: Vec<String> = shapes::items(
        op,
        &client.list_live(op, json!({"InstanceArn": instance}))?,
        "PermissionSets",
    )?;
    let op = &client::LIST_ACCOUNTS_FOR_PROVISIONED_PERMISSION_SET;
    let per_set = grants::fan_out(ctx, "status check: permission sets", &sets, |set| {
        let input = json!({"InstanceArn": instance, "PermissionSetArn": set});
        let all: Vec<String> =
            shapes::items(op, &client.list_live(op, input.clone())?, "AccountIds")?;
        let mut stale = input;
        stale["ProvisioningStatus"] = json!("LATEST_PERMISSION_SET_NOT_PROVISIONED");
        let outdated: Vec<String> = shapes::items(op, &client.list_live(op, stale)?, "AccountIds")?;
        Ok((all, outdated))
    })?;
    let names = {
        let mut names = HashMap::new();
        let described = grants::fan_out(ctx, "status check: names", &sets, |set| {
            let reply = client.call(
                &client::DESCRIBE_PERMISSION_SET,
                json!({"InstanceArn": instance, "PermissionSetArn": set}),
            )?;
            let ps: shapes::PermissionSet =
                shapes::decode(&client::DESCRIBE_PERMISSION_SET, &reply["PermissionSet"])?;
            Ok(ps.name)
        })?;
        for (set, name) in sets.iter().zip(described) {
            names.insert(set.clone(), name);
        }
        names
    };

    // Every account and principal there is now.
    let store = ctx.identity_store_id()?;
    let accounts: Vec<shapes::Account> = shapes::items(
        &client::LIST_ACCOUNTS,
        &client.list_live(&client::LIST_ACCOUNTS, json!({}))?,
        "Accounts",
    )?;
    let users: Vec<User> = shapes::items(
        &client::LIST_USERS,
        &client.list_live(&client::LIST_USERS, json!({"IdentityStoreId": store}))?,
        "Users",
    )?;
    let groups: Vec<Group> = shapes::items(
        &client::LIST_GROUPS,
        &client.list_live(&client::LIST_GROUPS, json!({"IdentityStoreId": store}))?,
        "Groups",
    )?;
    let account_names: HashMap<&str, &str> = accounts
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    let user_ids: BTreeSet<&str> = users.iter().map(|u| u.user_id.as_str()).collect();
    let group_ids: BTreeSet<&str> = groups.iter().map(|g| g.group_id.as_str()).collect();

    let mut outdated = 0;
    let mut pairs = Vec::new();
    for (set, (all, stale)) in sets.iter().zip(&per_set) {
        for account in stale {
            outdated += 1;
            health.findings.push(json!({
                "Check": Check::OutdatedPermissionSets.name(),
                "AccountId": account,
                "AccountName": account_names.get(account.as_str()),
                "PermissionSetArn": set,
                "PermissionSetName": names.get(set),
                "Detail": "the latest version is not provisioned to this account",
            }));
        }
        pairs.extend(all.iter().map(|account| (account.clone(), set.clone())));
    }
    health
        .verdicts
        .push((Check::OutdatedPermissionSets, count(outdated)));

    // Every assignment, from where each permission set is provisioned.
    let op = &client::LIST_ACCOUNT_ASSIGNMENTS;
    let listed = grants::fan_out(
        ctx,
        "status check: assignments",
        &pairs,
        |(account, set)| {
            let input =
                json!({"InstanceArn": instance, "AccountId": account, "PermissionSetArn": set});
            shapes::items::<AccountAssignment>(
                op,
                &client.list_live(op, input)?,
                "AccountAssignments",
            )
        },
    )?;
    let assignments: BTreeSet<AccountAssignment> = listed.into_iter().flatten().collect();
    let mut former = 0;
    for a in &assignments {
        let exists = match a.principal_type {
            PrincipalType::User => user_ids.contains(a.principal_id.as_str()),
            PrincipalType::Group => group_ids.contains(a.principal_id.as_str()),
        };
        let finding = |check: Check, detail: &str| {
            json!({
                "Check": check.name(),
                "AccountId": a.account_id,
                "AccountName": account_names.get(a.account_id.as_str()),
                "PermissionSetArn": a.permission_set_arn,
                "PermissionSetName": names.get(&a.permission_set_arn),
                "PrincipalType": a.principal_type.as_aws(),
                "PrincipalId": a.principal_id,
                "Detail": detail,
            })
        };
        if !exists {
            health.findings.push(finding(
                Check::OrphanedAssignments,
                "the principal no longer exists",
            ));
            health.orphans.push(a.clone());
        }
        if !account_names.contains_key(a.account_id.as_str()) {
            former += 1;
            health.findings.push(finding(
                Check::FormerAccounts,
                "the account is not in the organization",
            ));
        }
    }
    health
        .verdicts
        .push((Check::OrphanedAssignments, count(health.orphans.len())));
    health.verdicts.push((Check::FormerAccounts, count(former)));
    health.set_names = names;
    Ok(health)
}

fn count(n: usize) -> Verdict {
    if n == 0 {
        Verdict::Healthy
    } else {
        Verdict::Problems(n)
    }
}
