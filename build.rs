//! Links the awsideman binary on Linux with glibc as a position-dependent executable.
//!
//! As a position-independent one it carries about 7,600 relative relocations (vtables,
//! string tables, panic locations) that the loader applies at every start, copying some
//! 40 pages to do so: about a fifth of the millisecond `awsideman --version` takes. The
//! code is still compiled position-independent (the flag reaches the final link of the
//! binaries only, so proc macros and build scripts are untouched); the link fixes the
//! image's address, as Go links its Linux binaries. Shared libraries, heap, stack and
//! mappings stay randomised. The static binaries get the same from `.cargo/config.toml`.

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if target_os == "linux" && target_env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
