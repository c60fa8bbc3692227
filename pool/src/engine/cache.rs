//! Thread caches: the fast path.
//!
//! A [`LocalCache`] belongs to one thread and holds up to two magazines of free slots: `cur`,
//! which allocation pops and free pushes, and `prev`, a spare (the magazine scheme of
//! Bonwick's Vmem, as in mimalloc's local free lists). Allocation that finds `cur` empty swaps
//! in `prev` if it has slots, else takes a magazine from the depot; free that finds `cur` full
//! moves it to `prev`, first handing an already full `prev` to the depot. So a thread that
//! alternates alloc and free around the boundary never touches shared state twice in a row.
//!
//! Nothing here does an atomic read-modify-write: the hit path is a load, a test, two stores
//! and a counter bump. The counters are atomics only so that `stats()` may read them from
//! another thread; their owner updates them with a relaxed load and store.
//!
//! Sizing adapts: a thread that hands a magazine to the depot and later has to take one back
//! (its demand swings wider than its cache) doubles its magazine size, up to
//! `PoolConfig::GROWTH` times the configured one (and `PoolConfig::GROWTH_BYTES` of slots),
//! in unbounded pools. Without that, such a
//! thread pays a depot round trip per magazine — and, with other threads about, gets back
//! magazines whose slots were last written by another core: a cache miss per object. With it,
//! the steady state of an oscillating thread touches no shared state at all. Magazines of
//! different sizes mix freely in the depot (each carries its length).
//!
//! A cache must not move once registered (the pool's registry points at its counters): it
//! lives in a `thread_local!` or in a pool's cache table, both of which stay put.
//!
//! Invariant: `cur` holds `len <= limit` slots; `limit == 0` exactly while the cache is not yet
//! registered with its pool (so the first alloc and the first free both take the slow path,
//! which registers it).

use crate::engine::counters::Counters;
use crate::engine::guard::{Owner, Secret};
use crate::engine::magazine::{FreeSlot, Magazine};
use crate::engine::poison;
use crate::sync::{bump, loom_const_fn, Ordering};
use core::cell::Cell;
use core::ptr;

/// One thread's free slots for one pool. Generated code names it through
/// `typool::__private`; users never touch it.
pub struct LocalCache {
    head: Cell<*mut FreeSlot>,
    len: Cell<u32>,
    limit: Cell<u32>,
    prev: Cell<Magazine>,
    /// Whether this cache handed a magazine to the depot since it last took one.
    flushed: Cell<bool>,
    /// Bytes per slot, for ASan poisoning (`engine/poison.rs`).
    #[cfg(typool_asan)]
    slot_size: Cell<usize>,
    /// The pool's free-list secret and who it is, for the checks of `engine/guard.rs`
    /// (checked builds only; set on registration).
    #[cfg(any(debug_assertions, feature = "hardened"))]
    guard: Cell<(Secret, Owner)>,
    pub(crate) counters: Counters,
}

impl core::fmt::Debug for LocalCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LocalCache")
            .field("len", &self.len.get())
            .field("spare", &self.prev.get().len)
            .finish_non_exhaustive()
    }
}

impl LocalCache {
    loom_const_fn! {
        /// An empty, unregistered cache.
        pub const fn new() -> Self {
            Self {
                head: Cell::new(ptr::null_mut()),
                len: Cell::new(0),
                limit: Cell::new(0),
                prev: Cell::new(Magazine::EMPTY),
                flushed: Cell::new(false),
                #[cfg(typool_asan)]
                slot_size: Cell::new(0),
                #[cfg(any(debug_assertions, feature = "hardened"))]
                guard: Cell::new((Secret::UNSET, Owner::UNKNOWN)),
                counters: Counters::new(),
            }
        }
    }

    /// Hit path of allocation: a slot from `cur`, or `None` when it is empty.
    #[inline(always)]
    pub(crate) fn pop(&self) -> Option<*mut FreeSlot> {
        let slot = self.head.get();
        if slot.is_null() {
            return None;
        }
        let (secret, owner) = self.guard();
        // SAFETY: `slot` heads this cache's `cur` chain, owned by this thread and linked with
        // its pool's secret.
        self.head.set(unsafe { secret.take(slot, &owner) });
        self.len.set(self.len.get() - 1);
        bump(&self.counters.allocs, 1);
        poison::live_slot(slot, self.slot_size());
        Some(slot)
    }

    /// Hit path of free: keeps `slot` in `cur`, or gives it back when `cur` is full.
    ///
    /// # Safety
    ///
    /// `slot` is a slot of this cache's pool that holds no live object and is in no chain.
    #[inline(always)]
    pub(crate) unsafe fn push(&self, slot: *mut FreeSlot) -> Result<(), *mut FreeSlot> {
        let (secret, owner) = self.guard();
        // SAFETY: the caller gives us a slot of this cache's pool whose object is gone.
        unsafe { secret.check_free(slot, &owner) };
        let len = self.len.get();
        if len >= self.limit.get() {
            return Err(slot);
        }
        // SAFETY: the caller gives us a free slot of this pool, sized and aligned for a
        // `FreeSlot`, in no chain.
        unsafe { secret.link(slot, self.head.get()) };
        self.head.set(slot);
        self.len.set(len + 1);
        bump(&self.counters.frees, 1);
        poison::free_slot(slot, self.slot_size());
        Ok(())
    }

    /// Whether `slot` is one of this cache's free slots (`cur` or `prev`): a walk of up to two
    /// magazines, for debug checks only.
    pub(crate) fn holds(&self, slot: *mut FreeSlot) -> bool {
        let mut found = false;
        for mag in [
            Magazine {
                head: self.head.get(),
                len: self.len.get(),
            },
            self.prev.get(),
        ] {
            // SAFETY: both chains belong to this cache, which only this thread uses, linked
            // with its pool's secret; the walk only reads their links.
            unsafe { mag.for_each(self.secret(), |s| found |= s == slot) };
        }
        found
    }

    pub(crate) fn is_registered(&self) -> bool {
        self.limit.get() != 0
    }

    /// Opens the cache for magazines of `limit` slots of `owner`'s pool, whose chains are
    /// linked with `secret` (on registration).
    pub(crate) fn open(&self, limit: u32, secret: Secret, owner: Owner) {
        debug_assert!(limit > 0);
        self.limit.set(limit);
        #[cfg(typool_asan)]
        self.slot_size.set(owner.slot_size);
        #[cfg(any(debug_assertions, feature = "hardened"))]
        self.guard.set((secret, owner));
        #[cfg(not(any(debug_assertions, feature = "hardened")))]
        let _ = (secret, owner);
    }

    /// The secret this cache's chains are linked with, and their pool.
    #[inline(always)]
    fn guard(&self) -> (Secret, Owner) {
        #[cfg(any(debug_assertions, feature = "hardened"))]
        return self.guard.get();
        #[cfg(not(any(debug_assertions, feature = "hardened")))]
        (Secret::UNSET, Owner::UNKNOWN)
    }

    /// The secret this cache's chains are linked with.
    pub(crate) fn secret(&self) -> Secret {
        self.guard().0
    }

    /// Bytes per slot where ASan poisoning needs them; 0 (unused) otherwise.
    #[inline(always)]
    fn slot_size(&self) -> usize {
        #[cfg(typool_asan)]
        return self.slot_size.get();
        #[cfg(not(typool_asan))]
        0
    }

    /// Takes `cur` out, leaving it empty.
    pub(crate) fn take_cur(&self) -> Magazine {
        Magazine {
            head: self.head.replace(ptr::null_mut()),
            len: self.len.replace(0),
        }
    }

    /// Installs `mag` as `cur` (which must be empty).
    pub(crate) fn set_cur(&self, mag: Magazine) {
        debug_assert!(
            self.head.get().is_null(),
            "cur still holds {} slots",
            self.len.get()
        );
        self.head.set(mag.head);
        self.len.set(mag.len);
    }

    pub(crate) fn take_prev(&self) -> Magazine {
        self.prev.replace(Magazine::EMPTY)
    }

    pub(crate) fn set_prev(&self, mag: Magazine) {
        self.prev.set(mag);
    }

    pub(crate) fn prev_len(&self) -> u32 {
        self.prev.get().len
    }

    /// Notes a magazine handed to the depot.
    pub(crate) fn note_flush(&self) {
        self.flushed.set(true);
    }

    /// Notes a magazine taken from shared state; if the cache had flushed one since the last
    /// time, its demand oscillates past its size: grow the magazines (up to `max`).
    pub(crate) fn note_refill(&self, max: u32) {
        if self.flushed.replace(false) {
            let limit = self.limit.get();
            self.limit.set(limit.saturating_mul(2).min(max).max(limit));
        }
    }

    /// Slots per magazine this cache works with now.
    pub(crate) fn limit(&self) -> u32 {
        self.limit.get()
    }

    /// Counts an allocation that the slow path served.
    pub(crate) fn count_miss(&self) {
        bump(&self.counters.misses, 1);
    }

    /// Closes the cache, handing back its counters: it registers again on next use.
    pub(crate) fn close(&self) -> [u64; 3] {
        self.limit.set(0);
        [
            &self.counters.allocs,
            &self.counters.frees,
            &self.counters.misses,
        ]
        .map(|c| c.swap(0, Ordering::Relaxed))
    }
}

impl Default for LocalCache {
    fn default() -> Self {
        Self::new()
    }
}
