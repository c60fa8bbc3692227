//! Memory that comes back while the program runs: trim beside allocating threads, pages of
//! partly used segments after a peak, and out of memory only when it is (the long soak is in
//! `soak.rs`).
//!
//! Tests that read the process's resident memory or limit its address space run in a child
//! process of their own (this binary, re-executed with `--exact --ignored`), so no other
//! test's memory is counted.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use typool::{Pool, PoolBox, Pooled};

/// Runs the ignored test `name` in a child process and returns what it printed.
fn in_child(name: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            name,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} failed:\n{text}");
    text
}

/// Resident bytes of this process (`/proc/self/statm`).
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

const MIB: usize = 1 << 20;

/// A 64-byte object that knows what it should hold.
#[derive(Pooled)]
struct Peak([u64; 8]);

#[test]
fn peak_then_drop_gives_pages_back() {
    in_child("child_peak_then_drop");
}

#[test]
#[ignore = "run in a process of its own by peak_then_drop_gives_pages_back"]
fn child_peak_then_drop() {
    let start = rss();
    let mut held: Vec<PoolBox<Peak>> = (0..1_000_000u64).map(|i| Peak([i; 8]).pooled()).collect();
    let peak = rss();
    held.drain(..900_000);
    held.shrink_to_fit();
    let freed = Peak::pool().trim();
    let s = Peak::pool().stats();
    let live = s.live * 64;
    let after = rss();
    println!(
        "start {} MiB, peak {} MiB, after trim {} MiB; live {} MiB, committed {} MiB, given back {} MiB",
        start / MIB,
        peak / MIB,
        after / MIB,
        live / MIB,
        s.bytes_committed / MIB,
        freed / MIB
    );
    assert_eq!(s.live, 100_000);
    assert!(
        after.saturating_sub(start) <= 2 * live + 8 * MIB,
        "RSS {after} over the start {start}, for {live} live bytes"
    );
    assert!(s.bytes_committed <= 2 * live + 8 * MIB, "{s:?}");
    for (i, b) in held.iter().enumerate() {
        assert_eq!(b.0, [900_000 + i as u64; 8], "a survivor changed");
    }
}

/// `n` pseudo-random numbers in `1..=max` from `seed`.
fn random(seed: &mut u64, max: u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed % max + 1
}

/// Two threads allocate a random 1..20,000 objects, check and free them, for `run`; a third
/// calls `trim` every `trim_every` if given. Returns the most the pool reserved.
fn churn(pool: &'static Pool<[u64; 8]>, run: Duration, trim_every: Option<Duration>) -> usize {
    let stop = AtomicBool::new(false);
    let most = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let (stop, most) = (&stop, &most);
            s.spawn(move || {
                let mut seed = 0x2545_f491_4f6c_dd1d ^ t;
                while !stop.load(Ordering::Relaxed) {
                    let n = random(&mut seed, 20_000);
                    let held: Vec<_> = (0..n).map(|i| pool.alloc([i ^ t; 8])).collect();
                    for (i, h) in held.iter().enumerate() {
                        assert_eq!(**h, [i as u64 ^ t; 8], "a live value changed");
                    }
                    most.fetch_max(pool.stats().bytes_reserved, Ordering::Relaxed);
                }
            });
        }
        if let Some(every) = trim_every {
            let stop = &stop;
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    pool.trim();
                    std::thread::sleep(every);
                }
            });
        }
        std::thread::sleep(run);
        stop.store(true, Ordering::Relaxed);
    });
    most.load(Ordering::Relaxed)
}

#[test]
fn trim_beside_allocators_never_makes_the_pool_grow() {
    let run = Duration::from_millis(if cfg!(debug_assertions) { 1500 } else { 3000 });
    let plain: &'static Pool<[u64; 8]> = Box::leak(Box::new(Pool::new()));
    let trimmed: &'static Pool<[u64; 8]> = Box::leak(Box::new(Pool::new()));
    let without = churn(plain, run, None);
    let with = churn(trimmed, run, Some(Duration::from_millis(1)));
    println!(
        "reserved at most: {} KiB without trims, {} KiB with a trim every millisecond",
        without / 1024,
        with / 1024
    );
    assert!(
        with <= 2 * without,
        "trims made the pool grow: {with} bytes against {without}"
    );
}

/// A thread's stash after a peak: `trim` from another thread takes it back.
/// A thread that frees what it allocated keeps it, on its stash, and builds the next
/// structure from there: no magazine of the second round comes from the depot or the pages,
/// so no other thread's memory gets mixed in (binary-trees' two workers; BENCHMARKS, "Memory
/// stays with the thread that asked for it").
#[test]
fn a_thread_reuses_what_it_asked_for_without_the_depot() {
    let pool: &'static Pool<[u64; 8]> = Box::leak(Box::new(Pool::new()));
    std::thread::scope(|s| {
        s.spawn(|| {
            let held: Vec<_> = (0..100_000).map(|i| pool.alloc([i; 8])).collect();
            let first = pool.stats();
            drop(held);
            let freed = pool.stats();
            let again: Vec<_> = (0..100_000).map(|i| pool.alloc([i + 1; 8])).collect();
            let second = pool.stats();
            assert!(again
                .iter()
                .enumerate()
                .all(|(i, h)| **h == [i as u64 + 1; 8]));
            // Every magazine of the free went to the stash, and every one of the second
            // round came back from it.
            assert_eq!(
                freed.depot_transfers, first.depot_transfers,
                "the free handed magazines on: {first:?} then {freed:?}"
            );
            assert_eq!(
                second.depot_transfers, freed.depot_transfers,
                "the second round took from the pool: {freed:?} then {second:?}"
            );
            assert_eq!(second.reserved_slots, first.reserved_slots);
        });
    });
}

#[test]
fn trim_takes_back_what_an_idle_thread_stashed() {
    let pool: &'static Pool<[u64; 8]> = Box::leak(Box::new(Pool::new()));
    let (parked, resume) = (std::sync::Barrier::new(2), std::sync::Barrier::new(2));
    std::thread::scope(|s| {
        s.spawn(|| {
            // Twice, so the thread earns a stash (it reused what it freed), then idles.
            for _ in 0..2 {
                let held: Vec<_> = (0..50_000).map(|i| pool.alloc([i; 8])).collect();
                drop(held);
            }
            parked.wait();
            resume.wait();
        });
        parked.wait();
        let before = pool.stats();
        let freed = pool.trim();
        let after = pool.stats();
        resume.wait();
        assert_eq!(after.live, 0);
        assert!(
            after.bytes_committed <= MIB,
            "the idle thread kept its stash: {freed} bytes given back of {before:?}; now {after:?}"
        );
    });
}

/// Bytes of 64-byte objects a child gets under a 256 MiB address-space limit, from `what`.
fn under_limit(what: &str) -> usize {
    let text = in_child(what);
    let line = text
        .lines()
        .find_map(|l| l.split("got ").nth(1))
        .unwrap_or_else(|| panic!("no count in:\n{text}"));
    line.trim().parse().unwrap()
}

const LIMIT: u64 = 256 << 20;

/// Limits this process's address space to [`LIMIT`] and runs `fill`, which takes memory
/// until it is refused and returns how many bytes it got; prints that. A reserve taken
/// before and given back after lets the test harness report once memory has run out.
fn under_the_limit(fill: impl FnOnce() -> usize) {
    let lim = libc::rlimit {
        rlim_cur: LIMIT,
        rlim_max: LIMIT,
    };
    // SAFETY: a plain system call with a valid struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) }, 0);
    let reserve = vec![1u8; 8 * MIB];
    let got = fill();
    drop(std::hint::black_box(reserve));
    println!("got {got}");
}

#[test]
#[ignore = "run in a process of its own by out_of_memory_comes_only_when_it_is"]
fn child_glibc_under_limit() {
    under_the_limit(|| {
        let layout = std::alloc::Layout::new::<[u64; 8]>();
        let mut n = 0usize;
        // SAFETY: a valid, non-zero layout; the blocks are never used or freed (the child
        // exits). `black_box`: an allocation whose result is unused may be optimised away.
        while !std::hint::black_box(unsafe { std::alloc::alloc(layout) }).is_null() {
            n += 1;
        }
        n * 64
    });
}

#[test]
#[ignore = "run in a process of its own by out_of_memory_comes_only_when_it_is"]
fn child_typool_under_limit() {
    under_the_limit(|| {
        let pool: &'static Pool<[u64; 8]> = Box::leak(Box::new(Pool::new()));
        let mut n = 0usize;
        while let Ok(h) = pool.try_alloc([0; 8]) {
            std::mem::forget(h);
            n += 1;
        }
        n * 64
    });
}

#[test]
fn out_of_memory_comes_only_when_it_is() {
    let glibc = under_limit("child_glibc_under_limit");
    let typool = under_limit("child_typool_under_limit");
    println!(
        "under RLIMIT_AS = 256 MiB: glibc {} MiB, typool {} MiB",
        glibc / MIB,
        typool / MIB
    );
    assert!(
        typool * 10 >= glibc * 9,
        "typool got {typool} bytes, glibc {glibc}"
    );
}

/// A 64 KiB type's first allocation reserves a segment sized by bytes, not 256 objects.
#[test]
fn a_large_type_reserves_by_bytes() {
    let pool: Pool<[u8; 65536]> = Pool::new();
    let one = pool.alloc([1; 65536]);
    let s = pool.stats();
    assert!(s.bytes_reserved <= 4 * 65536, "{s:?}");
    drop(one);
}

/// A pool that gives memory back by itself (`decay_ms = 50`), with no `trim` call.
#[derive(Pooled)]
#[pooled(decay_ms = 50)]
struct Decays([u64; 8]);

#[test]
fn memory_decays_without_a_call() {
    in_child("child_memory_decays_without_a_call");
}

#[test]
#[ignore = "run in a process of its own by memory_decays_without_a_call"]
fn child_memory_decays_without_a_call() {
    let start = rss();
    let mut held: Vec<PoolBox<Decays>> = (0..500_000u64).map(|i| Decays([i; 8]).pooled()).collect();
    let peak = rss();
    held.truncate(5_000);
    held.shrink_to_fit();
    // A light workload for 1.5 s: a trickle of objects handed from one thread to another,
    // which reaches the pool's slow paths now and then (there decay runs).
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<PoolBox<Decays>>>(4);
    let until = Instant::now() + Duration::from_millis(1500);
    std::thread::scope(|s| {
        s.spawn(move || rx.into_iter().for_each(drop));
        let mut round = 0u64;
        while Instant::now() < until {
            tx.send((0..64).map(|i| Decays([round + i; 8]).pooled()).collect())
                .unwrap();
            round += 1;
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(tx);
    });
    let after = rss();
    let s = Decays::pool().stats();
    println!(
        "start {} MiB, peak {} MiB, after 1.5 s of a light workload {} MiB; {} live, committed {} KiB",
        start / MIB,
        peak / MIB,
        after / MIB,
        s.live,
        s.bytes_committed / 1024
    );
    assert!(
        after.saturating_sub(start) <= 8 * MIB,
        "RSS {after} against {start} at the start: {s:?}"
    );
    assert!(held.iter().enumerate().all(|(i, b)| b.0 == [i as u64; 8]));
}
