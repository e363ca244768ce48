//! `assignment ...`: which principal may use which permission set in which account.
//!
//! `list` asks AWS the cheapest way the filters allow: by principal, by account, or, for
//! the whole organization, by the cheaper of a per-account and a per-principal plan, fanned
//! out in parallel under the transport's shared Identity Center rate limit. Names are looked
//! up once per distinct id, never once per row.
//!
//! `assign` and `revoke` share one submit-and-wait machine: at most ten asynchronous
//! requests outstanding (the AWS limit), each polled until SUCCEEDED or FAILED, with a
//! bounded wait.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use super::fanout::{self, Progress};
use super::resolve::{self, Principal, PrincipalType};
use super::wait::{self, Waited};
use super::{Context, org};
use crate::client::shapes::{
    self, AccountAssignment, Group, PermissionSet, RequestState, RequestStatus, User,
};
use crate::client::{self, Client, Operation};
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::output::{Column, Report, View};

/// AWS allows at most this many CreateAccountAssignment/DeleteAccountAssignment requests
/// in progress at once.
const MAX_OUTSTANDING: usize = 10;
/// How many accounts the per-account estimate of `list` samples.
const SAMPLE_ACCOUNTS: usize = 3;

/// Runs `f` over `items` on the fan-out workers with a progress line, failing on the first
/// error (after every item has run).
fn fan_out<T: Sync, R: Send>(
    ctx: &Context,
    label: &str,
    items: &[T],
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let progress = Progress::new(label, items.len(), ctx.globals.quiet);
    fanout::parallel(items, fanout::WORKERS, |item| {
        let result = f(item);
        progress.tick();
        result
    })
    .into_iter()
    .collect()
}

/// Names of accounts, permission sets and principals by id, filled once per distinct id.
#[derive(Debug, Default)]
struct Names {
    /// Whether `accounts` holds every account (ListAccounts was called).
    all_accounts: bool,
    accounts: HashMap<String, String>,
    permission_sets: HashMap<String, String>,
    /// By user or group id (Identity Store ids are unique across users and groups).
    principals: HashMap<String, String>,
}

/// One name to look up with a Describe call.
enum Lookup {
    PermissionSet(String),
    Principal(PrincipalType, String),
}

impl Names {
    /// Records every account of a ListAccounts listing.
    fn add_accounts(&mut self, accounts: &[shapes::Account]) {
        self.all_accounts = true;
        for a in accounts {
            self.accounts.insert(a.id.clone(), a.name.clone());
        }
    }

    fn add_users(&mut self, users: &[User]) {
        for u in users {
            self.principals
                .insert(u.user_id.clone(), u.user_name.clone());
        }
    }

    fn add_groups(&mut self, groups: &[Group]) {
        for g in groups {
            let name = g.display_name.clone().unwrap_or_default();
            self.principals.insert(g.group_id.clone(), name);
        }
    }

    /// Looks up every name `rows` need that is not known yet: ListAccounts once for
    /// accounts, one Describe call per distinct permission set and principal, in parallel.
    fn fill(&mut self, ctx: &Context, rows: &BTreeSet<AccountAssignment>) -> Result<()> {
        if !self.all_accounts
            && rows
                .iter()
                .any(|r| !self.accounts.contains_key(&r.account_id))
        {
            self.add_accounts(&list_accounts(ctx)?);
        }
        let sets: BTreeSet<&String> = rows
            .iter()
            .map(|r| &r.permission_set_arn)
            .filter(|arn| !self.permission_sets.contains_key(*arn))
            .collect();
        let principals: BTreeSet<(PrincipalType, &String)> = rows
            .iter()
            .map(|r| (r.principal_type, &r.principal_id))
            .filter(|(_, id)| !self.principals.contains_key(*id))
            .collect();
        let lookups: Vec<Lookup> = sets
            .into_iter()
            .map(|arn| Lookup::PermissionSet(arn.clone()))
            .chain(
                principals
                    .into_iter()
                    .map(|(kind, id)| Lookup::Principal(kind, id.clone())),
            )
            .collect();
        let found = fanout::parallel(&lookups, fanout::WORKERS, |l| look_up(ctx, l));
        for (lookup, name) in lookups.into_iter().zip(found) {
            let Some(name) = name? else { continue };
            match lookup {
                Lookup::PermissionSet(arn) => self.permission_sets.insert(arn, name),
                Lookup::Principal(_, id) => self.principals.insert(id, name),
            };
        }
        Ok(())
    }

    /// The output rows, sorted by account, permission set and principal name.
    fn rows(&self, rows: &BTreeSet<AccountAssignment>) -> Vec<Value> {
        let mut out: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "AccountId": r.account_id,
                    "AccountName": self.accounts.get(&r.account_id),
                    "PermissionSetArn": r.permission_set_arn,
                    "PermissionSetName": self.permission_sets.get(&r.permission_set_arn),
                    "PrincipalType": r.principal_type.as_aws(),
                    "PrincipalId": r.principal_id,
                    "PrincipalName": self.principals.get(&r.principal_id),
                })
            })
            .collect();
        let key = |v: &Value| -> Vec<String> {
            [
                "AccountName",
                "AccountId",
                "PermissionSetName",
                "PrincipalType",
                "PrincipalName",
                "PrincipalId",
            ]
            .iter()
            .map(|k| v[*k].as_str().unwrap_or_default().to_lowercase())
            .collect()
        };
        out.sort_by_key(key);
        out
    }
}

/// The name of one permission set or principal; `None` when it no longer exists.
fn look_up(ctx: &Context, lookup: &Lookup) -> Result<Option<String>> {
    let client = ctx.client()?;
    let reply = match lookup {
        Lookup::PermissionSet(arn) => client
            .call(
                &client::DESCRIBE_PERMISSION_SET,
                json!({"InstanceArn": ctx.instance_arn()?, "PermissionSetArn": arn}),
            )
            .and_then(|r| {
                let op = &client::DESCRIBE_PERMISSION_SET;
                Ok(shapes::decode::<PermissionSet>(op, &r["PermissionSet"])?.name)
            }),
        Lookup::Principal(kind, id) => {
            let store = ctx.identity_store_id()?;
            match kind {
                PrincipalType::User => client
                    .call(
                        &client::DESCRIBE_USER,
                        json!({"IdentityStoreId": store, "UserId": id}),
                    )
                    .and_then(
                        |r| Ok(shapes::decode::<User>(&client::DESCRIBE_USER, &r)?.user_name),
                    ),
                PrincipalType::Group => client
                    .call(
                        &client::DESCRIBE_GROUP,
                        json!({"IdentityStoreId": store, "GroupId": id}),
                    )
                    .and_then(|r| {
                        let g: Group = shapes::decode(&client::DESCRIBE_GROUP, &r)?;
                        Ok(g.display_name.unwrap_or_default())
                    }),
            }
        }
    };
    match reply {
        Ok(name) => Ok(Some(name)),
        Err(e) if resolve::is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every account of the organization (ListAccounts, every page).
fn list_accounts(ctx: &Context) -> Result<Vec<shapes::Account>> {
    let reply = ctx.client()?.list(&client::LIST_ACCOUNTS, json!({}))?;
    shapes::items(&client::LIST_ACCOUNTS, &reply, "Accounts")
}

/// The permission sets provisioned to an account, each once.
fn provisioned_to(ctx: &Context, account: &str) -> Result<Vec<String>> {
    let reply = ctx.client()?.list(
        &client::LIST_PERMISSION_SETS_PROVISIONED_TO_ACCOUNT,
        json!({"InstanceArn": ctx.instance_arn()?, "AccountId": account}),
    )?;
    let op = &client::LIST_PERMISSION_SETS_PROVISIONED_TO_ACCOUNT;
    let sets: BTreeSet<String> = shapes::items::<String>(op, &reply, "PermissionSets")?
        .into_iter()
        .collect();
    Ok(sets.into_iter().collect())
}

/// The assignments of a principal (ListAccountAssignmentsForPrincipal), optionally in one
/// account only. A principal deleted meanwhile has none.
fn of_principal(
    ctx: &Context,
    kind: PrincipalType,
    id: &str,
    account: Option<&str>,
) -> Result<Vec<AccountAssignment>> {
    let mut input = json!({
        "InstanceArn": ctx.instance_arn()?,
        "PrincipalId": id,
        "PrincipalType": kind.as_aws(),
    });
    if let Some(account) = account {
        input["Filter"] = json!({ "AccountId": account });
    }
    match ctx
        .client()?
        .list(&client::LIST_ACCOUNT_ASSIGNMENTS_FOR_PRINCIPAL, input)
    {
        Ok(reply) => shapes::items(
            &client::LIST_ACCOUNT_ASSIGNMENTS_FOR_PRINCIPAL,
            &reply,
            "AccountAssignments",
        ),
        Err(e) if resolve::is_not_found(&e) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The assignments of each (account, permission set) pair: ListAccountAssignments, in
/// parallel.
fn of_pairs(ctx: &Context, pairs: &[(String, String)]) -> Result<Vec<AccountAssignment>> {
    let instance = ctx.instance_arn()?;
    let client = ctx.client()?;
    let found = fan_out(ctx, "assignment list:", pairs, |(account, set)| {
        client
            .list(
                &client::LIST_ACCOUNT_ASSIGNMENTS,
                json!({"InstanceArn": instance, "AccountId": account, "PermissionSetArn": set}),
            )
            .and_then(|reply| {
                shapes::items(
                    &client::LIST_ACCOUNT_ASSIGNMENTS,
                    &reply,
                    "AccountAssignments",
                )
            })
    })?;
    Ok(found.into_iter().flatten().collect())
}

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
                let a = account_of(&resolve::account(ctx, who)?)?;
                Some((a.id, a.name))
            }
            None => None,
        };
        let permission_set = match m.value("permission-set") {
            Some(who) => {
                let ps = permission_set_of(&resolve::permission_set(ctx, who)?)?;
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

    fn keeps(&self, a: &AccountAssignment) -> bool {
        self.account
            .as_ref()
            .is_none_or(|(id, _)| *id == a.account_id)
            && self
                .permission_set
                .as_ref()
                .is_none_or(|(arn, _)| *arn == a.permission_set_arn)
    }

    /// The names the filters already resolved.
    fn names(&self) -> Names {
        let mut names = Names::default();
        if let Some((id, name)) = &self.account {
            names.accounts.insert(id.clone(), name.clone());
        }
        if let Some((arn, name)) = &self.permission_set {
            names.permission_sets.insert(arn.clone(), name.clone());
        }
        if let Some(p) = &self.principal {
            names.principals.insert(p.id.clone(), p.name.clone());
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
    let account = filters.account.as_ref().map(|(id, _)| id.clone());
    let set = filters.permission_set.as_ref().map(|(arn, _)| arn.clone());
    let found = match (&filters.principal, account, set) {
        (Some(p), account, _) => of_principal(ctx, p.kind, &p.id, account.as_deref())?,
        (None, Some(account), Some(set)) => of_pairs(ctx, &[(account, set)])?,
        (None, Some(account), None) => {
            let pairs: Vec<(String, String)> = provisioned_to(ctx, &account)?
                .into_iter()
                .map(|set| (account.clone(), set))
                .collect();
            of_pairs(ctx, &pairs)?
        }
        (None, None, Some(set)) => {
            let accounts = list_accounts(ctx)?;
            names.add_accounts(&accounts);
            let pairs: Vec<(String, String)> = accounts
                .iter()
                .map(|a| (a.id.clone(), set.clone()))
                .collect();
            of_pairs(ctx, &pairs)?
        }
        (None, None, None) => organization(ctx, &mut names)?,
    };
    let rows: BTreeSet<AccountAssignment> =
        found.into_iter().filter(|a| filters.keeps(a)).collect();
    names.fill(ctx, &rows)?;
    Ok(Report::list(
        json!({ "AccountAssignments": names.rows(&rows) }),
        "AccountAssignments",
        LIST_COLUMNS,
    ))
}

/// How `assignment list` covers a whole organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// ListPermissionSetsProvisionedToAccount per account, then ListAccountAssignments per
    /// provisioned set.
    PerAccount,
    /// ListAccountAssignmentsForPrincipal per user and group.
    PerPrincipal,
}

/// The request counts of both plans and the one chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Estimate {
    plan: Plan,
    /// accounts × (1 + provisioned sets per account, averaged over the sample).
    per_account: usize,
    /// One request per user and group.
    per_principal: usize,
    /// The average number of provisioned sets in the sampled accounts.
    sets_per_account: f64,
}

/// Estimates both plans from the number of accounts, the provisioned-set counts of the
/// sampled accounts and the number of principals, and picks the cheaper one. The sample's
/// requests are already made, so they count for neither side of the comparison.
fn estimate(accounts: usize, sample: &[usize], principals: usize) -> Estimate {
    let sets_per_account = match sample.len() {
        0 => 0.0,
        n => sample.iter().sum::<usize>() as f64 / n as f64,
    };
    let per_account = accounts + (accounts as f64 * sets_per_account).ceil() as usize;
    let plan = if per_account.saturating_sub(sample.len()) <= principals {
        Plan::PerAccount
    } else {
        Plan::PerPrincipal
    };
    Estimate {
        plan,
        per_account,
        per_principal: principals,
        sets_per_account,
    }
}

/// Every assignment of the organization, by the cheaper plan. Fills `names` with every
/// account and principal on the way (the plans need those listings anyway).
fn organization(ctx: &Context, names: &mut Names) -> Result<Vec<AccountAssignment>> {
    let client = ctx.client()?;
    let store = ctx.identity_store_id()?;
    let listings: [(&Operation, Value, &str); 3] = [
        (&client::LIST_ACCOUNTS, json!({}), "Accounts"),
        (
            &client::LIST_USERS,
            json!({ "IdentityStoreId": store }),
            "Users",
        ),
        (
            &client::LIST_GROUPS,
            json!({ "IdentityStoreId": store }),
            "Groups",
        ),
    ];
    let listed = fanout::parallel(&listings, listings.len(), |(op, input, _)| {
        client.list(op, input.clone())
    });
    let [accounts, users, groups] = <[Result<Value>; 3]>::try_from(listed)
        .map_err(|_| Error::runtime("internal error: a listing went missing"))?;
    let accounts: Vec<shapes::Account> =
        shapes::items(&client::LIST_ACCOUNTS, &accounts?, "Accounts")?;
    let users: Vec<User> = shapes::items(&client::LIST_USERS, &users?, "Users")?;
    let groups: Vec<Group> = shapes::items(&client::LIST_GROUPS, &groups?, "Groups")?;
    names.add_accounts(&accounts);
    names.add_users(&users);
    names.add_groups(&groups);

    let account_ids: Vec<String> = accounts.into_iter().map(|a| a.id).collect();
    let principals: Vec<(PrincipalType, String)> = users
        .into_iter()
        .map(|u| (PrincipalType::User, u.user_id))
        .chain(
            groups
                .into_iter()
                .map(|g| (PrincipalType::Group, g.group_id)),
        )
        .collect();

    let sampled_ids = &account_ids[..account_ids.len().min(SAMPLE_ACCOUNTS)];
    let sample = fan_out(ctx, "assignment list: sampling", sampled_ids, |a| {
        provisioned_to(ctx, a)
    })?;
    let counts: Vec<usize> = sample.iter().map(Vec::len).collect();
    let chosen = estimate(account_ids.len(), &counts, principals.len());
    client
        .session()
        .transport()
        .debug(|| describe(&chosen, &account_ids, &principals));

    match chosen.plan {
        Plan::PerAccount => {
            let rest = fan_out(
                ctx,
                "assignment list: accounts",
                &account_ids[sampled_ids.len()..],
                |a| provisioned_to(ctx, a),
            )?;
            let pairs: Vec<(String, String)> = account_ids
                .iter()
                .zip(sample.into_iter().chain(rest))
                .flat_map(|(account, sets)| sets.into_iter().map(|s| (account.clone(), s)))
                .collect();
            of_pairs(ctx, &pairs)
        }
        Plan::PerPrincipal => {
            let found = fan_out(ctx, "assignment list:", &principals, |(kind, id)| {
                of_principal(ctx, *kind, id, None)
            })?;
            Ok(found.into_iter().flatten().collect())
        }
    }
}

/// The `--debug` line saying which plan was chosen and why.
fn describe(e: &Estimate, accounts: &[String], principals: &[(PrincipalType, String)]) -> String {
    let per_account = format!(
        "per-account plan ~{} requests ({} accounts x (1 + {:.1} provisioned permission sets))",
        e.per_account,
        accounts.len(),
        e.sets_per_account
    );
    let per_principal = format!(
        "per-principal plan ~{} requests ({} users and groups)",
        e.per_principal,
        principals.len()
    );
    match e.plan {
        Plan::PerAccount => {
            format!("assignment list: chose the {per_account} over the {per_principal}")
        }
        Plan::PerPrincipal => {
            format!("assignment list: chose the {per_principal} over the {per_account}")
        }
    }
}

/// Which asynchronous change `assign` or `revoke` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
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
    fn verb(self) -> &'static str {
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

/// The account `resolve::account` found (a DescribeAccount or ListAccounts member).
fn account_of(found: &Value) -> Result<shapes::Account> {
    shapes::decode(&client::DESCRIBE_ACCOUNT, found)
}

/// The permission set `resolve::permission_set` found (DescribePermissionSet's member).
fn permission_set_of(found: &Value) -> Result<PermissionSet> {
    shapes::decode(&client::DESCRIBE_PERMISSION_SET, found)
}

/// The permission set and principal of an `assign` or `revoke`.
struct Subject {
    permission_set: String,
    permission_set_name: String,
    principal: Principal,
}

impl Subject {
    fn resolve(ctx: &Context, m: &Matches) -> Result<Subject> {
        let ps = resolve::permission_set(ctx, m.required_arg("PERMISSION_SET")?)?;
        let ps = permission_set_of(&ps)?;
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
            Ok(Target::from(&account_of(&resolve::account(ctx, who)?)?))
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
}

impl OutcomeStatus {
    fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Succeeded => "SUCCEEDED",
            OutcomeStatus::Failed => "FAILED",
            OutcomeStatus::InProgress => "IN_PROGRESS",
            OutcomeStatus::DryRun => "DRY-RUN",
            OutcomeStatus::Skipped => "SKIPPED",
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
            OutcomeStatus::Succeeded | OutcomeStatus::DryRun
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
    let client = ctx.client()?;
    let instance = ctx.instance_arn()?;
    let stop = AtomicBool::new(false);
    let progress = Progress::new(
        format!("assignment {}:", change.verb()),
        targets.len(),
        ctx.globals.quiet,
    );
    Ok(fanout::parallel(targets, MAX_OUTSTANDING, |target| {
        if stop.load(Ordering::SeqCst) {
            return Outcome::new(
                OutcomeStatus::Skipped,
                None,
                Some("not submitted after an earlier failure".into()),
            );
        }
        let outcome = submit_and_wait(
            client,
            instance,
            change,
            subject.request(instance, &target.id),
        );
        if !outcome.succeeded() && !keep_going {
            stop.store(true, Ordering::SeqCst);
        }
        progress.tick();
        outcome
    }))
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
    let outcomes = if dry_run {
        targets
            .iter()
            .map(|_| Outcome::new(OutcomeStatus::DryRun, None, None))
            .collect()
    } else if targets.is_empty() {
        Vec::new()
    } else {
        if change == Change::Delete {
            ctx.confirm(m, &confirmation(&subject, targets.len()))?;
        }
        submit_all(
            ctx,
            change,
            &subject,
            &targets,
            m.switch("continue-on-error"),
        )?
    };
    let failed = outcomes.iter().filter(|o| !o.succeeded()).count();
    let report = change_report(change, &subject, &targets, &outcomes, dry_run);
    finish(report, failed, outcomes.len())
}

/// The question `revoke` asks before deleting anything.
fn confirmation(subject: &Subject, accounts: usize) -> String {
    format!(
        "revoke permission set {} from {} {} in {accounts} account(s)",
        subject.permission_set_name,
        subject.principal.kind.as_aws().to_lowercase(),
        subject.principal.name,
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
    fn picks_the_cheaper_plan() {
        // 5 accounts with 3 sets each: 5 × (1 + 3) = 20 requests; 7 principals are cheaper.
        let e = estimate(5, &[3, 3, 3], 7);
        assert_eq!(
            (e.plan, e.per_account, e.per_principal),
            (Plan::PerPrincipal, 20, 7)
        );
        // 40 principals: the per-account plan is cheaper.
        assert_eq!(estimate(5, &[3, 3, 3], 40).plan, Plan::PerAccount);
        // Rounding up a fractional average.
        assert_eq!(estimate(10, &[1, 2], 100).per_account, 25);
        // An empty organization costs nothing per account.
        assert_eq!(estimate(0, &[], 3).plan, Plan::PerAccount);
        // The sample is spent already: 3 accounts with nothing provisioned cost nothing more.
        assert_eq!(estimate(3, &[0, 0, 0], 1).plan, Plan::PerAccount);
    }

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
        let accounts = [account_of(&json!({"Id": "111111111111", "Name": "Prod-App"})).unwrap()];
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
