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

/// Proportional resident bytes of this process (`Pss` of `/proc/self/smaps_rollup`): each
/// physical page once, however many of the process's virtual pages map it. Plain RSS counts a
/// meshed page once per virtual page that maps it, so it cannot see meshing.
#[cfg(target_os = "linux")]
pub fn pss() -> usize {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap();
    let kib: usize = rollup
        .lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}
