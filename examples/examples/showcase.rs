//! typool's A/B: a game server's request loop run on std allocation and on typool, side by
//! side (see `typool_examples::server` for the workload).
//!
//! ```sh
//! cargo run --release --example showcase              # the A/B: table and plots
//! cargo run --release --example showcase -- --claims  # also each advertised figure, measured
//! ```
//!
//! Options: `--repeats N` (rounds of std then typool; default 5), `--short` (a small load, for
//! the test), `--out DIR` (where the plots go; default `target/showcase`).
//!
//! Each run is a child process, so peak RSS and allocator calls are its own; the rounds are
//! interleaved (std, typool, std, typool, …) and the table shows the median and the range.
//! Global allocator calls are counted in one more run per side (the work is identical every
//! run), so the timed runs do not pay for the counting.

use indicatif::{ProgressBar, ProgressStyle};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use typool::TrackingAllocator;
use typool_examples::ab;
use typool_examples::server::{Load, Std, Typool};
use typool_examples::{claims, plots};

/// glibc, counted only in the runs that count global allocator calls (`--count`); the timed
/// runs pay one relaxed load and a branch per call, on both sides.
struct Switched;

static COUNTING: AtomicBool = AtomicBool::new(false);
static TRACKED: TrackingAllocator<System> = TrackingAllocator::new(System);

// SAFETY: every call goes to `System`, directly or through `TRACKED` (which forwards to
// `System` unchanged), so a block is always freed by the allocator that gave it.
unsafe impl GlobalAlloc for Switched {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            // SAFETY: forwarded from the caller.
            unsafe { TRACKED.alloc(layout) }
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Relaxed) {
            // SAFETY: forwarded from the caller.
            unsafe { TRACKED.dealloc(ptr, layout) }
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            // SAFETY: forwarded from the caller.
            unsafe { TRACKED.realloc(ptr, layout, new_size) }
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }
}

#[global_allocator]
static GLOBAL: Switched = Switched;

struct Options {
    repeats: usize,
    short: bool,
    claims: bool,
    out: PathBuf,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let load: Load = serde_json::from_str(&args[i + 3]).expect("--load JSON");
        COUNTING.store(args.iter().any(|a| a == "--count"), Relaxed);
        let calls = || TRACKED.stats().allocations;
        let report = match args[i + 1].as_str() {
            "std" => ab::run_side::<Std>(load, &calls),
            _ => ab::run_side::<Typool>(load, &calls),
        };
        println!("{}", serde_json::to_string(&report).unwrap());
        return;
    }
    let opts = parse(&args);
    let load = if opts.short {
        Load {
            threads: 2,
            ticks: 40,
            per_tick: 500,
            seed: 7,
        }
    } else {
        Load {
            threads: 2,
            ticks: 800,
            per_tick: 500,
            seed: 7,
        }
    };
    println!(
        "A game server's request loop: {} requests ({} ticks of {}) on {} worker threads, \
         {} rounds of std then typool (and one run per side counting allocator calls), each \
         run a process of its own.\n",
        load.ticks * load.per_tick,
        load.ticks,
        load.per_tick,
        load.threads,
        opts.repeats
    );
    let bar = ProgressBar::new(2 * opts.repeats as u64 + 2);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs, last: {msg}")
            .expect("a valid template"),
    );
    let c = ab::compare(load, opts.repeats, |side| {
        bar.set_message(side.to_string());
        bar.inc(1);
    });
    bar.finish_and_clear();
    println!("{}", c.table());
    println!(
        "Median of {} runs per side (lowest–highest in brackets); gain = std's median over \
         typool's (throughput: typool's over std's). Checksums equal on every run.",
        opts.repeats
    );
    match plots::write(&c, &opts.out) {
        Ok(paths) => {
            println!("\nPlots (the run with the median p99 of each side):");
            for p in paths {
                println!("  {}", p.display());
            }
        }
        Err(e) => eprintln!("the plots could not be written: {e}"),
    }
    if opts.claims {
        println!("\nAdvertised figures, measured with typool on this machine:\n");
        println!("{}", claims::table(&claims::measure(&c, opts.short)));
    }
}

fn parse(args: &[String]) -> Options {
    let mut opts = Options {
        repeats: 5,
        short: false,
        claims: false,
        out: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/showcase"),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--repeats" => opts.repeats = it.next().and_then(|n| n.parse().ok()).unwrap_or(5),
            "--short" => opts.short = true,
            "--claims" => opts.claims = true,
            "--out" => opts.out = it.next().map(PathBuf::from).unwrap_or(opts.out),
            other => {
                eprintln!(
                    "unknown option {other}; options: --repeats N, --short, --claims, --out DIR"
                );
                std::process::exit(2);
            }
        }
    }
    if opts.short {
        opts.repeats = opts.repeats.min(2);
    }
    opts
}
