//! Integration and stress tests of typool; they live in `tests/`. This library holds what
//! several of them share.

#[cfg(unix)]
pub mod fork;
pub mod fuzz;
pub mod models;
pub mod workloads;

/// Cases per property test: 1,000, or `TYPOOL_PROPTEST_CASES` (lower it under Miri, raise it
/// for a long run).
pub fn proptest_cases() -> u32 {
    std::env::var("TYPOOL_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
}
