//! Scenarios A–D with `Box<Obj>` under typool's `SlabAllocator` as the `#[global_allocator]`,
//! beside the limit. `cargo bench --manifest-path benches/Cargo.toml --bench global_slab`

typool_benches::global_bench!(
    "box_slab",
    typool::SlabAllocator,
    typool::SlabAllocator::new()
);
