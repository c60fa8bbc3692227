//! `instructions` (see there) with mimalloc as the `#[global_allocator]`.

typool_benches::global_count!(mimalloc::MiMalloc, mimalloc::MiMalloc);
