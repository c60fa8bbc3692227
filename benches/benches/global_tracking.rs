//! Scenarios A–D with `Box<Obj>` under `TrackingAllocator<System>` as the `#[global_allocator]`,
//! beside the limit: what counting costs over `System` alone (the `box` rows of `pools`).
//! `cargo bench --manifest-path benches/Cargo.toml --bench global_tracking`

typool_benches::global_bench!(
    "box_tracking",
    typool::TrackingAllocator<std::alloc::System>,
    typool::TrackingAllocator::new(std::alloc::System)
);
