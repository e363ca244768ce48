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
use super::rows::{self, Layout, Part};
use crate::client;
use crate::client::shapes::{self, AccountAssignment, Membership};
use crate::commands::args::Matches;
use crate::document::Document;
use crate::error::Result;
use crate::output::{Column, Report};

/// What a review found: the assignments that grant access, and the members of the groups
/// whose assignments reach users. Rows are made from it without copying an assignment per
/// member: one row per assignment shown as held directly, one per member of a group's.
#[derive(Debug, Default)]
struct Access {
    /// The assignments that grant access.
    held: BTreeSet<AccountAssignment>,
    /// Whether a group's assignment is a row of its own (`direct`), or only reaches its
    /// members (a user's review, where the rows are the user's).
    groups_are_rows: bool,
    /// The member user ids of each group whose assignments reach users.
    members: HashMap<String, Vec<String>>,
}

impl Access {
    /// Only the assignments `keep` keeps.
    fn filter(mut self, keep: impl Fn(&AccountAssignment) -> bool) -> Access {
        self.held.retain(|a| keep(a));
        self
    }
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
    let access = of_principal(
        ctx,
        &who,
        account.as_deref(),
        m.switch("members"),
        &mut names,
    )?;
    access_rows(ctx, &mut names, &access).map(review)
}

/// What `who` can reach (in `account` only, when given): a user's own assignments and
/// those of each group it is in; a group's own, and with `members` each member's through it.
fn of_principal(
    ctx: &Context,
    who: &Principal,
    account: Option<&str>,
    members: bool,
    names: &mut Names,
) -> Result<Access> {
    names.learn_principal(&who.id, &who.name);
    match who.kind {
        PrincipalType::User => of_user(ctx, who, account),
        PrincipalType::Group => {
            let held: BTreeSet<AccountAssignment> =
                grants::of_principal(ctx, who.kind, &who.id, account)?
                    .into_iter()
                    .collect();
            let members = if members {
                group_members(ctx, &held)?
            } else {
                HashMap::new()
            };
            Ok(Access {
                held,
                groups_are_rows: true,
                members,
            })
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
fn of_user(ctx: &Context, user: &Principal, account: Option<&str>) -> Result<Access> {
    let own = grants::of_principal(ctx, PrincipalType::User, &user.id, account)?;
    let memberships: Vec<Membership> = ctx.client()?.list_items(
        &client::LIST_GROUP_MEMBERSHIPS_FOR_MEMBER,
        json!({"IdentityStoreId": ctx.identity_store_id()?, "MemberId": {"UserId": user.id}}),
    )?;
    let groups: Vec<String> = memberships.into_iter().map(|m| m.group_id).collect();
    let of_groups = grants::fan_out(ctx, "access-review: groups", &groups, |group| {
        grants::of_principal(ctx, PrincipalType::Group, group, account)
    })?;
    let held = own
        .into_iter()
        .chain(of_groups.into_iter().flatten())
        .collect();
    let members = groups
        .into_iter()
        .map(|group| (group, vec![user.id.clone()]))
        .collect();
    Ok(Access {
        held,
        groups_are_rows: false,
        members,
    })
}

/// `access-review account ACCOUNT [--permission-set P]`.
pub(crate) fn account(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let mut names = Names::default();
    let scope = Scope {
        account: named_account(ctx, m.arg("ACCOUNT"), &mut names)?,
        permission_set: named_permission_set(ctx, m.value("permission-set"), &mut names)?,
        principal: None,
    };
    scoped(ctx, &scope, &mut names, None).map(review)
}

/// `access-review permission-set PERMISSION_SET [--account A]`.
pub(crate) fn permission_set(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let mut names = Names::default();
    let scope = Scope {
        account: named_account(ctx, m.value("account"), &mut names)?,
        permission_set: named_permission_set(ctx, m.arg("PERMISSION_SET"), &mut names)?,
        principal: None,
    };
    scoped(ctx, &scope, &mut names, None).map(review)
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
        let access = of_principal(ctx, &who, account.as_deref(), true, &mut names)?.filter(|a| {
            permission_set
                .as_ref()
                .is_none_or(|p| *p == a.permission_set_arn)
                && below.as_ref().is_none_or(|b| b.contains(&a.account_id))
        });
        return access_rows(ctx, &mut names, &access).map(review);
    }
    let scope = Scope {
        account,
        permission_set,
        principal: None,
    };
    if scope.account.is_none() && scope.permission_set.is_none() && below.is_none() {
        // The export of the whole organization is one cache entry of its own
        // (`client::ORGANIZATION_ACCESS_ROWS`): a warm export reads only that.
        let input = json!({
            "InstanceArn": ctx.instance_arn()?,
            "IdentityStoreId": ctx.identity_store_id()?,
        });
        return ctx
            .client()?
            .composite_text(&client::ORGANIZATION_ACCESS_ROWS, input, || {
                scoped(ctx, &scope, &mut names, None)
            })
            .map(review);
    }
    scoped(ctx, &scope, &mut names, below.as_ref()).map(review)
}

/// A review's report of its rows.
fn review(rows: Document) -> Report {
    Report::list(rows, "Access", COLUMNS)
}

/// The rows of the access in `scope` (and, when given, only in the `below` accounts): its
/// assignments, every group expanded into its members.
fn scoped(
    ctx: &Context,
    scope: &Scope,
    names: &mut Names,
    below: Option<&BTreeSet<String>>,
) -> Result<Document> {
    let held: BTreeSet<AccountAssignment> = grants::assignments(ctx, scope, names)?
        .into_iter()
        .filter(|a| below.is_none_or(|b| b.contains(&a.account_id)))
        .collect();
    let members = group_members(ctx, &held)?;
    let access = Access {
        held,
        groups_are_rows: true,
        members,
    };
    access_rows(ctx, names, &access)
}

/// The members of each group that holds one of `held`.
fn group_members(
    ctx: &Context,
    held: &BTreeSet<AccountAssignment>,
) -> Result<HashMap<String, Vec<String>>> {
    let groups: Vec<String> = held
        .iter()
        .filter(|a| a.principal_type == PrincipalType::Group)
        .map(|a| a.principal_id.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    members(ctx, &groups)
}

/// The member user ids of each group: one paged ListGroupMemberships per group, in
/// parallel, the whole answer cached as one entry (see `client::GROUP_MEMBERS`): a warm
/// review reads it instead of one entry per group.
fn members(ctx: &Context, groups: &[String]) -> Result<HashMap<String, Vec<String>>> {
    if groups.is_empty() {
        return Ok(HashMap::new());
    }
    let store = ctx.identity_store_id()?;
    let client = ctx.client()?;
    let input = json!({"IdentityStoreId": store, "GroupIds": groups});
    let answer = client.composite(&client::GROUP_MEMBERS, input, || {
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
        let found: Vec<GroupMembers> = groups
            .iter()
            .cloned()
            .zip(listed)
            .map(|(group_id, user_ids)| GroupMembers { group_id, user_ids })
            .collect();
        Ok(json!({ "Groups": found }))
    })?;
    let found: Vec<GroupMembers> = shapes::items_in(&client::GROUP_MEMBERS, &answer, "Groups")?;
    Ok(found
        .into_iter()
        .map(|g| (g.group_id, g.user_ids))
        .collect())
}

/// One group's members, as the [`client::GROUP_MEMBERS`] answer holds them.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GroupMembers {
    group_id: String,
    user_ids: Vec<String>,
}

/// The rows of `access` as the report's JSON document: names looked up once per distinct
/// id; one row per assignment held directly (a group's too, unless the review is a user's)
/// and one per member of a group holding one, sorted by account, permission set and
/// principal, then by the way of access.
fn access_rows(ctx: &Context, names: &mut Names, access: &Access) -> Result<Document> {
    let member_ids = || access.members.values().flatten().map(String::as_str);
    names.fill(ctx, &access.held)?;
    names.fill_users(ctx, member_ids())?;
    let names = &*names;
    let users = member_ids().map(|id| (id, PrincipalType::User));
    let layout = Layout::new(names, &access.held, users);
    // "direct" sorts before "via group <name>", and those by the group's name (any case).
    let groups = rows::parts(
        access.members.keys().map(String::as_str),
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
        Part { rank: 0, json }
    };
    let mut found: Vec<Row> = Vec::new();
    for a in &access.held {
        let (Some(account), Some(set), Some(principal)) = (
            layout.account(&a.account_id),
            layout.permission_set(&a.permission_set_arn),
            layout.principal(&a.principal_id),
        ) else {
            continue;
        };
        let is_group = a.principal_type == PrincipalType::Group;
        if !is_group || access.groups_are_rows {
            found.push(Row::new(
                [account, set, principal, &direct],
                a.principal_type,
                0,
            ));
        }
        let (true, Some(users), Some(via)) = (
            is_group,
            access.members.get(&a.principal_id),
            groups.get(a.principal_id.as_str()),
        ) else {
            continue;
        };
        for user in users {
            if let Some(user) = layout.principal(user) {
                found.push(Row::new(
                    [account, set, user, via],
                    PrincipalType::User,
                    1 + via.rank,
                ));
            }
        }
    }
    // Ties keep the order they were made in: the position is the key's last field.
    for (i, row) in found.iter_mut().enumerate() {
        row.key |= u128::try_from(i).unwrap_or(POSITION) & POSITION;
    }
    found.sort_unstable_by_key(|r| r.key);
    let document = rows::document("Access", &found, |r, out| {
        for (i, part) in r.parts.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&part.json);
        }
    });
    Ok(document)
}

/// One row of a review: its sort key and the parts it is written from (account, permission
/// set, principal, way of access).
struct Row<'a> {
    /// Account, permission set, principal type, principal and way-of-access ranks, then
    /// the row's position, packed high to low: one integer comparison per step of the sort.
    key: u128,
    parts: [&'a Part; 4],
}

/// The bits of a row's key that hold a rank (each rank is below 2^24: there are never that
/// many distinct accounts, sets or principals in one review).
const RANK: u128 = (1 << 24) - 1;

/// The low bits of a row's key: its position.
const POSITION: u128 = (1 << 31) - 1;

impl<'a> Row<'a> {
    /// The row of `parts`, whose principal is of `kind`, reached the way ranked `via`.
    fn new(parts: [&'a Part; 4], kind: PrincipalType, via: u32) -> Row<'a> {
        // Groups sort before users (by the text, any case).
        let kind: u128 = match kind {
            PrincipalType::Group => 0,
            PrincipalType::User => 1,
        };
        let [account, set, principal, _] = parts;
        let rank = |r: u32| u128::from(r) & RANK;
        let key = rank(account.rank) << 104
            | rank(set.rank) << 80
            | kind << 79
            | rank(principal.rank) << 55
            | rank(via) << 31;
        Row { key, parts }
    }
}
