//! The allocator mix (`src/mix.rs`) with mimalloc as the global allocator.

typool_benches::mix_main!(mimalloc::MiMalloc, mimalloc::MiMalloc);
