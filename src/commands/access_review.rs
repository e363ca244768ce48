//! `access-review ...`: effective access. Who can reach which account with which permission
//! set, and how: directly, or through a group they belong to.
//!
//! Every view reads the assignments in its scope through [`grants`](super::grants) (the
//! cheapest plan the scope allows), then expands each group holding one into its members
//! with one paged ListGroupMemberships per distinct group, and names everything once per
//! distinct id.

use std::collections::{BTreeSet, HashMap};

use serde_json::json;

use super::Context;
use super::grants::{self, Names, Scope};
use super::org;
use super::resolve::{self, Principal, PrincipalType};
use super::rows::{self, Layout};
use crate::client;
use crate::client::shapes::{AccountAssignment, Membership};
use crate::commands::args::Matches;
use crate::error::Result;
use crate::output::{Column, Report};

/// How a principal holds an assignment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Via {
    /// Its own assignment.
    Direct,
    /// An assignment of this group (id), which it is a member of.
    Group(String),
}

/// One way a principal reaches an account with a permission set: `assignment` names the
/// principal who reaches it (a member user when `via` is a group).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Grant {
    assignment: AccountAssignment,
    via: Via,
}

const COLUMNS: &[Column] = &[
    Column::new("Account", "AccountName"),
    Column::new("Account ID", "AccountId"),
    Column::new("Permission set", "PermissionSetName"),
    Column::new("Type", "PrincipalType"),
    Column::new("Principal", "PrincipalName"),
    Column::new("Access", "Access"),
];

/// `access-review principal PRINCIPAL [--type user|group] [--account A] [--members]`.
pub(crate) fn principal(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let kind = m.value("type").map(PrincipalType::parse).transpose()?;
    let who = resolve::principal(ctx, m.required_arg("PRINCIPAL")?, kind)?;
    let mut names = Names::default();
    let account = named_account(ctx, m.value("account"), &mut names)?;
    let (assignments, found) = of_principal(
        ctx,
        &who,
        account.as_deref(),
        m.switch("members"),
        &mut names,
    )?;
    report(ctx, &mut names, &assignments, &found)
}

/// What `who` can reach (in `account` only, when given): a user's own assignments and
/// those of each group it is in; a group's own, and with `members` each member's through it.
fn of_principal(
    ctx: &Context,
    who: &Principal,
    account: Option<&str>,
    members: bool,
    names: &mut Names,
) -> Result<(BTreeSet<AccountAssignment>, BTreeSet<Grant>)> {
    names.learn_principal(&who.id, &who.name);
    match who.kind {
        PrincipalType::User => of_user(ctx, who, account),
        PrincipalType::Group => {
            let own: BTreeSet<AccountAssignment> =
                grants::of_principal(ctx, who.kind, &who.id, account)?
                    .into_iter()
                    .collect();
            let found = if members {
                expand(ctx, &own)?
            } else {
                direct(&own)
            };
            Ok((own, found))
        }
    }
}

/// The account `--account` names (its name recorded), if given.
fn named_account(ctx: &Context, who: Option<&str>, names: &mut Names) -> Result<Option<String>> {
    let Some(who) = who else { return Ok(None) };
    let account = resolve::typed_account(ctx, who)?;
    names.learn_account(&account.id, &account.name);
    Ok(Some(account.id))
}

/// The permission set `--permission-set` names (its name recorded), if given.
fn named_permission_set(
    ctx: &Context,
    who: Option<&str>,
    names: &mut Names,
) -> Result<Option<String>> {
    let Some(who) = who else { return Ok(None) };
    let ps = resolve::typed_permission_set(ctx, who)?;
    names.learn_permission_set(&ps.permission_set_arn, &ps.name);
    Ok(Some(ps.permission_set_arn))
}

/// A user's access: its own assignments, and those of each group it belongs to (one
/// listing of its groups, one of each group's assignments, in parallel).
fn of_user(
    ctx: &Context,
    user: &Principal,
    account: Option<&str>,
) -> Result<(BTreeSet<AccountAssignment>, BTreeSet<Grant>)> {
    let own = grants::of_principal(ctx, PrincipalType::User, &user.id, account)?;
    let memberships: Vec<Membership> = ctx.client()?.list_items(
        &client::LIST_GROUP_MEMBERSHIPS_FOR_MEMBER,
        json!({"IdentityStoreId": ctx.identity_store_id()?, "MemberId": {"UserId": user.id}}),
    )?;
    let groups: Vec<String> = memberships.into_iter().map(|m| m.group_id).collect();
    let of_groups = grants::fan_out(ctx, "access-review: groups", &groups, |group| {
        grants::of_principal(ctx, PrincipalType::Group, group, account)
    })?;
    let mut assignments: BTreeSet<AccountAssignment> = own.into_iter().collect();
    let mut found = direct(&assignments);
    for (group, held) in groups.iter().zip(of_groups) {
        for a in held {
            found.insert(Grant {
                assignment: AccountAssignment {
                    principal_type: PrincipalType::User,
                    principal_id: user.id.clone(),
                    ..a.clone()
                },
                via: Via::Group(group.clone()),
            });
            assignments.insert(a);
        }
    }
    Ok((assignments, found))
}

/// `access-review account ACCOUNT [--permission-set P]`.
pub(crate) fn account(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let mut names = Names::default();
    let scope = Scope {
        account: named_account(ctx, m.arg("ACCOUNT"), &mut names)?,
        permission_set: named_permission_set(ctx, m.value("permission-set"), &mut names)?,
        principal: None,
    };
    scoped(ctx, &scope, &mut names, None)
}

/// `access-review permission-set PERMISSION_SET [--account A]`.
pub(crate) fn permission_set(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let mut names = Names::default();
    let scope = Scope {
        account: named_account(ctx, m.value("account"), &mut names)?,
        permission_set: named_permission_set(ctx, m.arg("PERMISSION_SET"), &mut names)?,
        principal: None,
    };
    scoped(ctx, &scope, &mut names, None)
}

/// `access-review org [--account A] [--ou OU] [--permission-set P] [--principal X]`.
pub(crate) fn org(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let mut names = Names::default();
    let account = named_account(ctx, m.value("account"), &mut names)?;
    let permission_set = named_permission_set(ctx, m.value("permission-set"), &mut names)?;
    let below = match m.value("ou") {
        Some(ou) => {
            let ou = org::resolve_ou(ctx, ou)?;
            let accounts = org::accounts_under(ctx, &ou, true)?;
            for a in &accounts {
                names.learn_account(&a.id, &a.name);
            }
            Some(accounts.into_iter().map(|a| a.id).collect::<BTreeSet<_>>())
        }
        None => None,
    };
    if let Some(who) = m.value("principal") {
        let who = resolve::principal(ctx, who, None)?;
        let (assignments, found) = of_principal(ctx, &who, account.as_deref(), true, &mut names)?;
        let keep = |a: &AccountAssignment| {
            permission_set
                .as_ref()
                .is_none_or(|p| *p == a.permission_set_arn)
                && below.as_ref().is_none_or(|b| b.contains(&a.account_id))
        };
        let found = found.into_iter().filter(|g| keep(&g.assignment)).collect();
        let assignments = assignments.into_iter().filter(|a| keep(a)).collect();
        return report(ctx, &mut names, &assignments, &found);
    }
    let scope = Scope {
        account,
        permission_set,
        principal: None,
    };
    scoped(ctx, &scope, &mut names, below.as_ref())
}

/// The access in `scope` (and, when given, only in the `below` accounts): its assignments,
/// every group expanded into its members.
fn scoped(
    ctx: &Context,
    scope: &Scope,
    names: &mut Names,
    below: Option<&BTreeSet<String>>,
) -> Result<Report> {
    let assignments: BTreeSet<AccountAssignment> = grants::assignments(ctx, scope, names)?
        .into_iter()
        .filter(|a| below.is_none_or(|b| b.contains(&a.account_id)))
        .collect();
    let found = expand(ctx, &assignments)?;
    report(ctx, names, &assignments, &found)
}

/// Each assignment as held directly.
fn direct(assignments: &BTreeSet<AccountAssignment>) -> BTreeSet<Grant> {
    assignments
        .iter()
        .map(|a| Grant {
            assignment: a.clone(),
            via: Via::Direct,
        })
        .collect()
}

/// Each assignment as held directly, plus, for a group's, one grant per member user via
/// that group.
fn expand(ctx: &Context, assignments: &BTreeSet<AccountAssignment>) -> Result<BTreeSet<Grant>> {
    let groups: Vec<String> = assignments
        .iter()
        .filter(|a| a.principal_type == PrincipalType::Group)
        .map(|a| a.principal_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let members = members(ctx, &groups)?;
    let mut found = direct(assignments);
    for a in assignments
        .iter()
        .filter(|a| a.principal_type == PrincipalType::Group)
    {
        for user in members.get(&a.principal_id).into_iter().flatten() {
            found.insert(Grant {
                assignment: AccountAssignment {
                    principal_type: PrincipalType::User,
                    principal_id: user.clone(),
                    ..a.clone()
                },
                via: Via::Group(a.principal_id.clone()),
            });
        }
    }
    Ok(found)
}

/// The member user ids of each group: one paged ListGroupMemberships per group, in
/// parallel (cached like every read).
fn members(ctx: &Context, groups: &[String]) -> Result<HashMap<String, Vec<String>>> {
    let store = ctx.identity_store_id()?;
    let client = ctx.client()?;
    let listed = grants::fan_out(ctx, "access-review: group members", groups, |group| {
        let memberships: Vec<Membership> = client.list_items(
            &client::LIST_GROUP_MEMBERSHIPS,
            json!({"IdentityStoreId": store, "GroupId": group}),
        )?;
        Ok(memberships
            .into_iter()
            .map(|m| m.member_id.user_id)
            .collect::<Vec<_>>())
    })?;
    Ok(groups.iter().cloned().zip(listed).collect())
}

/// The report of `found`: names looked up once per distinct id (`assignments` are the
/// assignments the grants come from, whose groups name the `via`s).
fn report(
    ctx: &Context,
    names: &mut Names,
    assignments: &BTreeSet<AccountAssignment>,
    found: &BTreeSet<Grant>,
) -> Result<Report> {
    names.fill(
        ctx,
        assignments
            .iter()
            .chain(found.iter().map(|g| &g.assignment)),
    )?;
    let layout = Layout::new(names, found.iter().map(|g| &g.assignment));
    // "direct" sorts before "via group <name>", and those by the group's name (any case).
    let groups = rows::parts(
        found.iter().filter_map(|g| match &g.via {
            Via::Direct => None,
            Via::Group(id) => Some(id.as_str()),
        }),
        |id| names.principal(id).unwrap_or(id).to_lowercase(),
        |id| {
            let name = names.principal(id);
            let mut json = String::new();
            rows::member(&mut json, "Via", Some("group"));
            rows::member(&mut json, "ViaGroupId", Some(id));
            rows::member(&mut json, "ViaGroupName", name);
            let access = format!("via group {}", name.unwrap_or(id));
            rows::member(&mut json, "Access", Some(&access));
            json
        },
    );
    let direct = {
        let mut json = String::new();
        rows::member(&mut json, "Via", Some("direct"));
        rows::member(&mut json, "ViaGroupId", None);
        rows::member(&mut json, "ViaGroupName", None);
        rows::member(&mut json, "Access", Some("direct"));
        json
    };
    let via = |g: &Grant| match &g.via {
        Via::Direct => None,
        Via::Group(id) => groups.get(id.as_str()),
    };
    let mut keyed: Vec<(([u32; 4], u32), &Grant)> = found
        .iter()
        .map(|g| {
            let rank = via(g).map_or(0, |p| 1 + p.rank);
            ((layout.key(&g.assignment), rank), g)
        })
        .collect();
    // By account, set and principal, then by the way of access; ties keep the set's order.
    keyed.sort_by_key(|(key, _)| *key);
    let document = rows::document("Access", &keyed, |(_, g), out| {
        layout.write(&g.assignment, out);
        out.push(',');
        out.push_str(via(g).map_or(direct.as_str(), |p| p.json.as_str()));
    });
    Ok(Report::list(document, "Access", COLUMNS))
}
