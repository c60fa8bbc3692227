//! Resident memory per live object: allocates 1M 16-byte objects with `PoolBox` (and, for
//! comparison, with `Box`), and prints the growth of VmRSS divided by the count.
//!
//! `cargo run --release -p typool-benches --bin rss`

use typool::{PoolBox, Pooled};

#[derive(Pooled)]
struct Small {
    #[allow(dead_code)]
    bytes: [u64; 2],
}

const N: usize = 1_000_000;

fn rss_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line");
    line.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS value")
}

fn measure<H>(name: &str, make: impl Fn(u64) -> H) -> f64 {
    let mut held = Vec::with_capacity(N);
    let before = rss_kib();
    let vec_kib = N * std::mem::size_of::<H>() / 1024;
    for i in 0..N as u64 {
        held.push(make(i));
    }
    // The Vec of handles was reserved up front; touch it so it counts fully on both sides.
    let after = rss_kib();
    let per = ((after - before).saturating_sub(vec_kib)) as f64 * 1024.0 / N as f64;
    println!(
        "{name:>14}: {per:6.2} bytes of RSS per live 16-byte object ({} KiB for {N})",
        after - before
    );
    drop(held);
    per
}

fn main() {
    let pooled = measure("PoolBox<Small>", |i| PoolBox::new(Small { bytes: [i, i] }));
    let boxed = measure("Box<Small>", |i| Box::new(Small { bytes: [i, i] }));
    println!("{}", Small::pool().stats());
    println!("ratio Box/PoolBox: {:.2}", boxed / pooled);
}
