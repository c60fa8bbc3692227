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

use indicatif::{ProgressBar, ProgressStyle};
use std::alloc::System;
use std::path::PathBuf;
use typool::TrackingAllocator;
use typool_examples::ab;
use typool_examples::server::{Load, Std, Typool};
use typool_examples::{claims, plots};

#[global_allocator]
static GLOBAL: TrackingAllocator<System> = TrackingAllocator::new(System);

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
        let report = match args[i + 1].as_str() {
            "std" => ab::run_side::<Std>(load, &|| GLOBAL.stats().allocations),
            _ => ab::run_side::<Typool>(load, &|| GLOBAL.stats().allocations),
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
         {} rounds of std then typool, each run a process of its own.\n",
        load.ticks * load.per_tick,
        load.ticks,
        load.per_tick,
        load.threads,
        opts.repeats
    );
    let bar = ProgressBar::new(2 * opts.repeats as u64);
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
