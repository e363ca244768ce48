//! Links the awsideman binary on Linux with glibc for a fast start: position-dependent, and
//! with the unwinder inside it rather than in `libgcc_s.so.1`.
//!
//! As a position-independent executable it carries about 7,600 relative relocations
//! (vtables, string tables, panic locations) that the loader applies at every start, copying
//! some 40 pages to do so: about a fifth of the millisecond `awsideman --version` takes. The
//! code is still compiled position-independent (the flag reaches the final link of the
//! binaries only, so proc macros and build scripts are untouched); the link fixes the
//! image's address, as Go links its Linux binaries. Shared libraries, heap, stack and
//! mappings stay randomised. The static binaries get the same from `.cargo/config.toml`.
//!
//! std's unwinder (used for panic backtraces only: release builds abort on panic) asks for
//! `libgcc_s.so.1`, a second shared library for the loader to find, map, relocate and
//! search for every symbol at each start. Where the C toolchain has the static unwinder
//! `libgcc_eh.a`, the link is pointed at a one-line linker script named `libgcc_s.so` that
//! stands for it, which is what `gcc -static-libgcc` does for C programs; the binary then
//! needs only glibc. Elsewhere the link is left as std makes it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if target_os == "linux" && target_env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
        if let Some(dir) = static_unwinder_dir() {
            println!("cargo:rustc-link-arg-bins=-L{}", dir.display());
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
}

/// A directory holding a `libgcc_s.so` linker script that links `libgcc_eh.a` instead, or
/// `None` when the linker for the target has no `libgcc_eh.a` (or is not known).
fn static_unwinder_dir() -> Option<PathBuf> {
    let linker = match std::env::var("RUSTC_LINKER") {
        Ok(linker) => linker,
        // Without a configured linker rustc links with `cc`, which is the host's compiler:
        // its libgcc_eh.a is right only when the host is the target.
        Err(_) if std::env::var("HOST").ok() == std::env::var("TARGET").ok() => "cc".into(),
        Err(_) => return None,
    };
    let found = Command::new(linker)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()?;
    let path = String::from_utf8(found.stdout).ok()?;
    // A compiler that does not know the file prints its bare name back.
    if !found.status.success() || !Path::new(path.trim()).is_absolute() {
        return None;
    }
    let dir = PathBuf::from(std::env::var_os("OUT_DIR")?).join("static-unwinder");
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::write(dir.join("libgcc_s.so"), "INPUT ( -lgcc_eh )\n").ok()?;
    Some(dir)
}
