//! Scenario C with less noise than criterion gives it on a shared 2-core machine: every
//! contender runs `ROUNDS` rounds (100 allocs, then 100 frees) on `t` threads sharing one pool,
//! the contenders interleaved, `REPEATS` times; it prints the median ns per object per thread
//! and its ratio to the limit's median.
//!
//! `cargo run --release --manifest-path benches/Cargo.toml --bin scaling [ROUNDS] [REPEATS]`

use std::time::Duration;
use typool_benches::{for_contender, rounds_on_threads, Contender, THREADS};

const CONTENDERS: [&str; 4] = ["limit", "typool", "typool_handle", "box"];

fn once<C: Contender>(threads: usize, rounds: u64) -> Duration {
    rounds_on_threads(C::leaked(), threads, rounds)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let repeats: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(7);
    println!("scenario C: {rounds} rounds of 100 per thread, {repeats} interleaved repeats, glibc as the global allocator\n");
    println!("| contender | threads | median ns per object | × limit |\n|---|---:|---:|---:|");
    for threads in THREADS {
        let mut samples = vec![Vec::new(); CONTENDERS.len()];
        for _ in 0..repeats {
            for (i, name) in CONTENDERS.iter().enumerate() {
                let t = for_contender!(*name, once, threads, rounds).expect("known contender");
                samples[i].push(t.as_nanos() as f64 / (rounds * 100) as f64);
            }
        }
        let medians: Vec<f64> = samples.into_iter().map(median).collect();
        for (name, m) in CONTENDERS.iter().zip(&medians) {
            println!("| {name} | {threads} | {m:.2} | {:.2} |", m / medians[0]);
        }
    }
}
