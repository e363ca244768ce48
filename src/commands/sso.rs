//! `sso discover|set|info`: which IAM Identity Center instance a profile manages.

use serde_json::{Value, json};

use super::Context;
use crate::client;
use crate::commands::args::Matches;
use crate::error::{Error, Result};
use crate::output::{Column, Report, View};

const INSTANCE_COLUMNS: &[Column] = &[
    Column::new("Instance ARN", "InstanceArn"),
    Column::new("Identity store", "IdentityStoreId"),
    Column::new("Name", "Name"),
    Column::new("Status", "Status"),
    Column::new("Owner account", "OwnerAccountId"),
];

const INFO_FIELDS: &[Column] = &[
    Column::new("Profile", "profile"),
    Column::new("Region", "region"),
    Column::new("Instance ARN", "sso_instance_arn"),
    Column::new("Identity store", "identity_store_id"),
    Column::new("Instance name", "sso_instance_name"),
];

/// `sso discover`: lists the instances; with exactly one, saves it into the profile.
pub(crate) fn discover(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    let reply = ctx.client()?.list(&client::LIST_INSTANCES, json!({}))?;
    let instances = reply["Instances"].as_array().cloned().unwrap_or_default();
    match instances.as_slice() {
        [] => Err(Error::not_found(
            "no IAM Identity Center instance found in this account and region \
             (check --region, or enable Identity Center)",
        )),
        [instance] => {
            let arn = field(instance, "InstanceArn")?;
            let store = field(instance, "IdentityStoreId")?;
            let mut profile = ctx.config.profile(&ctx.profile_name)?.unwrap_or_default();
            profile.sso_instance_arn = Some(arn.clone());
            profile.identity_store_id = Some(store.clone());
            if let Some(name) = instance["Name"].as_str().filter(|n| !n.is_empty()) {
                profile.sso_instance_name = Some(name.to_string());
            }
            // The instance lives in the region it was found in (`--region` included): later
            // commands must ask there, so that region is saved with it.
            let region = ctx.client()?.session().region()?;
            let previous = profile.region.replace(region.clone());
            let region_note = match previous.filter(|p| *p != region) {
                Some(previous) => format!("region {region}, was {previous}"),
                None => format!("region {region}"),
            };
            ctx.config.put_profile(&ctx.profile_name, &profile);
            if ctx.config.default_profile().is_none() {
                ctx.config.set_default_profile(&ctx.profile_name);
            }
            ctx.config.save()?;
            ctx.profile = profile;
            let data = json!({
                "profile": ctx.profile_name,
                "saved": true,
                "region": region,
                "Instances": instances,
            });
            let message = format!(
                "saved instance {arn} (identity store {store}, {region_note}) into profile \"{}\"",
                ctx.profile_name
            );
            Ok(Report::new(
                data,
                View::Sections(vec![(
                    message,
                    View::List {
                        path: "Instances",
                        columns: INSTANCE_COLUMNS,
                    },
                )]),
            ))
        }
        _ => {
            let data = json!({"profile": ctx.profile_name, "saved": false, "Instances": instances});
            Ok(Report::new(data, View::Sections(vec![(
                    "several instances: choose one with 'awsideman sso set INSTANCE_ARN IDENTITY_STORE_ID'"
                        .to_string(),
                    View::List { path: "Instances", columns: INSTANCE_COLUMNS },
                )])))
        }
    }
}

fn field(instance: &Value, name: &str) -> Result<String> {
    instance[name]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Error::runtime(format!("sso-admin ListInstances: reply lacks {name}")))
}

/// `sso set INSTANCE_ARN IDENTITY_STORE_ID [--name NAME]`.
pub(crate) fn set(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let arn = m.required_arg("INSTANCE_ARN")?;
    let store = m.required_arg("IDENTITY_STORE_ID")?;
    validate_instance_arn(arn)?;
    validate_identity_store_id(store)?;
    let mut profile = ctx.config.profile(&ctx.profile_name)?.unwrap_or_default();
    profile.sso_instance_arn = Some(arn.to_string());
    profile.identity_store_id = Some(store.to_string());
    if let Some(name) = m.value("name") {
        profile.sso_instance_name = Some(name.to_string());
    }
    if let Some(region) = &ctx.globals.region {
        profile.region.get_or_insert_with(|| region.clone());
    }
    ctx.config.put_profile(&ctx.profile_name, &profile);
    if ctx.config.default_profile().is_none() {
        ctx.config.set_default_profile(&ctx.profile_name);
    }
    ctx.config.save()?;
    ctx.profile = profile;
    info(ctx, m)
}

/// `sso info`: the instance settings of the profile (local; no AWS call).
pub(crate) fn info(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    let data = json!({
        "profile": ctx.profile_name,
        "region": ctx.profile.region,
        "sso_instance_arn": ctx.profile.sso_instance_arn,
        "identity_store_id": ctx.profile.identity_store_id,
        "sso_instance_name": ctx.profile.sso_instance_name,
    });
    Ok(Report::record(data, "", INFO_FIELDS))
}

/// Checks the shape of an Identity Center instance ARN.
pub(crate) fn validate_instance_arn(arn: &str) -> Result<()> {
    let ok = arn.starts_with("arn:")
        && arn.split(':').nth(2) == Some("sso")
        && arn.contains(":instance/ssoins-");
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid instance ARN {arn:?} (expected arn:aws:sso:::instance/ssoins-...)"
        )))
    }
}

/// Checks the shape of an identity store id (`d-` and ten characters, or a UUID).
pub(crate) fn validate_identity_store_id(id: &str) -> Result<()> {
    let short = id.len() == 12
        && id.starts_with("d-")
        && id[2..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if short || super::resolve::is_uuid(id) {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "invalid identity store id {id:?} (expected d-xxxxxxxxxx)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_and_store_shapes() {
        assert!(validate_instance_arn("arn:aws:sso:::instance/ssoins-1234567890abcdef").is_ok());
        assert!(validate_instance_arn("arn:aws:iam::1:role/x").is_err());
        assert!(validate_identity_store_id("d-1234567890").is_ok());
        assert!(validate_identity_store_id("d-12345").is_err());
        assert!(validate_identity_store_id("a1b2c3d4-1111-2222-3333-444455556666").is_ok());
    }
}
