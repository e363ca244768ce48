//! The `completion` group of the command table.

use crate::cli::complete;
use crate::cli::spec::{Access, Command, Group};

const fn shell(
    name: &'static str,
    about: &'static str,
    example: &'static [&'static str],
    run: crate::cli::spec::Runner,
) -> Command {
    Command {
        name,
        about,
        doc: "Prints the completion script on stdout (use --output text, or just redirect it; \
              the script is generated from the same table as the parser, so it always knows \
              every command and flag).",
        args: &[],
        flags: &[],
        examples: example,
        access: Access::Standalone,
        json: "{\"shell\", \"script\"}.",
        run,
    }
}

/// The `completion` group.
pub(crate) const GROUP: Group = Group {
    name: "completion",
    about: "Shell completion scripts",
    groups: &[],
    commands: &[
        shell(
            "bash",
            "Completion for bash",
            &["completion bash -o text > /etc/bash_completion.d/awsideman"],
            complete::run_bash,
        ),
        shell(
            "zsh",
            "Completion for zsh",
            &["completion zsh -o text > \"${fpath[1]}/_awsideman\""],
            complete::run_zsh,
        ),
        shell(
            "fish",
            "Completion for fish",
            &["completion fish -o text > ~/.config/fish/completions/awsideman.fish"],
            complete::run_fish,
        ),
    ],
};
