//! Internal package of the typool workspace; see its `examples/` targets. This library holds
//! what several examples share: the showcase's workload (`server`), its A/B harness (`ab`),
//! its plots (`plots`) and its claims (`claims`). The examples count global allocations with
//! typool's own `TrackingAllocator`.

pub mod ab;
pub mod claims;
pub mod plots;
pub mod server;

use std::path::PathBuf;

/// The path of example `name` as `cargo test` builds it, beside the calling test's binary
/// (for the tests that run an example as a user does). Panics with what to run if it is not
/// built: `cargo test --test X` alone builds no examples.
pub fn built_example(name: &str) -> PathBuf {
    let test = std::env::current_exe().expect("the test's own path");
    let profile = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = profile
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built: run `cargo test -p typool-examples` (or the workspace), which builds the examples",
        path.display()
    );
    path
}
