//! Loom models: every lock-free or lock-ordered structure, explored interleaving by
//! interleaving, one file per structure.
//!
//! | file | what it models |
//! |---|---|
//! | `depot` | the depot's tagged stacks (`engine/depot.rs`): push/pop races and the ABA replay |
//! | `pool` | a whole pool: thread caches, depot transfers, segments, `trim`, thread exit |
//! | `lease` | the global arena list behind `#[arena_scope]` (`arena/lease.rs`) |
//! | `generic` | the instantiation list of a generic derived type (`typed/generic.rs`) |
//! | `buddy` | the buddy allocator's split and coalesce under its lock (`alloc/buddy.rs`) |
//! | `slab` | slab blocks freed on another thread while the fragmentation report reads |
//! | `shm` | the shared segment's ring of indices (`shm/ring.rs`): its free list and its message queue, claims racing, duplicates |
//!
//! The runtime's atomics, locks and thread-locals come from `sync.rs`, which hands out loom's
//! under `--cfg typool_loom`, so these models run the real code. Run them with
//! `RUSTFLAGS="--cfg typool_loom" cargo test -p typool --lib --release loom_`.
//! Every model counts its executions and asserts a floor, because loom can quietly explore a
//! single interleaving when a model has no real concurrency. Each floor is about half the
//! count the model explores today (loom is deterministic: the count moves only when the code
//! or the model does), so a change that collapses the exploration fails the model.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

mod buddy;
mod depot;
mod generic;
mod lease;
mod pool;
#[cfg(target_os = "linux")]
mod shm;
mod slab;

/// Runs `f` under loom with a small preemption bound; returns how many executions ran.
pub(crate) fn explore(f: impl Fn() + Sync + Send + 'static) -> usize {
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    // A `SlabAllocator` is 44 pools: reporting on it and dropping it take many steps.
    builder.max_branches = 50_000;
    builder.check(move || {
        counter.fetch_add(1, Relaxed);
        f();
    });
    let runs = runs.load(Relaxed);
    // libtest names each test's thread after the test: the line names the model.
    let model = std::thread::current()
        .name()
        .unwrap_or("a loom model")
        .to_owned();
    eprintln!("{model}: {runs} executions");
    runs
}
