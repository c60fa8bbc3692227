//! A bounded `Pool<T>` shared by threads, against the model of `typool_tests::models::pool`:
//! allocations and frees on any thread, threads exiting, `trim` and `reserve`.

use proptest::prelude::*;
use typool_tests::models::pool::{run, Op};

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (any::<u8>(), any::<u32>()).prop_map(|(thread, value)| Op::Alloc { thread, value }),
        7 => (any::<u8>(), any::<usize>()).prop_map(|(thread, which)| Op::Free { thread, which }),
        1 => any::<u8>().prop_map(|thread| Op::Exit { thread }),
        1 => Just(Op::Trim),
        1 => any::<u8>().prop_map(Op::Reserve),
    ]
}

proptest! {
    // Each case starts three threads: fewer cases than the pure models, still >= 1,000.
    #![proptest_config(ProptestConfig::with_cases(typool_tests::proptest_cases()))]

    #[test]
    fn a_bounded_pool_across_threads_matches_its_model(ops in prop::collection::vec(op(), 1..150)) {
        run(&ops);
    }
}
