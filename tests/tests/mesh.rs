//! Meshing (issue 24): sparse pages of a `mesh` pool give their memory back without an object
//! moving, while other threads write them; no slot is ever handed out through two aliases;
//! a forked child gets its own copy.
//!
//! Memory files exist on Linux outside Miri and AddressSanitizer builds; elsewhere a `mesh`
//! pool is a plain one, `mesh()` reports nothing, and these tests check only that objects
//! are intact.
#![cfg(target_os = "linux")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use typool::{PoolBox, Pooled};
use typool_tests::pss;

/// Whether meshing can happen in this build.
const MESHING: bool = cfg!(all(target_os = "linux", not(miri)));

#[derive(Pooled)]
#[pooled(mesh)]
struct Obj {
    /// The object's index, for ever.
    id: u64,
    /// Written by a writer thread: the last value it wrote.
    seq: u64,
    _pad: [u64; 6],
}

/// A small deterministic generator (splitmix64).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The test: 1,000,000 64-byte objects, 90% freed at random, `trim()`, then `mesh()`
/// while two threads keep writing every survivor. The pool's committed memory at least
/// halves (so does the process's proportional RSS) and ends within 2× of the live bytes,
/// every survivor is at its address with its last write, and pages were meshed.
#[test]
fn survivors_of_a_peak_share_pages_and_keep_every_write() {
    const N: usize = 1_000_000;
    let start_rss = pss();
    let mut all: Vec<Option<PoolBox<Obj>>> = (0..N as u64)
        .map(|id| {
            Some(PoolBox::new(Obj {
                id,
                seq: 0,
                _pad: [id; 6],
            }))
        })
        .collect();
    let mut rng = Rng(24);
    for slot in &mut all {
        if !rng.next().is_multiple_of(10) {
            *slot = None;
        }
    }
    let mut kept: Vec<PoolBox<Obj>> = all.into_iter().flatten().collect();
    let addrs: Vec<usize> = kept.iter().map(|b| &**b as *const Obj as usize).collect();
    Obj::pool().trim();
    let sparse = Obj::pool().stats().bytes_committed;
    let sparse_rss = pss();

    let stop = AtomicBool::new(false);
    let ready = Barrier::new(3);
    let (left, right) = kept.split_at_mut(addrs.len() / 2);
    let report = std::thread::scope(|s| {
        for half in [left, right] {
            let (stop, ready) = (&stop, &ready);
            s.spawn(move || {
                let mut round = 0;
                ready.wait();
                while !stop.load(Ordering::Relaxed) {
                    round += 1;
                    for b in half.iter_mut() {
                        b.seq = round;
                    }
                }
                // One more full round after the stop, so every object's last write is `round`.
                round += 1;
                for b in half.iter_mut() {
                    b.seq = round;
                }
                round
            });
        }
        ready.wait();
        let report = Obj::pool().mesh();
        stop.store(true, Ordering::Relaxed);
        report
    });
    let meshed = Obj::pool().stats().bytes_committed;
    let meshed_rss = pss();
    println!(
        "{report}; committed {:.1} → {:.1} MiB (live {:.1} MiB), PSS over start {:.1} → {:.1} MiB",
        sparse as f64 / 1048576.0,
        meshed as f64 / 1048576.0,
        (kept.len() * 64) as f64 / 1048576.0,
        sparse_rss.saturating_sub(start_rss) as f64 / 1048576.0,
        meshed_rss.saturating_sub(start_rss) as f64 / 1048576.0,
    );
    for (b, &addr) in kept.iter().zip(&addrs) {
        assert_eq!(&**b as *const Obj as usize, addr, "an object moved");
        assert_eq!(b._pad, [b.id; 6], "object {} lost its bytes", b.id);
    }
    let last = |half: &[PoolBox<Obj>]| half[0].seq;
    let (left, right) = kept.split_at(addrs.len() / 2);
    for half in [left, right] {
        let want = last(half);
        assert!(want > 0);
        assert!(
            half.iter().all(|b| b.seq == want),
            "a write was lost: every object of a half must hold {want}"
        );
    }
    if MESHING {
        assert!(report.pages_meshed > 0, "{report}");
        assert_eq!(meshed, sparse - report.bytes_released);
        assert!(
            meshed * 2 <= sparse,
            "committed {sparse} → {meshed}: not halved"
        );
        let live = kept.len() * 64;
        assert!(
            meshed <= 2 * live + (1 << 20),
            "committed {meshed}: not within 2× of live {live}"
        );
        let (before, after) = (sparse_rss - start_rss, meshed_rss.saturating_sub(start_rss));
        assert!(
            after * 2 <= before + (4 << 20),
            "PSS over start {before} → {after}"
        );
    }
}

#[derive(Pooled)]
#[pooled(mesh)]
struct Tagged {
    /// The address the object was allocated at, and a tag unique to this allocation.
    home: usize,
    tag: u64,
}

/// Rounds of: allocate, free most at random, trim, mesh, allocate again (from targets' and
/// sources' chains), then rewrite every live object's tag and check them all. Two live objects
/// sharing bytes through two aliases would overwrite each other's tag. At the end, with the
/// thread gone (its cache back in the pages), every mesh has ended and the pool holds no
/// memory.
#[test]
fn a_meshed_slot_is_never_handed_out_twice() {
    std::thread::spawn(rounds_of_meshing).join().unwrap();
    Tagged::pool().trim();
    let stats = Tagged::pool().stats();
    assert_eq!(stats.live, 0);
    assert_eq!(stats.bytes_committed, 0, "{stats:?}");
}

fn rounds_of_meshing() {
    let mut rng = Rng(7);
    let mut live: Vec<PoolBox<Tagged>> = Vec::new();
    let mut next_tag = 0u64;
    let mut new = |live: &mut Vec<PoolBox<Tagged>>, n: usize| {
        for _ in 0..n {
            next_tag += 1;
            let mut b = PoolBox::new(Tagged { home: 0, tag: 0 });
            b.home = &*b as *const Tagged as usize;
            b.tag = next_tag;
            live.push(b);
        }
    };
    let mut meshed = 0;
    for round in 0..12 {
        new(&mut live, 40_000);
        live.retain(|_| rng.next().is_multiple_of(8));
        Tagged::pool().trim();
        meshed += Tagged::pool().mesh().pages_meshed;
        new(&mut live, 20_000);
        // Distinct tags everywhere, then a check of each.
        for (i, b) in live.iter_mut().enumerate() {
            b.tag = (round << 32) | i as u64;
        }
        for (i, b) in live.iter().enumerate() {
            assert_eq!(b.home, &**b as *const Tagged as usize);
            assert_eq!(
                b.tag,
                (round << 32) | i as u64,
                "two live objects share a slot"
            );
        }
        let stats = Tagged::pool().stats();
        assert_eq!(stats.live, live.len());
    }
    if MESHING {
        assert!(meshed > 0);
    }
}

#[derive(Pooled)]
#[pooled(mesh)]
struct Forked {
    value: u64,
    _pad: [u64; 7],
}

/// After a mesh, a forked child sees the objects as they were at the fork and changes its
/// own copies only; the parent's stay as they are.
#[test]
fn a_forked_child_gets_its_own_copy_of_meshed_pages() {
    let all: Vec<_> = (0..50_000u64)
        .map(|value| {
            PoolBox::new(Forked {
                value,
                _pad: [0; 7],
            })
        })
        .collect();
    let mut kept: Vec<_> = all.into_iter().step_by(9).collect();
    Forked::pool().trim();
    let report = Forked::pool().mesh();
    if MESHING {
        assert!(report.pages_meshed > 0, "{report}");
    }
    // SAFETY: the child only reads and writes its own memory and `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let ok = kept
            .iter()
            .enumerate()
            .all(|(k, b)| b.value == 9 * k as u64);
        for b in kept.iter_mut() {
            b.value = u64::MAX;
        }
        let fresh: Vec<_> = (0..1000)
            .map(|value| {
                PoolBox::new(Forked {
                    value,
                    _pad: [1; 7],
                })
            })
            .collect();
        let still = kept.iter().all(|b| b.value == u64::MAX)
            && fresh.iter().enumerate().all(|(i, b)| b.value == i as u64);
        // SAFETY: `_exit` ends the child without running the parent's exit handlers.
        unsafe { libc::_exit(if ok && still { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child: {status}"
    );
    assert!(
        kept.iter()
            .enumerate()
            .all(|(k, b)| b.value == 9 * k as u64),
        "the child's writes reached the parent"
    );
}

/// A pool without `mesh` reports nothing and keeps every object.
#[test]
fn a_pool_without_mesh_reports_nothing() {
    #[derive(Pooled)]
    struct Plain(u64);
    let all: Vec<_> = (0..10_000).map(|i| PoolBox::new(Plain(i))).collect();
    let kept: Vec<_> = all.into_iter().step_by(10).collect();
    Plain::pool().trim();
    let r = Plain::pool().mesh();
    assert_eq!((r.pages_meshed, r.bytes_released), (0, 0));
    assert!(kept.iter().enumerate().all(|(k, b)| b.0 == 10 * k as u64));
}

#[derive(Pooled)]
#[pooled(mesh)]
struct Checked {
    /// `check(home, value)`: a live object whose bytes another live object overwrote fails it.
    sum: u64,
    value: u64,
    home: usize,
    _pad: u64,
}

fn check(home: usize, value: u64) -> u64 {
    (home as u64).rotate_left(17) ^ value.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Two threads allocate, check, rewrite and free objects at random while the main thread
/// trims and meshes over and over: every live object keeps its checksum through meshes,
/// frees through either alias and the ends of meshes, and nothing is lost.
#[test]
fn threads_churn_checksummed_objects_while_pages_are_meshed() {
    let secs: f64 = std::env::var("TYPOOL_MESH_STRESS_SECS").map_or(2.0, |v| v.parse().unwrap());
    let stop = AtomicBool::new(false);
    let meshed = std::thread::scope(|s| {
        let workers: Vec<_> = (0..2u64)
            .map(|t| {
                let stop = &stop;
                s.spawn(move || {
                    let mut rng = Rng(t + 100);
                    let mut live: Vec<PoolBox<Checked>> = Vec::new();
                    let mut rounds = 0u64;
                    while !stop.load(Ordering::Relaxed) || rounds < 3 {
                        rounds += 1;
                        for _ in 0..20_000 {
                            let value = rng.next();
                            let mut b = PoolBox::new(Checked {
                                sum: 0,
                                value,
                                home: 0,
                                _pad: 0,
                            });
                            b.home = &*b as *const Checked as usize;
                            b.sum = check(b.home, value);
                            live.push(b);
                        }
                        for b in live.iter_mut() {
                            assert_eq!(b.home, &**b as *const Checked as usize);
                            assert_eq!(b.sum, check(b.home, b.value), "an object was overwritten");
                            b.value = b.value.wrapping_add(1);
                            b.sum = check(b.home, b.value);
                        }
                        live.retain(|_| rng.next().is_multiple_of(6));
                    }
                    live.len()
                })
            })
            .collect();
        let start = std::time::Instant::now();
        let mut meshed = 0;
        while start.elapsed().as_secs_f64() < secs {
            Checked::pool().trim();
            meshed += Checked::pool().mesh().pages_meshed;
        }
        stop.store(true, Ordering::Relaxed);
        let kept: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert!(kept > 0);
        meshed
    });
    println!("meshed {meshed} pages while two threads churned");
    if MESHING {
        assert!(meshed > 0);
    }
}

#[derive(Pooled)]
#[pooled(mesh, decay_ms = 20)]
struct Decaying {
    value: u64,
    _pad: [u64; 7],
}

/// With decay on, a `mesh` pool meshes from its slow paths, a window per period, without a
/// call: after a scattered peak and a light workload, its committed memory at least halves.
#[test]
fn decay_meshes_without_a_call() {
    let mut rng = Rng(3);
    let all: Vec<_> = (0..200_000u64)
        .map(|value| {
            PoolBox::new(Decaying {
                value,
                _pad: [0; 7],
            })
        })
        .collect();
    let kept: Vec<_> = all
        .into_iter()
        .filter(|_| rng.next().is_multiple_of(10))
        .collect();
    let sparse = Decaying::pool().stats().bytes_committed;
    let start = std::time::Instant::now();
    while start.elapsed().as_millis() < 1500 {
        // A short-lived thread's burst: its first allocation and its exit reach the pool's
        // slow paths, where decay runs (a thread that cycles its own cached slots never does).
        std::thread::spawn(|| {
            let burst: Vec<_> = (0..300)
                .map(|value| {
                    PoolBox::new(Decaying {
                        value,
                        _pad: [0; 7],
                    })
                })
                .collect();
            assert!(burst.iter().enumerate().all(|(i, b)| b.value == i as u64));
        })
        .join()
        .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let after = Decaying::pool().stats().bytes_committed;
    println!("committed {sparse} → {after} with no call");
    assert!(kept.iter().all(|b| b._pad == [0; 7]));
    if MESHING {
        assert!(
            after * 2 <= sparse,
            "committed {sparse} → {after}: decay did not mesh"
        );
    }
}
