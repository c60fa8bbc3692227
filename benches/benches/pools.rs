//! typool beside the alternatives, on a 64-byte object. Scenarios:
//! A — alloc then free, repeated; B — 1000 allocs then 1000 frees; C — the same pool used
//! from 1, 2, 4, 8 threads (B's pattern in rounds of 100); D — one thread allocates, another
//! frees, handles passed through a channel in batches of 64.
//!
//! `cargo bench -p typool-benches --bench pools` (add a filter such as `A/` to run one).
//! This machine has 2 cores: 4 and 8 threads are oversubscribed.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::sync::{mpsc, Barrier};
use std::time::{Duration, Instant};
use typool_benches::*;

fn scenario_a<C: Contender>(c: &mut Criterion) {
    let pool = C::leaked();
    let mut g = c.benchmark_group("A_alloc_free");
    g.throughput(Throughput::Elements(1));
    g.bench_function(C::NAME, |b| b.iter(|| pairs(pool, 1)));
    g.finish();
}

fn scenario_b<C: Contender>(c: &mut Criterion) {
    let pool = C::leaked();
    let mut g = c.benchmark_group("B_1000_then_free");
    g.throughput(Throughput::Elements(1000));
    let mut held = Vec::with_capacity(1000);
    g.bench_function(C::NAME, |b| {
        b.iter(|| {
            for i in 0..1000 {
                held.push(pool.alloc(Obj::new(i)));
            }
            black_box(&held);
            held.clear();
        })
    });
    g.finish();
}

/// `threads` threads each run `iters` rounds of 100 allocs then 100 frees on one pool;
/// returns the wall time of the slowest, so the figure is time per round per thread.
fn rounds_on_threads<C: Contender>(pool: &'static C, threads: usize, iters: u64) -> Duration {
    let start = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let start = &start;
                s.spawn(move || {
                    let mut held = Vec::with_capacity(100);
                    start.wait();
                    let t = Instant::now();
                    for r in 0..iters {
                        for i in 0..100 {
                            held.push(pool.alloc(Obj::new(r + i)));
                        }
                        black_box(&held);
                        held.clear();
                    }
                    t.elapsed()
                })
            })
            .collect();
        start.wait();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .max()
            .unwrap()
    })
}

fn scenario_c<C: Contender>(c: &mut Criterion) {
    let pool = C::leaked();
    let mut g = c.benchmark_group("C_threads");
    g.throughput(Throughput::Elements(100));
    for threads in [1, 2, 4, 8] {
        g.bench_with_input(BenchmarkId::new(C::NAME, threads), &threads, |b, &t| {
            b.iter_custom(|iters| rounds_on_threads(pool, t, iters))
        });
    }
    g.finish();
}

/// One producer allocates `n` objects and sends them in batches of 64; a consumer frees them.
fn producer_consumer<C: Contender>(pool: &'static C, n: u64) -> Duration {
    let (tx, rx) = mpsc::sync_channel::<Vec<C::Handle>>(16);
    let t = Instant::now();
    std::thread::scope(|s| {
        s.spawn(move || {
            for batch in rx {
                drop(black_box(batch));
            }
        });
        let mut batch = Vec::with_capacity(64);
        for i in 0..n {
            batch.push(pool.alloc(Obj::new(i)));
            if batch.len() == 64 {
                tx.send(std::mem::replace(&mut batch, Vec::with_capacity(64)))
                    .unwrap();
            }
        }
        tx.send(batch).unwrap();
        drop(tx);
    });
    t.elapsed()
}

fn scenario_d<C: Contender>(c: &mut Criterion) {
    let pool = C::leaked();
    let mut g = c.benchmark_group("D_cross_thread");
    g.throughput(Throughput::Elements(1));
    g.bench_function(C::NAME, |b| {
        b.iter_custom(|iters| producer_consumer(pool, iters.max(64)))
    });
    g.finish();
}

fn all<C: Contender>(c: &mut Criterion) {
    scenario_a::<C>(c);
    scenario_b::<C>(c);
    scenario_c::<C>(c);
    scenario_d::<C>(c);
}

fn suite(c: &mut Criterion) {
    for name in CONTENDERS {
        for_contender!(name, all, c);
    }
}

criterion_group! {
    name = benches;
    config = typool_benches::criterion_config();
    targets = suite
}
criterion_main!(benches);
