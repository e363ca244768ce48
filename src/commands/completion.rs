//! `completion bash|zsh|fish`: shell completion scripts, generated from the command table.

use serde_json::json;

use super::Context;
use crate::cli::complete;
use crate::cli::matches::Matches;
use crate::cli::table::GROUPS;
use crate::error::Result;
use crate::output::Report;

fn script(shell: &str) -> Result<Report> {
    let text = complete::render(GROUPS, shell)?;
    Ok(Report::message(
        json!({"shell": shell, "script": text}),
        text.trim_end(),
    ))
}

/// `completion bash`.
pub fn bash(_ctx: &mut Context, _m: &Matches) -> Result<Report> {
    script("bash")
}

/// `completion zsh`.
pub fn zsh(_ctx: &mut Context, _m: &Matches) -> Result<Report> {
    script("zsh")
}

/// `completion fish`.
pub fn fish(_ctx: &mut Context, _m: &Matches) -> Result<Report> {
    script("fish")
}
