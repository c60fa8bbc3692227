//! Fuzz target `slab`: see `typool_tests::models::slab` (its oracle) and `fuzz/README.md`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| typool_tests::fuzz::slab(data));
