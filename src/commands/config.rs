//! `config show|get|set|path|validate`: the awsideman configuration file.

use serde_json::{Value, json};

use super::Context;
use crate::commands::args::Matches;
use crate::config;
use crate::error::{Error, Result};
use crate::output::Report;

/// `config show [--effective]`: the file as written, or the settings in force.
pub(crate) fn show(ctx: &mut Context, m: &Matches) -> Result<Report> {
    if m.switch("effective") {
        let cache = config::cache_settings(
            &ctx.config,
            Some(&ctx.profile_name),
            &ctx.env,
            &ctx.config_dir,
        )?;
        let network = config::network_settings(&ctx.config, &ctx.env)?;
        let lock_timeout = ctx.lock_timeout()?;
        let data = json!({
            "path": ctx.config.path().display().to_string(),
            "profile": ctx.profile_name,
            "profileSettings": profile_json(&ctx.profile),
            "cache": {
                "enabled": cache.enabled && !ctx.globals.no_cache,
                "backend_type": cache.backend_type.as_str(),
                "default_ttl": cache.default_ttl,
                "operation_ttls": cache.operation_ttls,
                "max_size_mb": cache.max_size_mb,
                "file_cache_dir": cache.file_cache_dir.display().to_string(),
                "dynamodb_table_name": cache.dynamodb_table_name,
                "dynamodb_region": cache.dynamodb_region,
                "dynamodb_profile": cache.dynamodb_profile,
                "dynamodb_timeout_ms": cache.dynamodb_timeout_ms,
                "dynamodb_max_retries": cache.dynamodb_max_retries,
                "dynamodb_consistent_read": cache.dynamodb_consistent_read,
                "dynamodb_kms_key_id": cache.dynamodb_kms_key_id,
                "dynamodb_table_tags": cache.dynamodb_table_tags,
                "encryption_enabled": cache.encryption_enabled,
                "encryption_type": cache.encryption_type.as_str(),
                "encryption_key_source": cache.encryption_key_source.as_str(),
                "encryption_key_file": cache.encryption_key_file.as_ref().map(|p| p.display().to_string()),
                "encryption_kms_key_id": cache.encryption_kms_key_id,
                "hybrid_local_ttl": cache.hybrid_local_ttl,
                "lock_timeout_ms": lock_timeout.as_millis() as u64,
            },
            "network": {
                "connect_timeout_ms": network.connect_timeout_ms,
                "read_timeout_ms": network.read_timeout_ms,
                "identity_center_rps": network.identity_center_rps,
            },
        });
        let yaml = serde_saphyr::to_string(&data)
            .map_err(|e| Error::runtime(format!("rendering settings: {e}")))?;
        return Ok(Report::message(data, yaml.trim_end()));
    }
    let text = if ctx.config.exists() {
        ctx.config.to_yaml()?
    } else {
        format!("# {} does not exist yet", ctx.config.path().display())
    };
    Ok(Report::message(
        ctx.config.document().clone(),
        text.trim_end(),
    ))
}

/// `config get KEY`: one value from the file (exit 1 when unset, like `git config`).
pub(crate) fn get(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let key = m.required_arg("KEY")?;
    match ctx.config.get(key) {
        Some(value) => {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Null => "null".to_string(),
                Value::Object(_) | Value::Array(_) => serde_saphyr::to_string(value)
                    .map_err(|e| Error::runtime(format!("rendering {key}: {e}")))?
                    .trim_end()
                    .to_string(),
                other => other.to_string(),
            };
            Ok(Report::message(json!({"key": key, "value": value}), text))
        }
        None => Err(Error::not_found(format!(
            "{key} is not set in {}",
            ctx.config.path().display()
        ))),
    }
}

/// `config set KEY VALUE` (or `KEY=VALUE`): a typed, validated change, written atomically.
pub(crate) fn set(ctx: &mut Context, m: &Matches) -> Result<Report> {
    let first = m.required_arg("KEY")?;
    let (key, value) = match (m.arg("VALUE"), first.split_once('=')) {
        (Some(value), _) => (first.to_string(), value.to_string()),
        (None, Some((k, v))) => (k.to_string(), v.to_string()),
        (None, None) => {
            return Err(Error::usage(format!(
                "config set: missing value for {first} (use 'config set KEY VALUE')"
            )));
        }
    };
    ctx.config.set(&key, &value)?;
    ctx.config.validate()?;
    ctx.config.save()?;
    let stored = ctx.config.get(&key).cloned().unwrap_or(Value::Null);
    let shadows = shadowing(ctx, &key);
    let mut message = format!("set {key} in {}", ctx.config.path().display());
    if !shadows.is_empty() {
        message.push_str(&format!(
            "; note: {} still wins for {}",
            shadows
                .iter()
                .map(|(profile, over)| format!("{over} (profile {profile})"))
                .collect::<Vec<_>>()
                .join(", "),
            if shadows.len() == 1 {
                "that profile"
            } else {
                "those profiles"
            }
        ));
    }
    let shadowed_by: Vec<&String> = shadows.iter().map(|(_, over)| over).collect();
    Ok(Report::message(
        json!({"key": key, "value": stored, "shadowedBy": shadowed_by}),
        message,
    ))
}

/// The per-profile values that win over `key` for their profile: for `cache.ttl`, every
/// `cache.profiles.<name>.ttl` in the file, as (profile name, its key).
fn shadowing(ctx: &Context, key: &str) -> Vec<(String, String)> {
    let Some(sub) = key
        .strip_prefix("cache.")
        .filter(|sub| !sub.starts_with("profiles"))
    else {
        return Vec::new();
    };
    let Some(Value::Object(profiles)) = ctx.config.get("cache.profiles") else {
        return Vec::new();
    };
    profiles
        .keys()
        .map(|name| (name.clone(), format!("cache.profiles.{name}.{sub}")))
        .filter(|(_, over)| ctx.config.get(over).is_some())
        .collect()
}

/// `config path`: where the file is.
pub(crate) fn path(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    let path = ctx.config.path().display().to_string();
    Ok(Report::message(
        json!({"path": path, "exists": ctx.config.exists()}),
        path,
    ))
}

/// `config validate`: checks the file and the `AWSIDEMAN_*` variables.
pub(crate) fn validate(ctx: &mut Context, _m: &Matches) -> Result<Report> {
    let mut warnings = ctx.config.validate()?;
    warnings.extend(ctx.config.permission_warning());
    config::cache_settings(
        &ctx.config,
        Some(&ctx.profile_name),
        &ctx.env,
        &ctx.config_dir,
    )?;
    config::network_settings(&ctx.config, &ctx.env)?;
    for profile in ctx.config.profiles()?.keys() {
        config::cache_settings(&ctx.config, Some(profile), &ctx.env, &ctx.config_dir)?;
    }
    let path = ctx.config.path().display().to_string();
    let mut text = format!("{path}: valid");
    for warning in &warnings {
        text.push_str(&format!("\nwarning: {warning}"));
    }
    Ok(Report::message(
        json!({"path": path, "valid": true, "warnings": warnings}),
        text,
    ))
}

/// A profile's settings as JSON, with AWS-style key names kept as in the file.
pub(crate) fn profile_json(profile: &config::ProfileConfig) -> Value {
    json!({
        "region": profile.region,
        "sso_instance_arn": profile.sso_instance_arn,
        "identity_store_id": profile.identity_store_id,
        "sso_instance_name": profile.sso_instance_name,
        "aws_profile": profile.aws_profile,
    })
}
