//! How long `trim` holds allocators up: two threads allocate a random 1..20,000 64-byte objects
//! and free them while a third calls `trim()` every millisecond (the churn of issue 19), for
//! `SECS` seconds. Prints each trim's duration (median, p99, max), the workers' slowest single
//! `PoolBox::new`, and the most the pool reserved — with and without the trims, interleaved.
//!
//! `cargo run --release --manifest-path benches/Cargo.toml --bin trim_pause [SECS]`

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use typool::{PoolBox, Pooled};

/// The objects are written, never read: only their allocation is measured.
#[derive(Pooled)]
#[allow(dead_code)]
struct Trimmed([u64; 8]);

#[derive(Pooled)]
#[allow(dead_code)]
struct Untrimmed([u64; 8]);

/// The churn on `T`'s pool for `run`, trimming every millisecond if `trim`; returns the trims'
/// durations, the slowest allocation and the most reserved.
fn churn<T: Pooled + Send>(
    make: fn(u64) -> T,
    run: Duration,
    trim: bool,
) -> (Vec<Duration>, Duration, usize) {
    let stop = AtomicBool::new(false);
    let slowest = AtomicU64::new(0);
    let most = AtomicUsize::new(0);
    let mut trims = Vec::new();
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let (stop, slowest, most) = (&stop, &slowest, &most);
            s.spawn(move || {
                let mut seed = 0x2545_f491_4f6c_dd1d ^ t;
                while !stop.load(Ordering::Relaxed) {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let n = seed % 20_000 + 1;
                    let mut held = Vec::with_capacity(n as usize);
                    for i in 0..n {
                        let at = Instant::now();
                        held.push(PoolBox::new(make(i)));
                        slowest.fetch_max(at.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    }
                    most.fetch_max(T::pool().stats().bytes_reserved, Ordering::Relaxed);
                }
            });
        }
        let until = Instant::now() + run;
        while Instant::now() < until {
            if trim {
                let at = Instant::now();
                T::pool().trim();
                trims.push(at.elapsed());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        stop.store(true, Ordering::Relaxed);
    });
    (
        trims,
        Duration::from_nanos(slowest.load(Ordering::Relaxed)),
        most.load(Ordering::Relaxed),
    )
}

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let run = Duration::from_secs(secs);
    let (_, slow_plain, most_plain) = churn(|i| Untrimmed([i; 8]), run, false);
    let (mut trims, slow_trimmed, most_trimmed) = churn(|i| Trimmed([i; 8]), run, true);
    trims.sort();
    let at = |q: f64| trims[((trims.len() - 1) as f64 * q) as usize];
    println!("trim every ms beside two churning threads, {secs} s each way\n");
    println!("| | without trims | with trims |\n|---|---:|---:|");
    println!(
        "| most reserved | {} KiB | {} KiB |",
        most_plain / 1024,
        most_trimmed / 1024
    );
    println!(
        "| slowest `PoolBox::new` | {:.1} µs | {:.1} µs |",
        slow_plain.as_secs_f64() * 1e6,
        slow_trimmed.as_secs_f64() * 1e6
    );
    println!(
        "| `trim()` duration: median / p99 / max ({} calls) | | {:.0} / {:.0} / {:.0} µs |",
        trims.len(),
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        at(1.0).as_secs_f64() * 1e6
    );
}
