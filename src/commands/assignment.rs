//! `assignment ...`: which principal may use which permission set in which account.
//!
//! `list` reads through [`grants`](super::grants): the cheapest way the filters allow,
//! names looked up once per distinct id.
//!
//! `assign` and `revoke` share one submit-and-wait machine: at most ten asynchronous
//! requests outstanding (the AWS limit), each polled until SUCCEEDED or FAILED, with a
//! bounded wait.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use super::fanout::{self, Progress};
use super::grants::{self, Names, Scope, list_accounts};
use super::resolve::{self, Principal, PrincipalType};
use super::wait::{self, Waited};
use super::{Context, org};
use crate::client::shapes::{self, AccountAssignment, RequestState, RequestStatus};
use crate::client::{self, Client, Operation};
use crate::commands::args::Matches;
use crate::document::Document;
use crate::error::{Error, Result};
use crate::output::{Column, Report, View};

/// AWS allows at most this many CreateAccountAssignment/DeleteAccountAssignment requests
/// in progress at once.
const MAX_OUTSTANDING: usize = 10;

/// The filters of `assignment list`, resolved.
#[derive(Debug, Default)]
struct Filters {
    /// (id, name).
    account: Option<(String, String)>,
    /// (ARN, name).
    permission_set: Option<(String, String)>,
    principal: Option<Principal>,
}

impl Filters {
    fn resolve(ctx: &Context, m: &Matches) -> Result<Filters> {
        let kind = principal_type(m)?;
        if kind.is_some() && m.value("principal").is_none() {
            return Err(Error::usage("--principal-type needs --principal"));
        }
        let account = match m.value("account") {
            Some(who) => {
                let a = resolve::typed_account(ctx, who)?;
                Some((a.id, a.name))
            }
            None => None,
        };
        let permission_set = match m.value("permission-set") {
            Some(who) => {
                let ps = resolve::typed_permission_set(ctx, who)?;
                Some((ps.permission_set_arn, ps.name))
            }
            None => None,
        };
        let principal = match m.value("principal") {
            Some(who) => Some(resolve::principal(ctx, who, kind)?),
            None => None,
        };
        Ok(Filters {
            account,
            permission_set,
            principal,
        })
    }

    /// The names the filters already resolved.
    fn names(&self) -> Names {
        let mut names = Names::default();
        if let Some((id, name)) = &self.account {
            names.learn_account(id, name);
        }
        if let Some((arn, name)) = &self.permission_set {
            names.learn_permission_set(arn, name);
        }
        if let Some(p) = &self.principal {
            names.learn_principal(&p.id, &p.name);
        }
        names
    }
}

fn principal_type(m: &Matches) -> Result<Option<PrincipalType>> {
    m.value("principal-type")
        .map(PrincipalType::parse)
        .transpose()
}

const LIST_COLUMNS: &[Column] = &[
    Column::new("Account", "AccountName"),
    Column::new("Account ID", "AccountId"),
    Column::new("Permission set", "PermissionSetName"),
    Column::new("Type", "PrincipalType"),
    Column::new("Principal", "PrincipalName"),
    Column::new("Principal ID", "PrincipalId"),
];

/// `assignment list [--account A] [--permission-set P] [--principal X]`.
pub(crate) fn list(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let filters = Filters::resolve(ctx, m)?;
    let mut names = filters.names();
    let scope = Scope {
        account: filters.account.as_ref().map(|(id, _)| id.clone()),
        permission_set: filters.permission_set.as_ref().map(|(arn, _)| arn.clone()),
        principal: filters.principal.as_ref().map(|p| (p.kind, p.id.clone())),
    };
    let mut rows = || -> Result<Document> {
        let rows = grants::assignments(ctx, &scope, &mut names)?;
        names.fill(ctx, &rows)?;
        Ok(super::rows::assignments(&names, &rows))
    };
    let whole_organization =
        scope.account.is_none() && scope.permission_set.is_none() && scope.principal.is_none();
    let document = if whole_organization {
        // The printed list of the whole organization is one cache entry of its own
        // (`client::ORGANIZATION_ASSIGNMENT_ROWS`): a warm listing reads only that.
        let input = json!({
            "InstanceArn": ctx.instance_arn()?,
            "IdentityStoreId": ctx.identity_store_id()?,
        });
        ctx.client()?
            .composite_text(&client::ORGANIZATION_ASSIGNMENT_ROWS, input, rows)?
    } else {
        rows()?
    };
    Ok(Report::list(document, "AccountAssignments", LIST_COLUMNS))
}

/// Which asynchronous change `assign` or `revoke` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Create,
    Delete,
}

impl Change {
    /// The operation that starts it.
    fn submit(self) -> &'static Operation {
        match self {
            Change::Create => &client::CREATE_ACCOUNT_ASSIGNMENT,
            Change::Delete => &client::DELETE_ACCOUNT_ASSIGNMENT,
        }
    }

    /// The operation that tells how it is doing.
    fn describe(self) -> &'static Operation {
        match self {
            Change::Create => &client::DESCRIBE_ACCOUNT_ASSIGNMENT_CREATION_STATUS,
            Change::Delete => &client::DESCRIBE_ACCOUNT_ASSIGNMENT_DELETION_STATUS,
        }
    }

    /// The status member of both replies.
    fn status_key(self) -> &'static str {
        match self {
            Change::Create => "AccountAssignmentCreationStatus",
            Change::Delete => "AccountAssignmentDeletionStatus",
        }
    }

    /// The request id member of the describe call.
    fn request_key(self) -> &'static str {
        match self {
            Change::Create => "AccountAssignmentCreationRequestId",
            Change::Delete => "AccountAssignmentDeletionRequestId",
        }
    }

    /// The command's name.
    pub(crate) fn verb(self) -> &'static str {
        match self {
            Change::Create => "assign",
            Change::Delete => "revoke",
        }
    }
}

/// An account to assign in or revoke from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    id: String,
    name: String,
}

impl From<&shapes::Account> for Target {
    fn from(account: &shapes::Account) -> Target {
        Target {
            id: account.id.clone(),
            name: account.name.clone(),
        }
    }
}

/// The permission set and principal of an `assign` or `revoke`.
struct Subject {
    permission_set: String,
    permission_set_name: String,
    principal: Principal,
}

impl Subject {
    fn resolve(ctx: &Context, m: &Matches) -> Result<Subject> {
        let ps = resolve::typed_permission_set(ctx, m.required_arg("PERMISSION_SET")?)?;
        let principal = resolve::principal(ctx, m.required_arg("PRINCIPAL")?, principal_type(m)?)?;
        Ok(Subject {
            permission_set: ps.permission_set_arn,
            permission_set_name: ps.name,
            principal,
        })
    }

    /// The request body of CreateAccountAssignment / DeleteAccountAssignment.
    fn request(&self, instance: &str, account: &str) -> Value {
        json!({
            "InstanceArn": instance,
            "TargetId": account,
            "TargetType": "AWS_ACCOUNT",
            "PermissionSetArn": self.permission_set,
            "PrincipalType": self.principal.kind.as_aws(),
            "PrincipalId": self.principal.id,
        })
    }
}

/// The target accounts: those named, those under `--ou` (and its children with
/// `--recursive`) and, with `--all-accounts`, every account; each once, in that order.
fn targets(ctx: &Context, m: &Matches) -> Result<Vec<Target>> {
    let given = m.args("ACCOUNT");
    let ou = m.value("ou");
    let all = m.switch("all-accounts");
    if m.switch("recursive") && ou.is_none() {
        return Err(Error::usage("--recursive needs --ou"));
    }
    if given.is_empty() && ou.is_none() && !all {
        return Err(Error::usage(
            "no target accounts: give ACCOUNT..., --ou OU or --all-accounts",
        ));
    }
    let listed = if all || given.iter().any(|a| !resolve::is_account_id(a)) {
        Some(list_accounts(ctx)?)
    } else {
        None
    };
    let mut found: Vec<Target> = match &listed {
        Some(accounts) => given
            .iter()
            .map(|who| find_account(accounts, who))
            .collect::<Result<_>>()?,
        None => fanout::parallel(given, fanout::WORKERS, |who| {
            Ok(Target::from(&resolve::typed_account(ctx, who)?))
        })
        .into_iter()
        .collect::<Result<_>>()?,
    };
    if let Some(ou) = ou {
        let ou = org::resolve_ou(ctx, ou)?;
        found.extend(
            org::accounts_under(ctx, &ou, m.switch("recursive"))?
                .into_iter()
                .map(|a| Target {
                    id: a.id,
                    name: a.name,
                }),
        );
    }
    if all {
        found.extend(listed.iter().flatten().map(Target::from));
    }
    let mut seen = BTreeSet::new();
    found.retain(|t| seen.insert(t.id.clone()));
    Ok(found)
}

/// Finds an account in a ListAccounts listing by id or name (any case).
fn find_account(accounts: &[shapes::Account], who: &str) -> Result<Target> {
    accounts
        .iter()
        .find(|a| a.id == who || a.name.eq_ignore_ascii_case(who))
        .map(Target::from)
        .ok_or_else(|| {
            Error::not_found(format!(
                "account \"{who}\" not found (by 12-digit id or name)"
            ))
        })
}

/// How one account's request ended, as the results report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutcomeStatus {
    Succeeded,
    Failed,
    /// Still running when awsideman stopped waiting.
    InProgress,
    /// `--dry-run`: nothing was sent.
    DryRun,
    /// Not sent after an earlier failure.
    Skipped,
    /// A revoke of an assignment that does not exist: nothing to do.
    AlreadyAbsent,
}

impl OutcomeStatus {
    fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Succeeded => "SUCCEEDED",
            OutcomeStatus::Failed => "FAILED",
            OutcomeStatus::InProgress => "IN_PROGRESS",
            OutcomeStatus::DryRun => "DRY-RUN",
            OutcomeStatus::Skipped => "SKIPPED",
            OutcomeStatus::AlreadyAbsent => "ALREADY-ABSENT",
        }
    }
}

/// How one account's request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    status: OutcomeStatus,
    request_id: Option<String>,
    failure: Option<String>,
}

impl Outcome {
    fn new(status: OutcomeStatus, request_id: Option<String>, failure: Option<String>) -> Outcome {
        Outcome {
            status,
            request_id,
            failure,
        }
    }

    /// From a final AccountAssignmentCreationStatus / DeletionStatus.
    fn from_state(state: RequestState) -> Outcome {
        let status = match state.status {
            RequestStatus::Succeeded => OutcomeStatus::Succeeded,
            RequestStatus::Failed => OutcomeStatus::Failed,
            RequestStatus::InProgress => OutcomeStatus::InProgress,
        };
        Outcome::new(status, state.request_id, state.failure_reason)
    }

    fn succeeded(&self) -> bool {
        matches!(
            self.status,
            OutcomeStatus::Succeeded | OutcomeStatus::DryRun | OutcomeStatus::AlreadyAbsent
        )
    }
}

/// Submits `change` for every target, at most [`MAX_OUTSTANDING`] at a time, each waited
/// for. Without `keep_going`, no new request starts after the first one that did not
/// succeed; the accounts left are reported as SKIPPED.
fn submit_all(
    ctx: &Context,
    change: Change,
    subject: &Subject,
    targets: &[Target],
    keep_going: bool,
) -> Result<Vec<Outcome>> {
    let instance = ctx.instance_arn()?;
    let requests: Vec<Value> = targets
        .iter()
        .map(|t| subject.request(instance, &t.id))
        .collect();
    submit_requests(ctx, change, &requests, keep_going)
}

/// Submits each CreateAccountAssignment / DeleteAccountAssignment body of `requests`, at most
/// [`MAX_OUTSTANDING`] at a time, each waited for (see [`submit_all`]).
fn submit_requests(
    ctx: &Context,
    change: Change,
    requests: &[Value],
    keep_going: bool,
) -> Result<Vec<Outcome>> {
    let client = ctx.client()?;
    let instance = ctx.instance_arn()?;
    let stop = AtomicBool::new(false);
    let progress = Progress::new(
        format!("assignment {}:", change.verb()),
        requests.len(),
        ctx.globals.quiet,
    );
    Ok(fanout::parallel(requests, MAX_OUTSTANDING, |request| {
        if stop.load(Ordering::SeqCst) {
            return Outcome::new(
                OutcomeStatus::Skipped,
                None,
                Some("not submitted after an earlier failure".into()),
            );
        }
        let outcome = submit_and_wait(client, instance, change, request.clone());
        if outcome.status == OutcomeStatus::Failed
            && let Some(recorder) = client.recorder()
        {
            // AWS accepted the request but it changed nothing: nothing to undo.
            recorder.withdraw(change.submit().name, request);
        }
        if !outcome.succeeded() && !keep_going {
            stop.store(true, Ordering::SeqCst);
        }
        progress.tick();
        outcome
    }))
}

/// How one request of [`submit_each`] ended: `SUCCEEDED`, `FAILED`, `IN_PROGRESS` (still
/// running when the wait ended) or `SKIPPED` (not sent after an earlier failure), with the
/// request id and the failure reason.
pub(crate) struct Submitted {
    /// The final status, as the results report it.
    pub(crate) status: &'static str,
    /// The request id, to ask about later.
    pub(crate) request_id: Option<String>,
    /// Why it did not succeed.
    pub(crate) failure: Option<String>,
}

/// Creates or deletes each assignment with the machinery of `assign` and `revoke`: at most
/// ten outstanding, each waited for; without `keep_going`, none is sent after a failure.
pub(crate) fn submit_each(
    ctx: &Context,
    change: Change,
    assignments: &[AccountAssignment],
    keep_going: bool,
) -> Result<Vec<Submitted>> {
    let instance = ctx.instance_arn()?;
    let requests: Vec<Value> = assignments
        .iter()
        .map(|a| {
            json!({
                "InstanceArn": instance,
                "TargetId": a.account_id,
                "TargetType": "AWS_ACCOUNT",
                "PermissionSetArn": a.permission_set_arn,
                "PrincipalType": a.principal_type.as_aws(),
                "PrincipalId": a.principal_id,
            })
        })
        .collect();
    submit_bodies(ctx, change, &requests, keep_going)
}

/// Like [`submit_each`], for request bodies as recorded (InstanceArn, TargetId,
/// TargetType, PermissionSetArn, PrincipalType, PrincipalId): the rollback of a journalled
/// operation.
pub(crate) fn submit_bodies(
    ctx: &Context,
    change: Change,
    requests: &[Value],
    keep_going: bool,
) -> Result<Vec<Submitted>> {
    Ok(submit_requests(ctx, change, requests, keep_going)?
        .into_iter()
        .map(|o| Submitted {
            status: o.status.as_str(),
            request_id: o.request_id,
            failure: o.failure,
        })
        .collect())
}

/// Starts one request and waits for it to end.
fn submit_and_wait(client: &Client, instance: &str, change: Change, request: Value) -> Outcome {
    match client.call(change.submit(), request) {
        Ok(mut reply) => wait(client, instance, change, reply[change.status_key()].take()),
        Err(e) => Outcome::new(OutcomeStatus::Failed, None, Some(e.to_string())),
    }
}

/// Waits for a request to end (see [`wait::until_done`]); a request still running after the
/// limit, or whose status cannot be read, is reported IN_PROGRESS with how to check later.
fn wait(client: &Client, instance: &str, change: Change, status: Value) -> Outcome {
    let first: RequestState = match shapes::decode(change.describe(), &status) {
        Ok(state) => state,
        Err(e) => return Outcome::new(OutcomeStatus::Failed, None, Some(e.to_string())),
    };
    let check_later = |id: &str, why: String| {
        Outcome::new(
            OutcomeStatus::InProgress,
            Some(id.to_string()),
            Some(format!(
                "{why}; check later with 'awsideman assignment status {id}'"
            )),
        )
    };
    let waited = wait::until_done(
        change.describe(),
        status,
        |_, _| {},
        |id| {
            let mut input = json!({ "InstanceArn": instance });
            input[change.request_key()] = Value::String(id.to_string());
            client
                .call(change.describe(), input)
                .map(|mut reply| reply[change.status_key()].take())
        },
    );
    match waited {
        Ok(Waited::Done { state, .. }) => Outcome::from_state(state),
        Ok(Waited::TimedOut { request_id, .. }) => check_later(
            &request_id,
            format!("still in progress after {} s", wait::POLL_LIMIT.as_secs()),
        ),
        Err(e) => match &first.request_id {
            Some(id) => check_later(id, format!("status unknown: {e}")),
            None => Outcome::new(OutcomeStatus::Failed, None, Some(e.to_string())),
        },
    }
}

const RESULT_COLUMNS: &[Column] = &[
    Column::new("Account", "AccountName"),
    Column::new("Account ID", "AccountId"),
    Column::new("Status", "status"),
    Column::new("Request ID", "RequestId"),
    Column::new("Failure reason", "FailureReason"),
];

/// `assignment assign PERMISSION_SET PRINCIPAL [ACCOUNT...] [--ou OU [--recursive]]
/// [--all-accounts] [--dry-run] [--continue-on-error]`.
pub(crate) fn assign(ctx: &mut Context, m: &Matches) -> Result<Report> {
    run_change(ctx, m, Change::Create)
}

/// `assignment revoke ...`: the same shape as `assign`; asks for confirmation.
pub(crate) fn revoke(ctx: &mut Context, m: &Matches) -> Result<Report> {
    run_change(ctx, m, Change::Delete)
}

fn run_change(ctx: &Context, m: &Matches, change: Change) -> Result<Report> {
    let subject = Subject::resolve(ctx, m)?;
    let targets = targets(ctx, m)?;
    let dry_run = m.switch("dry-run");
    if targets.is_empty() {
        ctx.warn(format!(
            "assignment {}: no accounts to act on",
            change.verb()
        ));
    }
    let absent = absent_from(ctx, change, &subject, &targets)?;
    let to_change: Vec<Target> = targets
        .iter()
        .filter(|t| !absent.contains(&t.id))
        .cloned()
        .collect();
    let mut submitted = if dry_run || to_change.is_empty() {
        Vec::new()
    } else {
        if change == Change::Delete {
            ctx.confirm(m, &confirmation(&subject, to_change.len()))?;
        }
        submit_all(
            ctx,
            change,
            &subject,
            &to_change,
            m.switch("continue-on-error"),
        )?
    }
    .into_iter();
    let outcomes: Vec<Outcome> = targets
        .iter()
        .map(|t| {
            if absent.contains(&t.id) {
                Outcome::new(OutcomeStatus::AlreadyAbsent, None, None)
            } else if dry_run {
                Outcome::new(OutcomeStatus::DryRun, None, None)
            } else {
                submitted.next().unwrap_or_else(|| {
                    Outcome::new(OutcomeStatus::Failed, None, Some("not submitted".into()))
                })
            }
        })
        .collect();
    let failed = outcomes.iter().filter(|o| !o.succeeded()).count();
    let report = change_report(change, &subject, &targets, &outcomes, dry_run);
    finish(report, failed, outcomes.len())
}

/// For a revoke, the target accounts where the assignment does not exist (nothing to do
/// there: reported as already absent, never as a failure); one ListAccountAssignments per
/// account, in parallel. Empty for an assign.
fn absent_from(
    ctx: &Context,
    change: Change,
    subject: &Subject,
    targets: &[Target],
) -> Result<BTreeSet<String>> {
    if change != Change::Delete || targets.is_empty() {
        return Ok(BTreeSet::new());
    }
    let pairs: Vec<(String, String)> = targets
        .iter()
        .map(|t| (t.id.clone(), subject.permission_set.clone()))
        .collect();
    let present: BTreeSet<String> = grants::of_pairs(ctx, &pairs)?
        .into_iter()
        .filter(|a| {
            a.principal_type == subject.principal.kind && a.principal_id == subject.principal.id
        })
        .map(|a| a.account_id)
        .collect();
    Ok(targets
        .iter()
        .filter(|t| !present.contains(&t.id))
        .map(|t| t.id.clone())
        .collect())
}

const COPY_COLUMNS: &[Column] = &[
    Column::new("Account", "AccountName"),
    Column::new("Account ID", "AccountId"),
    Column::new("Permission set", "PermissionSetName"),
    Column::new("Status", "Status"),
    Column::new("Detail", "Detail"),
];

/// `assignment copy --from P --to P [--include-accounts A] [--exclude-accounts A]
/// [--dry-run] [--continue-on-error]`: every (account, permission set) --from holds that
/// --to does not, created for --to.
pub(crate) fn copy(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let from = resolve::principal(ctx, m.required_value("from")?, None)?;
    let to = resolve::principal(ctx, m.required_value("to")?, None)?;
    if from.id == to.id {
        return Err(Error::usage("--from and --to name the same principal"));
    }
    let accounts = list_accounts(ctx)?;
    let pick = |flag: &str| -> Result<Option<BTreeSet<String>>> {
        let given: Vec<&str> = m
            .values(flag)
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        if given.is_empty() {
            return Ok(None);
        }
        given
            .iter()
            .map(|who| find_account(&accounts, who).map(|t| t.id))
            .collect::<Result<BTreeSet<_>>>()
            .map(Some)
    };
    let include = pick("include-accounts")?;
    let exclude = pick("exclude-accounts")?.unwrap_or_default();
    let held = grants::of_principal(ctx, from.kind, &from.id, None)?;
    let already: BTreeSet<(String, String)> = grants::of_principal(ctx, to.kind, &to.id, None)?
        .into_iter()
        .map(|a| (a.account_id, a.permission_set_arn))
        .collect();
    let wanted: Vec<AccountAssignment> = held
        .into_iter()
        .filter(|a| include.as_ref().is_none_or(|i| i.contains(&a.account_id)))
        .filter(|a| !exclude.contains(&a.account_id))
        .map(|a| AccountAssignment {
            principal_type: to.kind,
            principal_id: to.id.clone(),
            ..a
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut names = Names::default();
    names.add_accounts(&accounts);
    names.fill(ctx, &wanted)?;
    let (skipped, to_create): (Vec<_>, Vec<_>) = wanted
        .into_iter()
        .partition(|a| already.contains(&(a.account_id.clone(), a.permission_set_arn.clone())));
    let dry_run = m.switch("dry-run");
    let done = if dry_run || to_create.is_empty() {
        Vec::new()
    } else {
        submit_each(
            ctx,
            Change::Create,
            &to_create,
            m.switch("continue-on-error"),
        )?
    };
    let row =
        |a: &AccountAssignment, status: &str, request: Option<String>, detail: Option<String>| {
            json!({
                "AccountId": a.account_id,
                "AccountName": names.account(&a.account_id),
                "PermissionSetArn": a.permission_set_arn,
                "PermissionSetName": names.permission_set(&a.permission_set_arn),
                "Status": status,
                "RequestId": request,
                "Detail": detail,
            })
        };
    let mut rows: Vec<Value> = skipped
        .iter()
        .map(|a| row(a, "SKIPPED", None, Some("already held".into())))
        .collect();
    let mut failed = 0;
    for (i, a) in to_create.iter().enumerate() {
        rows.push(match done.get(i) {
            None => row(a, "DRY-RUN", None, None),
            Some(d) => {
                if d.status != "SUCCEEDED" {
                    failed += 1;
                }
                row(a, d.status, d.request_id.clone(), d.failure.clone())
            }
        });
    }
    let who = |p: &Principal| json!({"Type": p.kind.as_aws(), "Id": p.id, "Name": p.name});
    let report = Report::list(
        json!({"From": who(&from), "To": who(&to), "DryRun": dry_run, "Assignments": rows}),
        "Assignments",
        COPY_COLUMNS,
    );
    finish(report, failed, to_create.len())
}

/// The question `revoke` asks before deleting anything.
fn confirmation(subject: &Subject, accounts: usize) -> String {
    format!(
        "revoke permission set {} ({}) from {} {} (id {}) in {accounts} account(s)",
        subject.permission_set_name,
        subject.permission_set,
        subject.principal.kind.as_aws().to_lowercase(),
        subject.principal.name,
        subject.principal.id,
    )
}

fn change_report(
    change: Change,
    subject: &Subject,
    targets: &[Target],
    outcomes: &[Outcome],
    dry_run: bool,
) -> Report {
    let results: Vec<Value> = targets
        .iter()
        .zip(outcomes)
        .map(|(t, o)| {
            json!({
                "AccountId": t.id,
                "AccountName": t.name,
                "status": o.status.as_str(),
                "RequestId": o.request_id,
                "FailureReason": o.failure,
            })
        })
        .collect();
    let p = &subject.principal;
    let data = json!({
        "PermissionSetArn": subject.permission_set,
        "PermissionSetName": subject.permission_set_name,
        "PrincipalType": p.kind.as_aws(),
        "PrincipalId": p.id,
        "PrincipalName": p.name,
        "DryRun": dry_run,
        "results": results,
    });
    let title = format!(
        "{}{} {} {} {} ({})",
        if dry_run { "dry run: " } else { "" },
        change.verb(),
        subject.permission_set_name,
        if change == Change::Create {
            "to"
        } else {
            "from"
        },
        p.name,
        p.kind.as_aws()
    );
    Report::new(
        data,
        View::Sections(vec![(
            title,
            View::List {
                path: "results",
                columns: RESULT_COLUMNS,
            },
        )]),
    )
}

/// The report, marked as a partial failure (exit 1, after printing) when accounts failed.
fn finish(report: Report, failed: usize, total: usize) -> Result<Report> {
    if failed == 0 {
        return Ok(report);
    }
    Ok(report.failed(Error::runtime(format!(
        "{failed} of {total} account(s) did not succeed (see the results)"
    ))))
}

const STATUS_FIELDS: &[Column] = &[
    Column::new("Action", "Action"),
    Column::new("Status", "Status"),
    Column::new("Request ID", "RequestId"),
    Column::new("Failure reason", "FailureReason"),
    Column::new("Account", "TargetId"),
    Column::new("Permission set", "PermissionSetArn"),
    Column::new("Principal type", "PrincipalType"),
    Column::new("Principal ID", "PrincipalId"),
    Column::new("Created", "CreatedDate"),
];

/// `assignment status REQUEST_ID`: how an assign (creation) or revoke (deletion) request
/// is doing.
pub(crate) fn status(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let id = m.required_arg("REQUEST_ID")?;
    let client = ctx.client()?;
    let instance = ctx.instance_arn()?;
    for change in [Change::Create, Change::Delete] {
        let mut input = json!({ "InstanceArn": instance });
        input[change.request_key()] = Value::String(id.to_string());
        let status = match client.call(change.describe(), input) {
            Ok(mut reply) => reply[change.status_key()].take(),
            Err(e) if resolve::is_not_found(&e) => continue,
            Err(e) => return Err(e),
        };
        let mut data = json!({ "Action": change.verb() });
        if let (Some(out), Value::Object(fields)) = (data.as_object_mut(), status) {
            out.extend(fields);
        }
        return Ok(Report::record(data, "", STATUS_FIELDS));
    }
    Err(Error::not_found(format!(
        "assignment request \"{id}\" not found (neither an assign nor a revoke request)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_from_statuses() {
        let op = &client::DESCRIBE_ACCOUNT_ASSIGNMENT_CREATION_STATUS;
        let state = shapes::decode(
            op,
            &json!({"Status": "FAILED", "RequestId": "r-1", "FailureReason": "no"}),
        )
        .unwrap();
        let o = Outcome::from_state(state);
        assert_eq!(
            o,
            Outcome::new(OutcomeStatus::Failed, Some("r-1".into()), Some("no".into()))
        );
        assert!(!o.succeeded());
        assert!(Outcome::new(OutcomeStatus::DryRun, None, None).succeeded());
    }

    #[test]
    fn accounts_found_by_id_or_name() {
        let accounts = [shapes::decode(
            &client::DESCRIBE_ACCOUNT,
            &json!({"Id": "111111111111", "Name": "Prod-App"}),
        )
        .unwrap()];
        assert_eq!(
            find_account(&accounts, "prod-app").unwrap().id,
            "111111111111"
        );
        assert_eq!(
            find_account(&accounts, "111111111111").unwrap().name,
            "Prod-App"
        );
        let err = find_account(&accounts, "nope").unwrap_err();
        assert!(err.to_string().contains("\"nope\" not found"));
    }
}
