//! Fuzz target `pool`: see `typool_tests::models::pool` (its oracle) and `fuzz/README.md`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| typool_tests::fuzz::pool(data));
