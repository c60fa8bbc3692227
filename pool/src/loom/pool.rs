//! Loom models of the pool as a whole: thread caches, depot transfers, segments, trim.
//!
//! Slot memory is raw, which loom cannot see; each model therefore keeps a *shadow* — one
//! `loom::cell::UnsafeCell` per slot — written by whoever frees a slot and read by whoever
//! allocates it next. If the pool's orderings did not make the free happen-before the next
//! allocation, loom would report the shadow access as a data race.

use crate::engine::cache::LocalCache;
use crate::engine::config::PoolConfig;
use crate::engine::magazine::{FreeSlot, Magazine};
use crate::loom::explore;
use crate::typed::pool::Pool;
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

/// A pool whose caches hold one slot per magazine, so transfers happen on almost every call.
fn tiny_pool(max: Option<usize>) -> Pool<u64> {
    let config = PoolConfig::new().cache(2).initial(4);
    Pool::with_config(match max {
        Some(m) => config.max(m),
        None => config,
    })
}

/// Carves at least `n` slots and takes every carved slot out (a growing cache may carve more
/// than it hands out), then hands them back in magazines of `per` slots — one slot each, so
/// that each thread's refill takes one slot and the models race over the depot, not over who
/// got the one big magazine; or all in one, the pool's only free memory. Returns every slot
/// carved.
fn seed(pool: &Pool<u64>, n: usize, per: usize) -> Vec<*mut FreeSlot> {
    let cache = LocalCache::new();
    let mut slots: Vec<*mut FreeSlot> = Vec::new();
    while slots.len() < n || slots.len() < pool.raw.carved() {
        slots.push(pool.raw.alloc(&cache).unwrap());
    }
    for chunk in slots.chunks(per) {
        let mut mag = Magazine::EMPTY;
        for &s in chunk {
            // SAFETY: just allocated from this pool, holds nothing, in no chain; the cache is
            // registered, so its secret is the pool's.
            unsafe { mag.push(s, cache.secret()) };
        }
        pool.raw.give(mag);
        crate::sync::bump(&cache.shared.counters.frees, chunk.len() as u64);
    }
    pool.raw.retire(&cache);
    slots
}

struct World {
    pool: Pool<u64>,
    shadow: Vec<(usize, UnsafeCell<u64>)>,
    /// Slots carved by the setup: every one of them has a shadow.
    carved: usize,
}

// SAFETY: the shadow cells are loom's checked cells; sharing them is the point of the model.
unsafe impl Sync for World {}
// SAFETY: as above.
unsafe impl Send for World {}

impl World {
    /// A pool with at least `n` free slots in its depot, each slot a magazine of its own
    /// (see [`seed`]), and a shadow for every slot it carved.
    fn new(n: usize, max: Option<usize>) -> Arc<Self> {
        let pool = tiny_pool(max);
        let slots = seed(&pool, n, 1);
        let carved = slots.len();
        let shadow = slots
            .iter()
            .map(|&s| (s as usize, UnsafeCell::new(0)))
            .collect();
        Arc::new(Self {
            pool,
            shadow,
            carved,
        })
    }

    fn cell(&self, slot: *mut FreeSlot) -> &UnsafeCell<u64> {
        &self
            .shadow
            .iter()
            .find(|(a, _)| *a == slot as usize)
            .expect("a slot the model carved")
            .1
    }

    /// Allocates, checks the last owner's mark is visible, marks the slot as `tag`'s.
    fn take(&self, cache: &LocalCache, tag: u64) -> *mut FreeSlot {
        let slot = self
            .pool
            .raw
            .alloc(cache)
            .expect("the model never runs out");
        self.cell(slot).with_mut(|p| {
            // SAFETY: loom checks this access for races; the slot is ours now.
            let prev = unsafe { *p };
            assert_ne!(prev, u64::MAX, "slot handed out while still live");
            // SAFETY: as above.
            unsafe { *p = u64::MAX - 1 - tag };
        });
        slot
    }

    fn give(&self, cache: &LocalCache, slot: *mut FreeSlot, tag: u64) {
        // SAFETY: loom checks this access; the slot is still ours.
        self.cell(slot).with_mut(|p| unsafe { *p = tag });
        // SAFETY: the slot came from this pool and is no longer used.
        unsafe { self.pool.raw.free(cache, slot) };
    }
}

#[test]
fn loom_pool_alloc_free_two_threads() {
    let runs = explore(|| {
        let w = World::new(2, None);
        let hs: Vec<_> = (0..2u64)
            .map(|t| {
                let w = w.clone();
                thread::spawn(move || {
                    let cache = LocalCache::new();
                    let s = w.take(&cache, t);
                    w.give(&cache, s, t);
                    // Through the depot (as an overflow goes), then the exit (into the pages).
                    cache.flush(&w.pool.raw);
                    w.pool.raw.retire(&cache);
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(w.pool.stats().live, 0);
        assert_eq!(
            w.pool.raw.carved(),
            w.carved,
            "nothing carved: the free slots sufficed"
        );
    });
    assert!(runs >= 6000, "explored only {runs} executions");
}

/// One thread allocates and frees (its magazine overflows into the depot); the other takes
/// the same slot out of the depot: the first thread's writes must be visible to the second.
#[test]
fn loom_pool_cross_thread_handoff() {
    let runs = explore(|| {
        let w = World::new(2, Some(2));
        let w2 = w.clone();
        let producer = thread::spawn(move || {
            let cache = LocalCache::new();
            let s = w2.take(&cache, 1);
            w2.give(&cache, s, 1);
            cache.flush(&w2.pool.raw); // its slot goes to the depot, as an overflow's would
            w2.pool.raw.retire(&cache);
        });
        let cache = LocalCache::new();
        let s = w.take(&cache, 2);
        w.give(&cache, s, 2);
        cache.flush(&w.pool.raw);
        w.pool.raw.retire(&cache);
        producer.join().unwrap();
        assert_eq!(w.pool.stats().live, 0);
    });
    assert!(runs >= 3000, "explored only {runs} executions");
}

/// A free on another thread than the allocation: the slot enters the freeing thread's cache
/// and reaches the allocating side again through the depot.
#[test]
fn loom_pool_remote_free_flows_back() {
    let runs = explore(|| {
        let w = World::new(2, Some(2));
        let cache = LocalCache::new();
        let a = w.take(&cache, 1) as usize;
        let w2 = w.clone();
        let freer = thread::spawn(move || {
            let c = LocalCache::new();
            w2.give(&c, a as *mut FreeSlot, 7);
            c.flush(&w2.pool.raw); // to the depot, as an overflow would
            w2.pool.raw.retire(&c);
        });
        let b = w.take(&cache, 2);
        freer.join().unwrap();
        // The pool is bounded at 2: the third allocation succeeds only if `a` came back.
        let c = w.take(&cache, 3);
        assert_ne!(b, c);
        w.give(&cache, b, 2);
        w.give(&cache, c, 3);
        w.pool.raw.retire(&cache);
        assert_eq!(w.pool.stats().live, 0);
    });
    assert!(runs >= 24, "explored only {runs} executions");
}

/// Magazine flush and refill: frees past the cache's two magazines push to the depot while
/// another thread refills from it.
#[test]
fn loom_pool_batch_flush_and_refill() {
    let runs = explore(|| {
        let w = World::new(3, Some(3));
        let cache = LocalCache::new();
        let held: Vec<usize> = (0..3).map(|t| w.take(&cache, t) as usize).collect();
        let w2 = w.clone();
        let taker = thread::spawn(move || {
            let c = LocalCache::new();
            // May find the depot empty, but never a slot that is still live.
            let got = w2.pool.raw.alloc(&c).ok();
            if let Some(s) = got {
                w2.give(&c, s, 9);
            }
            c.flush(&w2.pool.raw);
            w2.pool.raw.retire(&c);
        });
        for (t, s) in held.into_iter().enumerate() {
            w.give(&cache, s as *mut FreeSlot, t as u64);
        }
        cache.flush(&w.pool.raw);
        w.pool.raw.retire(&cache);
        taker.join().unwrap();
        assert_eq!(w.pool.stats().live, 0);
    });
    assert!(runs >= 900, "explored only {runs} executions");
}

/// A cache handed back to the spawning thread by `join`.
struct SendCache(Box<LocalCache>);
// SAFETY: the spawned thread is done with the cache when `join` hands it over.
unsafe impl Send for SendCache {}

/// Two threads with empty caches and an empty depot carve at once: the grow lock gives each
/// its own slots.
#[test]
fn loom_pool_concurrent_carve() {
    let runs = explore(|| {
        let pool = Arc::new(tiny_pool(Some(2)));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let p = pool.clone();
                thread::spawn(move || {
                    // Boxed: a registered cache must not move.
                    let c = SendCache(Box::new(LocalCache::new()));
                    let s = p.raw.alloc(&c.0).unwrap() as usize;
                    (s, c)
                })
            })
            .collect();
        let got: Vec<(usize, SendCache)> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        assert_ne!(got[0].0, got[1].0, "two threads carved the same slot");
        for (s, c) in &got {
            // SAFETY: each slot came from this pool and holds nothing.
            unsafe { pool.raw.free(&c.0, *s as *mut FreeSlot) };
            pool.raw.retire(&c.0);
        }
        assert_eq!(pool.stats().reserved_slots, 2);
    });
    assert!(runs >= 1200, "explored only {runs} executions");
}

/// A thread exits (its cache retires) while another allocates: the retired slots are there
/// for the next allocation and nothing is carved anew.
#[test]
fn loom_pool_thread_exit_returns_cache() {
    let runs = explore(|| {
        let w = World::new(2, None);
        let w2 = w.clone();
        // The exiting thread's take, give and retirement race the main thread's first take.
        let exiting = thread::spawn(move || {
            let c = LocalCache::new();
            let s = w2.take(&c, 1);
            w2.give(&c, s, 1);
            w2.pool.raw.retire(&c);
        });
        let cache = LocalCache::new();
        let a = w.take(&cache, 2);
        exiting.join().unwrap();
        let b = w.take(&cache, 3);
        assert_ne!(a, b);
        w.give(&cache, a, 2);
        w.give(&cache, b, 3);
        w.pool.raw.retire(&cache);
        assert_eq!(
            w.pool.raw.carved(),
            w.carved,
            "the exited thread's slot was reused, not carved anew"
        );
    });
    assert!(runs >= 600, "explored only {runs} executions");
}

/// `trim` racing an allocation, over a pool seeded with `n` free slots in magazines of `per`:
/// trim may give back only what no one can still reach, and never makes the allocation grow
/// the pool. Returns the executions explored.
fn trim_races_alloc(n: usize, per: usize) -> usize {
    explore(move || {
        let pool = Arc::new(tiny_pool(None));
        seed(&pool, n, per);
        let p = pool.clone();
        let user = thread::spawn(move || {
            let c = LocalCache::new();
            let s = p.raw.alloc(&c).unwrap();
            // SAFETY: the slot is ours: write and read it back. If trim had freed its
            // segment, Miri/ASan (and `owns` below) would catch it.
            unsafe { s.cast::<u64>().write(0xfeed) };
            assert!(p.raw.owns(s.cast()));
            // SAFETY: as above.
            assert_eq!(unsafe { s.cast::<u64>().read() }, 0xfeed);
            // SAFETY: from this pool, no longer used.
            unsafe { p.raw.free(&c, s) };
            p.raw.retire(&c);
        });
        let _bytes = pool.trim();
        user.join().unwrap();
        let s = pool.stats();
        assert_eq!(s.live, 0);
        assert!(s.segments <= 1);
        // The seed's segment holds 4 slots. Trim may give it back (then the allocation makes
        // one of 4 again), but an allocation racing trim never finds the pool empty while
        // trim holds its free slots: it never needs a second segment.
        assert!(s.reserved_slots <= 4, "trim made the pool grow: {s:?}");
    })
}

/// Trim racing an allocation, the free slots spread over the depot one per magazine.
#[test]
fn loom_pool_trim_races_alloc() {
    let runs = trim_races_alloc(2, 1);
    assert!(runs >= 1400, "explored only {runs} executions");
}

/// Trim racing an allocation while the pool's only free memory is one magazine: if trim held
/// it outside the grow lock, the allocation would find nothing and grow the pool.
#[test]
fn loom_pool_trim_never_grows_the_pool() {
    let runs = trim_races_alloc(4, 4);
    assert!(runs >= 75, "explored only {runs} executions");
}

/// `stats()` while another thread allocates and frees: never a torn, huge `live`.
#[test]
fn loom_pool_stats_race_frees() {
    let runs = explore(|| {
        let w = World::new(1, Some(1));
        let w2 = w.clone();
        let worker = thread::spawn(move || {
            let c = LocalCache::new();
            let s = w2.take(&c, 1);
            w2.give(&c, s, 1);
            w2.pool.raw.retire(&c);
        });
        let live = w.pool.stats().live;
        assert!(live <= 1, "live = {live}");
        worker.join().unwrap();
        assert_eq!(w.pool.stats().live, 0);
    });
    assert!(runs >= 25, "explored only {runs} executions");
}
