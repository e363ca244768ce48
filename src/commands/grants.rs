//! Reading who holds what: the account assignments in a scope, asked of AWS the cheapest way
//! the scope allows (by principal, by account, or for the whole organization by the cheaper
//! of a per-account and a per-principal plan), fanned out in parallel under the transport's
//! shared Identity Center rate limit; and the names of the accounts, permission sets and
//! principals they mention, looked up once per distinct id. `assignment list` and
//! `access-review` read through here.

use std::collections::BTreeSet;

use foldhash::HashMap;
use serde_json::{Value, json};

use super::Context;
use super::fanout::{self, Progress};
use super::resolve::{self, PrincipalType};
use crate::client::shapes::{self, AccountAssignment, Group, PermissionSet, User};
use crate::client::{self, Operation};
use crate::document::Document;
use crate::error::{Error, Result};

/// Sorts JSON rows by the text of `keys` (any case), in order.
pub(crate) fn sort_rows(rows: &mut [Value], keys: &[&str]) {
    rows.sort_by_cached_key(|v| -> Vec<String> {
        keys.iter()
            .map(|k| v[*k].as_str().unwrap_or_default().to_lowercase())
            .collect()
    });
}

/// What to read: every filter given narrows it (none: the whole organization).
#[derive(Debug, Default, Clone)]
pub(crate) struct Scope {
    /// An account id.
    pub(crate) account: Option<String>,
    /// A permission set ARN.
    pub(crate) permission_set: Option<String>,
    /// A user or group id.
    pub(crate) principal: Option<(PrincipalType, String)>,
}

impl Scope {
    /// Whether an assignment is inside the scope.
    fn keeps(&self, a: &AccountAssignment) -> bool {
        self.account.as_ref().is_none_or(|id| *id == a.account_id)
            && self
                .permission_set
                .as_ref()
                .is_none_or(|arn| *arn == a.permission_set_arn)
            && self
                .principal
                .as_ref()
                .is_none_or(|(kind, id)| *kind == a.principal_type && *id == a.principal_id)
    }
}

/// The assignments in `scope`, asked the cheapest way it allows. `names` learns every
/// account and principal a plan lists on the way.
pub(crate) fn assignments(
    ctx: &Context,
    scope: &Scope,
    names: &mut Names,
) -> Result<BTreeSet<AccountAssignment>> {
    let account = scope.account.clone();
    let set = scope.permission_set.clone();
    let found = match (&scope.principal, account, set) {
        (Some((kind, id)), account, _) => of_principal(ctx, *kind, id, account.as_deref())?,
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
        (None, None, None) => organization(ctx, names)?,
    };
    Ok(found.into_iter().filter(|a| scope.keeps(a)).collect())
}

/// How many accounts the per-account estimate of `list` samples.
const SAMPLE_ACCOUNTS: usize = 3;

/// Runs `f` over `items` on the fan-out workers with a progress line, failing on the first
/// error (after every item has run).
pub(crate) fn fan_out<T: Sync, R: Send>(
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
pub(crate) struct Names {
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
    pub(crate) fn add_accounts(&mut self, accounts: &[shapes::Account]) {
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

    /// Records an account's name (one the caller resolved already).
    pub(crate) fn learn_account(&mut self, id: &str, name: &str) {
        self.accounts.insert(id.to_string(), name.to_string());
    }

    /// Records a permission set's name.
    pub(crate) fn learn_permission_set(&mut self, arn: &str, name: &str) {
        self.permission_sets
            .insert(arn.to_string(), name.to_string());
    }

    /// Records a user's or group's name.
    pub(crate) fn learn_principal(&mut self, id: &str, name: &str) {
        self.principals.insert(id.to_string(), name.to_string());
    }

    /// The name of an account, if known.
    pub(crate) fn account(&self, id: &str) -> Option<&str> {
        self.accounts.get(id).map(String::as_str)
    }

    /// The name of a permission set, if known.
    pub(crate) fn permission_set(&self, arn: &str) -> Option<&str> {
        self.permission_sets.get(arn).map(String::as_str)
    }

    /// The name of a user or group, if known.
    pub(crate) fn principal(&self, id: &str) -> Option<&str> {
        self.principals.get(id).map(String::as_str)
    }

    /// Looks up the names of users not known yet (group members): one DescribeUser each,
    /// in parallel.
    pub(crate) fn fill_users<'r>(
        &mut self,
        ctx: &Context,
        ids: impl IntoIterator<Item = &'r str>,
    ) -> Result<()> {
        let missing: BTreeSet<&str> = ids
            .into_iter()
            .filter(|id| !self.principals.contains_key(*id))
            .collect();
        let lookups: Vec<Lookup> = missing
            .into_iter()
            .map(|id| Lookup::Principal(PrincipalType::User, id.to_string()))
            .collect();
        self.look_up_all(ctx, lookups)
    }

    /// Looks up every name `rows` need that is not known yet: ListAccounts once for
    /// accounts, one Describe call per distinct permission set and principal, in parallel.
    pub(crate) fn fill<'r>(
        &mut self,
        ctx: &Context,
        rows: impl IntoIterator<Item = &'r AccountAssignment> + Clone,
    ) -> Result<()> {
        if !self.all_accounts
            && rows
                .clone()
                .into_iter()
                .any(|r| !self.accounts.contains_key(&r.account_id))
        {
            self.add_accounts(&list_accounts(ctx)?);
        }
        let sets: BTreeSet<&String> = rows
            .clone()
            .into_iter()
            .map(|r| &r.permission_set_arn)
            .filter(|arn| !self.permission_sets.contains_key(*arn))
            .collect();
        let principals: BTreeSet<(PrincipalType, &String)> = rows
            .into_iter()
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
        self.look_up_all(ctx, lookups)
    }

    /// Runs name look-ups in parallel and records what they found.
    fn look_up_all(&mut self, ctx: &Context, lookups: Vec<Lookup>) -> Result<()> {
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
pub(crate) fn list_accounts(ctx: &Context) -> Result<Vec<shapes::Account>> {
    ctx.client()?.list_items(&client::LIST_ACCOUNTS, json!({}))
}

/// The permission sets provisioned to an account (their ARNs), each once, sorted.
pub(crate) fn provisioned_to(ctx: &Context, account: &str) -> Result<Vec<String>> {
    let sets: BTreeSet<String> = ctx
        .client()?
        .list_items::<String>(
            &client::LIST_PERMISSION_SETS_PROVISIONED_TO_ACCOUNT,
            json!({"InstanceArn": ctx.instance_arn()?, "AccountId": account}),
        )?
        .into_iter()
        .collect();
    Ok(sets.into_iter().collect())
}

/// The assignments of a principal (ListAccountAssignmentsForPrincipal), optionally in one
/// account only. A principal deleted meanwhile has none.
pub(crate) fn of_principal(
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
        .list_items(&client::LIST_ACCOUNT_ASSIGNMENTS_FOR_PRINCIPAL, input)
    {
        Ok(found) => Ok(found),
        Err(e) if resolve::is_not_found(&e) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The assignments of each (account, permission set) pair: ListAccountAssignments, in
/// parallel.
pub(crate) fn of_pairs(
    ctx: &Context,
    pairs: &[(String, String)],
) -> Result<Vec<AccountAssignment>> {
    let instance = ctx.instance_arn()?;
    let client = ctx.client()?;
    let found = fan_out(ctx, "assignment list:", pairs, |(account, set)| {
        client.list_items(
            &client::LIST_ACCOUNT_ASSIGNMENTS,
            json!({"InstanceArn": instance, "AccountId": account, "PermissionSetArn": set}),
        )
    })?;
    Ok(found.into_iter().flatten().collect())
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
        client.list_document(op, input.clone())
    });
    let [accounts, users, groups] = <[Result<Document>; 3]>::try_from(listed)
        .map_err(|_| Error::runtime("internal error: a listing went missing"))?;
    let accounts: Vec<shapes::Account> =
        shapes::items_in(&client::LIST_ACCOUNTS, &accounts?, "Accounts")?;
    let users: Vec<User> = shapes::items_in(&client::LIST_USERS, &users?, "Users")?;
    let groups: Vec<Group> = shapes::items_in(&client::LIST_GROUPS, &groups?, "Groups")?;
    names.add_accounts(&accounts);
    names.add_users(&users);
    names.add_groups(&groups);
    organization_from(ctx, &accounts, &users, &groups)
}

/// Every assignment of the organization, by the cheaper plan, given the listings of its
/// accounts, users and groups (read by the caller, who may need them for more).
pub(crate) fn organization_from(
    ctx: &Context,
    accounts: &[shapes::Account],
    users: &[User],
    groups: &[Group],
) -> Result<Vec<AccountAssignment>> {
    // One cache entry for the whole answer (see `client::COMPOSITES`): a warm listing reads
    // it instead of one entry per account and permission set.
    let client = ctx.client()?;
    let input = json!({
        "InstanceArn": ctx.instance_arn()?,
        "IdentityStoreId": ctx.identity_store_id()?,
    });
    let answer = client.composite(&client::ORGANIZATION_ASSIGNMENTS, input, || {
        let found = read_organization(ctx, accounts, users, groups)?;
        Ok(json!({ "AccountAssignments": found }))
    })?;
    shapes::items_in(
        &client::ORGANIZATION_ASSIGNMENTS,
        &answer,
        "AccountAssignments",
    )
}

/// [`organization_from`] read part by part.
fn read_organization(
    ctx: &Context,
    accounts: &[shapes::Account],
    users: &[User],
    groups: &[Group],
) -> Result<Vec<AccountAssignment>> {
    let client = ctx.client()?;
    let account_ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
    let principals: Vec<(PrincipalType, String)> = users
        .iter()
        .map(|u| (PrincipalType::User, u.user_id.clone()))
        .chain(
            groups
                .iter()
                .map(|g| (PrincipalType::Group, g.group_id.clone())),
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
}
