//! Pointer chasing across 1 GiB of `Box`ed 64-byte objects with
//! `SlabAllocator::with_backing(Backing::HugePages)` as the `#[global_allocator]` (see
//! `src/chase.rs`; `chase_global_slab` and `chase_global_slab_huge` are the pair).
//! `cargo bench --manifest-path benches/Cargo.toml --bench chase_global_slab_huge`

typool_benches::chase_global_slab!(typool::Backing::HugePages, "huge_pages");
