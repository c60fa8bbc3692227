//! Event counters and the registry that sums them.
//!
//! Each thread cache owns a [`Counters`] (allocations, frees, misses, depot transfers) that only its thread
//! writes, with a relaxed load and store, so counting costs the fast path no atomic
//! read-modify-write. The counters are atomics so that another thread may read them. A pool
//! keeps a [`Registry`] of its live caches' counters plus the totals of caches that have
//! retired; `stats()` sums them under the registry lock.

use crate::engine::cache::CacheShared;
use crate::os::{sys_vec, SysVec};
use crate::sync::{loom_const_fn, AtomicU64, Ordering};

/// Per-cache event counters, readable from any thread.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) allocs: AtomicU64,
    pub(crate) frees: AtomicU64,
    pub(crate) misses: AtomicU64,
    /// Magazines this cache moved to or from the depot (or took fresh from the segments).
    pub(crate) transfers: AtomicU64,
}

impl Counters {
    loom_const_fn! {
        pub(crate) const fn new() -> Self {
            Self {
                allocs: AtomicU64::new(0),
                frees: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                transfers: AtomicU64::new(0),
            }
        }
    }

    fn all(&self) -> [&AtomicU64; 4] {
        [&self.allocs, &self.frees, &self.misses, &self.transfers]
    }

    pub(crate) fn snapshot(&self) -> [u64; 4] {
        self.all().map(|c| c.load(Ordering::Relaxed))
    }

    /// What the counters hold, leaving them at 0 (the cache is closing).
    pub(crate) fn take(&self) -> [u64; 4] {
        self.all().map(|c| c.swap(0, Ordering::Relaxed))
    }
}

/// The caches a pool must sum, and what retired caches counted.
#[derive(Debug)]
pub(crate) struct Registry {
    caches: SysVec<CounterRef>,
    /// allocs, frees, misses of caches that have retired (and of uncached frees).
    retired: [u64; 4],
}

/// A registered cache's shared part. The cache unregisters before its memory goes away.
#[derive(Debug)]
struct CounterRef(*const CacheShared);

// SAFETY: `CacheShared` is all atomics (counters and the stash's tagged heads), so using it
// from any thread is fine; the registry protocol (unregister before free) keeps the pointer
// valid while it is listed.
unsafe impl Send for CounterRef {}

impl Registry {
    pub(crate) const fn new() -> Self {
        Self {
            caches: sys_vec(),
            retired: [0; 4],
        }
    }

    pub(crate) fn add(&mut self, c: &CacheShared) {
        self.caches.push(CounterRef(c));
    }

    /// Forgets `c`, keeping what it counted.
    pub(crate) fn remove(&mut self, c: &CacheShared, counted: [u64; 4]) {
        if let Some(i) = self.caches.iter().position(|r| core::ptr::eq(r.0, c)) {
            self.caches.swap_remove(i);
        }
        self.add_retired(counted);
    }

    pub(crate) fn add_retired(&mut self, counted: [u64; 4]) {
        for (t, c) in self.retired.iter_mut().zip(counted) {
            *t = t.wrapping_add(c);
        }
    }

    /// `f` on every registered cache, under the registry's lock (which keeps each alive).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&CacheShared)) {
        for r in &self.caches {
            // SAFETY: listed caches are alive (they unregister, under this lock, before dying).
            f(unsafe { &*r.0 });
        }
    }

    /// allocs, frees, misses and transfers over every cache, live or retired.
    pub(crate) fn totals(&self) -> [u64; 4] {
        let mut t = self.retired;
        for r in &self.caches {
            // SAFETY: listed caches are alive (they unregister, under this lock, before dying).
            let c = unsafe { &*r.0 }.counters.snapshot();
            for (t, c) in t.iter_mut().zip(c) {
                *t = t.wrapping_add(c);
            }
        }
        t
    }
}
