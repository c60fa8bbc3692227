//! `StableVector` against the model of `typool_tests::models::stable_vector`, for the
//! `Global` and the pooled (`PoolAlloc`) allocator.

use proptest::prelude::*;
use typool_tests::models::stable_vector::{run, Op};

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => any::<u32>().prop_map(Op::Push),
        4 => (0usize..300).prop_map(Op::Remove),
        2 => (0usize..300).prop_map(Op::Get),
        1 => Just(Op::Iter),
        1 => prop_oneof![20 => Just(Op::Iter), 1 => Just(Op::Clear)],
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(typool_tests::proptest_cases()))]

    #[test]
    fn stable_vector_matches_the_model(ops in prop::collection::vec(op(), 1..400)) {
        run::<allocator_api2::alloc::Global>(&ops);
    }

    #[test]
    fn pooled_stable_vector_matches_the_model(ops in prop::collection::vec(op(), 1..400)) {
        run::<typool::PoolAlloc>(&ops);
    }
}
