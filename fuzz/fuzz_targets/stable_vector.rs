//! Fuzz target `stable_vector`: see `typool_tests::models::stable_vector` (its oracle) and `fuzz/README.md`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| typool_tests::fuzz::stable_vector(data));
