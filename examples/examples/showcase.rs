//! typool's A/B: a game server's request loop run on std allocation and on typool, each on
//! glibc and on mimalloc as the global allocator — four sides (see `typool_examples::server`
//! for the workload). typool on mimalloc is what a user would deploy: typool's pools and
//! arenas for the hot types, mimalloc for the rest.
//!
//! ```sh
//! cargo run --release --example showcase              # the A/B: table and plots
//! cargo run --release --example showcase -- --claims  # also each advertised figure, measured
//! ```
//!
//! Options: `--repeats N` (rounds of the four sides; default 5), `--short` (a small load, for
//! the test), `--out DIR` (where the plots go; default `target/showcase`).
//!
//! Each run is a child process, so peak RSS and allocator calls are its own; the rounds are
//! interleaved (the four sides in turn) and the table shows the median and the range.
//! Global allocator calls are counted in one more run per side (the work is identical every
//! run), so the timed runs do not pay for the counting.

use indicatif::{ProgressBar, ProgressStyle};
use mimalloc::MiMalloc;
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering::Relaxed};
use typool::TrackingAllocator;
use typool_examples::ab;
use typool_examples::server::{Load, Std, Typool};
use typool_examples::{claims, plots};

/// The global allocator of a run: glibc or mimalloc, as the parent names it in
/// `TYPOOL_SHOWCASE_MALLOC` (read once, before the first allocation), counted only in the runs
/// that count global allocator calls (`--count`). The timed runs pay two relaxed loads and two
/// branches per call, on every side.
struct Switched;

static COUNTING: AtomicBool = AtomicBool::new(false);
/// 0 until the first call; then 1 (glibc) or 2 (mimalloc), for the life of the process.
static MALLOC: AtomicU8 = AtomicU8::new(0);
static TRACKED: TrackingAllocator<System> = TrackingAllocator::new(System);
static TRACKED_MI: TrackingAllocator<MiMalloc> = TrackingAllocator::new(MiMalloc);

/// Whether this process runs on mimalloc: fixed by the first allocation, which happens before
/// `main` on the main thread, alone.
#[inline]
fn on_mimalloc() -> bool {
    match MALLOC.load(Relaxed) {
        0 => {
            let mi = malloc_from_env();
            MALLOC.store(if mi { 2 } else { 1 }, Relaxed);
            mi
        }
        m => m == 2,
    }
}

/// Reads `TYPOOL_SHOWCASE_MALLOC` without allocating (inside the global allocator).
fn malloc_from_env() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a NUL-terminated name; `getenv` returns null or a NUL-terminated string
        // that lives while the environment is not changed (nothing changes it here).
        let v = unsafe { libc::getenv(c"TYPOOL_SHOWCASE_MALLOC".as_ptr()) };
        // SAFETY: as above.
        !v.is_null() && unsafe { std::ffi::CStr::from_ptr(v) }.to_bytes() == b"mimalloc"
    }
    #[cfg(not(target_os = "linux"))]
    false
}

/// Forwards a call to the allocator of this run, counted or not.
macro_rules! forward {
    ($method:ident($($arg:expr),*)) => {
        // SAFETY: forwarded from the caller. The allocator is fixed for the life of the
        // process, and the counted and plain paths of one allocator are the same allocator,
        // so a block is always freed by the one that gave it.
        unsafe {
            match (on_mimalloc(), COUNTING.load(Relaxed)) {
                (false, false) => System.$method($($arg),*),
                (false, true) => TRACKED.$method($($arg),*),
                (true, false) => MiMalloc.$method($($arg),*),
                (true, true) => TRACKED_MI.$method($($arg),*),
            }
        }
    };
}

// SAFETY: every call goes to the run's one allocator (see `forward!`).
unsafe impl GlobalAlloc for Switched {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        forward!(alloc(layout))
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        forward!(dealloc(ptr, layout))
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        forward!(realloc(ptr, layout, new_size))
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
        let mi = on_mimalloc();
        let calls = || {
            if mi {
                TRACKED_MI.stats().allocations
            } else {
                TRACKED.stats().allocations
            }
        };
        let mut report = match args[i + 1].as_str() {
            "std" => ab::run_side::<Std>(load, &calls),
            _ => ab::run_side::<Typool>(load, &calls),
        };
        report.side = format!(
            "{} on {}",
            report.side,
            if mi { "mimalloc" } else { "glibc" }
        );
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
         {} rounds of the four sides — std and typool, each on glibc and on mimalloc as the \
         global allocator (and one run per side counting allocator calls) — each run a \
         process of its own.\n",
        load.ticks * load.per_tick,
        load.ticks,
        load.per_tick,
        load.threads,
        opts.repeats
    );
    let bar = ProgressBar::new(4 * opts.repeats as u64 + 4);
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
         typool's on the same global allocator (throughput: typool's over std's). Checksums \
         equal on every run.\n\nWho wins what:\n{}",
        opts.repeats,
        c.verdicts()
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
        // The workspace's `target/`: `examples/` sits at the repository's root.
        out: Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap_or(Path::new("."))
            .join("target/showcase"),
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
