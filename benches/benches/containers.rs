//! `StableVector` (typool, pooled) beside `Vec`, `slab::Slab` and `stable_vec::StableVec`:
//! push 10,000, iterate them, remove every other one; and `PooledVec` beside `Vec`: push
//! 1 to 1,000,000 `u64`s into a fresh vector.
//!
//! `cargo bench -p typool-benches --bench containers`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use typool::{PoolAlloc, PooledVec};

const N: u64 = 10_000;

macro_rules! store_bench {
    ($g:expr, $name:literal, $new:expr, |$s:ident, $x:ident| $push:expr, |$s2:ident| $sum:expr, |$s3:ident, $i:ident| $remove:expr) => {{
        $g.bench_function(BenchmarkId::new("push", $name), |b| {
            b.iter(|| {
                let mut $s = $new;
                for $x in 0..N {
                    black_box($push);
                }
                $s
            })
        });
        let mut full = $new;
        {
            let $s = &mut full;
            for $x in 0..N {
                black_box($push);
            }
        }
        $g.bench_function(BenchmarkId::new("iterate", $name), |b| {
            let $s2 = &full;
            b.iter(|| black_box($sum))
        });
        $g.bench_function(BenchmarkId::new("remove_half", $name), |b| {
            b.iter_batched_ref(
                || {
                    let mut $s = $new;
                    for $x in 0..N {
                        black_box($push);
                    }
                    $s
                },
                |$s3| {
                    for $i in (0..N as usize).step_by(2) {
                        black_box($remove);
                    }
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }};
}

fn stable(c: &mut Criterion) {
    let mut g = c.benchmark_group("stable_vector_10k");
    store_bench!(
        g,
        "typool_stable_vector",
        typool::StableVector::<u64>::new(),
        |s, x| s.push(x),
        |s| s.iter().sum::<u64>(),
        |s, i| s.remove(i)
    );
    store_bench!(
        g,
        "vec",
        Vec::<u64>::new(),
        |s, x| s.push(x),
        |s| s.iter().sum::<u64>(),
        |s, i| s.swap_remove(i.min(s.len() - 1))
    );
    store_bench!(
        g,
        "slab",
        slab::Slab::<u64>::new(),
        |s, x| s.insert(x),
        |s| s.iter().map(|(_, v)| *v).sum::<u64>(),
        |s, i| s.try_remove(i)
    );
    store_bench!(
        g,
        "stable_vec",
        stable_vec::StableVec::<u64>::new(),
        |s, x| s.push(x),
        |s| s.values().sum::<u64>(),
        |s, i| s.remove(i)
    );
    g.finish();
}

fn pooled_vec(c: &mut Criterion) {
    let mut g = c.benchmark_group("vec_push");
    for n in [1u64, 100, 10_000, 1_000_000] {
        g.bench_with_input(BenchmarkId::new("pooled_vec", n), &n, |b, &n| {
            b.iter(|| {
                let mut v = PooledVec::new_in(PoolAlloc);
                for i in 0..n {
                    v.push(i);
                }
                v
            })
        });
        g.bench_with_input(BenchmarkId::new("vec", n), &n, |b, &n| {
            b.iter(|| {
                let mut v = Vec::new();
                for i in 0..n {
                    v.push(i);
                }
                v
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = typool_benches::criterion_config().measurement_time(std::time::Duration::from_secs(1)).sample_size(20);
    targets = stable, pooled_vec
}
criterion_main!(benches);
