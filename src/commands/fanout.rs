//! Bounded parallelism for fan-outs (many independent AWS requests) and their progress line.
//!
//! Requests still go through the one transport, so the Identity Center rate limit holds
//! however many workers run.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) use crate::parallel::{WORKERS, parallel};

/// One line of status on stderr, rewritten in place, shown only when stderr is a terminal
/// (and cleared when dropped).
pub(crate) struct StatusLine {
    visible: bool,
}

impl StatusLine {
    /// A status line; `quiet` hides it.
    pub(crate) fn new(quiet: bool) -> StatusLine {
        StatusLine {
            visible: !quiet && std::io::stderr().is_terminal(),
        }
    }

    /// Replaces the line's text.
    pub(crate) fn show(&self, text: &str) {
        if self.visible {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{text}");
            let _ = err.flush();
        }
    }
}

impl Drop for StatusLine {
    fn drop(&mut self) {
        self.show("");
    }
}

/// A one-line progress counter on stderr, shown only when stderr is a terminal.
pub(crate) struct Progress {
    label: String,
    total: usize,
    done: AtomicUsize,
    line: StatusLine,
}

impl Progress {
    /// A counter for `total` steps; `quiet` hides it.
    pub(crate) fn new(label: impl Into<String>, total: usize, quiet: bool) -> Progress {
        Progress {
            label: label.into(),
            total,
            done: AtomicUsize::new(0),
            line: StatusLine::new(quiet),
        }
    }

    /// Counts one step done.
    pub(crate) fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        self.line
            .show(&format!("{} {done}/{}", self.label, self.total));
    }
}
