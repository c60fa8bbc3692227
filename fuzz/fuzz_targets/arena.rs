//! Fuzz target `arena`: see `typool_tests::models::arena` (its oracle) and `fuzz/README.md`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| typool_tests::fuzz::arena(data));
