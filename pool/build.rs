//! One name for one build condition: `typool_checked` is set when the free lists are checked —
//! in every build with debug assertions, and in release builds with feature `hardened` (see
//! `src/engine/guard.rs`). The code says `#[cfg(typool_checked)]` instead of repeating the
//! condition.
//!
//! Debug assertions come from the profile (`CARGO_CFG_DEBUG_ASSERTIONS`) or from `RUSTFLAGS`
//! (`-C debug-assertions`, as the loom and fuzz builds pass them), the last word winning as it
//! does for rustc.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(typool_checked)");
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
}
