//! Replays the churn trace (`typool_benches::churn`) once through one allocator, in a fresh
//! process, and prints: peak RSS over peak live bytes, the fragmentation report at the end
//! of the trace (slab and buddy), and the wall time.
//!
//! `cargo run --release -p typool-benches --bin churn -- <glibc|mimalloc|slab|buddy> [allocs]`
//! (`bash benches/churn.sh` runs all four and prints the table in BENCHMARKS.md).

use std::time::Instant;
use typool::{BuddyAllocator, FragmentationReport, SlabAllocator};
use typool_benches::churn::{self, Replay, VarAlloc};

fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: usize = statm.split(' ').nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn replay<A: VarAlloc>(a: &A, allocs: u64, report: impl Fn() -> Option<FragmentationReport>) {
    let trace = churn::trace(42, allocs);
    let mut replay = Replay::new(&trace);
    let base = rss();
    let mut peak_rss = 0;
    let t = Instant::now();
    replay.run(a, &trace, |_| {
        peak_rss = peak_rss.max(rss().saturating_sub(base))
    });
    let run = t.elapsed();
    peak_rss = peak_rss.max(rss().saturating_sub(base));
    let end_live = replay.live;
    let frag = report();
    let t = Instant::now();
    replay.finish(a, &trace);
    let total = run + t.elapsed();
    println!(
        "{:<9} events {:>8}  peak live {:>7.1} MiB  peak RSS {:>7.1} MiB  RSS/live {:.3}  live at end {:>6.1} MiB  time {:>7.1} ms",
        A::NAME,
        trace.len(),
        replay.peak_live as f64 / (1 << 20) as f64,
        peak_rss as f64 / (1 << 20) as f64,
        peak_rss as f64 / replay.peak_live as f64,
        end_live as f64 / (1 << 20) as f64,
        total.as_secs_f64() * 1e3,
    );
    if let Some(f) = frag {
        println!("{:<9} at end: {f}", A::NAME);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "slab".into());
    let allocs: u64 = args
        .next()
        .map_or(1_000_000, |a| a.parse().expect("a count"));
    match which.as_str() {
        "glibc" => replay(&std::alloc::System, allocs, || None),
        "mimalloc" => replay(&mimalloc::MiMalloc, allocs, || None),
        "slab" => {
            let slab: &'static SlabAllocator = Box::leak(Box::new(SlabAllocator::new()));
            replay(slab, allocs, || Some(slab.fragmentation()));
        }
        "buddy" => {
            let buddy = BuddyAllocator::with_capacity(churn::BUDDY_CAPACITY);
            replay(&buddy, allocs, || Some(buddy.fragmentation()));
        }
        other => panic!("unknown allocator {other}: glibc, mimalloc, slab or buddy"),
    }
}
