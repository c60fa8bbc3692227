//! Thread caches: the fast path, and the policy of everything a thread keeps.
//!
//! A [`LocalCache`] belongs to one thread and holds up to two magazines of free slots: `cur`,
//! which allocation pops and free pushes, and `prev`, a spare (the magazine scheme of
//! Bonwick's Vmem). Allocation that finds `cur` empty swaps in `prev` if it has slots, else
//! takes a magazine from the thread's stash, else asks the pool (the depot, then the
//! segments); free that finds `cur` full moves it to `prev`, first putting an already full
//! `prev` on the stash — or, when the stash is at its bound, handing it to the pool's depot.
//! So a thread that alternates alloc and free around a boundary never touches shared state
//! twice in a row, and a thread whose demand swings wider keeps its memory to itself.
//!
//! Nothing on the hit path does an atomic read-modify-write: allocation is a load of `cur`'s
//! top word, a test, a load of the slot's link and a store of it as the new top; free is a
//! load, a test against the limit and two stores (the slot's link, the new top); each bumps
//! a counter. The counters are atomics only so that `stats()` may read them from
//! another thread; their owner updates them with a relaxed load and store.
//!
//! # What the cache decides
//!
//! The pool only carries magazines; this file decides when they move and how big they are:
//!
//! - **Magazine size.** Every magazine a cache takes from outside its two (its stash or the
//!   pool) is twice the size of the last, up to `PoolConfig::GROWTH` times the configured one
//!   (and `PoolConfig::GROWTH_BYTES` of slots), in unbounded pools: a thread whose demand
//!   swings wider than its two magazines, or that builds a large structure, soon moves memory
//!   in large batches, while a thread that needs a few objects keeps a few.
//! - **Stash bound.** The stash starts empty and bounded to nothing, and its bound grows by
//!   every magazine the thread takes from the pool, up to `PoolConfig::STASH_BYTES`: memory a
//!   thread asked for, it may keep when it frees it, and reuse without meeting another thread.
//!   A thread that only frees (the consumer of a producer/consumer pair) never takes, so it
//!   hands every surplus magazine to the depot, where the producer finds it. The bound also
//!   shrinks: once per decay period the owner looks at the least its stash held all period
//!   long (`stash_low`), hands that many slots to the depot, and lowers the bound by as much —
//!   so a thread that stashed a peak and then lives on a trickle keeps only the trickle, and
//!   the rest decays from the depot. Bounded pools keep no stash, since slots parked in caches
//!   count against `max`.
//!
//! Magazines of different sizes mix freely in stashes and the depot (each carries its
//! length).
//!
//! A cache must not move once registered (the pool's registry points at its shared part): it
//! lives in a `thread_local!` or in a pool's cache table, both of which stay put.
//!
//! Invariants: `cur` holds `len <= limit` slots; `limit == 0` exactly while the cache is not registered with its pool
//! (so the first alloc and the first free both take the slow path, which registers it);
//! `stashed` counts the slots the owner put on its stash and did not take back, so it is at
//! least what the stash holds (a steal takes slots without telling it); `stash_low <= stashed`.

use crate::engine::counters::Counters;
use crate::engine::decay::{now_ms, StashClock};
use crate::engine::depot::Stash;
use crate::engine::guard::{Owner, Secret, Whose};
use crate::engine::magazine::{FreeSlot, Magazine, Top};
use crate::engine::poison;
use crate::engine::raw::RawPool;
use crate::engine::segment::{Home, Refused};
use crate::sync::{bump, loom_const_fn};
use core::cell::Cell;
use core::ptr::NonNull;

/// One thread's free slots for one pool. Generated code names it through
/// `typool::__private`; users never touch it.
///
/// Aligned to a cache line: caches of different threads sit side by side in a pool's cache
/// table (`table.rs`), and none may share a line with another's hit path. (It also makes the
/// slab's per-class caches an array of power-of-two stride.)
#[repr(align(64))]
pub struct LocalCache {
    /// `cur`: its first slot and length in one word (`magazine.rs`), so that a pop stores
    /// one word and a push two.
    top: Cell<Top>,
    limit: Cell<u32>,
    prev: Cell<Magazine>,
    /// Slots put on the stash and not taken back (see the invariants).
    stashed: Cell<u32>,
    /// How many slots the stash may hold.
    stash_cap: Cell<u32>,
    /// The fewest slots `stashed` counted since `low_since`: what the stash held unused all
    /// that while (see "Stash bound").
    stash_low: Cell<u32>,
    /// When (decay's clock, ms) the stash's low-water mark began.
    low_since: Cell<u64>,
    /// The page this cache carves untouched slots from (`segment.rs`, "Homes").
    home: Home,
    /// Bytes per slot, for ASan poisoning (`engine/poison.rs`).
    #[cfg(typool_asan)]
    slot_size: Cell<usize>,
    /// The pool's free-list secret, for the checks of `engine/guard.rs` (checked builds
    /// only; set on registration).
    #[cfg(typool_checked)]
    secret: Cell<Secret>,
    /// Who the pool is, for the checks' reports (nothing in unchecked builds).
    owner: Whose,
    pub(crate) shared: CacheShared,
}

/// The part of a cache that other threads may touch: its counters, which `stats()` reads,
/// and its stash, which `trim` and thread exit steal from. The pool's registry points here.
#[derive(Debug)]
pub(crate) struct CacheShared {
    pub(crate) counters: Counters,
    pub(crate) stash: Stash,
    /// How a decay step tells this stash sat unused (`engine/decay.rs`).
    pub(crate) clock: StashClock,
}

impl core::fmt::Debug for LocalCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LocalCache")
            .field("len", &self.top.get().len())
            .field("spare", &self.prev.get().len)
            .finish_non_exhaustive()
    }
}

impl LocalCache {
    loom_const_fn! {
        /// An empty, unregistered cache.
        pub const fn new() -> Self {
            Self {
                top: Cell::new(Top::EMPTY),
                limit: Cell::new(0),
                prev: Cell::new(Magazine::EMPTY),
                stashed: Cell::new(0),
                stash_cap: Cell::new(0),
                stash_low: Cell::new(0),
                low_since: Cell::new(0),
                home: Home::new(),
                #[cfg(typool_asan)]
                slot_size: Cell::new(0),
                #[cfg(typool_checked)]
                secret: Cell::new(Secret::UNSET),
                owner: Whose::new(),
                shared: CacheShared {
                    counters: Counters::new(),
                    stash: Stash::new(),
                    clock: StashClock::new(),
                },
            }
        }
    }

    /// Hit path of allocation: a slot from `cur`, or `None` when it is empty.
    #[inline(always)]
    pub(crate) fn pop(&self) -> Option<NonNull<FreeSlot>> {
        let top = self.top.get();
        // Tested as a `NonNull`, the value the callers match on: one test, not two.
        let slot = NonNull::new(top.head())?;
        // SAFETY: `slot` heads this cache's `cur` chain, owned by this thread and linked with
        // its pool's secret; its link is the rest of the chain, `top.len() - 1` slots.
        self.top.set(unsafe {
            self.secret()
                .take(slot.as_ptr(), top.len() - 1, &self.owner)
        });
        bump(&self.shared.counters.allocs, 1);
        poison::live_slot(slot.as_ptr(), self.slot_size());
        Some(slot)
    }

    /// Hit path of free: keeps `slot` in `cur`, or gives it back when `cur` is full.
    ///
    /// # Safety
    ///
    /// `slot` is a slot of this cache's pool that holds no live object and is in no chain.
    #[inline(always)]
    pub(crate) unsafe fn push(&self, slot: *mut FreeSlot) -> Result<(), *mut FreeSlot> {
        let secret = self.secret();
        // SAFETY: the caller gives us a slot of this cache's pool whose object is gone.
        unsafe { secret.check_free(slot, &self.owner) };
        let top = self.top.get();
        if top.len() >= self.limit.get() {
            return Err(slot);
        }
        // SAFETY: the caller gives us a free slot of this pool, sized and aligned for a
        // `FreeSlot`, in no chain.
        unsafe { secret.link(slot, top) };
        self.top.set(Top::new(slot, top.len() + 1));
        bump(&self.shared.counters.frees, 1);
        poison::free_slot(slot, self.slot_size());
        Ok(())
    }

    /// Whether `slot` is one of this cache's free slots (`cur` or `prev`): a walk of up to two
    /// magazines, for debug checks only.
    pub(crate) fn holds(&self, slot: *mut FreeSlot) -> bool {
        let mut found = false;
        for mag in [self.top.get().magazine(), self.prev.get()] {
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
        #[cfg(typool_checked)]
        self.secret.set(secret);
        #[cfg(not(typool_checked))]
        let _ = secret;
        self.owner.set(owner);
    }

    /// The secret this cache's chains are linked with.
    #[inline(always)]
    pub(crate) fn secret(&self) -> Secret {
        #[cfg(typool_checked)]
        return self.secret.get();
        #[cfg(not(typool_checked))]
        Secret::UNSET
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
    fn take_cur(&self) -> Magazine {
        self.top.replace(Top::EMPTY).magazine()
    }

    /// Installs `mag` as `cur` (which must be empty).
    fn set_cur(&self, mag: Magazine) {
        debug_assert!(
            self.top.get() == Top::EMPTY,
            "cur still holds {} slots",
            self.top.get().len()
        );
        self.top.set(mag.top());
    }

    /// Slow path of allocation: `cur` is empty (or the cache is not registered). Refills it
    /// from `prev`, the stash or the pool, and pops.
    #[cold]
    #[inline(never)]
    pub(crate) fn refill(&self, pool: &RawPool) -> Result<*mut FreeSlot, Refused> {
        if !self.is_registered() {
            pool.register(self);
        }
        let mut from_pool = false;
        if self.top.get() == Top::EMPTY {
            let prev = self.prev.replace(Magazine::EMPTY);
            let mag = if prev.len > 0 {
                prev
            } else {
                let (mag, shared) = self.take(pool)?;
                from_pool = shared;
                bump(&self.shared.counters.misses, 1);
                let limit = self.limit.get();
                let max = pool.config().max_magazine(pool.slot_size());
                self.limit.set(limit.saturating_mul(2).min(max).max(limit));
                mag
            };
            self.set_cur(mag);
        }
        let slot = self
            .pop()
            .expect("a refilled magazine holds at least one slot")
            .as_ptr();
        if from_pool {
            pool.sample_peak();
        }
        Ok(slot)
    }

    /// A magazine from the stash, else from the pool (whose memory this thread then has
    /// shown it reuses: see "Stash bound"); and whether it came from the pool.
    fn take(&self, pool: &RawPool) -> Result<(Magazine, bool), Refused> {
        self.shed_unused(pool);
        if let Some(mag) = self.shared.stash.pop(pool.depot()) {
            self.shared.clock.tick();
            let stashed = self.stashed.get().saturating_sub(mag.len);
            self.stashed.set(stashed);
            self.stash_low.set(self.stash_low.get().min(stashed));
            return Ok((mag, false));
        }
        self.stashed.set(0);
        self.stash_low.set(0);
        let mag = pool.take(self.limit.get(), &self.home)?;
        let max = pool.config().max_stash(pool.slot_size());
        self.stash_cap
            .set(self.stash_cap.get().saturating_add(mag.len).min(max));
        bump(&self.shared.counters.transfers, 1);
        Ok((mag, true))
    }

    /// Slow path of free: `cur` is full (or the cache is not registered or closed). Makes
    /// room — `cur` becomes `prev`, a full `prev` goes to the stash or the depot — and pushes.
    ///
    /// # Safety
    ///
    /// `slot` is a slot of `pool` that holds no live object and is in no chain.
    #[cold]
    #[inline(never)]
    pub(crate) unsafe fn overflow(&self, pool: &RawPool, slot: *mut FreeSlot) {
        if !self.is_registered() {
            pool.register(self);
        } else {
            let prev = self.prev.replace(Magazine::EMPTY);
            if prev.len > 0 {
                self.send_away(pool, prev);
            }
            self.prev.set(self.take_cur());
        }
        // SAFETY: forwarded from the caller; `cur` now has room.
        let pushed = unsafe { self.push(slot) };
        debug_assert!(pushed.is_ok(), "a cache with room refused a slot");
    }

    /// Once a decay period (`PoolConfig::decay_ms`) has passed since the stash's low-water
    /// mark began: hands the depot as many slots as the stash held unused all period, and
    /// lowers the bound by as much. So a thread that stashed a peak and then lives on a trickle
    /// keeps the trickle, and the rest decays from the depot like any other idle memory.
    fn shed_unused(&self, pool: &RawPool) {
        let ms = pool.config().decay;
        // An empty stash has nothing to shed (and `stash_low == 0`): no clock read for the
        // threads that never stash — consumers, and every thread of a bounded pool. Its period
        // starts again at the first slow path that finds it holding slots.
        if ms == 0 || self.stashed.get() == 0 || cfg!(typool_loom) {
            return;
        }
        let now = now_ms();
        if now < self.low_since.get().saturating_add(u64::from(ms)) {
            return;
        }
        let unused = self.stash_low.get();
        let mut left = unused;
        while left > 0 {
            let Some(mag) = self.shared.stash.pop(pool.depot()) else {
                break;
            };
            self.stashed.set(self.stashed.get().saturating_sub(mag.len));
            left = left.saturating_sub(mag.len);
            pool.give(mag);
            bump(&self.shared.counters.transfers, 1);
        }
        self.stash_cap
            .set(self.stash_cap.get().saturating_sub(unused));
        self.stash_low.set(self.stashed.get());
        self.low_since.set(now);
    }

    /// Puts a full magazine on the stash while it is below its bound, else in the depot.
    fn send_away(&self, pool: &RawPool, mag: Magazine) {
        self.shed_unused(pool);
        let stashed = self.stashed.get().saturating_add(mag.len);
        if stashed <= self.stash_cap.get() {
            match self.shared.stash.push(pool.depot(), mag) {
                Ok(()) => {
                    self.shared.clock.tick();
                    self.stashed.set(stashed);
                    return;
                }
                // No memory for a descriptor: the pool takes it (`RawPool::give`).
                Err(mag) => return pool.give(mag),
            }
        }
        pool.give(mag);
        bump(&self.shared.counters.transfers, 1);
    }

    /// Hands every free slot this cache holds — `cur`, `prev` and the stash — to the depot,
    /// where `trim` can see them. The cache stays registered.
    pub(crate) fn flush(&self, pool: &RawPool) {
        for mag in [self.prev.replace(Magazine::EMPTY), self.take_cur()] {
            if mag.len > 0 {
                pool.give(mag);
            }
        }
        pool.steal_stash(&self.shared);
        self.stashed.set(0);
        self.stash_low.set(0);
        bump(&self.shared.counters.transfers, 1);
    }

    /// Hands all of the cache's slots and descriptors to the pool and unregisters it
    /// (thread exit; for a table's cache, also when its id is given back). It registers
    /// again on next use.
    pub(crate) fn retire(&self, pool: &RawPool) {
        if !self.is_registered() {
            return;
        }
        // Into their pages, not the depot: see "Homes" in `segment.rs`.
        for mag in [self.take_cur(), self.prev.replace(Magazine::EMPTY)] {
            if mag.len > 0 {
                pool.reap(mag);
            }
        }
        pool.reap_stash(&self.shared);
        pool.leave(&self.home);
        self.shared.stash.return_spares(pool.depot());
        self.stashed.set(0);
        self.stash_cap.set(0);
        self.stash_low.set(0);
        pool.unregister(self, || {
            self.limit.set(0);
            self.shared.counters.take()
        });
    }
}

// The longest magazine any configuration allows fits in a `Top`.
const _: () = assert!(
    crate::engine::config::PoolConfig::new()
        .cache(65536)
        .max_magazine(8)
        <= Top::MAX_LEN
);

// Two lines at most in release builds (checked builds add the guard's words, ASan the slot
// size, loom its own primitives): the hit path's fields and the rest.
const _: () = assert!(
    core::mem::size_of::<LocalCache>() <= 128
        || cfg!(any(typool_checked, typool_asan, typool_loom))
);

// SAFETY: a cache's `Cell`s are used by the thread that holds it, through `&self`, and by the
// next holder after a handover that goes through a mutex (the table's id list, or the
// registry when a derived type's cache retires); its raw pointers lead to slots and
// descriptors of its pool, which no thread owns. Other threads read only `shared` (atomics,
// and the stash, whose heads are atomics).
unsafe impl crate::engine::table::Entry for LocalCache {}

impl Default for LocalCache {
    fn default() -> Self {
        Self::new()
    }
}
