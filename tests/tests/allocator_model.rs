//! `SlabAllocator`, `BuddyAllocator` and `PoolAlloc` against the model of
//! `typool_tests::models::allocator`: random allocations, reallocations (grow and shrink,
//! from any fitting size) and frees (with any fitting size), sizes 0..=1 MiB, alignments
//! 1..=4096. A buddy that refuses must really have no block that fits; the fragmentation
//! reports must account for the live bytes.

use proptest::prelude::*;
use std::alloc::Layout;
use typool::{BuddyAllocator, PoolAlloc, SlabAllocator};
use typool_tests::models::allocator::{replay, Op};

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 0usize..=64, 3 => 0usize..=4096, 2 => 0usize..=40_000, 1 => 0usize..=1 << 20]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (size(), 0u32..=12).prop_map(|(size, align_log2)| Op::Alloc { size, align_log2 }),
        3 => (any::<usize>(), size(), prop_oneof![3 => Just(0), 1 => any::<usize>()])
            .prop_map(|(which, size, slack)| Op::Realloc { which, size, slack }),
        3 => (any::<usize>(), prop_oneof![3 => Just(0), 1 => any::<usize>()])
            .prop_map(|(which, slack)| Op::Free { which, slack }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(typool_tests::proptest_cases()))]

    #[test]
    fn slab_allocator_keeps_blocks_apart_and_intact(ops in prop::collection::vec(op(), 1..120)) {
        let slab = SlabAllocator::new();
        replay(&slab, &ops, |_| false, Some(&|| slab.fragmentation().live_bytes));
        prop_assert_eq!(slab.fragmentation().live_bytes, 0);
    }

    #[test]
    fn buddy_allocator_keeps_blocks_apart_and_refuses_only_when_full(
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let buddy = BuddyAllocator::with_capacity(4 << 20);
        let refused = |l: Layout| {
            let block = l.size().max(l.align()).max(16).next_power_of_two();
            buddy.fragmentation().largest_free_block < block
        };
        replay(&buddy, &ops, refused, Some(&|| buddy.fragmentation().live_bytes));
        let f = buddy.fragmentation();
        prop_assert_eq!((f.free_bytes, f.largest_free_block), (4 << 20, 4 << 20), "everything coalesced");
        prop_assert_eq!(f.live_bytes, 0);
    }

    #[test]
    fn pool_alloc_keeps_blocks_apart_and_intact(ops in prop::collection::vec(op(), 1..60)) {
        // The process-wide slab is shared with other tests in this binary: check blocks only.
        replay(PoolAlloc, &ops, |_| false, None);
    }
}
