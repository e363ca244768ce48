//! The process entry: parse the command line, run the command, print its report, and map
//! the outcome to an exit code.

use std::io::{IsTerminal, Write};

use super::parse::{self, Parsed};
use super::spec::Access;
use super::table::GROUPS;
use crate::commands::Context;
use crate::env::Env;
use crate::error::{Error, Kind, Result};
use crate::output;

/// Runs awsideman with the process's arguments and environment: parse, run, print, and
/// map the outcome to an exit status (0, 1, 2 or 3; see [`Error::exit_code`]).
pub fn main() -> u8 {
    match run() {
        Ok(()) => 0,
        Err(e) => {
            let shown = crate::printable::message(&e.to_string(), crate::printable::MAX_MESSAGE)
                .into_owned();
            // Differences found (exit 3) and a declined confirmation (exit 0) are answers,
            // not failures.
            let label = if matches!(e.kind(), Kind::Differences | Kind::Declined) {
                ""
            } else {
                "error: "
            };
            let _ = writeln!(std::io::stderr(), "awsideman: {label}{shown}");
            e.exit_code() as u8
        }
    }
}

fn run() -> Result<()> {
    let parsed = parse::parse(GROUPS, std::env::args_os().skip(1))?;
    let (command, globals, matches, groups) = match parsed {
        Parsed::Help(text) => return print(&text),
        Parsed::Version => return print(&format!("awsideman {}\n", env!("CARGO_PKG_VERSION"))),
        Parsed::Run {
            groups,
            command,
            globals,
            matches,
        } => (command, globals, matches, groups),
    };
    let env = Env::capture();
    let stdout_is_terminal = std::io::stdout().is_terminal();
    let terminal = output::Terminal {
        on_terminal: stdout_is_terminal,
        no_header: globals.no_header,
        local_time: globals.local_time,
        color: stdout_is_terminal && env.get("NO_COLOR").is_none(),
        pretty_json: stdout_is_terminal,
        width: if stdout_is_terminal && !globals.wide {
            terminal_width(&env)
        } else {
            None
        },
    };
    let mut ctx = if command.access == Access::Standalone {
        Context::standalone(env, globals)?
    } else {
        Context::new(env, globals)?
    };
    let ran = (command.run)(&mut ctx, &matches);
    // Whatever the command changed is journalled, also when it failed part-way.
    ctx.journal_changes(&format!(
        "{} {}",
        super::spec::path_words(&groups),
        command.name
    ));
    let report = ran?;
    let mut report = report;
    let failure = report.failure.take();
    write_report(&report, ctx.output, terminal)?;
    // A table says "no users" itself; text and csv keep their form and say it on stderr.
    if stdout_is_terminal
        && !ctx.globals.quiet
        && matches!(
            ctx.output,
            output::OutputFormat::Text | output::OutputFormat::Csv
        )
        && let Some(noun) = output::empty_list(&report)
    {
        let _ = writeln!(std::io::stderr(), "awsideman: no {noun}");
    }
    ctx.finish();
    // The process ends here: let the OS reclaim a large answer instead of freeing it piece
    // by piece (measurably faster for big cached lists).
    std::mem::forget(report);
    failure.map_or(Ok(()), Err)
}

/// The terminal's width in columns: `COLUMNS`, else what the terminal on stdout says.
fn terminal_width(env: &Env) -> Option<usize> {
    if let Some(columns) = env
        .get("COLUMNS")
        .and_then(|c| c.trim().parse::<usize>().ok())
    {
        return Some(columns).filter(|c| *c > 0);
    }
    #[cfg(unix)]
    {
        let mut size = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ fills the winsize we own; stdout is an open descriptor.
        let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
        if ok && size.ws_col > 0 {
            return Some(usize::from(size.ws_col));
        }
    }
    None
}

/// Writes a report to stdout; a closed pipe (`awsideman user list | head -1`) ends the
/// process quietly.
fn write_report(
    report: &output::Report,
    format: output::OutputFormat,
    terminal: output::Terminal,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match output::write(report, format, terminal, &mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => other.map_err(|e| Error::runtime(format!("writing output: {e}"))),
    }
}

/// Writes `text` to stdout, as [`write_report`] does.
fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => other.map_err(|e| Error::runtime(format!("writing output: {e}"))),
    }
}
