//! `PoolArc` against `Arc`: what shared ownership costs, for a 64-byte object.
//!
//! | scenario | one unit |
//! |---|---|
//! | `new_drop` | `new`, then drop the only handle (the object's whole life) |
//! | `clone_drop` | clone a handle that stays alive, drop the clone |
//! | `cross_thread` | one thread makes handles and sends them in batches of 64; another drops them (the last handle frees on the other thread) |
//!
//! Contenders: `PoolArc<Obj>` (a derived type) and `Arc<Obj>` under the binary's global
//! allocator (`shared`: glibc; `shared_mimalloc`: mimalloc). Each scenario runs `REPEATS`
//! times, contenders interleaved; the median ns per unit is printed. With `--count SCENARIO
//! CONTENDER N` it runs one loop of `N` units for callgrind instead.

use crate::contenders::Obj;
use std::hint::black_box;
use std::sync::{mpsc, Arc};
use std::time::Instant;
use typool::PoolArc;

/// How a contender makes and clones its handles.
trait Handle: Clone + Send + 'static {
    fn new(value: Obj) -> Self;
}

impl Handle for PoolArc<Obj> {
    #[inline(always)]
    fn new(value: Obj) -> Self {
        PoolArc::new(value)
    }
}

impl Handle for Arc<Obj> {
    #[inline(always)]
    fn new(value: Obj) -> Self {
        Arc::new(value)
    }
}

#[inline(never)]
fn new_drop<H: Handle>(n: u64) {
    for i in 0..n {
        drop(black_box(H::new(Obj::new(i))));
    }
}

#[inline(never)]
fn clone_drop<H: Handle>(n: u64) {
    let keep = H::new(Obj::new(0));
    for _ in 0..n {
        drop(black_box(keep.clone()));
    }
}

#[inline(never)]
fn cross_thread<H: Handle>(n: u64) {
    let (tx, rx) = mpsc::sync_channel::<Vec<H>>(16);
    std::thread::scope(|s| {
        s.spawn(move || rx.into_iter().for_each(drop));
        let mut batch = Vec::with_capacity(64);
        for i in 0..n {
            batch.push(H::new(Obj::new(i)));
            if batch.len() == 64 {
                tx.send(std::mem::replace(&mut batch, Vec::with_capacity(64)))
                    .unwrap();
            }
        }
        tx.send(batch).unwrap();
        drop(tx); // the consumer's loop ends with the channel
    });
}

const SCENARIOS: [(&str, u64); 3] = [
    ("new_drop", 2_000_000),
    ("clone_drop", 2_000_000),
    ("cross_thread", 500_000),
];

fn run<H: Handle>(scenario: &str, n: u64) {
    match scenario {
        "new_drop" => new_drop::<H>(n),
        "clone_drop" => clone_drop::<H>(n),
        "cross_thread" => cross_thread::<H>(n),
        _ => panic!("unknown scenario {scenario}"),
    }
}

fn run_named(contender: &str, scenario: &str, n: u64) {
    match contender {
        "pool_arc" => run::<PoolArc<Obj>>(scenario, n),
        "arc" => run::<Arc<Obj>>(scenario, n),
        _ => panic!("unknown contender {contender}"),
    }
}

/// The body of the `shared` binaries; `allocator` names the global allocator.
pub fn main_with(allocator: &str) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--count") {
        let n = args[3].parse().expect("a count");
        run_named(&args[2], &args[1], n);
        return;
    }
    let repeats: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(7);
    println!(
        "| scenario | `PoolArc` ({allocator}) ns | `Arc` on {allocator} ns | `PoolArc` / `Arc` |"
    );
    println!("|---|---:|---:|---:|");
    for (scenario, n) in SCENARIOS {
        let mut samples = [Vec::new(), Vec::new()];
        for _ in 0..repeats {
            for (i, c) in ["pool_arc", "arc"].iter().enumerate() {
                let t = Instant::now();
                run_named(c, scenario, n);
                samples[i].push(t.elapsed().as_nanos() as f64 / n as f64);
            }
        }
        let [p, a] = samples.map(|mut v| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        });
        println!("| {scenario} | {p:.2} | {a:.2} | {:.2} |", p / a);
    }
}
