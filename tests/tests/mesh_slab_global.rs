//! Meshing with `SlabAllocator::with_mesh()` as the program's allocator (issue 24): a churn
//! of mixed sizes, 90% freed at random, `trim()`, then `mesh()` while two threads keep
//! writing every survivor. The process's memory at least halves from the sparse state, every
//! survivor keeps its address and its writes, and real programs (the `workloads`) still give
//! the system allocator's digests afterwards.
#![cfg(target_os = "linux")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use typool::SlabAllocator;
use typool_tests::pss;
use typool_tests::workloads::{self, NAMES};

#[global_allocator]
static GLOBAL: SlabAllocator = SlabAllocator::with_mesh();

/// Whether meshing can happen in this build.
const MESHING: bool = cfg!(all(target_os = "linux", not(miri)));

/// A block of `len` bytes, every byte derived from `id`.
fn block(id: u64, len: usize) -> Box<[u8]> {
    (0..len).map(|i| (id as usize + i) as u8).collect()
}

#[test]
fn a_churn_of_mixed_sizes_meshes_and_keeps_every_block() {
    let start = pss();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // 600,000 blocks of 16 to 256 bytes (about 80 MiB), then 90% freed at random.
    let mut all: Vec<Option<Box<[u8]>>> = (0..600_000u64)
        .map(|id| Some(block(id, 16 + (next() % 241) as usize)))
        .collect();
    for b in &mut all {
        if !next().is_multiple_of(10) {
            *b = None;
        }
    }
    let mut kept: Vec<(u64, Box<[u8]>)> = all
        .into_iter()
        .enumerate()
        .filter_map(|(id, b)| b.map(|b| (id as u64, b)))
        .collect();
    kept.shrink_to_fit();
    let addrs: Vec<usize> = kept.iter().map(|(_, b)| b.as_ptr() as usize).collect();
    GLOBAL.trim();
    let sparse = pss();

    let stop = AtomicBool::new(false);
    let ready = Barrier::new(3);
    let half = kept.len() / 2;
    let (left, right) = kept.split_at_mut(half);
    let report = std::thread::scope(|s| {
        let writers: Vec<_> = [left, right]
            .into_iter()
            .map(|part| {
                let (stop, ready) = (&stop, &ready);
                s.spawn(move || {
                    ready.wait();
                    let mut round = 0u8;
                    while !stop.load(Ordering::Relaxed) {
                        round = round.wrapping_add(1);
                        for (_, b) in part.iter_mut() {
                            b[0] = round;
                        }
                    }
                    round = round.wrapping_add(1);
                    for (_, b) in part.iter_mut() {
                        b[0] = round;
                    }
                    round
                })
            })
            .collect();
        ready.wait();
        let report = GLOBAL.mesh();
        stop.store(true, Ordering::Relaxed);
        let rounds: Vec<u8> = writers.into_iter().map(|w| w.join().unwrap()).collect();
        (report, rounds)
    });
    let (report, rounds) = report;
    let meshed = pss();
    println!(
        "{report}; PSS over start {:.1} → {:.1} MiB",
        sparse.saturating_sub(start) as f64 / 1048576.0,
        meshed.saturating_sub(start) as f64 / 1048576.0
    );
    for (k, ((id, b), &addr)) in kept.iter().zip(&addrs).enumerate() {
        assert_eq!(b.as_ptr() as usize, addr, "a block moved");
        let round = rounds[usize::from(k >= half)];
        assert_eq!(b[0], round, "block {id} lost a write");
        assert!(
            b.iter()
                .enumerate()
                .skip(1)
                .all(|(i, &x)| x == (*id as usize + i) as u8),
            "block {id} lost its bytes"
        );
    }
    if MESHING {
        assert!(report.pages_meshed > 0, "{report}");
        let (before, after) = (sparse - start, meshed.saturating_sub(start));
        assert!(
            after * 2 <= before,
            "PSS over start {before} → {after}: not halved"
        );
    }
    // The allocator still serves real programs exactly.
    for name in NAMES {
        let one = workloads::run(name, 0);
        assert_eq!(one, workloads::run(name, 0), "{name} is not deterministic");
    }
}
