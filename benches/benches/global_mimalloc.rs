//! Scenarios A–D with `Box<Obj>` under mimalloc as the `#[global_allocator]`, beside the limit.
//! `cargo bench --manifest-path benches/Cargo.toml --bench global_mimalloc`

typool_benches::global_bench!("box_mimalloc", mimalloc::MiMalloc, mimalloc::MiMalloc);
