//! The fuzz targets' bodies: decode the input into operations and replay them through a model
//! (`crate::models`), whose assertions are the oracle. `fuzz/fuzz_targets/*.rs` call these
//! under libFuzzer; `tests/fuzz_corpus.rs` calls them on every committed corpus file.

use crate::models::{self, ops_from_bytes};
use std::alloc::Layout;
use typool::{BuddyAllocator, PoolAlloc, SlabAllocator};

/// Operations one input may hold (longer inputs are cut).
const MAX_OPS: usize = 256;
/// The fuzzer's largest block: past the slab's classes (32 KiB) and a few buddy orders, small
/// enough that an input runs in milliseconds (the property tests go to 1 MiB).
const FUZZ_MAX_SIZE: usize = 64 * 1024;

/// Allocator operations with sizes brought under [`FUZZ_MAX_SIZE`].
fn allocator_ops(data: &[u8]) -> Vec<models::allocator::Op> {
    use models::allocator::Op;
    let mut ops: Vec<Op> = ops_from_bytes(data, MAX_OPS);
    for op in &mut ops {
        match op {
            Op::Alloc { size, .. } | Op::Realloc { size, .. } => *size %= FUZZ_MAX_SIZE + 1,
            Op::Free { .. } => {}
        }
    }
    ops
}

/// A target's body: replays one input, panicking where the model disagrees.
pub type Target = fn(&[u8]);

/// The targets by name, for the corpus replay.
pub const TARGETS: [(&str, Target); 5] = [
    ("pool", pool),
    ("arena", arena),
    ("slab", slab),
    ("buddy", buddy),
    ("stable_vector", stable_vector),
];

/// A bounded pool shared by three threads: allocations, frees across threads, thread exits,
/// `trim`, `reserve`.
pub fn pool(data: &[u8]) {
    models::pool::run(&ops_from_bytes(data, MAX_OPS));
}

/// The arena: allocations, values with drops, `Allocator` grow and shrink, checkpoints,
/// restores, resets — precisely modelled, then with stale restores.
pub fn arena(data: &[u8]) {
    let ops: Vec<models::arena::Op> = ops_from_bytes(data, MAX_OPS);
    models::arena::run(&ops, true);
    models::arena::run(&ops, false);
}

/// A fresh `SlabAllocator` through `Allocator`, with fitting sizes; `live_bytes` checked.
pub fn slab(data: &[u8]) {
    let ops = allocator_ops(data);
    let slab = SlabAllocator::new();
    models::allocator::replay(
        &slab,
        &ops,
        |_| false,
        Some(&|| slab.fragmentation().live_bytes),
    );
    assert_eq!(slab.fragmentation().live_bytes, 0);
}

/// A 1 MiB `BuddyAllocator` with fitting sizes: refusals only when no block fits, and
/// everything coalesced at the end.
pub fn buddy(data: &[u8]) {
    const CAPACITY: usize = 1 << 20;
    let ops = allocator_ops(data);
    let buddy = BuddyAllocator::with_capacity(CAPACITY);
    let refused = |l: Layout| {
        let block = l.size().max(l.align()).max(16).next_power_of_two();
        buddy.fragmentation().largest_free_block < block
    };
    models::allocator::replay(
        &buddy,
        &ops,
        refused,
        Some(&|| buddy.fragmentation().live_bytes),
    );
    let f = buddy.fragmentation();
    assert_eq!(
        (f.free_bytes, f.largest_free_block, f.live_bytes),
        (CAPACITY, CAPACITY, 0)
    );
}

/// `StableVector` in the global allocator and in pooled memory.
pub fn stable_vector(data: &[u8]) {
    let ops: Vec<models::stable_vector::Op> = ops_from_bytes(data, MAX_OPS);
    models::stable_vector::run::<allocator_api2::alloc::Global>(&ops);
    models::stable_vector::run::<PoolAlloc>(&ops);
}
