//! awsideman: a fast, cached command-line manager for AWS IAM Identity Center.
//!
//! Layers, top first; a module uses modules of its own layer or below, never above
//! (checked by a test that reads every file):
//!
//! 1. `cli`: the command table, parser, help, man page, completions, `cache warm`.
//! 2. `commands`: what each command asks and how it shapes the answer; `Context` wires a
//!    command to its client, cache and audit log.
//! 3. `client`: every AWS call, through the operation table and the cache.
//! 4. `cache`, `audit`, `rollback`: the response cache and its backends; the audit log; the
//!    rollback journal of every change made to AWS.
//! 5. `aws`: credentials, endpoints, signing, the transport, pagination.
//! 6. `config`: the configuration file and settings.
//! 7. `output`: printing reports as tables, JSON, text or CSV.
//! 8. Leaves: `fsutil`, `env`, `error`, `parallel`, `clock`, `printable`, `redact`, `rfc3339`,
//!    `suggest`, `document`.
//!
//! The binary (`main.rs`) sits on top and calls `cli` (through [`run`]); `testing`, beside
//! it, re-exports what the integration tests, fuzz targets and benches use.

mod audit;
mod aws;
mod cache;
mod cli;
mod client;
mod clock;
mod commands;
mod config;
mod document;
mod env;
mod error;
mod fsutil;
mod output;
mod parallel;
mod printable;
mod redact;
mod rfc3339;
mod rollback;
mod suggest;

pub use cli::entry::main as run;

#[doc(hidden)]
pub mod testing;

#[cfg(test)]
mod layers {
    use std::path::Path;

    /// The layers of the doc comment above, top first.
    const LAYERS: &[&[&str]] = &[
        &["testing"],
        &["cli"],
        &["commands"],
        &["client"],
        &["cache", "audit", "rollback"],
        &["aws"],
        &["config"],
        &["output"],
        &[
            "fsutil",
            "env",
            "error",
            "parallel",
            "clock",
            "printable",
            "redact",
            "rfc3339",
            "suggest",
            "document",
        ],
    ];

    fn layer_of(module: &str) -> Option<usize> {
        LAYERS.iter().position(|layer| layer.contains(&module))
    }

    /// The top-level modules named as `crate::NAME` in `code`, comments left out.
    fn crate_paths(code: &str) -> Vec<String> {
        let mut found = Vec::new();
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or("");
            let mut rest = line;
            while let Some(at) = rest.find("crate::") {
                let after = &rest[at + "crate::".len()..];
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let before_is_word = rest[..at]
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
                if !before_is_word && !name.is_empty() {
                    found.push(name);
                }
                rest = after;
            }
        }
        found
    }

    fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn no_module_uses_a_layer_above_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut all = Vec::new();
        files(&src, &mut all);
        let mut upward = Vec::new();
        let mut seen = 0;
        for path in all {
            let relative = path.strip_prefix(&src).expect("under src");
            let top = relative
                .components()
                .next()
                .and_then(|c| c.as_os_str().to_str())
                .map(|c| c.trim_end_matches(".rs").to_string())
                .expect("a name");
            if top == "lib" || top == "main" {
                continue;
            }
            let own = layer_of(&top)
                .unwrap_or_else(|| panic!("{top} is in no layer: add it to LAYERS and the docs"));
            let code = std::fs::read_to_string(&path).expect("read");
            for used in crate_paths(&code) {
                seen += 1;
                let theirs = layer_of(&used)
                    .unwrap_or_else(|| panic!("{}: crate::{used} is in no layer", path.display()));
                if theirs < own {
                    upward.push(format!("{} uses crate::{used}", relative.display()));
                }
            }
        }
        assert!(seen > 100, "the scan found only {seen} paths");
        assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
    }

    #[test]
    fn paths_are_found_in_code_not_comments() {
        let code = "use crate::cache::X;\n// crate::cli is a comment\nlet x = crate::aws::y(); \
                    notcrate::z";
        assert_eq!(crate_paths(code), ["cache", "aws"]);
    }
}
