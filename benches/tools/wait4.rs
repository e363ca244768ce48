//! `wait4 REPORT COMMAND [ARGS...]`: runs COMMAND (standard streams inherited), waits for
//! it, and writes `EXIT_STATUS WALL_NANOSECONDS PEAK_RSS_KB` to the file REPORT. Built by
//! benches/run.sh with rustc alone (no crate, not a cargo target) for benches/bench.py.
//!
//! Why a helper: Linux keeps a process's peak RSS across `execve`, so a command started
//! straight from the (large) Python benchmark would report at least Python's own RSS. Started
//! from this small process, its peak RSS is its own (or this helper's ~1 MB, if larger).
//! The wall time is taken here too, so it does not include this helper's start-up.

use std::ffi::OsString;
use std::process::{Command, ExitCode};
use std::time::Instant;

/// `struct timeval` on 64-bit Linux.
#[repr(C)]
#[allow(dead_code)] // only written by the kernel
struct Timeval {
    sec: i64,
    usec: i64,
}

/// `struct rusage` on 64-bit Linux: two timevals, then fourteen longs (ru_maxrss first).
#[repr(C)]
#[allow(dead_code)] // only ru_maxrss is read
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    maxrss: i64,
    rest: [i64; 13],
}

unsafe extern "C" {
    fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut Rusage) -> i32;
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: wait4 REPORT COMMAND [ARGS...]");
        return ExitCode::from(2);
    }
    let start = Instant::now();
    let child = match Command::new(&args[1]).args(&args[2..]).spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("wait4: cannot run {:?}: {e}", args[1]);
            return ExitCode::from(127);
        }
    };
    let pid = child.id() as i32;
    let mut status = 0;
    let mut usage = Rusage {
        utime: Timeval { sec: 0, usec: 0 },
        stime: Timeval { sec: 0, usec: 0 },
        maxrss: 0,
        rest: [0; 13],
    };
    loop {
        // SAFETY: `status` and `usage` are valid for writes and laid out as the C types.
        let reaped = unsafe { wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            eprintln!("wait4: {err}");
            return ExitCode::from(1);
        }
    }
    let elapsed = start.elapsed().as_nanos();
    // Exited: the status's second byte; killed by a signal: 128 + the signal, as a shell says.
    let code = if status & 0x7f == 0 {
        (status >> 8) & 0xff
    } else {
        128 + (status & 0x7f)
    };
    if let Err(e) = std::fs::write(&args[0], format!("{code} {elapsed} {}\n", usage.maxrss)) {
        eprintln!("wait4: cannot write {:?}: {e}", args[0]);
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
