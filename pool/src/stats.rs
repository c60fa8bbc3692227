//! Statistics: what a pool holds and how well its caches work.
//!
//! Counters live in each thread's cache (see `cache.rs`) so that counting costs the fast path
//! no atomic read-modify-write; a pool keeps a registry of its live caches and the totals of
//! caches that have retired. `stats()` sums them under the registry lock. The sum is exact
//! for threads that are quiet (or gone) while it runs; a thread busy at that moment may be
//! counted a few operations early or late.
//!
//! Gauges (`live`, `reserved_slots`, `segments`, `bytes_reserved`) are point-in-time;
//! counters (`cache_hits`, `cache_misses`, `depot_transfers`) only grow. `peak_live` is the
//! highest number of slots seen out of the depot — live objects plus the free slots parked in
//! thread caches — sampled whenever a cache refills, and at least every `live` a `stats()`
//! call has seen: it can exceed the true peak by at most `cache` slots per thread.

use crate::cache::Counters;
use core::fmt;

/// A snapshot of one pool. See the [module docs](self) for what is exact.
///
/// # Examples
///
/// ```
/// use typool::Pool;
///
/// let pool: Pool<[u64; 8]> = Pool::new();
/// let a = pool.alloc([0; 8]);
/// let s = pool.stats();
/// assert_eq!(s.live, 1);
/// assert_eq!(s.slot_size, 64);
/// assert!(s.utilization() > 0.0);
/// # drop(a);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PoolStats {
    /// `core::any::type_name` of the pooled type, without its module path.
    pub type_name: &'static str,
    /// Bytes per slot: the type's size, at least a pointer, rounded to its alignment.
    pub slot_size: usize,
    /// Objects allocated and not yet freed.
    pub live: usize,
    /// Highest `live` seen, counting free slots parked in thread caches (see the module docs).
    pub peak_live: usize,
    /// Slots in all segments.
    pub reserved_slots: usize,
    /// Allocations served by a thread cache.
    pub cache_hits: u64,
    /// Allocations that had to go to the depot or a segment.
    pub cache_misses: u64,
    /// Magazines moved between thread caches and the depot.
    pub depot_transfers: u64,
    /// Segments held.
    pub segments: usize,
    /// Bytes of all segments.
    pub bytes_reserved: usize,
}

impl PoolStats {
    /// Share of allocations served from a thread cache, in `0.0..=1.0` (1.0 before any).
    pub fn hit_rate(&self) -> f64 {
        let total = self.cache_hits + self.cache_misses;
        if total == 0 {
            1.0
        } else {
            self.cache_hits as f64 / total as f64
        }
    }

    /// Share of reserved slots holding a live object, in `0.0..=1.0` (0.0 when none reserved).
    pub fn utilization(&self) -> f64 {
        if self.reserved_slots == 0 {
            0.0
        } else {
            self.live as f64 / self.reserved_slots as f64
        }
    }
}

impl fmt::Display for PoolStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} live (peak {}), {} of {} slots used ({:.1}%), {} segment{}, {} KiB, cache hit rate {:.2}%, {} depot transfers",
            self.type_name,
            self.live,
            self.peak_live,
            self.live,
            self.reserved_slots,
            self.utilization() * 100.0,
            self.segments,
            if self.segments == 1 { "" } else { "s" },
            self.bytes_reserved / 1024,
            self.hit_rate() * 100.0,
            self.depot_transfers,
        )
    }
}

/// The caches a pool must sum, and what retired caches counted.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    caches: Vec<CounterRef>,
    /// allocs, frees, misses of caches that have retired (and of uncached frees).
    retired: [u64; 3],
}

/// A registered cache's counters. The cache unregisters before its memory goes away.
#[derive(Debug)]
struct CounterRef(*const Counters);

// SAFETY: `Counters` is all atomics, so reading it from any thread is fine; the registry
// protocol (unregister before free) keeps the pointer valid while it is listed.
unsafe impl Send for CounterRef {}

impl Registry {
    pub(crate) const fn new() -> Self {
        Self {
            caches: Vec::new(),
            retired: [0; 3],
        }
    }

    pub(crate) fn add(&mut self, c: &Counters) {
        self.caches.push(CounterRef(c));
    }

    /// Forgets `c`, keeping what it counted.
    pub(crate) fn remove(&mut self, c: &Counters, counted: [u64; 3]) {
        if let Some(i) = self.caches.iter().position(|r| core::ptr::eq(r.0, c)) {
            self.caches.swap_remove(i);
        }
        self.add_retired(counted);
    }

    pub(crate) fn add_retired(&mut self, counted: [u64; 3]) {
        for (t, c) in self.retired.iter_mut().zip(counted) {
            *t = t.wrapping_add(c);
        }
    }

    /// allocs, frees and misses over every cache, live or retired.
    pub(crate) fn totals(&self) -> [u64; 3] {
        let mut t = self.retired;
        for r in &self.caches {
            // SAFETY: listed caches are alive (they unregister, under this lock, before dying).
            let c = unsafe { &*r.0 }.snapshot();
            for (t, c) in t.iter_mut().zip(c) {
                *t = t.wrapping_add(c);
            }
        }
        t
    }
}
