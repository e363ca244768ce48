//! A template against the live directory and organization: every name resolved (principals,
//! permission sets, accounts, OUs, account tags), then the plan: the assignments to create,
//! those already present and, with prune, those of the template's scope to delete.
//!
//! The scope of a template is every assignment of a (principal, permission set) pair that
//! some entry names together, on any account. Pruning deletes only inside it: assignments of
//! principals or permission sets the template does not pair are never touched.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::json;

use super::file::{Entry, Problem, Template, Written};
use crate::client::{
    self,
    shapes::{self, AccountAssignment, PrincipalType},
};
use crate::commands::resolve::{self, Principal};
use crate::commands::{Context, bulk, grants, org};
use crate::error::{Kind, Result};

/// Something named by id and name: a permission set (ARN) or an account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Named {
    pub(crate) id: String,
    pub(crate) name: String,
}

/// An entry of the template with its names resolved.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// The line the entry starts on.
    pub(crate) line: u64,
    pub(crate) principals: Vec<Principal>,
    pub(crate) permission_sets: Vec<Named>,
    /// The accounts its targets select, by name.
    pub(crate) accounts: Vec<Named>,
}

impl Resolved {
    /// Every assignment the entry asks for.
    fn assignments(&self) -> impl Iterator<Item = AccountAssignment> + '_ {
        self.principals.iter().flat_map(move |p| {
            self.permission_sets.iter().flat_map(move |ps| {
                self.accounts.iter().map(move |a| AccountAssignment {
                    account_id: a.id.clone(),
                    permission_set_arn: ps.id.clone(),
                    principal_type: p.kind,
                    principal_id: p.id.clone(),
                })
            })
        })
    }
}

/// Whether an account is suspended (tag and OU targets leave those out: nothing can be
/// assigned in them).
fn suspended(state: Option<&str>) -> bool {
    state.is_some_and(|s| s.eq_ignore_ascii_case("SUSPENDED"))
}

/// Resolves every entry, adding a problem (with its line) for each name that does not
/// resolve and each entry that selects no account. Requests: one lookup per distinct
/// principal, one permission set listing, one account listing (only when an entry names
/// accounts or tags), the tree below each distinct OU, and one tag read per account a tag
/// target must decide (not already selected or excluded by its entry).
pub(crate) fn resolve(
    ctx: &Context,
    template: &Template,
    problems: &mut Vec<Problem>,
) -> Result<Vec<Resolved>> {
    let entries = &template.entries;
    let principals = principals(ctx, entries)?;
    let sets = if entries.iter().any(|e| !e.permission_sets.is_empty()) {
        let op = &client::DESCRIBE_PERMISSION_SET;
        resolve::permission_sets(ctx)?
            .iter()
            .map(|s| shapes::decode(op, s))
            .collect::<Result<Vec<shapes::PermissionSet>>>()?
    } else {
        Vec::new()
    };
    let needs_accounts = entries.iter().any(|e| {
        !e.account_ids.is_empty() || !e.exclude_accounts.is_empty() || !e.account_tags.is_empty()
    });
    let accounts = if needs_accounts {
        grants::list_accounts(ctx)?
    } else {
        Vec::new()
    };
    let ous = ous(ctx, entries)?;

    // Per entry: the accounts chosen by id and OU less those excluded, and the accounts its
    // tags must decide.
    let mut resolved = Vec::new();
    let mut undecided: Vec<BTreeSet<String>> = Vec::new();
    for entry in entries {
        let mut r = Resolved {
            line: entry.line,
            principals: Vec::new(),
            permission_sets: Vec::new(),
            accounts: Vec::new(),
        };
        for (kind, written) in &entry.entities {
            match &principals[&(*kind, written.text.clone())] {
                Ok(p) => r.principals.push(p.clone()),
                Err(why) => problems.push(Problem::at(written.line, &written.place, why)),
            }
        }
        for written in &entry.permission_sets {
            let found = bulk::find_one(
                &sets,
                &written.text,
                |s| s.permission_set_arn == written.text,
                |s| &s.name,
                "permission set",
            );
            match found {
                Ok(s) => r.permission_sets.push(Named {
                    id: s.permission_set_arn.clone(),
                    name: s.name.clone(),
                }),
                Err(why) => problems.push(Problem::at(written.line, &written.place, why)),
            }
        }
        let find_account = |written: &Written, problems: &mut Vec<Problem>| match bulk::find_one(
            &accounts,
            &written.text,
            |a| a.id == written.text,
            |a| &a.name,
            "account",
        ) {
            Ok(a) => Some(Named {
                id: a.id.clone(),
                name: a.name.clone(),
            }),
            Err(why) => {
                problems.push(Problem::at(written.line, &written.place, why));
                None
            }
        };
        let mut chosen: BTreeMap<String, String> = BTreeMap::new();
        for written in &entry.account_ids {
            if let Some(a) = find_account(written, problems) {
                chosen.insert(a.id, a.name);
            }
        }
        for written in &entry.ous {
            match &ous[&written.text] {
                Ok(list) => chosen.extend(list.iter().map(|a| (a.id.clone(), a.name.clone()))),
                Err(why) => problems.push(Problem::at(written.line, &written.place, why)),
            }
        }
        let out: BTreeSet<String> = entry
            .exclude_accounts
            .iter()
            .filter_map(|w| find_account(w, problems).map(|a| a.id))
            .collect();
        let to_decide: BTreeSet<String> = if entry.account_tags.is_empty() {
            BTreeSet::new()
        } else {
            accounts
                .iter()
                .filter(|a| !suspended(a.state()))
                .filter(|a| !chosen.contains_key(&a.id) && !out.contains(&a.id))
                .map(|a| a.id.clone())
                .collect()
        };
        chosen.retain(|id, _| !out.contains(id));
        r.accounts = chosen
            .into_iter()
            .map(|(id, name)| Named { id, name })
            .collect();
        undecided.push(to_decide);
        resolved.push(r);
    }

    // Tags: one read per account some entry must decide by tag.
    let wanted: Vec<String> = undecided
        .iter()
        .flatten()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let tags: HashMap<String, BTreeMap<String, String>> = if wanted.is_empty() {
        HashMap::new()
    } else {
        wanted
            .iter()
            .cloned()
            .zip(org::account_tags(ctx, &wanted)?)
            .collect()
    };
    let names: HashMap<&str, &str> = accounts
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    for ((entry, r), to_decide) in entries.iter().zip(&mut resolved).zip(&undecided) {
        for id in to_decide {
            let carried = &tags[id];
            if entry
                .account_tags
                .iter()
                .all(|(k, v)| carried.get(k) == Some(&v.text))
            {
                r.accounts.push(Named {
                    id: id.clone(),
                    name: names.get(id.as_str()).unwrap_or(&id.as_str()).to_string(),
                });
            }
        }
        r.accounts
            .sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        let here = entry.place();
        let targets_resolved = !problems.iter().any(|p| p.place.starts_with(&here));
        if r.accounts.is_empty() && targets_resolved {
            problems.push(Problem::at(
                entry.line,
                format!("{here}.targets"),
                "selects no account (pruning would remove every assignment of its pairs)",
            ));
        }
    }
    Ok(resolved)
}

type Found<T> = std::result::Result<T, String>;

/// Each distinct principal the entries name, looked up once (in parallel).
fn principals(
    ctx: &Context,
    entries: &[Entry],
) -> Result<HashMap<(PrincipalType, String), Found<Principal>>> {
    let wanted: Vec<(PrincipalType, String)> = entries
        .iter()
        .flat_map(|e| e.entities.iter().map(|(k, w)| (*k, w.text.clone())))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let found = grants::fan_out(ctx, "templates: principals", &wanted, |(kind, name)| {
        match resolve::principal(ctx, name, Some(*kind)) {
            Ok(p) => Ok(Ok(p)),
            Err(e) if matches!(e.kind(), Kind::NotFound | Kind::Usage) => {
                Ok(Err(e.message().to_string()))
            }
            Err(e) => Err(e),
        }
    })?;
    Ok(wanted.into_iter().zip(found).collect())
}

/// The accounts below each distinct OU the entries name (at any depth, suspended ones left
/// out), with the tree reads of `org tree`.
fn ous(ctx: &Context, entries: &[Entry]) -> Result<HashMap<String, Found<Vec<Named>>>> {
    let wanted: BTreeSet<String> = entries
        .iter()
        .flat_map(|e| e.ous.iter().map(|w| w.text.clone()))
        .collect();
    let mut found = HashMap::new();
    for text in wanted {
        let accounts = match org::resolve_ou(ctx, &text) {
            Ok(ou) => Ok(org::accounts_under(ctx, &ou, true)?
                .into_iter()
                .filter(|a| !suspended(Some(&a.status)))
                .map(|a| Named {
                    id: a.id,
                    name: a.name,
                })
                .collect()),
            Err(e) if matches!(e.kind(), Kind::NotFound | Kind::Usage) => {
                Err(e.message().to_string())
            }
            Err(e) => return Err(e),
        };
        found.insert(text, accounts);
    }
    Ok(found)
}

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Action {
    /// The template asks for it and it does not exist.
    Create,
    /// It exists in the template's scope and the template does not ask for it (prune).
    Delete,
    /// The template asks for it and it exists.
    Keep,
}

impl Action {
    /// The word the reports use.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Create => "CREATE",
            Action::Delete => "DELETE",
            Action::Keep => "KEEP",
        }
    }
}

/// One row of a plan: an assignment and what to do with it, with its names.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) action: Action,
    pub(crate) assignment: AccountAssignment,
    pub(crate) principal_name: String,
    pub(crate) permission_set_name: String,
    pub(crate) account_name: String,
}

/// The plan of a resolved template: its rows, creates first, then deletes (only with
/// `prune`), then what is already present; each group by principal, permission set and
/// account name. Reads: one ListAccountAssignmentsForPrincipal per distinct principal.
pub(crate) fn plan(ctx: &Context, resolved: &[Resolved], prune: bool) -> Result<Vec<Item>> {
    let desired: BTreeSet<AccountAssignment> =
        resolved.iter().flat_map(Resolved::assignments).collect();
    let pairs: BTreeSet<(String, String)> = desired
        .iter()
        .map(|a| (a.principal_id.clone(), a.permission_set_arn.clone()))
        .collect();
    let principals: BTreeMap<(PrincipalType, String), String> = resolved
        .iter()
        .flat_map(|r| &r.principals)
        .map(|p| ((p.kind, p.id.clone()), p.name.clone()))
        .collect();
    let sets: HashMap<&str, &str> = resolved
        .iter()
        .flat_map(|r| &r.permission_sets)
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();
    let mut accounts: HashMap<String, String> = resolved
        .iter()
        .flat_map(|r| &r.accounts)
        .map(|a| (a.id.clone(), a.name.clone()))
        .collect();
    let keys: Vec<(PrincipalType, String)> = principals.keys().cloned().collect();
    let listed = grants::fan_out(ctx, "templates: assignments", &keys, |(kind, id)| {
        grants::of_principal(ctx, *kind, id, None)
    })?;
    let existing: BTreeSet<AccountAssignment> = listed
        .into_iter()
        .flatten()
        .filter(|a| pairs.contains(&(a.principal_id.clone(), a.permission_set_arn.clone())))
        .filter(|a| principals.contains_key(&(a.principal_type, a.principal_id.clone())))
        .collect();
    let deleted: Vec<&AccountAssignment> = existing
        .iter()
        .filter(|a| prune && !desired.contains(a))
        .collect();
    if deleted
        .iter()
        .any(|a| !accounts.contains_key(&a.account_id))
    {
        // Accounts the template no longer targets: their names from the account listing.
        for a in grants::list_accounts(ctx)? {
            accounts.entry(a.id).or_insert(a.name);
        }
    }
    let mut items: Vec<Item> = desired
        .iter()
        .map(|a| (a, existing.contains(a)))
        .map(|(a, holds)| (a, if holds { Action::Keep } else { Action::Create }))
        .chain(deleted.into_iter().map(|a| (a, Action::Delete)))
        .map(|(a, action)| Item {
            action,
            assignment: a.clone(),
            principal_name: principals[&(a.principal_type, a.principal_id.clone())].clone(),
            permission_set_name: sets
                .get(a.permission_set_arn.as_str())
                .map_or_else(|| a.permission_set_arn.clone(), |n| n.to_string()),
            account_name: accounts
                .get(&a.account_id)
                .cloned()
                .unwrap_or_else(|| a.account_id.clone()),
        })
        .collect();
    items.sort_by(|x, y| {
        (
            x.action,
            &x.principal_name,
            &x.permission_set_name,
            &x.account_name,
        )
            .cmp(&(
                y.action,
                &y.principal_name,
                &y.permission_set_name,
                &y.account_name,
            ))
    });
    Ok(items)
}

/// The document of one plan row, with its status (`PLANNED`, `PRESENT`, `DRY-RUN`, or a
/// write's outcome).
pub(crate) fn item_json(
    item: &Item,
    status: &str,
    request_id: Option<&str>,
    detail: Option<&str>,
) -> serde_json::Value {
    let a = &item.assignment;
    json!({
        "Action": item.action.as_str(),
        "PrincipalType": a.principal_type.as_aws(),
        "PrincipalId": a.principal_id,
        "PrincipalName": item.principal_name,
        "PermissionSetArn": a.permission_set_arn,
        "PermissionSetName": item.permission_set_name,
        "AccountId": a.account_id,
        "AccountName": item.account_name,
        "Status": status,
        "RequestId": request_id,
        "Detail": detail,
    })
}
