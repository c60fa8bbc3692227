//! 8 threads × 1M mixed operations on one derived pool, with cross-thread frees through a
//! shared transfer array. Every object carries a cookie derived from its id, checked (and
//! poisoned) when it is dropped: a slot handed out twice, or a value dropped twice, breaks it.
//! Drop counts must balance exactly and `stats().live` must return to 0.

use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::Barrier;
use typool::{PoolBox, Pooled};

const THREADS: usize = 8;
const OPS: usize = 1_000_000;
const TRANSFER: usize = 1024;
const POISON: u64 = 0xdead_dead_dead_dead;

static CREATED: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);

#[derive(Pooled)]
#[pooled(cache = 32)]
struct Obj {
    cookie: u64,
    id: u64,
    payload: [u64; 6],
}

fn cookie(id: u64) -> u64 {
    id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5555_aaaa_5555_aaaa
}

impl Obj {
    fn new(id: u64) -> Self {
        CREATED.fetch_add(1, Relaxed);
        Self {
            cookie: cookie(id),
            id,
            payload: [id; 6],
        }
    }

    fn check(&self) {
        assert_eq!(
            self.cookie,
            cookie(self.id),
            "object {} corrupted or dropped twice",
            self.id
        );
        assert!(
            self.payload.iter().all(|&p| p == self.id),
            "payload of {} overwritten",
            self.id
        );
    }
}

impl Drop for Obj {
    fn drop(&mut self) {
        self.check();
        self.cookie = POISON;
        DROPPED.fetch_add(1, Relaxed);
    }
}

/// xorshift64*: a seeded, deterministic stream per thread.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn eight_threads_a_million_mixed_ops_each() {
    // `TYPOOL_STRESS_OPS` lowers it (the sanitizer run in CI uses 100,000).
    let ops = if cfg!(miri) {
        200
    } else {
        std::env::var("TYPOOL_STRESS_OPS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(OPS)
    };
    let transfer: Vec<AtomicPtr<Obj>> = (0..TRANSFER)
        .map(|_| AtomicPtr::new(ptr::null_mut()))
        .collect();
    let start = Barrier::new(THREADS);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (transfer, start) = (&transfer, &start);
            s.spawn(move || {
                let mut rng = Rng(0x1234_5678 + t as u64 * 0x9e37);
                let mut mine: Vec<PoolBox<Obj>> = Vec::new();
                let mut next_id = (t as u64) << 40;
                start.wait();
                for _ in 0..ops {
                    let r = rng.next();
                    match r % 10 {
                        // Allocate (biased while the local set is small).
                        0..=3 => {
                            next_id += 1;
                            mine.push(PoolBox::new(Obj::new(next_id)));
                        }
                        // Free a random local object on this thread.
                        4..=6 => {
                            if !mine.is_empty() {
                                let i = (r >> 8) as usize % mine.len();
                                let o = mine.swap_remove(i);
                                o.check();
                                drop(o);
                            }
                        }
                        // Swap with the transfer array: what comes out was made by any thread
                        // and is freed (later) by this one.
                        _ => {
                            let out = match mine.pop() {
                                Some(o) => PoolBox::into_raw(o),
                                None => ptr::null_mut(),
                            };
                            let slot = &transfer[(r >> 16) as usize % TRANSFER];
                            let got = slot.swap(out, SeqCst);
                            if !got.is_null() {
                                // SAFETY: every non-null pointer in the array came from
                                // `into_raw` and is taken out by exactly one swap.
                                let o = unsafe { PoolBox::from_raw(got) };
                                o.check();
                                if r & (1 << 40) == 0 {
                                    drop(o);
                                } else {
                                    mine.push(o);
                                }
                            }
                        }
                    }
                    if mine.len() > 4096 {
                        mine.truncate(2048);
                    }
                }
            });
        }
    });
    for slot in &transfer {
        let p = slot.swap(ptr::null_mut(), SeqCst);
        if !p.is_null() {
            // SAFETY: as above; the threads are done.
            drop(unsafe { PoolBox::from_raw(p) });
        }
    }
    let created = CREATED.load(Relaxed);
    assert!(
        created > (THREADS * ops / 3) as u64,
        "the mix allocates ({created})"
    );
    assert_eq!(
        DROPPED.load(Relaxed),
        created,
        "every object dropped exactly once"
    );
    let stats = Obj::pool().stats();
    assert_eq!(stats.live, 0, "{stats}");
    assert!(
        stats.depot_transfers > 0 && stats.cache_hits > stats.cache_misses,
        "{stats}"
    );
    // Everything freed by exited threads is back in the depot: trimming may give back whole
    // segments, and the pool still works afterwards.
    let _ = Obj::pool().trim();
    let again: Vec<_> = (0..10_000).map(|i| PoolBox::new(Obj::new(i))).collect();
    assert!(again.iter().all(|o| o.cookie == cookie(o.id)));
    drop(again);
    assert_eq!(Obj::pool().stats().live, 0);
}
