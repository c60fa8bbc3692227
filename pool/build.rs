//! One name for each build condition, so the code says `#[cfg(name)]` instead of repeating it:
//!
//! - `typool_checked`: the free lists are checked — in every build with debug assertions, and
//!   in release builds with feature `hardened` (see `src/engine/guard.rs`);
//! - `typool_memfd`: segments can live in memory files and pages be meshed (`src/os/mesh.rs`):
//!   Linux, outside Miri (no `memfd_create`), the `typool_asan` build (a mesh's copy reads
//!   free slots, which ASan poisons) and the loom models (no signal handlers or fork hooks).
//!
//! Debug assertions come from the profile (`CARGO_CFG_DEBUG_ASSERTIONS`) or from `RUSTFLAGS`
//! (`-C debug-assertions`, as the loom and fuzz builds pass them), the last word winning as it
//! does for rustc.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(typool_checked)");
    println!("cargo::rustc-check-cfg=cfg(typool_memfd)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    let mut debug = std::env::var_os("CARGO_CFG_DEBUG_ASSERTIONS").is_some();
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let mut args = flags.split('\x1f').peekable();
    while let Some(arg) = args.next() {
        let option = match arg.strip_prefix("-C") {
            Some("") => args.next().unwrap_or_default(),
            Some(rest) => rest,
            None => continue,
        };
        if let Some(value) = option.strip_prefix("debug-assertions") {
            debug = matches!(value, "" | "=on" | "=yes" | "=y" | "=true");
        }
    }
    let hardened = std::env::var_os("CARGO_FEATURE_HARDENED").is_some();
    if debug || hardened {
        println!("cargo::rustc-cfg=typool_checked");
    }
    // Cargo sets `CARGO_CFG_*` for the target's cfgs, `RUSTFLAGS`' `--cfg`s and Miri's among them.
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let stand_in = [
        "CARGO_CFG_MIRI",
        "CARGO_CFG_TYPOOL_ASAN",
        "CARGO_CFG_TYPOOL_LOOM",
    ]
    .iter()
    .any(|cfg| std::env::var_os(cfg).is_some());
    if linux && !stand_in {
        println!("cargo::rustc-cfg=typool_memfd");
    }
}
