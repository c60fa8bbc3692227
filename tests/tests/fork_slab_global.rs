//! `fork.rs` with a `SlabAllocator` as the global allocator: every allocation of the program,
//! std's and the test harness's included, goes through typool's locks.
#![cfg(unix)]

use typool::SlabAllocator;

#[global_allocator]
static GLOBAL: SlabAllocator = SlabAllocator::new();

#[test]
fn children_forked_beside_churning_threads_never_hang() {
    typool_tests::fork::assert_children_never_hang();
    assert!(GLOBAL.fragmentation().live_bytes > 0);
}
