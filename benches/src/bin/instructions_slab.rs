//! `instructions` (see there) with typool's `SlabAllocator` as the `#[global_allocator]`.

typool_benches::global_count!(typool::SlabAllocator, typool::SlabAllocator::new());
