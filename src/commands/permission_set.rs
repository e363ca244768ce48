//! `permission-set ...`: Identity Center permission sets, their policies and provisioning.
//!
//! `create` and `update` validate every argument (session duration, inline policy JSON,
//! policy ARNs) before the first request, share the policy-applying code, and both answer
//! with the `get` document. This module never prints results; progress goes to stderr only
//! when stderr is a terminal.

use serde_json::{Map, Value, json};

use super::fanout::StatusLine;
use super::wait::{self, Waited};
use super::{Context, fanout, resolve};
use crate::client;
use crate::client::shapes::{self, RequestState, RequestStatus};
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::output::{Column, Report, View};

const LIST_COLUMNS: &[Column] = &[
    Column::new("Name", "Name"),
    Column::new("Description", "Description"),
    Column::new("Session", "SessionDuration"),
    Column::new("Permission set ARN", "PermissionSetArn"),
];

const FIELDS: &[Column] = &[
    Column::new("Name", "Name"),
    Column::new("ARN", "PermissionSetArn"),
    Column::new("Description", "Description"),
    Column::new("Session duration", "SessionDuration"),
    Column::new("Relay state", "RelayState"),
    Column::new("Boundary policy", "PermissionsBoundary.ManagedPolicyArn"),
    Column::new(
        "Boundary reference",
        "PermissionsBoundary.CustomerManagedPolicyReference.Name",
    ),
    Column::new("Inline policy", "InlinePolicy"),
];

const MANAGED_COLUMNS: &[Column] = &[Column::new("Name", "Name"), Column::new("ARN", "Arn")];

const CUSTOMER_COLUMNS: &[Column] = &[Column::new("Name", "Name"), Column::new("Path", "Path")];

const ACCOUNT_COLUMNS: &[Column] = &[Column::new("Account", "")];

const STATUS_FIELDS: &[Column] = &[
    Column::new("Permission set", "Name"),
    Column::new("Target", "TargetType"),
    Column::new("Account", "TargetId"),
    Column::new("Status", "PermissionSetProvisioningStatus.Status"),
    Column::new("Request ID", "PermissionSetProvisioningStatus.RequestId"),
];

/// The shortest and longest session AWS allows, in seconds (1 and 12 hours).
const SESSION_RANGE: std::ops::RangeInclusive<u64> = 3600..=43_200;

/// `permission-set list [--filter REGEX] [--account ACCOUNT]`: with `--account`, only the
/// sets provisioned to that account (ListPermissionSetsProvisionedToAccount, then one
/// DescribePermissionSet each), and `"AccountId"` in the document.
pub(crate) fn list(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let filter = m.value("filter").map(compile_filter).transpose()?;
    let account = m.value("account").map(|a| account_id(ctx, a)).transpose()?;
    let described = match &account {
        Some(id) => {
            let arns = super::grants::provisioned_to(ctx, id)?;
            resolve::describe_permission_sets(ctx, &arns)?
        }
        None => resolve::permission_sets(ctx)?,
    };
    let mut sets: Vec<Value> = described
        .into_iter()
        .map(normalized)
        .filter(|ps| filter.as_ref().is_none_or(|re| matches_filter(re, ps)))
        .collect();
    sets.sort_by_key(|ps| ps["Name"].as_str().unwrap_or_default().to_lowercase());
    let mut data = json!({"PermissionSets": sets});
    if let Some(id) = account {
        data["AccountId"] = Value::String(id);
    }
    Ok(Report::list(data, "PermissionSets", LIST_COLUMNS))
}

/// `permission-set get PERMISSION_SET`: the description, policies, boundary and accounts.
pub(crate) fn get(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let description = resolve::permission_set(ctx, m.required_arg("PERMISSION_SET")?)?;
    Ok(details_report(document(ctx, description)?))
}

/// `permission-set create --name N [...]`: creates, attaches the policies, shows the result.
pub(crate) fn create(ctx: &mut Context, m: &Matches) -> Result<Report> {
    super::limits::check("permission-set create", m)?;
    let name = m.required_value("name")?;
    let settings = Settings::from_matches(m)?;
    let policies = PolicyChanges::for_create(m)?;
    let instance = ctx.instance_arn()?;
    let mut input = json!({"InstanceArn": instance, "Name": name});
    settings.write_into(&mut input);
    let reply = ctx.client()?.call(&client::CREATE_PERMISSION_SET, input)?;
    let description = reply["PermissionSet"].clone();
    let arn = arn_of(&description)?;
    policies.apply(ctx, &arn).map_err(|e| {
        e.context(format!(
            "permission set \"{name}\" was created ({arn}) but not all its policies were applied"
        ))
    })?;
    Ok(details_report(document(ctx, description)?))
}

/// `permission-set clone SOURCE --to NEW_NAME [--description D] [--dry-run]`: a new permission
/// set with the source's session duration, relay state, description, AWS managed policies,
/// customer managed policy references, inline policy, permissions boundary and tags.
pub(crate) fn clone(ctx: &mut Context, m: &Matches) -> Result<Report> {
    super::limits::check("permission-set clone", m)?;
    let source = match (m.arg("SOURCE"), m.value("name")) {
        (Some(s), None) | (None, Some(s)) => s,
        (Some(_), Some(_)) => {
            return Err(Error::usage(
                "give the source once: SOURCE or --name, not both",
            ));
        }
        (None, None) => return Err(Error::usage("which permission set? give SOURCE")),
    };
    let new_name = m.required_value("to")?;
    let described = resolve::permission_set(ctx, source)?;
    let instance = ctx.instance_arn()?;
    let all = client::permission_set::read(ctx.client()?, instance, &arn_of(&described)?)?;
    for part in &all.unknown {
        ctx.warn(format!(
            "{} unknown, none copied: the endpoint cannot tell it",
            part.key()
        ));
    }
    let from = normalized(all.set);
    let text = |key: &str| from[key].as_str().map(str::to_string);
    let mut input = json!({"InstanceArn": instance, "Name": new_name});
    let description = m
        .value("description")
        .map(str::to_string)
        .or_else(|| text("Description"));
    for (key, value) in [
        ("Description", description),
        ("SessionDuration", text("SessionDuration")),
        ("RelayState", text("RelayState")),
    ] {
        if let Some(value) = value {
            input[key] = Value::String(value);
        }
    }
    let managed: Vec<String> = from["AwsManagedPolicies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["Arn"].as_str().map(str::to_string))
        .collect();
    let customer: Vec<Value> = from["CustomerManagedPolicies"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let inline = from["InlinePolicy"].as_str().map(str::to_string);
    let boundary = Some(from["PermissionsBoundary"].clone()).filter(|b| !b.is_null());
    let tags: Vec<Value> = from["Tags"].as_array().cloned().unwrap_or_default();
    if !tags.is_empty() {
        input["Tags"] = Value::Array(tags.clone());
    }
    if m.switch("dry-run") {
        let plan = json!({
            "DryRun": true,
            "Source": from["Name"],
            "Create": input,
            "ManagedPolicies": managed,
            "CustomerManagedPolicies": customer,
            "InlinePolicy": inline_policy(&from["InlinePolicy"]),
            "PermissionsBoundary": boundary,
            "Tags": tags,
        });
        return Ok(Report::message(
            plan,
            format!(
                "dry run: would create permission set \"{new_name}\" from \"{}\" with {} \
                 managed, {} customer managed, {} inline policy, {} boundary and {} tag(s)",
                from["Name"].as_str().unwrap_or(source),
                managed.len(),
                customer.len(),
                if inline.is_some() { "an" } else { "no" },
                if boundary.is_some() { "a" } else { "no" },
                tags.len(),
            ),
        ));
    }
    let client = ctx.client()?;
    let reply = client.call(&client::CREATE_PERMISSION_SET, input)?;
    let created = reply["PermissionSet"].clone();
    let arn = arn_of(&created)?;
    let target = json!({"InstanceArn": instance, "PermissionSetArn": arn});
    let with = |key: &str, value: Value| {
        let mut input = target.clone();
        input[key] = value;
        input
    };
    let copy = || -> Result<()> {
        for policy in &managed {
            client.call(
                &client::ATTACH_MANAGED_POLICY_TO_PERMISSION_SET,
                with("ManagedPolicyArn", json!(policy)),
            )?;
        }
        for reference in &customer {
            client.call(
                &client::ATTACH_CUSTOMER_MANAGED_POLICY_REFERENCE_TO_PERMISSION_SET,
                with("CustomerManagedPolicyReference", reference.clone()),
            )?;
        }
        if let Some(policy) = &inline {
            client.call(
                &client::PUT_INLINE_POLICY_TO_PERMISSION_SET,
                with("InlinePolicy", json!(policy)),
            )?;
        }
        if let Some(boundary) = &boundary {
            client.call(
                &client::PUT_PERMISSIONS_BOUNDARY_TO_PERMISSION_SET,
                with("PermissionsBoundary", boundary.clone()),
            )?;
        }
        Ok(())
    };
    copy().map_err(|e| {
        e.context(format!(
            "permission set \"{new_name}\" was created ({arn}) but not all of the source's \
             policies were copied; delete it or finish by hand"
        ))
    })?;
    Ok(details_report(document(ctx, created)?))
}

/// `permission-set update PERMISSION_SET [...]`: changes settings and policies, shows the
/// result.
pub(crate) fn update(ctx: &mut Context, m: &Matches) -> Result<Report> {
    super::limits::check("permission-set update", m)?;
    let settings = Settings::from_matches(m)?;
    let policies = PolicyChanges::for_update(m)?;
    if settings.is_empty() && policies.is_empty() {
        return Err(Error::usage(
            "nothing to change: give --description, --session-duration, --relay-state, \
             --add-managed-policy, --remove-managed-policy, --inline-policy, \
             --remove-inline-policy, --permissions-boundary or --remove-permissions-boundary",
        ));
    }
    let mut description = resolve::permission_set(ctx, m.required_arg("PERMISSION_SET")?)?;
    let arn = arn_of(&description)?;
    if !settings.is_empty() {
        description = update_settings(ctx, &description, &settings)?;
    }
    policies.apply(ctx, &arn)?;
    Ok(details_report(document(ctx, description)?))
}

/// `permission-set delete PERMISSION_SET [--with-assignments] [--yes]`: with
/// `--with-assignments`, its account assignments in every account are deleted first (AWS
/// refuses to delete a set still assigned), and the set only when they all are.
pub(crate) fn delete(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let description = resolve::permission_set(ctx, m.required_arg("PERMISSION_SET")?)?;
    let arn = arn_of(&description)?;
    let name = description["Name"].as_str().unwrap_or(&arn).to_string();
    let assignments = if m.switch("with-assignments") {
        let pairs: Vec<(String, String)> = super::grants::list_accounts(ctx)?
            .into_iter()
            .map(|a| (a.id, arn.clone()))
            .collect();
        super::grants::of_pairs(ctx, &pairs)?
    } else {
        Vec::new()
    };
    let question = match assignments.len() {
        0 => format!("delete permission set \"{name}\" ({arn})"),
        n => format!("delete permission set \"{name}\" ({arn}) and its {n} assignment(s)"),
    };
    ctx.confirm(m, &question)?;
    if !assignments.is_empty() {
        let outcomes = super::assignment::submit_each(
            ctx,
            super::assignment::Change::Delete,
            &assignments,
            false,
        )?;
        let failed: Vec<String> = assignments
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| o.status != "SUCCEEDED")
            .map(|(a, o)| {
                format!(
                    "{} {} in {}: {}",
                    a.principal_type.as_aws(),
                    a.principal_id,
                    a.account_id,
                    o.failure.as_deref().unwrap_or(o.status)
                )
            })
            .collect();
        if !failed.is_empty() {
            return Err(Error::runtime(format!(
                "permission set \"{name}\" not deleted: {} of {} assignment(s) were not \
                 deleted ({}); see 'awsideman rollback list' to undo the others",
                failed.len(),
                assignments.len(),
                failed.join("; ")
            )));
        }
    }
    ctx.client()?.call(
        &client::DELETE_PERMISSION_SET,
        json!({"InstanceArn": ctx.instance_arn()?, "PermissionSetArn": arn}),
    )?;
    let removed = assignments.len();
    let said = match removed {
        0 => format!("Deleted permission set {name}."),
        n => format!("Deleted permission set {name} and its {n} assignment(s)."),
    };
    Ok(Report::message(
        json!({"PermissionSetArn": arn, "Name": name, "Deleted": true,
               "AssignmentsDeleted": removed}),
        said,
    ))
}

/// `permission-set provision PERMISSION_SET [--account ID|NAME]`: provisions and waits for
/// the request to succeed or fail.
pub(crate) fn provision(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let description = resolve::permission_set(ctx, m.required_arg("PERMISSION_SET")?)?;
    let arn = arn_of(&description)?;
    let name = description["Name"].as_str().unwrap_or(&arn).to_string();
    let account = match m.value("account") {
        Some(who) => Some(account_id(ctx, who)?),
        None => None,
    };
    let instance = ctx.instance_arn()?;
    let client = ctx.client()?;
    let request = provision_request(instance, &arn, account.as_deref());
    let reply = client.call(&client::PROVISION_PERMISSION_SET, request.clone())?;
    let label = format!("provisioning permission set \"{name}\"");
    let line = StatusLine::new(ctx.globals.quiet);
    let waited = wait::until_done(
        &client::DESCRIBE_PERMISSION_SET_PROVISIONING_STATUS,
        reply["PermissionSetProvisioningStatus"].clone(),
        |_, elapsed| line.show(&format!("{label}: IN_PROGRESS ({}s)", elapsed.as_secs())),
        |request_id| {
            client
                .call(
                    &client::DESCRIBE_PERMISSION_SET_PROVISIONING_STATUS,
                    json!({"InstanceArn": instance, "ProvisionPermissionSetRequestId": request_id}),
                )
                .map(|reply| reply["PermissionSetProvisioningStatus"].clone())
        },
    )
    .map_err(|e| e.context(&label))?;
    drop(line);
    let status = match waited {
        Waited::Done { state, .. } if state.status == RequestStatus::Failed => {
            return Err(failure(&label, &state));
        }
        Waited::Done { status, .. } => status,
        Waited::TimedOut { request_id, .. } => {
            return Err(Error::runtime(format!(
                "{label}: still in progress after {}s; request {request_id}",
                wait::POLL_LIMIT.as_secs()
            )));
        }
    };
    Ok(Report::record(
        json!({
            "Name": name,
            "PermissionSetArn": arn,
            "TargetType": request["TargetType"],
            "TargetId": account,
            "PermissionSetProvisioningStatus": status,
        }),
        "",
        STATUS_FIELDS,
    ))
}

/// The table form of the `get` document.
fn details_report(data: Value) -> Report {
    let list = |path, columns| View::List { path, columns };
    Report::new(
        data,
        View::Sections(vec![
            (
                "Permission set".into(),
                View::Record {
                    path: "",
                    fields: FIELDS,
                },
            ),
            (
                "Managed policies".into(),
                list("ManagedPolicies", MANAGED_COLUMNS),
            ),
            (
                "Customer-managed policies".into(),
                list("CustomerManagedPolicies", CUSTOMER_COLUMNS),
            ),
            (
                "Provisioned accounts".into(),
                list("ProvisionedAccounts", ACCOUNT_COLUMNS),
            ),
        ]),
    )
}

/// The ARN of a described permission set.
fn arn_of(description: &Value) -> Result<String> {
    let op = &client::DESCRIBE_PERMISSION_SET;
    Ok(shapes::decode::<shapes::PermissionSet>(op, description)?.permission_set_arn)
}

/// The 12-digit id of an account named by id or name.
fn account_id(ctx: &Context, who: &str) -> Result<String> {
    let account = resolve::account(ctx, who)?;
    Ok(shapes::decode::<shapes::Account>(&client::DESCRIBE_ACCOUNT, &account)?.id)
}

// ---- list ----------------------------------------------------------------------------

/// A case-insensitive regex from `--filter`; a usage error when it does not compile.
fn compile_filter(pattern: &str) -> Result<regex_lite::Regex> {
    super::pattern::compile(pattern, "--filter")
}

/// Whether a permission set's name or description matches the filter.
fn matches_filter(re: &regex_lite::Regex, ps: &Value) -> bool {
    ["Name", "Description"]
        .iter()
        .any(|key| ps[key].as_str().is_some_and(|s| re.is_match(s)))
}

// ---- session durations ---------------------------------------------------------------

/// A DescribePermissionSet `PermissionSet` with `SessionDuration` as an ISO 8601 string.
fn normalized(ps: Value) -> Value {
    client::permission_set::normalized(ps)
}

/// Parses an ISO 8601 time duration (`PT1H`, `PT8H30M`, `PT5400S`; any case) into seconds.
fn parse_duration(text: &str) -> Option<u64> {
    let upper = text.trim().to_ascii_uppercase();
    let mut rest = upper.strip_prefix("PT")?;
    if rest.is_empty() {
        return None;
    }
    let mut seconds = 0u64;
    let mut units = [('H', 3600u64), ('M', 60), ('S', 1)].into_iter();
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let unit = rest[digits..].chars().next()?;
        let value: u64 = rest[..digits].parse().ok()?;
        // Units appear at most once each, in the order H, M, S.
        let (_, factor) = units.by_ref().find(|(u, _)| *u == unit)?;
        seconds = seconds.checked_add(value.checked_mul(factor)?)?;
        rest = &rest[digits + 1..];
    }
    Some(seconds)
}

use client::permission_set::iso_duration;

/// Checks `--session-duration` (an ISO 8601 duration from 1 to 12 hours) and returns its
/// canonical form.
fn session_duration(text: &str) -> Result<String> {
    let seconds = parse_duration(text).ok_or_else(|| {
        Error::usage(format!(
            "--session-duration: invalid value {text:?}: expected an ISO 8601 duration such \
             as PT1H or PT8H30M"
        ))
    })?;
    if !SESSION_RANGE.contains(&seconds) {
        return Err(Error::usage(format!(
            "--session-duration: {text} is out of range (PT1H to PT12H)"
        )));
    }
    Ok(iso_duration(seconds))
}

// ---- create and update ---------------------------------------------------------------

/// The settings UpdatePermissionSet changes: `None` keeps the current value.
#[derive(Debug, Default, PartialEq, Eq)]
struct Settings {
    description: Option<String>,
    session_duration: Option<String>,
    relay_state: Option<String>,
}

impl Settings {
    /// Reads and checks `--description`, `--session-duration` and `--relay-state`.
    fn from_matches(m: &Matches) -> Result<Settings> {
        Ok(Settings {
            description: m.value("description").map(str::to_string),
            session_duration: m
                .value("session-duration")
                .map(session_duration)
                .transpose()?,
            relay_state: m.value("relay-state").map(str::to_string),
        })
    }

    fn is_empty(&self) -> bool {
        *self == Settings::default()
    }

    /// Adds the given settings to a Create/UpdatePermissionSet request.
    fn write_into(&self, input: &mut Value) {
        for (key, value) in [
            ("Description", &self.description),
            ("SessionDuration", &self.session_duration),
            ("RelayState", &self.relay_state),
        ] {
            if let Some(value) = value {
                input[key] = Value::String(value.clone());
            }
        }
    }
}

/// Calls UpdatePermissionSet and returns the new description.
///
/// Settings not given are sent with their current values: AWS keeps omitted settings, but
/// some emulators clear them, and repeating a value changes nothing.
fn update_settings(ctx: &Context, current: &Value, settings: &Settings) -> Result<Value> {
    let instance = ctx.instance_arn()?;
    let arn = arn_of(current)?;
    let current = normalized(current.clone());
    let mut input = json!({"InstanceArn": instance, "PermissionSetArn": arn});
    for key in ["Description", "SessionDuration", "RelayState"] {
        if let Some(value) = current[key].as_str() {
            input[key] = Value::String(value.to_string());
        }
    }
    settings.write_into(&mut input);
    ctx.note_before(&client::UPDATE_PERMISSION_SET, &arn, &current, None);
    let client = ctx.client()?;
    client.call(&client::UPDATE_PERMISSION_SET, input)?;
    let reply = client.call(
        &client::DESCRIBE_PERMISSION_SET,
        json!({"InstanceArn": instance, "PermissionSetArn": arn}),
    )?;
    Ok(reply["PermissionSet"].clone())
}

/// What to do with the inline policy.
#[derive(Debug, PartialEq, Eq)]
enum InlineChange {
    Keep,
    /// Put this policy document (compact JSON).
    Put(String),
    Delete,
}

/// The policy changes of a `create` or `update`, checked before any request.
#[derive(Debug, PartialEq, Eq)]
struct PolicyChanges {
    attach: Vec<String>,
    detach: Vec<String>,
    inline: InlineChange,
    /// The boundary to put (`Some(Some)`), to remove (`Some(None)`), or kept (`None`).
    boundary: Option<Option<Value>>,
}

impl PolicyChanges {
    /// What `permission-set create` asks for: managed policies (`--managed-policy`) and an
    /// inline policy (`--inline-policy`).
    fn for_create(m: &Matches) -> Result<PolicyChanges> {
        Ok(PolicyChanges {
            attach: managed_policy_arns(m, "managed-policy")?,
            detach: Vec::new(),
            inline: match m.value("inline-policy") {
                Some(source) => InlineChange::Put(read_policy(source)?),
                None => InlineChange::Keep,
            },
            boundary: None,
        })
    }

    /// What `permission-set update` asks for: managed policies to attach
    /// (`--add-managed-policy`) and detach (`--remove-managed-policy`), and `--inline-policy`
    /// / `--remove-inline-policy`.
    fn for_update(m: &Matches) -> Result<PolicyChanges> {
        let inline = match (m.value("inline-policy"), m.switch("remove-inline-policy")) {
            (Some(_), true) => {
                return Err(Error::usage(
                    "--inline-policy and --remove-inline-policy cannot be used together",
                ));
            }
            (Some(source), false) => InlineChange::Put(read_policy(source)?),
            (None, true) => InlineChange::Delete,
            (None, false) => InlineChange::Keep,
        };
        let boundary = match (
            m.value("permissions-boundary"),
            m.switch("remove-permissions-boundary"),
        ) {
            (Some(_), true) => {
                return Err(Error::usage(
                    "--permissions-boundary and --remove-permissions-boundary cannot be used \
                     together",
                ));
            }
            (Some(policy), false) => Some(Some(boundary_of(policy)?)),
            (None, true) => Some(None),
            (None, false) => None,
        };
        Ok(PolicyChanges {
            attach: managed_policy_arns(m, "add-managed-policy")?,
            detach: managed_policy_arns(m, "remove-managed-policy")?,
            inline,
            boundary,
        })
    }

    fn is_empty(&self) -> bool {
        self.attach.is_empty()
            && self.detach.is_empty()
            && self.inline == InlineChange::Keep
            && self.boundary.is_none()
    }

    /// Detaches, attaches, then puts or deletes the inline policy, one request each.
    fn apply(&self, ctx: &Context, arn: &str) -> Result<()> {
        let instance = ctx.instance_arn()?;
        let client = ctx.client()?;
        let target = json!({"InstanceArn": instance, "PermissionSetArn": arn});
        let with = |key: &str, value: &str| {
            let mut input = target.clone();
            input[key] = Value::String(value.to_string());
            input
        };
        for policy in &self.detach {
            client
                .call(
                    &client::DETACH_MANAGED_POLICY_FROM_PERMISSION_SET,
                    with("ManagedPolicyArn", policy),
                )
                .map_err(|e| e.context(format!("detaching {policy}")))?;
        }
        for policy in &self.attach {
            client
                .call(
                    &client::ATTACH_MANAGED_POLICY_TO_PERMISSION_SET,
                    with("ManagedPolicyArn", policy),
                )
                .map_err(|e| e.context(format!("attaching {policy}")))?;
        }
        match &self.inline {
            InlineChange::Keep => {}
            InlineChange::Put(policy) => {
                client.call(
                    &client::PUT_INLINE_POLICY_TO_PERMISSION_SET,
                    with("InlinePolicy", policy),
                )?;
            }
            InlineChange::Delete => {
                client.call(
                    &client::DELETE_INLINE_POLICY_FROM_PERMISSION_SET,
                    target.clone(),
                )?;
            }
        }
        match &self.boundary {
            None => {}
            Some(Some(boundary)) => {
                let mut input = target;
                input["PermissionsBoundary"] = boundary.clone();
                client.call(&client::PUT_PERMISSIONS_BOUNDARY_TO_PERMISSION_SET, input)?;
            }
            Some(None) => {
                client.call(
                    &client::DELETE_PERMISSIONS_BOUNDARY_FROM_PERMISSION_SET,
                    target,
                )?;
            }
        }
        Ok(())
    }
}

/// The PermissionsBoundary of `--permissions-boundary`: a managed policy by ARN, or a
/// customer managed policy by `[PATH/]NAME` (path `/` when not given).
fn boundary_of(policy: &str) -> Result<Value> {
    if policy.starts_with("arn:") {
        let arn = managed_policy_arn("permissions-boundary", policy)?;
        return Ok(json!({ "ManagedPolicyArn": arn }));
    }
    let (path, name) = match policy.rfind('/') {
        Some(at) => (&policy[..=at], &policy[at + 1..]),
        None => ("/", policy),
    };
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    if name.is_empty() {
        return Err(Error::usage(format!(
            "--permissions-boundary: {policy:?} names no policy (give an ARN or PATH/NAME)"
        )));
    }
    Ok(json!({"CustomerManagedPolicyReference": {"Name": name, "Path": path}}))
}

/// Checks that a managed policy is named by ARN (`arn:aws:iam::aws:policy/ReadOnlyAccess`).
/// The ARNs given with the repeatable flag `flag`, each checked.
fn managed_policy_arns(m: &Matches, flag: &str) -> Result<Vec<String>> {
    m.values(flag)
        .iter()
        .map(|arn| managed_policy_arn(flag, arn))
        .collect()
}

fn managed_policy_arn(flag: &str, arn: &str) -> Result<String> {
    if arn.starts_with("arn:") && arn.contains(":policy/") {
        Ok(arn.to_string())
    } else {
        Err(Error::usage(format!(
            "--{flag}: {arn:?} is not a managed policy ARN \
             (e.g. arn:aws:iam::aws:policy/ReadOnlyAccess)"
        )))
    }
}

/// Reads an inline policy from a file or, for `-`, stdin; it must be a JSON object.
/// Returns it as compact JSON.
/// The longest inline policy AWS takes (PutInlinePolicyToPermissionSet), in bytes read.
const MAX_INLINE_POLICY_BYTES: u64 = 32 * 1024;

fn read_policy(source: &str) -> Result<String> {
    let bytes = if source == "-" {
        crate::fsutil::read_at_most(std::io::stdin(), MAX_INLINE_POLICY_BYTES)
    } else {
        crate::fsutil::read_file_at_most(std::path::Path::new(source), MAX_INLINE_POLICY_BYTES)
    }
    .map_err(|e| {
        Error::usage(format!(
            "--inline-policy: reading {}: {e}",
            policy_source(source)
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::usage(format!(
            "--inline-policy: {} is not UTF-8 text",
            policy_source(source)
        ))
    })?;
    policy_document(&text)
        .map_err(|e| Error::usage(format!("--inline-policy: {}: {e}", policy_source(source))))
}

fn policy_source(source: &str) -> &str {
    if source == "-" { "stdin" } else { source }
}

/// Parses a policy document: a JSON object, returned as compact JSON.
fn policy_document(text: &str) -> Result<String, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(Value::Object(map).to_string()),
        Ok(_) => Err("a policy document must be a JSON object".to_string()),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

// ---- the get document ----------------------------------------------------------------

/// The parts of the `get` document besides the description: attributes of the set as the
/// shared reader reads them ([`client::permission_set::Part`]), and its accounts.
#[derive(Debug, Clone, Copy)]
enum Part {
    /// An attribute, under its key in this document, with the words a warning names it by.
    Attribute(Attribute, &'static str, &'static str),
    ProvisionedAccounts,
}

use client::permission_set::Part as Attribute;

impl Part {
    const ALL: [Part; 5] = [
        Part::Attribute(
            Attribute::AwsManagedPolicies,
            "ManagedPolicies",
            "managed policies",
        ),
        Part::Attribute(
            Attribute::CustomerManagedPolicies,
            "CustomerManagedPolicies",
            "customer managed policies",
        ),
        Part::Attribute(Attribute::InlinePolicy, "InlinePolicy", "inline policy"),
        Part::Attribute(
            Attribute::PermissionsBoundary,
            "PermissionsBoundary",
            "permissions boundary",
        ),
        Part::ProvisionedAccounts,
    ];

    /// The key of this part in the document.
    fn key(self) -> &'static str {
        match self {
            Part::Attribute(_, key, _) => key,
            Part::ProvisionedAccounts => "ProvisionedAccounts",
        }
    }

    /// Asks AWS for this part of the permission set `arn`. `Unread` when the endpoint cannot
    /// answer for it (not the same as "none").
    fn fetch(self, ctx: &Context, instance: &str, arn: &str) -> Result<Fetched> {
        let client = ctx.client()?;
        match self {
            Part::Attribute(attribute, key, words) => {
                match attribute.fetch(client, instance, arn)? {
                    Some(value) if key == "InlinePolicy" => {
                        Ok(Fetched::Value(inline_policy(&value)))
                    }
                    Some(value) => Ok(Fetched::Value(value)),
                    None => {
                        ctx.warn(format!(
                            "{words} unknown: the endpoint does not implement reading it"
                        ));
                        Ok(Fetched::Unread(format!(
                            "{key} could not be read (left out): the endpoint does not \
                             implement reading it"
                        )))
                    }
                }
            }
            Part::ProvisionedAccounts => {
                let reply = client.list(
                    &client::LIST_ACCOUNTS_FOR_PROVISIONED_PERMISSION_SET,
                    json!({"InstanceArn": instance, "PermissionSetArn": arn}),
                )?;
                Ok(Fetched::Value(array_or_empty(&reply["AccountIds"])))
            }
        }
    }
}

/// A part of the `get` document as read.
enum Fetched {
    /// Its value (null or empty when there is none).
    Value(Value),
    /// It could not be read: the member is left out and this warning goes into
    /// `"Warnings"`.
    Unread(String),
}

/// The `get` document: the description (session duration normalized) plus every [`Part`],
/// fetched in parallel; a part that could not be read is left out and named in
/// `"Warnings"` (present only then).
fn document(ctx: &Context, description: Value) -> Result<Value> {
    let instance = ctx.instance_arn()?;
    let arn = arn_of(&description)?;
    let parts = fanout::parallel(&Part::ALL, Part::ALL.len(), |part| {
        part.fetch(ctx, instance, &arn)
            .map_err(|e| e.context(format!("reading {}", part.key())))
    });
    let mut document = match normalized(description) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let mut warnings = Vec::new();
    for (part, fetched) in Part::ALL.iter().zip(parts) {
        match fetched? {
            Fetched::Value(value) => {
                document.insert(part.key().to_string(), value);
            }
            Fetched::Unread(warning) => warnings.push(Value::String(warning)),
        }
    }
    if !warnings.is_empty() {
        document.insert("Warnings".to_string(), Value::Array(warnings));
    }
    Ok(Value::Object(document))
}

/// An inline policy as AWS returns it (a JSON string, empty when there is none): the parsed
/// document, null when empty, the text itself when it is not JSON.
fn inline_policy(raw: &Value) -> Value {
    match raw.as_str().map(str::trim) {
        None | Some("") => Value::Null,
        Some(text) => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into())),
    }
}

/// A JSON array, or an empty one when the member is missing or null.
fn array_or_empty(value: &Value) -> Value {
    match value {
        Value::Array(_) => value.clone(),
        _ => Value::Array(Vec::new()),
    }
}

// ---- provisioning --------------------------------------------------------------------

/// The ProvisionPermissionSet request: one account, or every account the set is provisioned to.
fn provision_request(instance: &str, arn: &str, account: Option<&str>) -> Value {
    let mut input = json!({"InstanceArn": instance, "PermissionSetArn": arn});
    match account {
        Some(id) => {
            input["TargetType"] = json!("AWS_ACCOUNT");
            input["TargetId"] = json!(id);
        }
        None => input["TargetType"] = json!("ALL_PROVISIONED_ACCOUNTS"),
    }
    input
}

/// The error for a FAILED status: its reason and request id.
fn failure(label: &str, state: &RequestState) -> Error {
    Error::runtime(format!(
        "{label}: FAILED: {} (request {})",
        state.failure_reason.as_deref().unwrap_or("no reason given"),
        state.request_id.as_deref().unwrap_or("unknown"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_any_iso_time_form() {
        assert_eq!(parse_duration("PT1H"), Some(3600));
        assert_eq!(parse_duration("pt8h30m"), Some(30_600));
        assert_eq!(parse_duration("PT90M"), Some(5400));
        assert_eq!(parse_duration("PT3600S"), Some(3600));
        assert_eq!(parse_duration("PT1H0M5S"), Some(3605));
        for bad in [
            "", "PT", "P1D", "1h", "PT1", "PTH", "PT1M1H", "PT1H1H", "PT-1H", "PT1.5H",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(parse_duration("PT99999999999999999999H"), None);
    }

    #[test]
    fn durations_format_shortest() {
        assert_eq!(iso_duration(3600), "PT1H");
        assert_eq!(iso_duration(30_600), "PT8H30M");
        assert_eq!(iso_duration(3605), "PT1H5S");
        assert_eq!(iso_duration(0), "PT0S");
    }

    #[test]
    fn session_duration_is_one_to_twelve_hours() {
        assert_eq!(session_duration("PT1H").unwrap(), "PT1H");
        assert_eq!(session_duration("PT90M").unwrap(), "PT1H30M");
        assert_eq!(session_duration("PT12H").unwrap(), "PT12H");
        for bad in ["PT59M", "PT12H1S", "PT13H", "2h"] {
            let e = session_duration(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.message().contains("--session-duration"), "{e}");
        }
    }

    #[test]
    fn numeric_session_durations_are_normalized() {
        let ps = normalized(json!({"Name": "A", "SessionDuration": 3600}));
        assert_eq!(ps["SessionDuration"], "PT1H");
        let ps = normalized(json!({"Name": "A", "SessionDuration": "PT4H"}));
        assert_eq!(ps["SessionDuration"], "PT4H");
    }

    #[test]
    fn inline_policies() {
        assert_eq!(inline_policy(&json!("")), Value::Null);
        assert_eq!(inline_policy(&Value::Null), Value::Null);
        assert_eq!(
            inline_policy(&json!(r#"{"Version":"2012-10-17"}"#)),
            json!({"Version": "2012-10-17"})
        );
        assert_eq!(inline_policy(&json!("not json")), json!("not json"));
        assert_eq!(
            policy_document("{ \"Version\" : \"2012-10-17\" }\n").unwrap(),
            r#"{"Version":"2012-10-17"}"#
        );
        assert!(policy_document("[1]").is_err());
        assert!(policy_document("{").unwrap_err().contains("not valid JSON"));
    }

    #[test]
    fn boundaries_are_an_arn_or_a_customer_policy_name() {
        assert_eq!(
            boundary_of("arn:aws:iam::aws:policy/PowerUserAccess").unwrap(),
            json!({"ManagedPolicyArn": "arn:aws:iam::aws:policy/PowerUserAccess"})
        );
        assert_eq!(
            boundary_of("dev-boundary").unwrap(),
            json!({"CustomerManagedPolicyReference": {"Name": "dev-boundary", "Path": "/"}})
        );
        assert_eq!(
            boundary_of("engineering/dev-boundary").unwrap(),
            json!({"CustomerManagedPolicyReference":
                   {"Name": "dev-boundary", "Path": "/engineering/"}})
        );
        assert_eq!(boundary_of("arn:aws:s3:::x").unwrap_err().exit_code(), 2);
        assert_eq!(boundary_of("team/").unwrap_err().exit_code(), 2);
    }

    #[test]
    fn provisioning_targets() {
        assert_eq!(
            provision_request("i", "p", Some("111111111111")),
            json!({"InstanceArn": "i", "PermissionSetArn": "p", "TargetType": "AWS_ACCOUNT", "TargetId": "111111111111"})
        );
        assert_eq!(
            provision_request("i", "p", None),
            json!({"InstanceArn": "i", "PermissionSetArn": "p", "TargetType": "ALL_PROVISIONED_ACCOUNTS"})
        );
    }

    #[test]
    fn filter_matches_name_or_description_ignoring_case() {
        let re = compile_filter("^admin").unwrap();
        assert!(matches_filter(&re, &json!({"Name": "AdminAccess"})));
        assert!(matches_filter(
            &re,
            &json!({"Name": "X", "Description": "admin things"})
        ));
        assert!(!matches_filter(
            &re,
            &json!({"Name": "ReadOnly", "Description": null})
        ));
        assert_eq!(compile_filter("(").unwrap_err().exit_code(), 2);
    }
}
