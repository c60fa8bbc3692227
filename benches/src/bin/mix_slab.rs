//! The allocator mix (`src/mix.rs`) with typool's `SlabAllocator` as the global allocator.

typool_benches::mix_main!(typool::SlabAllocator, typool::SlabAllocator::new());
