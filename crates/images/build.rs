//! Compiles the pause program (`pause/main.rs`) into a static executable that the library embeds.
//!
//! The pause program is built with the same compiler and for the same target as this crate, but
//! as a separate, dependency-free binary: it must be small and fully static because it is the only
//! file of the pause image, and it needs `unsafe` for its signal handlers, which the library's lints
//! deny.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=pause/main.rs");
    let rustc = env::var("RUSTC").expect("cargo sets RUSTC for build scripts");
    let target = env::var("TARGET").expect("cargo sets TARGET for build scripts");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"))
        .join("pause");
    let status = Command::new(&rustc)
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "bin",
            "--crate-name",
            "pause",
        ])
        .args([
            "-C",
            "opt-level=s",
            "-C",
            "panic=abort",
            "-C",
            "strip=symbols",
        ])
        .args([
            "-C",
            "lto=fat",
            "-C",
            "codegen-units=1",
            "-C",
            "debuginfo=0",
        ])
        .args(["-C", "target-feature=+crt-static"])
        .args(["--target", &target, "-o"])
        .arg(&out)
        .arg("pause/main.rs")
        .status()
        .unwrap_or_else(|e| panic!("cannot run {rustc} to build the pause program: {e}"));
    assert!(
        status.success(),
        "{rustc} failed to build the pause program (pause/main.rs) for {target}: {status}"
    );
}
