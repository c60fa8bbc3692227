//! The churn trace (`typool_benches::churn`: 1M allocations of mixed sizes and lifetimes, 2M
//! events) replayed through glibc, mimalloc, `SlabAllocator` and `BuddyAllocator`, called
//! directly through their allocator traits, one warm instance each, in one run.
//!
//! `cargo bench -p typool-benches --bench churn`. Memory figures come from the `churn`
//! binary (`bash benches/churn.sh`), one fresh process per allocator.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use typool::{BuddyAllocator, SlabAllocator};
use typool_benches::churn::{self, Event, Replay, VarAlloc};

fn replay<A: VarAlloc>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    a: &A,
    trace: &[Event],
) {
    let mut replay = Replay::new(trace);
    g.bench_function(A::NAME, |b| {
        b.iter(|| {
            replay.run(a, trace, |_| {});
            replay.finish(a, trace);
        })
    });
}

fn churn(c: &mut Criterion) {
    let trace = churn::trace(42, 1_000_000);
    let mut g = c.benchmark_group("churn_trace");
    g.throughput(Throughput::Elements(trace.len() as u64));
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(6));
    replay(&mut g, &std::alloc::System, &trace);
    replay(&mut g, &mimalloc::MiMalloc, &trace);
    replay(&mut g, &SlabAllocator::new(), &trace);
    replay(
        &mut g,
        &BuddyAllocator::with_capacity(churn::BUDDY_CAPACITY),
        &trace,
    );
    g.finish();
}

criterion_group! {
    name = benches;
    config = typool_benches::criterion_config();
    targets = churn
}
criterion_main!(benches);
