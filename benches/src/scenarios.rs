//! The four scenarios, written once for every [`Contender`], and the two front ends that run
//! them: criterion ([`register`]) and the instruction counter ([`count_main`]).
//!
//! | scenario | what one unit is |
//! |---|---|
//! | A | one alloc, then its free (`pairs`) |
//! | B | 1000 allocs held, then 1000 frees (`burst`) |
//! | C | `t` threads on one pool, each doing rounds of 100 allocs then 100 frees (`rounds_on_threads`) |
//! | D | one thread allocates, another frees, handles sent in batches of 64 (`producer_consumer`) |

use crate::contenders::{Contender, Obj};
use criterion::{BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::sync::{mpsc, Barrier};
use std::time::{Duration, Instant};

/// Thread counts of scenario C. This machine has 2 cores: 4 threads are oversubscribed.
pub const THREADS: [usize; 3] = [1, 2, 4];

/// Scenario A: `n` alloc+free pairs.
#[inline(never)]
pub fn pairs<C: Contender>(c: &'static C, n: u64) {
    for i in 0..n {
        let h = c.alloc(Obj::new(i));
        black_box(&h);
        drop(h);
    }
}

/// Scenario B: `rounds` times, 1000 allocations held in `held`, then all freed.
#[inline(never)]
pub fn burst<C: Contender>(c: &'static C, held: &mut Vec<C::Handle>, rounds: u64) {
    for r in 0..rounds {
        for i in 0..1000 {
            held.push(c.alloc(Obj::new(r + i)));
        }
        black_box(&*held);
        held.clear();
    }
}

/// Scenario C: `threads` threads each run `iters` rounds of 100 allocs then 100 frees on one
/// pool; returns the wall time of the slowest, so the figure is time per round per thread.
pub fn rounds_on_threads<C: Contender>(pool: &'static C, threads: usize, iters: u64) -> Duration {
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

/// Scenario D: one producer allocates `n` objects and sends them in batches of 64; a consumer
/// frees them.
pub fn producer_consumer<C: Contender>(pool: &'static C, n: u64) -> Duration {
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

/// Registers scenarios A–D of `C` under the label `label` (scenario D is skipped for the
/// limit, whose slots would pile up on the freeing thread without bound).
pub fn register<C: Contender>(c: &mut Criterion, label: &str) {
    let pool = C::leaked();
    let mut g = c.benchmark_group("A_alloc_free");
    g.throughput(Throughput::Elements(1));
    g.bench_function(label, |b| b.iter(|| pairs(pool, 1)));
    g.finish();

    let mut g = c.benchmark_group("B_1000_then_free");
    g.throughput(Throughput::Elements(1000));
    let mut held = Vec::with_capacity(1000);
    g.bench_function(label, |b| b.iter(|| burst(pool, &mut held, 1)));
    g.finish();

    let mut g = c.benchmark_group("C_threads");
    g.throughput(Throughput::Elements(100));
    for threads in THREADS {
        g.bench_with_input(BenchmarkId::new(label, threads), &threads, |b, &t| {
            b.iter_custom(|iters| rounds_on_threads(pool, t, iters))
        });
    }
    g.finish();

    if C::NAME != "limit" {
        let mut g = c.benchmark_group("D_cross_thread");
        g.throughput(Throughput::Elements(1));
        g.bench_function(label, |b| {
            b.iter_custom(|iters| producer_consumer(pool, iters.max(64)))
        });
        g.finish();
    }
}

/// The criterion settings every suite here uses: short warm-up, 2 s of measurement, 30
/// samples — enough for stable medians of these sub-microsecond loops, short enough that the
/// whole suite runs in minutes on 2 cores.
pub fn criterion_config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

/// Other places a user's program allocates an `Obj`, as real programs do: with them, the
/// allocation functions have several callers, and the compiler inlines them (or not) as it
/// would in a user's crate — with one caller it always inlines, which flatters every contender.
#[inline(never)]
fn other_call_sites(seed: u64) -> usize {
    use typool::{Pool, PoolBox};
    static OTHER: Pool<Obj> = Pool::new();
    let a = PoolBox::new(Obj::new(seed + 1));
    let b = PoolBox::try_new(Obj::new(seed + 2)).ok();
    let c = OTHER.alloc(Obj::new(seed + 3));
    let d = OTHER.try_alloc(Obj::new(seed + 4)).ok();
    let e = Box::new(Obj::new(seed + 5));
    black_box((a, b, c, d, e));
    1
}

fn count<C: Contender>(scenario: &str, n: u64) {
    if black_box(n == u64::MAX) {
        other_call_sites(n);
    }
    let pool = C::leaked();
    let mut held = Vec::with_capacity(1000);
    // Warm up both paths (first segment, first cache refills), so only steady state differs
    // between two runs of different `n`.
    pairs(pool, 1000);
    burst(pool, &mut held, 2);
    match scenario {
        "A" => pairs(pool, n),
        "B" => burst(pool, &mut held, n / 1000),
        other => panic!("unknown scenario {other} (A or B)"),
    }
}

/// `main` of an instruction-counting binary: `BIN CONTENDER A|B N` runs `N` objects of scenario
/// A or B; `benches/instructions.sh` runs it under callgrind at two `N` and takes the
/// difference, so start-up and warm-up cancel out. Both scenarios are compiled into every
/// binary, so each contender's `alloc` has more than one caller, as in a user's program.
pub fn count_main() {
    let usage = "usage: instructions CONTENDER A|B N";
    let mut args = std::env::args().skip(1);
    let name = args.next().expect(usage);
    let scenario = args.next().expect(usage);
    let n: u64 = args.next().and_then(|s| s.parse().ok()).expect(usage);
    crate::for_contender!(name.as_str(), count, &scenario, n)
        .unwrap_or_else(|| panic!("unknown contender {name}"));
}

/// A whole criterion binary running scenarios A–D of `box` (labelled `$label`) and of the
/// limit under `static GLOBAL: $ty = $init` as the `#[global_allocator]`. One binary cannot
/// have two global allocators, so each allocator gets its own bench target.
#[macro_export]
macro_rules! global_bench {
    ($label:literal, $ty:ty, $init:expr) => {
        #[global_allocator]
        static GLOBAL: $ty = $init;

        fn suite(c: &mut criterion::Criterion) {
            $crate::register::<$crate::Limit>(c, concat!("limit_", $label));
            $crate::register::<$crate::BoxGlobal>(c, $label);
        }

        criterion::criterion_group! {
            name = benches;
            config = $crate::criterion_config();
            targets = suite
        }
        criterion::criterion_main!(benches);
    };
}

/// A whole instruction-counting binary (see [`count_main`]) under `static GLOBAL: $ty = $init`
/// as the `#[global_allocator]`.
#[macro_export]
macro_rules! global_count {
    ($ty:ty, $init:expr) => {
        #[global_allocator]
        static GLOBAL: $ty = $init;

        fn main() {
            $crate::count_main();
        }
    };
}
