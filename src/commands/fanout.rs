//! Bounded parallelism for fan-outs (many independent AWS requests) and their progress line.
//!
//! Requests still go through the one transport, so the Identity Center rate limit holds
//! however many workers run.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Workers used for fan-outs: enough to keep ~20 requests/s in flight at AWS latencies.
pub const WORKERS: usize = 8;

/// Runs `f` over `items` on at most `workers` threads and returns the results in order.
pub fn parallel<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if items.len() <= 1 || workers <= 1 {
        return items.iter().map(&f).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.min(items.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let result = f(item);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every item is processed once"))
        .collect()
}

/// One line of status on stderr, rewritten in place, shown only when stderr is a terminal
/// (and cleared when dropped).
pub struct StatusLine {
    visible: bool,
}

impl StatusLine {
    /// A status line; `quiet` hides it.
    pub fn new(quiet: bool) -> StatusLine {
        StatusLine {
            visible: !quiet && std::io::stderr().is_terminal(),
        }
    }

    /// Replaces the line's text.
    pub fn show(&self, text: &str) {
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
pub struct Progress {
    label: String,
    total: usize,
    done: AtomicUsize,
    line: StatusLine,
}

impl Progress {
    /// A counter for `total` steps; `quiet` hides it.
    pub fn new(label: impl Into<String>, total: usize, quiet: bool) -> Progress {
        Progress {
            label: label.into(),
            total,
            done: AtomicUsize::new(0),
            line: StatusLine::new(quiet),
        }
    }

    /// Counts one step done.
    pub fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        self.line
            .show(&format!("{} {done}/{}", self.label, self.total));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_runs_everything() {
        let items: Vec<u32> = (0..100).collect();
        let out = parallel(&items, 8, |i| i * 2);
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn runs_concurrently() {
        let items: Vec<u32> = (0..8).collect();
        let started = std::time::Instant::now();
        parallel(&items, 8, |_| {
            std::thread::sleep(std::time::Duration::from_millis(100))
        });
        assert!(started.elapsed() < std::time::Duration::from_millis(700));
    }
}
