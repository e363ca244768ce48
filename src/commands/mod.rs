//! The commands: what to ask AWS and how to shape the answer. One file per command group.

/// Everything a command needs: settings, the cached client, output choices.
pub struct Context {}
