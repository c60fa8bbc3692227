//! `instructions` (see there) with `TrackingAllocator<System>` as the `#[global_allocator]`.

typool_benches::global_count!(
    typool::TrackingAllocator<std::alloc::System>,
    typool::TrackingAllocator::new(std::alloc::System)
);
