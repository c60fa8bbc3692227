//! `fork` while other threads use typool (issue 20): 200 children, each of which allocates,
//! frees, trims and reads the stats, must all exit 0 within 10 s. Before the fork gate
//! (`pool/src/sync/fork.rs`) 22 of 30 children hung on a lock held by a thread that did not
//! exist in them. `fork_slab_global.rs` runs the same with the slab as the global allocator.
#![cfg(unix)]

#[test]
fn children_forked_beside_churning_threads_never_hang() {
    typool_tests::fork::assert_children_never_hang();
}
