//! Event counters and the registry that sums them.
//!
//! Each thread cache owns a [`Counters`] (allocations, frees, misses) that only its thread
//! writes, with a relaxed load and store, so counting costs the fast path no atomic
//! read-modify-write. The counters are atomics so that another thread may read them. A pool
//! keeps a [`Registry`] of its live caches' counters plus the totals of caches that have
//! retired; `stats()` sums them under the registry lock.

use crate::os::{sys_vec, SysVec};
use crate::sync::{loom_const_fn, AtomicU64, Ordering};

/// Per-cache event counters, readable from any thread.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) allocs: AtomicU64,
    pub(crate) frees: AtomicU64,
    pub(crate) misses: AtomicU64,
}

impl Counters {
    loom_const_fn! {
        pub(crate) const fn new() -> Self {
            Self { allocs: AtomicU64::new(0), frees: AtomicU64::new(0), misses: AtomicU64::new(0) }
        }
    }

    pub(crate) fn snapshot(&self) -> [u64; 3] {
        [&self.allocs, &self.frees, &self.misses].map(|c| c.load(Ordering::Relaxed))
    }
}

/// The caches a pool must sum, and what retired caches counted.
#[derive(Debug)]
pub(crate) struct Registry {
    caches: SysVec<CounterRef>,
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
            caches: sys_vec(),
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
