//! typool beside the alternatives and the limit, on a 64-byte object, with glibc malloc as the
//! global allocator: scenarios A–D (`typool_benches::scenarios`) for every contender.
//!
//! `cargo bench --manifest-path benches/Cargo.toml --bench pools` (add a filter such as `A_`
//! to run one scenario). This machine has 2 cores: 4 threads are oversubscribed.

use criterion::{criterion_group, criterion_main, Criterion};
use typool_benches::*;

fn all(c: &mut Criterion) {
    for name in CONTENDERS {
        for_contender!(name, register, c, name);
    }
}

criterion_group! {
    name = benches;
    config = criterion_config();
    targets = all
}
criterion_main!(benches);
