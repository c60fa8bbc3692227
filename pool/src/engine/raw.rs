//! The untyped pool: slot layout, segments, depot, registry — what carries magazines.
//!
//! [`RawPool`] knows slots only by size and alignment, so every typed pool shares one copy of
//! this code (and the slab allocator's size classes can reuse it). The fast path and the
//! decisions of when magazines move live in `cache.rs`; this file hands caches magazines
//! ([`RawPool::take`]: the depot, else fresh slots from the segments), takes them back
//! ([`RawPool::give`]: the depot), and keeps the registry of caches.
//!
//! Where a free slot can be — exactly one of these at any time:
//! a thread cache's `cur` or `prev`, a magazine on a cache's stash or in the depot, a magazine
//! in a caller's hand (between a pop and its use), or never carved. `trim` relies on this: holding every
//! depot magazine and the grow lock, it knows a segment is unused when all its carved slots
//! are in its hand.

use crate::engine::cache::{CacheShared, LocalCache};
use crate::engine::config::PoolConfig;
use crate::engine::decay::Decay;
use crate::engine::depot::Depot;
use crate::engine::guard::{Owner, Secret};
use crate::engine::magazine::{FreeSlot, Magazine};
use crate::engine::mesh::{self, MeshReport, Tally};
use crate::engine::record::{self, Record};
use crate::engine::segment::{Home, Refused, Segments, SlotLayout};
use crate::engine::span_map::SpanMap;
use crate::os::{Backing, Granted};
use crate::stats::PoolStats;
use crate::sync::{lock, loom_const_fn, AtomicPtr, AtomicUsize, Locked, MutexGuard, Ordering};
use core::time::Duration;
use std::alloc::{handle_alloc_error, Layout};
use std::time::Instant;

pub(crate) struct RawPool {
    slot: SlotLayout,
    config: PoolConfig,
    /// The pooled type's (or allocator's) name, for misuse reports.
    name: fn() -> &'static str,
    /// The secret of this pool's free lists (`guard.rs`): 0 until the first registration
    /// draws it, then fixed for the pool's life.
    #[cfg(typool_checked)]
    secret: AtomicUsize,
    /// The segments' carved ranges, for ownership checks without the lock (checked builds).
    spans: SpanMap,
    depot: Depot,
    /// When the next decay step is due (`decay.rs`).
    decay: Decay,
    /// The segments and the registry of caches, on the heap (`record.rs`): null until the
    /// first slow path.
    record: AtomicPtr<Record>,
    /// Whether the record goes on the process-wide list (typed pools; not slab classes).
    listed: bool,
    /// Where the next decay step's meshing starts (an address; `mesh` pools).
    mesh_cursor: AtomicUsize,
}

impl core::fmt::Debug for RawPool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RawPool")
            .field("slot", &self.slot)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RawPool {
    loom_const_fn! {
        /// A pool of slots for objects of `object`'s layout; `name` names it in stats and
        /// misuse reports; a `listed` pool appears in `stats::all()` once it has memory.
        pub(crate) const fn new(
            object: Layout,
            config: PoolConfig,
            name: fn() -> &'static str,
            listed: bool,
        ) -> Self {
            let slot = if listed {
                SlotLayout::for_objects(object)
            } else {
                SlotLayout::for_layout(object)
            };
            // Meshing needs segments in memory files: the heap backing's alone.
            let slot = match config.backing {
                Backing::Heap if config.meshed => slot.meshed(),
                Backing::HugePages => slot.uncoloured(),
                _ => slot,
            };
            Self {
                slot,
                config,
                name,
                #[cfg(typool_checked)]
                secret: AtomicUsize::new(0),
                spans: SpanMap::new(slot),
                depot: Depot::new(),
                decay: Decay::new(),
                record: AtomicPtr::new(core::ptr::null_mut()),
                listed,
                mesh_cursor: AtomicUsize::new(0),
            }
        }
    }

    pub(crate) fn config(&self) -> &PoolConfig {
        &self.config
    }

    pub(crate) fn slot_size(&self) -> usize {
        self.slot.size
    }

    pub(crate) fn depot(&self) -> &Depot {
        &self.depot
    }

    /// A free slot from `cache`, refilling it when empty.
    #[inline(always)]
    pub(crate) fn alloc(&self, cache: &LocalCache) -> Result<*mut FreeSlot, Refused> {
        match cache.pop() {
            Some(slot) => Ok(slot.as_ptr()),
            None => cache.refill(self),
        }
    }

    /// Returns `slot` to `cache`, making room when full.
    ///
    /// # Safety
    ///
    /// `slot` was allocated from this pool, holds no live object and is in no chain.
    #[inline(always)]
    pub(crate) unsafe fn free(&self, cache: &LocalCache, slot: *mut FreeSlot) {
        // SAFETY: forwarded from the caller.
        if let Err(slot) = unsafe { cache.push(slot) } {
            // SAFETY: forwarded from the caller.
            unsafe { cache.overflow(self, slot) };
        }
    }

    /// A magazine of up to `want` free slots for a cache: from the depot, else from the
    /// segments' pages (fresh segments only when no page has a free slot). The depot is asked
    /// again under the grow lock: whatever `trim` moves, it moves under that lock, so a caller
    /// that waited for it finds the slots trim was holding.
    pub(crate) fn take(&self, want: u32, home: &Home) -> Result<Magazine, Refused> {
        self.decay_if_due();
        if let Some(mag) = self.depot.pop() {
            return Ok(mag);
        }
        let r = self.record();
        let mut segs = lock(&r.segments);
        if let Some(mag) = self.depot.pop() {
            return Ok(mag);
        }
        let first = self.config.first_segment(self.slot.size);
        let mag = segs.take(
            self.slot,
            want,
            first,
            self.config.limit(),
            self.secret(),
            home,
        );
        // Before the magazine leaves: a slot is in the map before anyone can free it.
        self.publish(r, &segs);
        let has_memory = segs.count() > 0;
        drop(segs);
        self.enlist(r, has_memory);
        mag
    }

    /// Hands a magazine (non-empty, owned by the caller) to the depot; when the system refuses
    /// memory for a depot descriptor, puts its slots back into their pages instead (under the
    /// grow lock), which needs none. So giving never fails, and a thread that frees never has
    /// to keep more than its cache holds.
    pub(crate) fn give(&self, mag: Magazine) {
        self.decay_if_due();
        self.hand_over(mag);
    }

    /// As [`give`](Self::give), without a decay step (thread exit). Not under the grow lock.
    pub(crate) fn hand_over(&self, mag: Magazine) {
        if let Err(mag) = self.depot.push(mag) {
            self.reap(mag);
        }
    }

    /// Puts a magazine's slots back into their pages (a thread's free slots at its exit: in
    /// their pages, other threads take them a page at a time, not mixed in a magazine).
    pub(crate) fn reap(&self, mag: Magazine) {
        let r = self.record();
        lock(&r.segments).give_back(self.slot, mag, self.secret());
    }

    /// Reaps every magazine of `cache`'s stash, one per hold of the grow lock.
    pub(crate) fn reap_stash(&self, cache: &CacheShared) {
        while let Some(mag) = cache.stash.steal(&self.depot) {
            self.reap(mag);
        }
    }

    /// Ends `home`'s claim on its page (its cache retires).
    pub(crate) fn leave(&self, home: &Home) {
        if let Some(r) = self.existing_record() {
            lock(&r.segments).leave(self.slot, home);
        }
    }

    /// Moves every magazine of `cache`'s stash to the depot.
    pub(crate) fn steal_stash(&self, cache: &CacheShared) {
        while let Some(mag) = cache.stash.steal(&self.depot) {
            self.hand_over(mag);
        }
    }

    /// Lists `cache` in the registry and opens it (its first slow path).
    pub(crate) fn register(&self, cache: &LocalCache) {
        lock(&self.record().registry).add(&cache.shared);
        let owner = Owner {
            name: self.name,
            slot_size: self.slot.size,
        };
        cache.open(self.config.magazine(self.slot.size), self.secret(), owner);
    }

    /// Takes `cache` off the registry, keeping what `close` says it counted.
    pub(crate) fn unregister(&self, cache: &LocalCache, close: impl FnOnce() -> [u64; 4]) {
        let mut registry = lock(&self.record().registry);
        let counted = close();
        registry.remove(&cache.shared, counted);
    }

    /// This pool's free-list secret, drawn on first use.
    fn secret(&self) -> Secret {
        #[cfg(typool_checked)]
        {
            let mut key = self.secret.load(Ordering::Acquire);
            if key == 0 {
                let drawn = Secret::draw();
                key = match self.secret.compare_exchange(
                    0,
                    drawn,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => drawn,
                    Err(first) => first,
                };
            }
            Secret::from_word(key)
        }
        #[cfg(not(typool_checked))]
        Secret::UNSET
    }

    /// Hands all of `cache`'s slots to the depot and unregisters it (thread exit).
    pub(crate) fn retire(&self, cache: &LocalCache) {
        cache.retire(self);
    }

    /// Hands `cache`'s free slots to the depot, where `trim` can see them; the cache stays
    /// registered.
    pub(crate) fn flush(&self, cache: &LocalCache) {
        cache.flush(self);
    }

    /// A slot for a thread that has no cache (it is being torn down): a throwaway cache
    /// takes a magazine and gives the rest straight back.
    pub(crate) fn alloc_uncached(&self) -> Result<*mut FreeSlot, Refused> {
        let cache = LocalCache::new();
        let slot = self.alloc(&cache);
        self.retire(&cache);
        slot
    }

    /// # Safety
    ///
    /// As [`Self::free`].
    pub(crate) unsafe fn free_uncached(&self, slot: *mut FreeSlot) {
        let cache = LocalCache::new();
        // SAFETY: forwarded from the caller.
        unsafe { self.free(&cache, slot) };
        self.retire(&cache);
    }

    /// Grows the segments until they hold `slots` (up to the pool's bound).
    pub(crate) fn reserve(&self, slots: usize) -> Result<(), Refused> {
        let r = self.record();
        let mut segs = lock(&r.segments);
        let want = slots.min(self.config.limit());
        let have = segs.reserved_slots();
        if have < want {
            segs.grow(self.slot, want - have, want - have, self.config.limit())?;
            self.publish(r, &segs);
        }
        let has_memory = segs.count() > 0;
        drop(segs);
        self.enlist(r, has_memory);
        Ok(())
    }

    /// Gives memory that no one holds back to the OS: empty pages (`madvise`) and empty
    /// segments (unmapped). Returns the bytes given back.
    ///
    /// In three steps, each a bounded piece of work under the grow lock, so that no
    /// allocation waits long and none finds the pool empty meanwhile (an allocation that needs
    /// fresh memory takes the same lock, and asks the depot again once it has it):
    ///
    /// 1. every registered cache's stash goes to the depot, a magazine at a time;
    /// 2. every depot magazine goes back into its pages, a magazine at a time;
    /// 3. empty pages and segments go back to the OS, [`RELEASE_BUDGET`] pages at a time.
    ///
    /// The free slots in other threads' two magazines stay where they are.
    pub(crate) fn trim(&self) -> usize {
        let Some(r) = self.existing_record() else {
            return 0;
        };
        lock(&r.registry).for_each(|cache| self.unstash(r, cache));
        self.reap_depot(r);
        self.release(r, false)
    }

    /// One decay step, if one is due (see `decay.rs`): what sat unused for a whole period
    /// moves one level down. Slow paths only.
    fn decay_if_due(&self) {
        if !self.decay.due(self.config.decay) {
            return;
        }
        let Some(r) = self.existing_record() else {
            return;
        };
        lock(&r.registry).for_each(|cache| {
            if cache.clock.idle() {
                self.unstash(r, cache);
            }
        });
        self.reap_depot(r);
        self.release(r, true);
        if self.slot.mesh {
            self.mesh_windows(r, DECAY_MESH_WINDOWS, true);
        }
    }

    /// Meshes sparse pages onto others and gives their memory back (`engine/mesh.rs`): first
    /// every stash and the depot go back into their pages, as in [`trim`](Self::trim), then
    /// the pages are looked at a window at a time, each window one hold of the grow lock.
    pub(crate) fn mesh(&self) -> MeshReport {
        let Some(r) = self.existing_record().filter(|_| self.slot.mesh) else {
            return MeshReport::default();
        };
        lock(&r.registry).for_each(|cache| self.unstash(r, cache));
        self.reap_depot(r);
        self.mesh_windows(r, usize::MAX, false)
    }

    /// Up to `windows` windows of meshing, from the start (or, `resume`, from where the last
    /// decay step stopped): each window planned in one hold of the grow lock, then meshed
    /// [`PAIRS_PER_HOLD`](mesh::PAIRS_PER_HOLD) pairs per hold.
    fn mesh_windows(&self, r: &Record, windows: usize, resume: bool) -> MeshReport {
        let secret = self.secret();
        let mut tally = Tally::default();
        let mut pause = Duration::ZERO;
        let mut plan = mesh::Plan::new();
        let mut cursor = if resume {
            self.mesh_cursor.load(Ordering::Relaxed)
        } else {
            0
        };
        'windows: for _ in 0..windows {
            let mut segs = lock(&r.segments);
            let start = Instant::now();
            let more = segs.plan_mesh(self.slot, secret, &mut cursor, &mut plan);
            pause += start.elapsed();
            drop(segs);
            for chunk in plan.pairs().chunks(mesh::PAIRS_PER_HOLD) {
                let mut segs = lock(&r.segments);
                let start = Instant::now();
                let refused = chunk.iter().any(|&pair| {
                    segs.mesh_planned(self.slot, secret, pair, &mut tally)
                        .is_err()
                });
                pause += start.elapsed();
                if refused {
                    break 'windows;
                }
            }
            if !more {
                cursor = 0;
                break;
            }
        }
        if resume {
            self.mesh_cursor.store(cursor, Ordering::Relaxed);
        }
        MeshReport::from_tally(tally, pause)
    }

    /// Moves every magazine of `cache`'s stash to the depot, each under the grow lock.
    fn unstash(&self, r: &Record, cache: &CacheShared) {
        let secret = self.secret();
        loop {
            let mut segs = lock(&r.segments);
            let Some(mag) = cache.stash.steal(&self.depot) else {
                return;
            };
            if let Err(mag) = self.depot.push(mag) {
                segs.give_back(self.slot, mag, secret);
            }
        }
    }

    /// Puts every depot magazine back into its pages, each popped and reaped under the grow
    /// lock.
    fn reap_depot(&self, r: &Record) {
        let secret = self.secret();
        loop {
            let mut segs = lock(&r.segments);
            let Some(mag) = self.depot.pop() else {
                return;
            };
            segs.give_back(self.slot, mag, secret);
        }
    }

    /// Gives empty pages and segments back to the OS, [`RELEASE_BUDGET`] pages per hold of
    /// the grow lock; `aged`: only those empty since the last decay step. Returns the bytes.
    fn release(&self, r: &Record, aged: bool) -> usize {
        let mut bytes = 0;
        loop {
            let mut segs = lock(&r.segments);
            // The leak walks read slots through the record's list of carved ranges: keep them
            // out until the list no longer names the segments about to be unmapped.
            #[cfg(feature = "track-sites")]
            let mut walks = lock(&r.carved);
            let (given, more) = segs.release(self.slot, RELEASE_BUDGET, aged);
            #[cfg(feature = "track-sites")]
            self.publish_walks(&mut walks, &segs);
            #[cfg(feature = "track-sites")]
            drop(walks);
            self.spans.publish(segs.carved_ranges(self.slot));
            bytes += given;
            if !more {
                return bytes;
            }
        }
    }

    /// Whether `ptr` is the start of a slot this pool has handed out: from the lock-free map
    /// where it can tell (checked builds), else under the grow lock.
    #[inline]
    pub(crate) fn owns(&self, ptr: *const u8) -> bool {
        self.spans
            .owns(ptr)
            .unwrap_or_else(|| self.owns_locked(ptr))
    }

    /// [`Self::owns`] past what the map covers: out of line, so the lock's code does not
    /// weigh on the checked free path that inlines `owns`.
    #[cold]
    #[inline(never)]
    fn owns_locked(&self, ptr: *const u8) -> bool {
        self.existing_record()
            .is_some_and(|r| lock(&r.segments).owns(self.slot, ptr))
    }

    /// This pool's record, or null before its first slow path.
    pub(crate) fn record_ptr(&self) -> *const Record {
        self.record.load(Ordering::Acquire)
    }

    /// The segments, under the grow lock (`None` before the first slow path).
    fn segments(&self) -> Option<Locked<MutexGuard<'_, Segments>>> {
        self.existing_record().map(|r| lock(&r.segments))
    }

    /// Slots carved so far (and not trimmed).
    #[cfg(typool_loom)]
    pub(crate) fn carved(&self) -> usize {
        self.segments().map_or(0, |s| s.carved())
    }

    /// Objects live now (0 before the first slow path).
    pub(crate) fn live(&self) -> usize {
        self.existing_record().map_or(0, Record::live)
    }

    /// Samples `live` for `peak_live` (after a cache took memory from the depot or the
    /// segments; not on the refills a thread serves itself).
    pub(crate) fn sample_peak(&self) {
        self.record().sample_peak();
    }

    /// What the kernel gave the segments (`None` before the first).
    pub(crate) fn granted(&self) -> Option<Granted> {
        self.segments()?.granted()
    }

    /// A snapshot of the pool.
    pub(crate) fn stats(&self) -> PoolStats {
        self.record().stats()
    }

    /// The record, made (and, once the pool has memory, listed) on first use: slow paths and
    /// `stats()` only.
    fn record(&self) -> &Record {
        if let Some(r) = self.existing_record() {
            return r;
        }
        let fresh = Record::create(self.name, self.slot, self.config.backing)
            .unwrap_or_else(|| handle_alloc_error(Layout::new::<Record>()));
        let r = match self.record.compare_exchange(
            core::ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => fresh,
            Err(first) => {
                // SAFETY: `fresh` was made just above and published nowhere.
                unsafe { Record::destroy(fresh) };
                first
            }
        };
        // SAFETY: a published record lives until the pool drops (`&self` outlives this use).
        unsafe { &*r }
    }

    fn existing_record(&self) -> Option<&Record> {
        let r = self.record.load(Ordering::Acquire);
        // SAFETY: as in `record`.
        (!r.is_null()).then(|| unsafe { &*r })
    }

    /// Tells the readers that do not take the grow lock where the carved slots are now: the
    /// span map of ownership checks and (feature `track-sites`) the leak walks. Under the grow
    /// lock, after every change.
    fn publish(&self, r: &Record, segs: &Segments) {
        self.spans.publish(segs.carved_ranges(self.slot));
        #[cfg(feature = "track-sites")]
        self.publish_walks(&mut lock(&r.carved), segs);
        #[cfg(not(feature = "track-sites"))]
        let _ = r;
    }

    /// The leak walks' list of carved ranges, made to match `segs` (its lock held).
    #[cfg(feature = "track-sites")]
    fn publish_walks(&self, walks: &mut crate::os::SysVec<(usize, usize)>, segs: &Segments) {
        if self.slot.site {
            walks.clear();
            walks.extend(segs.carved_ranges(self.slot));
        }
    }

    /// Puts a typed pool's record on the process-wide list once it has memory (`has_memory`,
    /// read under the grow lock just before; the listing itself happens outside it: the list
    /// comes first in the lock order).
    fn enlist(&self, r: &Record, has_memory: bool) {
        if self.listed && has_memory && !r.is_enlisted() {
            record::enlist(r);
        }
    }

    /// Live objects by allocation site, largest first (feature `track-sites`).
    #[cfg(feature = "track-sites")]
    pub(crate) fn sites(&self) -> Vec<(&'static core::panic::Location<'static>, usize)> {
        self.existing_record().map_or_else(Vec::new, Record::sites)
    }
}

/// Pages [`RawPool::trim`] gives back per hold of the grow lock (each an `madvise` call).
const RELEASE_BUDGET: usize = 32;

/// Windows of pages a decay step meshes in a `mesh` pool (`engine/mesh.rs`): the rate limit
/// of meshing without a call: one window (1024 pages) per decay period.
const DECAY_MESH_WINDOWS: usize = 1;

impl Drop for RawPool {
    fn drop(&mut self) {
        // `&mut self`: no handle (they borrow the pool) and no cache use is left. Off the
        // list first: after that no reader can reach the record, or walk the segments.
        let r = self.record.load(Ordering::Acquire);
        if !r.is_null() {
            record::delist(r);
        }
        if !r.is_null() {
            // SAFETY: a published record lives until here; nothing else refers to it now.
            lock(&unsafe { &*r }.segments).release_all(self.slot);
            // SAFETY: made by `Record::create`, off the list, and the pool is going away.
            unsafe { Record::destroy(r) };
        }
    }
}
