//! `profile list|add|update|remove|set-default`: named settings (region, Identity Center
//! instance, AWS profile) kept in the config file.

use serde_json::{Value, json};

use super::Context;
use super::config::profile_json;
use crate::commands::args::Matches;
use crate::config::ProfileConfig;
use crate::error::{Error, Result};
use crate::output::{Column, Report};

const COLUMNS: &[Column] = &[
    Column::new("Name", "name"),
    Column::new("Default", "default"),
    Column::new("Region", "region"),
    Column::new("Identity store", "identity_store_id"),
    Column::new("Instance", "sso_instance_arn"),
    Column::new("AWS profile", "aws_profile"),
];

/// `profile list`.
pub(crate) fn list(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    let default = ctx.config.default_profile().map(str::to_string);
    let profiles: Vec<Value> = ctx
        .config
        .profiles()?
        .into_iter()
        .map(|(name, profile)| {
            let mut item = profile_json(&profile);
            let is_default = default.as_deref() == Some(name.as_str());
            item["name"] = json!(name);
            item["default"] = json!(is_default);
            item
        })
        .collect();
    let data = json!({"defaultProfile": default, "profiles": profiles});
    Ok(Report::list(data, "profiles", COLUMNS))
}

fn apply_flags(profile: &mut ProfileConfig, m: &Matches) {
    let fields: [(&str, &mut Option<String>); 5] = [
        ("region", &mut profile.region),
        ("sso-instance-arn", &mut profile.sso_instance_arn),
        ("identity-store-id", &mut profile.identity_store_id),
        ("sso-instance-name", &mut profile.sso_instance_name),
        ("aws-profile", &mut profile.aws_profile),
    ];
    for (flag, slot) in fields {
        if let Some(value) = m.value(flag) {
            *slot = (!value.is_empty()).then(|| value.to_string());
        }
    }
}

fn saved(ctx: &Context, name: &str, verb: &str) -> Result<Report> {
    let profile = ctx.config.profile(name)?.unwrap_or_default();
    let mut data = profile_json(&profile);
    data["name"] = json!(name);
    data["default"] = json!(ctx.config.default_profile() == Some(name));
    Ok(Report::message(data, format!("{verb} profile \"{name}\"")))
}

/// `profile add NAME --region R [...] [--default]`.
pub(crate) fn add(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let name = m.required_arg("NAME")?.to_string();
    if ctx.config.profile(&name)?.is_some() {
        return Err(Error::usage(format!(
            "profile \"{name}\" already exists (use 'awsideman profile update {name}')"
        )));
    }
    let mut profile = ProfileConfig::default();
    apply_flags(&mut profile, m);
    ctx.config.put_profile(&name, &profile);
    if m.switch("default") || ctx.config.default_profile().is_none() {
        ctx.config.set_default_profile(&name);
    }
    ctx.config.validate()?;
    ctx.config.save()?;
    saved(ctx, &name, "added")
}

/// `profile update NAME [--region R ...]`.
pub(crate) fn update(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let name = m.required_arg("NAME")?.to_string();
    let mut profile = ctx
        .config
        .profile(&name)?
        .ok_or_else(|| unknown_profile(&name))?;
    apply_flags(&mut profile, m);
    ctx.config.put_profile(&name, &profile);
    if m.switch("default") {
        ctx.config.set_default_profile(&name);
    }
    ctx.config.validate()?;
    ctx.config.save()?;
    saved(ctx, &name, "updated")
}

/// `profile remove NAME`.
pub(crate) fn remove(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let name = m.required_arg("NAME")?.to_string();
    if ctx.config.profile(&name)?.is_none() {
        return Err(unknown_profile(&name));
    }
    ctx.confirm(m, &format!("remove awsideman profile \"{name}\""))?;
    ctx.config.remove_profile(&name);
    ctx.config.save()?;
    Ok(Report::message(
        json!({"name": name, "removed": true}),
        format!("removed profile \"{name}\""),
    ))
}

/// `profile set-default NAME`.
pub(crate) fn set_default(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let name = m.required_arg("NAME")?.to_string();
    if ctx.config.profile(&name)?.is_none() {
        return Err(unknown_profile(&name));
    }
    ctx.config.set_default_profile(&name);
    ctx.config.save()?;
    saved(ctx, &name, "default is now")
}

fn unknown_profile(name: &str) -> Error {
    Error::not_found(format!(
        "profile \"{name}\" not found (see 'awsideman profile list')"
    ))
}
