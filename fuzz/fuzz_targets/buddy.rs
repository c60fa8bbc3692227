//! Fuzz target `buddy`: see `typool_tests::models::buddy` (its oracle) and `fuzz/README.md`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| typool_tests::fuzz::buddy(data));
