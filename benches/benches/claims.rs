//! The scenarios behind `showcase --claims`, timed by criterion: the same functions
//! (`typool_examples::claims`), so the showcase's figures and these agree on what is measured.
//! `cargo bench --manifest-path benches/Cargo.toml --bench claims`

use criterion::{criterion_group, criterion_main, Criterion};
use typool_examples::claims;

fn bench(c: &mut Criterion) {
    let mut pairs = c.benchmark_group("claims/alloc_free_pair");
    pairs.bench_function("box_glibc", |b| b.iter(claims::box_pair_op));
    pairs.bench_function("pool_box", |b| b.iter(claims::pool_pair_op));
    pairs.finish();

    let mut held = Vec::with_capacity(1000);
    c.bench_function("claims/1000_allocations/pool_box", |b| {
        b.iter(|| {
            claims::thousand_allocations(&mut held);
            held.clear();
        })
    });

    // 8 threads on this machine's 2 cores: oversubscribed, as the claim's figure is.
    let mut threads = c.benchmark_group("claims/8_threads_10k_objects_each");
    threads.sample_size(20);
    threads.bench_function("pool_box", |b| b.iter(|| claims::pooled_round(8, 10_000)));
    let pool = claims::MutexPool::default();
    threads.bench_function("mutex_vec_box", |b| {
        b.iter(|| claims::mutex_round(&pool, 8, 10_000))
    });
    threads.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
