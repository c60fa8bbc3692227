//! Scenarios A and B with `Box<Obj>` under glibc malloc (`std::alloc::System`) as the `#[global_allocator]`.
//! `cargo bench -p typool-benches --bench global_glibc --bench global_mimalloc --bench global_slab`
//! runs all three in one go.

typool_benches::global_bench!("glibc", std::alloc::System, std::alloc::System);
