//! `org ...`: the AWS Organizations tree of roots, organizational units (OUs) and accounts.
//!
//! Also the pieces other commands reuse: [`resolve_ou`] turns an OU id or path into an
//! [`Ou`], [`walk`] fetches the subtrees below some roots or OUs one level at a time (each
//! level's listings in parallel), and [`accounts_under`] gives the accounts below an OU.
//! Nothing here depends on the order in which AWS lists things: children are sorted by name.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Context, fanout, resolve};
use crate::client::shapes::{self, OrgNode, Parent, ParentType, PolicySummary, Tag};
use crate::client::{self, Client, Operation};
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::output::{Column, Report, View};

/// The most parents followed up from an account or OU. AWS nests OUs at most five deep,
/// so a longer chain means a broken answer, not a deeper tree.
const MAX_DEPTH: usize = 16;

/// A root or an organizational unit, with its place in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ou {
    /// `r-...` for a root, `ou-...` for an organizational unit.
    pub(crate) id: String,
    /// Its name (`Root` for the usual root).
    pub(crate) name: String,
    /// The names from the root down to this one, joined by `/`: `Root/Engineering/Prod`.
    pub(crate) path: String,
}

/// An account as the tree lists it, with the path of the root or OU that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Account {
    /// The 12-digit account id.
    pub(crate) id: String,
    /// The account name.
    pub(crate) name: String,
    /// The root user's email address.
    pub(crate) email: String,
    /// `ACTIVE`, `SUSPENDED`, ... (AWS's `Status`, or its newer `State`).
    pub(crate) status: String,
    /// The path of its parent: `Root/Engineering/Prod`.
    pub(crate) path: String,
}

/// Gives an account as AWS describes it (`op`'s reply) the `Status` our output documents,
/// from `State` first (AWS is retiring `Status`); `State` is kept as AWS sent it.
fn with_status(op: &Operation, mut item: Value) -> Result<Value> {
    let account: shapes::Account = shapes::decode(op, &item)?;
    if let Some(state) = account.state() {
        item["Status"] = Value::String(state.to_string());
    }
    Ok(item)
}

impl Account {
    /// The account as AWS lists it, below `path`.
    fn new(account: shapes::Account, path: &str) -> Account {
        Account {
            status: account.state().unwrap_or_default().to_string(),
            id: account.id,
            name: account.name,
            email: account.email.unwrap_or_default(),
            path: path.to_string(),
        }
    }

    /// `{Id, Name, Email, Status, Path}`.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "Id": self.id,
            "Name": self.name,
            "Email": self.email,
            "Status": self.status,
            "Path": self.path,
        })
    }
}

/// What a node of the tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum NodeKind {
    /// The root of the organization.
    Root,
    /// An organizational unit.
    Ou,
    /// A member account.
    Account,
}

impl NodeKind {
    /// The AWS spelling (`ROOT`, `ORGANIZATIONAL_UNIT`, `ACCOUNT`).
    pub(crate) fn as_aws(self) -> &'static str {
        match self {
            NodeKind::Root => "ROOT",
            NodeKind::Ou => "ORGANIZATIONAL_UNIT",
            NodeKind::Account => "ACCOUNT",
        }
    }

    /// The kind of a container id: `r-...` is a root, anything else an OU.
    fn of_container(id: &str) -> NodeKind {
        if id.starts_with("r-") {
            NodeKind::Root
        } else {
            NodeKind::Ou
        }
    }
}

/// A root, OU or account with everything below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    /// Root, OU or account.
    pub(crate) kind: NodeKind,
    /// Its id.
    pub(crate) id: String,
    /// Its name.
    pub(crate) name: String,
    /// For an account: the account itself.
    pub(crate) account: Option<Account>,
    /// OUs first, then accounts, each sorted by name.
    pub(crate) children: Vec<Node>,
}

impl Node {
    /// The nested JSON form: `{"Type", "Id", "Name", "Children": [...]}` for roots and OUs,
    /// `{"Type": "ACCOUNT", "Id", "Name", "Email", "Status"}` for accounts.
    pub(crate) fn to_json(&self) -> Value {
        match &self.account {
            Some(a) => json!({
                "Type": self.kind.as_aws(),
                "Id": a.id,
                "Name": a.name,
                "Email": a.email,
                "Status": a.status,
            }),
            None => json!({
                "Type": self.kind.as_aws(),
                "Id": self.id,
                "Name": self.name,
                "Children": self.children.iter().map(Node::to_json).collect::<Vec<_>>(),
            }),
        }
    }

    /// Every account below this node, depth first.
    pub(crate) fn accounts(&self) -> Vec<Account> {
        let mut out = Vec::new();
        self.collect_accounts(&mut out);
        out
    }

    fn collect_accounts(&self, out: &mut Vec<Account>) {
        if let Some(account) = &self.account {
            out.push(account.clone());
        }
        for child in &self.children {
            child.collect_accounts(out);
        }
    }

    /// Draws the subtree as indented lines under `prefix`.
    fn draw(&self, prefix: &str, out: &mut String) {
        for (i, child) in self.children.iter().enumerate() {
            let last = i + 1 == self.children.len();
            out.push_str(prefix);
            out.push_str(if last { "└── " } else { "├── " });
            out.push_str(&child.label());
            out.push('\n');
            let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
            child.draw(&deeper, out);
        }
    }

    fn label(&self) -> String {
        match &self.account {
            Some(a) => format!("{}  {}  {}  {}", a.name, a.id, a.email, a.status),
            None => format!("{} ({})", self.name, self.id),
        }
    }
}

/// One node being built by [`walk`]: children are indices into the same list.
struct Slot {
    node: Node,
    path: String,
    children: Vec<usize>,
}

/// Which children of a container one request lists.
#[derive(Debug, Clone, Copy)]
enum Listing {
    Ous,
    Accounts,
}

impl Listing {
    fn operation(self) -> (&'static Operation, &'static str) {
        match self {
            Listing::Ous => (
                &client::LIST_ORGANIZATIONAL_UNITS_FOR_PARENT,
                "OrganizationalUnits",
            ),
            Listing::Accounts => (&client::LIST_ACCOUNTS_FOR_PARENT, "Accounts"),
        }
    }
}

/// Lists the OUs or the accounts directly under `parent` (every page).
fn list_children(client: &Client, parent: &str, listing: Listing) -> Result<Vec<Child>> {
    let (op, key) = listing.operation();
    let reply = client.list(op, json!({"ParentId": parent}))?;
    Ok(match listing {
        Listing::Ous => shapes::items(op, &reply, key)?
            .into_iter()
            .map(Child::Ou)
            .collect(),
        Listing::Accounts => shapes::items(op, &reply, key)?
            .into_iter()
            .map(Child::Account)
            .collect(),
    })
}

/// A child of a root or OU.
enum Child {
    Ou(OrgNode),
    Account(shapes::Account),
}

/// Fetches the subtrees below `tops` (roots or OUs), one level at a time: the
/// ListOrganizationalUnitsForParent and ListAccountsForParent calls of a level all run in
/// parallel. Returns one node per top, in the same order.
pub(crate) fn walk(ctx: &Context, tops: &[Ou]) -> Result<Vec<Node>> {
    let client = ctx.client()?;
    let mut slots: Vec<Slot> = tops
        .iter()
        .map(|top| Slot {
            node: container(NodeKind::of_container(&top.id), &top.id, &top.name),
            path: top.path.clone(),
            children: Vec::new(),
        })
        .collect();
    let mut level: Vec<usize> = (0..slots.len()).collect();
    for _ in 0..=MAX_DEPTH {
        if level.is_empty() {
            break;
        }
        let jobs: Vec<(usize, String, Listing)> = level
            .iter()
            .flat_map(|&i| {
                let id = slots[i].node.id.clone();
                [(i, id.clone(), Listing::Ous), (i, id, Listing::Accounts)]
            })
            .collect();
        let listed = fanout::parallel(&jobs, fanout::WORKERS, |(_, id, listing)| {
            list_children(client, id, *listing)
        });
        let mut next = Vec::new();
        for ((parent, _, _), items) in jobs.iter().zip(listed) {
            for child in items? {
                let index = slots.len();
                let path = slots[*parent].path.clone();
                let slot = match child {
                    Child::Ou(ou) => {
                        next.push(index);
                        Slot {
                            node: container(NodeKind::Ou, &ou.id, &ou.name),
                            path: format!("{path}/{}", ou.name),
                            children: Vec::new(),
                        }
                    }
                    Child::Account(account) => account_slot(account, &path),
                };
                slots.push(slot);
                slots[*parent].children.push(index);
            }
        }
        level = next;
    }
    Ok(assemble(slots))
}

fn container(kind: NodeKind, id: &str, name: &str) -> Node {
    Node {
        kind,
        id: id.to_string(),
        name: name.to_string(),
        account: None,
        children: Vec::new(),
    }
}

fn account_slot(account: shapes::Account, path: &str) -> Slot {
    let account = Account::new(account, path);
    Slot {
        node: Node {
            kind: NodeKind::Account,
            id: account.id.clone(),
            name: account.name.clone(),
            account: Some(account),
            children: Vec::new(),
        },
        path: path.to_string(),
        children: Vec::new(),
    }
}

/// Turns the flat slots into nested nodes and returns the tops (the slots nobody's child).
/// Children always come after their parent, so a backwards pass finishes each child first.
fn assemble(slots: Vec<Slot>) -> Vec<Node> {
    let mut nodes: Vec<Option<Node>> = Vec::with_capacity(slots.len());
    let mut children: Vec<Vec<usize>> = Vec::with_capacity(slots.len());
    for slot in slots {
        nodes.push(Some(slot.node));
        children.push(slot.children);
    }
    for i in (0..nodes.len()).rev() {
        let mut kids: Vec<Node> = children[i]
            .iter()
            .filter_map(|&c| nodes.get_mut(c).and_then(Option::take))
            .collect();
        kids.sort_by(|a, b| {
            (a.kind, a.name.to_lowercase(), &a.id).cmp(&(b.kind, b.name.to_lowercase(), &b.id))
        });
        if let Some(node) = nodes[i].as_mut() {
            node.children = kids;
        }
    }
    nodes.into_iter().flatten().collect()
}

/// The roots of the organization (usually one, named `Root`).
pub(crate) fn roots(ctx: &Context) -> Result<Vec<Ou>> {
    let reply = ctx.client()?.list(&client::LIST_ROOTS, json!({}))?;
    let roots: Vec<OrgNode> = shapes::items(&client::LIST_ROOTS, &reply, "Roots")?;
    Ok(roots
        .into_iter()
        .map(|r| Ou {
            id: r.id,
            path: r.name.clone(),
            name: r.name,
        })
        .collect())
}

/// The accounts below `ou`: only those directly in it, or with `recursive` the whole subtree.
pub(crate) fn accounts_under(ctx: &Context, ou: &Ou, recursive: bool) -> Result<Vec<Account>> {
    if recursive {
        return Ok(walk(ctx, std::slice::from_ref(ou))?
            .iter()
            .flat_map(Node::accounts)
            .collect());
    }
    let items = list_children(ctx.client()?, &ou.id, Listing::Accounts)?;
    let mut accounts: Vec<Account> = items
        .into_iter()
        .filter_map(|child| match child {
            Child::Account(account) => Some(Account::new(account, &ou.path)),
            Child::Ou(_) => None,
        })
        .collect();
    accounts.sort_by_key(|a| a.name.to_lowercase());
    Ok(accounts)
}

/// Finds a root or OU by id (`r-...`, `ou-...`) or by path of names (`Root/Engineering/Prod`,
/// or `Engineering/Prod` below the only root; names match case-insensitively).
pub(crate) fn resolve_ou(ctx: &Context, arg: &str) -> Result<Ou> {
    let not_found = |detail: &str| {
        Error::not_found(format!(
            "OU \"{arg}\" not found{detail} (by OU id, root id or path like Root/Engineering/Prod)"
        ))
    };
    if arg.starts_with("ou-") {
        let client = ctx.client()?;
        let described = match client.call(
            &client::DESCRIBE_ORGANIZATIONAL_UNIT,
            json!({"OrganizationalUnitId": arg}),
        ) {
            Err(e) if resolve::is_not_found(&e) => return Err(not_found("")),
            other => other?,
        };
        let name = ou_name(&described)?;
        let parent_path = ancestors(ctx, arg)?
            .last()
            .map(|p| p.path.clone())
            .unwrap_or_default();
        return Ok(Ou {
            id: arg.to_string(),
            path: join_path(&parent_path, &name),
            name,
        });
    }
    let roots = roots(ctx)?;
    if arg.starts_with("r-") {
        return roots
            .into_iter()
            .find(|r| r.id == arg)
            .ok_or_else(|| not_found(""));
    }
    let names: Vec<&str> = arg.split('/').filter(|s| !s.trim().is_empty()).collect();
    let (mut current, rest) = match names.first() {
        None => return Err(not_found("")),
        Some(first) => match roots.iter().find(|r| r.name.eq_ignore_ascii_case(first)) {
            Some(root) => (root.clone(), &names[1..]),
            None if roots.len() == 1 => (roots[0].clone(), &names[..]),
            None => return Err(not_found(": several roots, start the path with one")),
        },
    };
    for name in rest {
        let children = list_children(ctx.client()?, &current.id, Listing::Ous)?;
        let child = children
            .into_iter()
            .find_map(|child| match child {
                Child::Ou(ou) if ou.name.eq_ignore_ascii_case(name) => Some(ou),
                _ => None,
            })
            .ok_or_else(|| not_found(&format!(": no OU \"{name}\" in {}", current.path)))?;
        current = Ou {
            id: child.id,
            path: format!("{}/{}", current.path, child.name),
            name: child.name,
        };
    }
    Ok(current)
}

/// The name in a DescribeOrganizationalUnit reply.
fn ou_name(described: &Value) -> Result<String> {
    let op = &client::DESCRIBE_ORGANIZATIONAL_UNIT;
    let ou: OrgNode = shapes::decode(op, &described["OrganizationalUnit"])?;
    Ok(ou.name)
}

fn join_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}/{name}")
    }
}

/// The roots and OUs above an account or OU, root first, each with its path: ListParents
/// up to the root, naming each OU with DescribeOrganizationalUnit.
pub(crate) fn ancestors(ctx: &Context, child: &str) -> Result<Vec<Ou>> {
    let client = ctx.client()?;
    let mut chain: Vec<(String, String)> = Vec::new();
    let mut current = child.to_string();
    let mut roots: Option<Vec<Ou>> = None;
    for _ in 0..MAX_DEPTH {
        let reply = client.list(&client::LIST_PARENTS, json!({"ChildId": current}))?;
        let parents: Vec<Parent> = shapes::items(&client::LIST_PARENTS, &reply, "Parents")?;
        let Some(Parent { id, kind }) = parents.into_iter().next() else {
            break;
        };
        if kind == ParentType::Root {
            let known = match &roots {
                Some(known) => known,
                None => roots.insert(self::roots(ctx)?),
            };
            let name = known
                .iter()
                .find(|r| r.id == id)
                .map_or_else(|| id.clone(), |r| r.name.clone());
            chain.push((id, name));
            break;
        }
        let described = client.call(
            &client::DESCRIBE_ORGANIZATIONAL_UNIT,
            json!({"OrganizationalUnitId": id}),
        )?;
        chain.push((id.clone(), ou_name(&described)?));
        current = id;
    }
    chain.reverse();
    let mut path = String::new();
    Ok(chain
        .into_iter()
        .map(|(id, name)| {
            path = join_path(&path, &name);
            Ou {
                id,
                name,
                path: path.clone(),
            }
        })
        .collect())
}

/// The whole tree, or the subtree below `--ou`.
fn tree_below(ctx: &Context, ou: Option<&str>) -> Result<Vec<Node>> {
    let tops = match ou {
        Some(ou) => vec![resolve_ou(ctx, ou)?],
        None => roots(ctx)?,
    };
    walk(ctx, &tops)
}

const ACCOUNT_COLUMNS: &[Column] = &[
    Column::new("Path", "Path"),
    Column::new("Name", "Name"),
    Column::new("Account ID", "Id"),
    Column::new("Email", "Email"),
    Column::new("Status", "Status"),
];

/// `org tree [--flat]`.
pub(crate) fn tree(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let roots = tree_below(ctx, None)?;
    if m.switch("flat") {
        let accounts: Vec<Value> = roots
            .iter()
            .flat_map(Node::accounts)
            .map(|a| a.to_json())
            .collect();
        return Ok(Report::list(
            json!({ "Accounts": accounts }),
            "Accounts",
            ACCOUNT_COLUMNS,
        ));
    }
    let mut drawn = String::new();
    for root in &roots {
        drawn.push_str(&root.label());
        drawn.push('\n');
        root.draw("", &mut drawn);
    }
    let data = json!({ "Roots": roots.iter().map(Node::to_json).collect::<Vec<_>>() });
    Ok(Report::message(data, drawn.trim_end()))
}

const ACCOUNT_FIELDS: &[Column] = &[
    Column::new("Account ID", "Account.Id"),
    Column::new("Name", "Account.Name"),
    Column::new("Email", "Account.Email"),
    Column::new("Status", "Account.Status"),
    Column::new("ARN", "Account.Arn"),
    Column::new("Joined", "Account.JoinedTimestamp"),
    Column::new("Path", "Path"),
];

const TAG_COLUMNS: &[Column] = &[Column::new("Key", "Key"), Column::new("Value", "Value")];

/// `org account ID|NAME`: the account, its tags and its OU path.
pub(crate) fn account(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let who = m.required_arg("ACCOUNT")?;
    let account = resolve::account(ctx, who)?;
    let id: String = shapes::decode::<shapes::Account>(&client::DESCRIBE_ACCOUNT, &account)?.id;
    let tags = ctx
        .client()?
        .list(&client::LIST_TAGS_FOR_RESOURCE, json!({"ResourceId": id}))?;
    let parents = ancestors(ctx, &id)?;
    let data = json!({
        "Account": with_status(&client::DESCRIBE_ACCOUNT, account)?,
        "Tags": tags["Tags"],
        "Path": parents.last().map(|p| p.path.clone()).unwrap_or_default(),
        "ParentIds": parents.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
    });
    Ok(Report::new(
        data,
        View::Sections(vec![
            (
                "Account".into(),
                View::Record {
                    path: "",
                    fields: ACCOUNT_FIELDS,
                },
            ),
            (
                "Tags".into(),
                View::List {
                    path: "Tags",
                    columns: TAG_COLUMNS,
                },
            ),
        ]),
    ))
}

/// A `--tag KEY=VALUE` filter.
fn parse_tag(raw: &str) -> Result<(String, String)> {
    match raw.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(Error::usage(format!(
            "--tag: invalid value {raw:?} (expected KEY=VALUE)"
        ))),
    }
}

/// The tags of each account, fetched in parallel, as maps.
fn tags_of(ctx: &Context, accounts: &[Account]) -> Result<Vec<BTreeMap<String, String>>> {
    let ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
    account_tags(ctx, &ids)
}

/// The tags of each account id (ListTagsForResource, in parallel, cached), as maps.
pub(crate) fn account_tags(ctx: &Context, ids: &[String]) -> Result<Vec<BTreeMap<String, String>>> {
    let client = ctx.client()?;
    fanout::parallel(ids, fanout::WORKERS, |id| {
        let reply = client.list(&client::LIST_TAGS_FOR_RESOURCE, json!({"ResourceId": id}))?;
        let tags: Vec<Tag> = shapes::items(&client::LIST_TAGS_FOR_RESOURCE, &reply, "Tags")?;
        Ok(tags.into_iter().map(|t| (t.key, t.value)).collect())
    })
    .into_iter()
    .collect()
}

/// `org search QUERY [--ou OU] [--tag K=V]...`: accounts whose name, email or id contains
/// QUERY (any case), below an OU and carrying every tag given.
pub(crate) fn search(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let query = m.required_arg("QUERY")?.to_lowercase();
    let wanted: Vec<(String, String)> = m
        .values("tag")
        .iter()
        .map(|t| parse_tag(t))
        .collect::<Result<_>>()?;
    let found: Vec<Account> = tree_below(ctx, m.value("ou"))?
        .iter()
        .flat_map(Node::accounts)
        .filter(|a| {
            [&a.name, &a.email, &a.id]
                .iter()
                .any(|field| field.to_lowercase().contains(&query))
        })
        .collect();
    let mut rows: Vec<Value> = Vec::new();
    if wanted.is_empty() {
        rows.extend(found.iter().map(Account::to_json));
    } else {
        for (account, tags) in found.iter().zip(tags_of(ctx, &found)?) {
            if wanted.iter().all(|(k, v)| tags.get(k) == Some(v)) {
                let mut row = account.to_json();
                row["Tags"] = tags
                    .iter()
                    .map(|(k, v)| json!({"Key": k, "Value": v}))
                    .collect();
                rows.push(row);
            }
        }
    }
    Ok(Report::list(
        json!({ "Accounts": rows }),
        "Accounts",
        ACCOUNT_COLUMNS,
    ))
}

/// The Organizations policy types `trace-policies` reads: service control policies and
/// resource control policies, by their AWS name and the short name a table shows.
const TRACED_POLICY_TYPES: [(&str, &str); 2] = [
    ("SERVICE_CONTROL_POLICY", "SCP"),
    ("RESOURCE_CONTROL_POLICY", "RCP"),
];

const POLICY_COLUMNS: &[Column] = &[
    Column::new("Attached to", "TargetType"),
    Column::new("Target", "TargetName"),
    Column::new("Target ID", "TargetId"),
    Column::new("Type", "Type"),
    Column::new("Policy", "PolicyName"),
    Column::new("Policy ID", "PolicyId"),
    Column::new("AWS managed", "AwsManaged"),
];

/// `org trace-policies ACCOUNT`: the service control and resource control policies that
/// apply to an account, from the root down through each OU to the account, with where each
/// is attached. One ListPoliciesForTarget per level and policy type, in parallel.
pub(crate) fn trace_policies(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let account = resolve::typed_account(ctx, m.required_arg("ACCOUNT")?)?;
    let above = ancestors(ctx, &account.id)?;
    let mut levels: Vec<(&str, String, String, String)> = above
        .iter()
        .enumerate()
        .map(|(i, ou)| {
            let kind = if i == 0 && ou.id.starts_with("r-") {
                "ROOT"
            } else {
                "ORGANIZATIONAL_UNIT"
            };
            (kind, ou.id.clone(), ou.name.clone(), ou.path.clone())
        })
        .collect();
    let path = above.last().map(|p| p.path.clone()).unwrap_or_default();
    levels.push(("ACCOUNT", account.id.clone(), account.name.clone(), path));
    let jobs: Vec<(usize, &str, &str)> = (0..levels.len())
        .flat_map(|i| TRACED_POLICY_TYPES.map(|(kind, short)| (i, kind, short)))
        .collect();
    let client = ctx.client()?;
    let op = &client::LIST_POLICIES_FOR_TARGET;
    let found = fanout::parallel(&jobs, fanout::WORKERS, |(i, kind, _)| {
        let input = json!({"TargetId": levels[*i].1, "Filter": kind});
        match client.list(op, input) {
            Ok(reply) => shapes::items::<PolicySummary>(op, &reply, "Policies"),
            // A policy type never enabled in the organization has no policies.
            Err(e) if e.aws_code() == Some("PolicyTypeNotEnabledException") => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    });
    let mut rows = Vec::new();
    for ((i, kind, short), policies) in jobs.iter().zip(found) {
        let (target_type, id, name, path) = &levels[*i];
        for policy in policies? {
            rows.push(json!({
                "TargetType": target_type,
                "TargetId": id,
                "TargetName": name,
                "Path": path,
                "PolicyType": kind,
                "Type": short,
                "PolicyId": policy.id,
                "PolicyName": policy.name,
                "AwsManaged": policy.aws_managed,
                "Description": policy.description,
            }));
        }
    }
    let data = json!({
        "AccountId": account.id,
        "AccountName": account.name,
        "Path": levels.last().map(|l| l.3.clone()),
        "Policies": rows,
    });
    Ok(Report::list(data, "Policies", POLICY_COLUMNS))
}

const LIST_COLUMNS: &[Column] = &[
    Column::new("Name", "Name"),
    Column::new("Account ID", "Id"),
    Column::new("Email", "Email"),
    Column::new("Status", "Status"),
];

/// `org accounts`: every account of the organization (ListAccounts), sorted by name.
pub(crate) fn accounts(ctx: &mut Context, _: &Matches) -> Result<Report> {
    let mut reply = ctx.client()?.list(&client::LIST_ACCOUNTS, json!({}))?;
    if let Some(accounts) = reply["Accounts"].as_array_mut() {
        accounts.sort_by_key(|a| a["Name"].as_str().unwrap_or_default().to_lowercase());
        for account in accounts.iter_mut() {
            *account = with_status(&client::LIST_ACCOUNTS, std::mem::take(account))?;
        }
    }
    Ok(Report::list(reply, "Accounts", LIST_COLUMNS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, name: &str, path: &str) -> Slot {
        account_slot(
            shapes::decode(
                &client::LIST_ACCOUNTS,
                &json!({"Id": id, "Name": name, "Email": format!("{name}@x.io"), "State": "ACTIVE"}),
            )
            .unwrap(),
            path,
        )
    }

    fn ou(id: &str, name: &str, path: &str, children: Vec<usize>) -> Slot {
        Slot {
            node: container(NodeKind::of_container(id), id, name),
            path: path.into(),
            children,
        }
    }

    #[test]
    fn assembles_nested_sorted_nodes() {
        let slots = vec![
            ou("r-1", "Root", "Root", vec![1, 2, 3]),
            account("222222222222", "zeta", "Root"),
            ou("ou-2", "Eng", "Root/Eng", vec![4]),
            account("111111111111", "alpha", "Root"),
            account("333333333333", "prod", "Root/Eng"),
        ];
        let roots = assemble(slots);
        assert_eq!(roots.len(), 1);
        let root = &roots[0];
        let names: Vec<&str> = root.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Eng", "alpha", "zeta"]);
        let paths: Vec<(String, String)> = root
            .accounts()
            .into_iter()
            .map(|a| (a.name, a.path))
            .collect();
        assert_eq!(
            paths,
            [
                ("prod".to_string(), "Root/Eng".to_string()),
                ("alpha".to_string(), "Root".to_string()),
                ("zeta".to_string(), "Root".to_string()),
            ]
        );
        let json = root.to_json();
        assert_eq!(json["Type"], "ROOT");
        assert_eq!(json["Children"][0]["Type"], "ORGANIZATIONAL_UNIT");
        assert_eq!(json["Children"][0]["Children"][0]["Status"], "ACTIVE");
        let mut drawn = String::new();
        root.draw("", &mut drawn);
        assert_eq!(
            drawn,
            "├── Eng (ou-2)\n│   └── prod  333333333333  prod@x.io  ACTIVE\n\
             ├── alpha  111111111111  alpha@x.io  ACTIVE\n\
             └── zeta  222222222222  zeta@x.io  ACTIVE\n"
        );
    }

    #[test]
    fn tags_parse() {
        assert_eq!(
            parse_tag("env=prod").unwrap(),
            ("env".to_string(), "prod".to_string())
        );
        assert_eq!(parse_tag("k=").unwrap(), ("k".to_string(), String::new()));
        assert!(parse_tag("env").is_err());
        assert!(parse_tag("=x").is_err());
    }
}
