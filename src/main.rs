//! The awsideman binary.
//!
//! On Linux with glibc the process starts at a C `main` of its own rather than at std's
//! runtime start, which spends a tenth of a millisecond (a tenth of `awsideman --version`)
//! reading `/proc/self/maps` and mapping an alternate signal stack, only to say "stack
//! overflow" instead of "Segmentation fault" should the stack overflow (awsideman's
//! recursion is bounded). The rest of that start is done here as std does it: standard
//! descriptors that are closed are opened on `/dev/null` (so no file the command opens
//! becomes its stdout), and SIGPIPE is ignored (a closed pipe is an error that ends the
//! command quietly). glibc hands std the arguments and environment itself, so they read
//! as usual. Elsewhere (musl, macOS, Windows) std's start is used.

#![cfg_attr(all(target_os = "linux", target_env = "gnu"), no_main)]

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(awsideman::run())
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    open_closed_standard_descriptors();
    // SAFETY: setting a signal's disposition to "ignore" has no handler to run.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    libc::c_int::from(awsideman::run())
}

/// Opens `/dev/null` in place of each of stdin, stdout and stderr that is closed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn open_closed_standard_descriptors() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: poll reads and writes only the three pollfd we own.
    let polled = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) };
    for pollfd in fds {
        // Where poll itself failed, fcntl says whether the descriptor is open.
        let closed = if polled == -1 {
            // SAFETY: F_GETFD only reads the descriptor's flags.
            unsafe { libc::fcntl(pollfd.fd, libc::F_GETFD) == -1 }
        } else {
            pollfd.revents & libc::POLLNVAL != 0
        };
        // SAFETY: open takes a NUL-terminated path; the lowest free descriptor, the closed
        // one, is what it returns. A failure leaves it closed, as std would abort on.
        if closed && unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) } == -1 {
            std::process::abort();
        }
    }
}
