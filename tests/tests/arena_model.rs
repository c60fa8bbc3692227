//! `Arena` against the model of `typool_tests::models::arena`: random sequences of
//! allocations (sizes 0..=64 KiB, alignments 1..=4096), byte slices, counted values,
//! `Allocator` grow and shrink, checkpoints, restores (including stale ones) and resets.

use proptest::prelude::*;
use typool_tests::models::arena::{run, Op};

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![0usize..=64, 0usize..=4096, 0usize..=65536]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (size(), 0u32..=12).prop_map(|(size, align_log2)| Op::Alloc { size, align_log2 }),
        3 => size().prop_map(|size| Op::Bytes { size }),
        2 => Just(Op::Value),
        2 => (any::<usize>(), size()).prop_map(|(which, size)| Op::Realloc { which, size }),
        2 => Just(Op::Checkpoint),
        2 => any::<usize>().prop_map(Op::Restore),
        1 => Just(Op::Reset),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(typool_tests::proptest_cases()))]
    #[test]
    fn arena_matches_its_model(ops in prop::collection::vec(op(), 1..60)) {
        run(&ops, true);
    }

    /// Restores to any checkpoint taken since the last reset, stale ones included: the live
    /// allocations (those made before the checkpoint) must stay intact.
    #[test]
    fn stale_restores_corrupt_nothing(ops in prop::collection::vec(op(), 1..60)) {
        run(&ops, false);
    }
}
