//! [`Pool<T>`]: a typed pool of `T`-sized slots.
//!
//! The typed face of [`RawPool`](crate::engine::raw): it turns slots into `T`s and refusals into
//! [`PoolError`]s that hand the value back. Allocation through a `Pool` you built yourself
//! uses the pool's own per-thread cache table ([`Handle`]); a `#[derive(Pooled)]` type's
//! static pool is reached through its generated thread-local instead ([`PoolBox`]).
//!
//! [`PoolBox`]: crate::PoolBox

use crate::engine::cache::LocalCache;
use crate::engine::config::PoolConfig;
use crate::engine::guard::CHECKED;
use crate::engine::magazine::FreeSlot;
use crate::engine::raw::RawPool;
use crate::engine::segment::Refused;
use crate::engine::table::CacheTable;
use crate::stats::PoolStats;
use crate::sync::loom_const_fn;
use crate::typed::error::{short_type_name, PoolError};
use crate::typed::handle::Handle;
use core::alloc::Layout;
use core::marker::PhantomData;
use core::ptr::NonNull;

/// A pool of `T`s: segments of slots with no per-object header, per-thread caches, and a
/// lock-free depot between them. See the [crate docs](crate) for the design.
///
/// # Examples
///
/// ```
/// use typool::{Pool, PoolConfig};
///
/// static NODES: Pool<[u32; 4]> = Pool::new();
///
/// let a = NODES.alloc([1, 2, 3, 4]);
/// let b = NODES.alloc([5, 6, 7, 8]);
/// assert_eq!(a[0] + b[3], 9);
/// drop(a);
/// assert_eq!(NODES.stats().live, 1);
///
/// let bounded: Pool<u8> = Pool::with_config(PoolConfig::new().max(2));
/// let (x, y) = (bounded.alloc(1), bounded.alloc(2));
/// assert_eq!(bounded.try_alloc(3).unwrap_err().into_inner(), 3);
/// # drop((x, y, b));
/// ```
pub struct Pool<T> {
    pub(crate) raw: RawPool,
    /// Caches of threads using this pool without a derived thread-local (see `engine/table.rs`).
    pub(crate) table: CacheTable<LocalCache>,
    /// A pool holds free slots, never a `T`: it is `Send` and `Sync` whatever `T` is.
    _slots_of: PhantomData<fn() -> T>,
}

impl<T> core::fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pool")
            .field("type", &short_type_name(core::any::type_name::<T>()))
            .finish_non_exhaustive()
    }
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Pool<T> {
    loom_const_fn! {
        /// An empty, unbounded pool with the default configuration. Reserves nothing until
        /// the first allocation.
        pub const fn new() -> Self {
            Self::with_config(PoolConfig::new())
        }
    }

    loom_const_fn! {
        /// An empty pool configured by `config`.
        pub const fn with_config(config: PoolConfig) -> Self {
            Self {
                raw: RawPool::new(Layout::new::<T>(), config, core::any::type_name::<T>, true),
                table: CacheTable::new(),
                _slots_of: PhantomData,
            }
        }
    }

    /// Moves `value` into the pool.
    ///
    /// # Panics
    ///
    /// When [`try_alloc`](Self::try_alloc) would fail, with its error's message.
    #[inline(always)]
    #[track_caller]
    pub fn alloc(&self, value: T) -> Handle<'_, T> {
        let ptr = self.slot_or_panic();
        // SAFETY: a slot of this pool, free and ours.
        unsafe { self.handle(ptr, value) }
    }

    /// Allocates the result of `f`, written straight into its slot: the slot is taken first,
    /// so a large `T` need not be built on the stack and then moved (the optimiser builds it
    /// in place where it can, as with bumpalo's `alloc_with`). If `f` panics, the slot goes
    /// back to the pool.
    ///
    /// # Panics
    ///
    /// When [`try_alloc`](Self::try_alloc) would fail, with its error's message; or if `f`
    /// panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use typool::Pool;
    ///
    /// let pool: Pool<[u64; 4096]> = Pool::new();
    /// let page = pool.alloc_with(|| [7; 4096]);
    /// assert_eq!(page[4095], 7);
    /// ```
    #[inline(always)]
    #[track_caller]
    pub fn alloc_with(&self, f: impl FnOnce() -> T) -> Handle<'_, T> {
        let ptr = self.slot_or_panic();
        // SAFETY: a slot of this pool, free and ours.
        unsafe { self.fill_with(ptr, f) }
    }

    /// Writes the result of `f` into `ptr` and hands out its owner; gives the slot back if `f`
    /// panics.
    ///
    /// # Safety
    ///
    /// As [`handle`](Self::handle).
    #[inline(always)]
    #[cfg_attr(feature = "track-sites", track_caller)]
    unsafe fn fill_with(&self, ptr: NonNull<T>, f: impl FnOnce() -> T) -> Handle<'_, T> {
        /// Gives the slot back if `f` panics.
        struct Unused<'a, T>(&'a Pool<T>, NonNull<T>);
        impl<T> Drop for Unused<'_, T> {
            fn drop(&mut self) {
                // SAFETY: a slot of this pool that holds no value.
                unsafe { self.0.release(self.1) };
            }
        }
        let unused = Unused(self, ptr);
        let value = f();
        core::mem::forget(unused);
        // SAFETY: forwarded from the caller.
        unsafe { self.handle(ptr, value) }
    }

    /// Moves `value` into the pool, or gives it back inside the error.
    ///
    /// # Errors
    ///
    /// [`PoolError::Exhausted`] when a bounded pool is full, [`PoolError::OutOfMemory`] when
    /// the system refuses a new segment.
    #[inline(always)]
    #[cfg_attr(feature = "track-sites", track_caller)]
    pub fn try_alloc(&self, value: T) -> Result<Handle<'_, T>, PoolError<T>> {
        match self.try_slot() {
            // SAFETY: a slot of this pool, free and ours.
            Ok(ptr) => Ok(unsafe { self.handle(ptr, value) }),
            Err(e) => Err(e.holding(value)),
        }
    }

    /// [`alloc_with`](Self::alloc_with), or the refusal holding `f`, which was not called.
    ///
    /// # Errors
    ///
    /// As [`try_alloc`](Self::try_alloc), with `f` inside.
    ///
    /// # Examples
    ///
    /// ```
    /// use typool::{Pool, PoolConfig};
    ///
    /// let pool: Pool<[u64; 512]> = Pool::with_config(PoolConfig::new().max(1));
    /// let first = pool.try_alloc_with(|| [1; 512]).ok().unwrap();
    /// let refused = pool.try_alloc_with(|| [2; 512]).err().unwrap();
    /// assert_eq!(refused.into_inner()()[0], 2, "the closure comes back, not called");
    /// # drop(first);
    /// ```
    #[inline(always)]
    #[cfg_attr(feature = "track-sites", track_caller)]
    pub fn try_alloc_with<F: FnOnce() -> T>(&self, f: F) -> Result<Handle<'_, T>, PoolError<F>> {
        match self.try_slot() {
            // SAFETY: a slot of this pool, free and ours.
            Ok(ptr) => Ok(unsafe { self.fill_with(ptr, f) }),
            Err(e) => Err(e.holding(f)),
        }
    }

    /// A free slot: the hit path, else the slow path, or its refusal.
    #[inline(always)]
    fn try_slot(&self) -> Result<NonNull<T>, PoolError<()>> {
        match self.table.remembered().and_then(Self::pop_slot) {
            Some(ptr) => Ok(ptr),
            None => self.slot_slow(),
        }
    }

    /// A free slot: the hit path, else the slow path, which panics with the refusal.
    #[inline(always)]
    #[track_caller]
    fn slot_or_panic(&self) -> NonNull<T> {
        match self.table.remembered().and_then(Self::pop_slot) {
            Some(ptr) => ptr,
            None => self.slot_slow().unwrap_or_else(|e| refused(e)),
        }
    }

    /// Writes `value` into `ptr` and hands out its owner.
    ///
    /// # Safety
    ///
    /// `ptr` is a free slot of this pool that the caller owns.
    #[inline(always)]
    #[cfg_attr(feature = "track-sites", track_caller)]
    unsafe fn handle(&self, ptr: NonNull<T>, value: T) -> Handle<'_, T> {
        #[cfg(feature = "track-sites")]
        // SAFETY: a slot of this pool.
        unsafe {
            crate::typed::sites::record(ptr, core::panic::Location::caller())
        };
        // SAFETY: the slot is ours, sized and aligned for `T` (`SlotLayout::for_layout`); once
        // written it holds a live `T` that only the new handle owns.
        unsafe {
            ptr.write(value);
            Handle::from_parts(ptr, self)
        }
    }

    /// The slow path: this thread's cache in the pool's table is empty (or there is none).
    #[cold]
    #[inline(never)]
    fn slot_slow(&self) -> Result<NonNull<T>, PoolError<()>> {
        self.slot_in(self.table.get())
    }

    /// Makes sure the pool has room for `slots` objects without growing again (up to `max`).
    ///
    /// # Errors
    ///
    /// [`PoolError::OutOfMemory`] when the system refuses the segment (with `()` inside).
    pub fn reserve(&self, slots: usize) -> Result<(), PoolError<()>> {
        self.raw.reserve(slots).map_err(|r| self.refusal(r))
    }

    /// Gives memory no object uses back to the OS, and returns how many bytes that was: every
    /// page (64 KiB of slots) with no live object goes back with `madvise`, so resident memory
    /// follows `live` after a peak, and every segment with no live object is unmapped.
    ///
    /// The bytes returned are the whole reservation of each segment unmapped (pages of it that
    /// were never touched included) plus the pages discarded in segments that stay, so they
    /// can exceed the fall in [`PoolStats::bytes_committed`], which counts touched pages only.
    ///
    /// Free slots come back from everywhere another thread can reach without stopping the
    /// threads that hold them: the calling thread's cache in this pool's table, the caches
    /// left by threads that have exited, every thread's stash (what a thread keeps beyond its
    /// two magazines) and the shared depot. What stays is each live thread's two magazines —
    /// for a `#[derive(Pooled)]` type, the calling thread's too — a few KiB per thread.
    ///
    /// Threads may allocate and free meanwhile: `trim` works a magazine, or a few pages, at a
    /// time under the pool's grow lock, and an allocation that needs memory then gets the slots
    /// being given back, so trimming never makes the pool grow.
    ///
    /// # Examples
    ///
    /// ```
    /// use typool::Pool;
    ///
    /// let pool: Pool<[u64; 8]> = Pool::new();
    /// let mut held: Vec<_> = (0..100_000).map(|i| pool.alloc([i; 8])).collect();
    /// held.truncate(1_000);
    /// let peak = pool.stats().bytes_committed;
    /// let given = pool.trim();
    /// assert!(given > 0);
    /// assert!(pool.stats().bytes_committed < peak);
    /// assert!(held.iter().enumerate().all(|(i, h)| h[0] == i as u64));
    /// ```
    pub fn trim(&self) -> usize {
        if let Some(cache) = self.table.get() {
            self.raw.flush(cache);
        }
        self.table.for_each_unowned(|cache| self.raw.flush(cache));
        self.raw.trim()
    }

    /// Gives back the memory of sparse pages without moving an object, in a pool made with
    /// [`PoolConfig::mesh`](crate::PoolConfig::mesh) (`#[pooled(mesh)]`): pages whose live
    /// objects sit at different offsets come to share one physical page, and the other's
    /// memory goes back to the OS. Every `PoolBox`, `Handle` and reference stays valid, and
    /// other threads may read, write and free objects meanwhile. A pool without `mesh`
    /// returns an empty report.
    ///
    /// Best after [`trim`](Self::trim) (which gives back the pages that are entirely free):
    /// `mesh` then works on what is left, a window of 64 pages per hold of the pool's lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use typool::{Pool, PoolConfig};
    ///
    /// let plain: Pool<u64> = Pool::new();
    /// assert_eq!(plain.mesh().pages_meshed, 0);
    ///
    /// let pool: Pool<[u8; 64]> = Pool::with_config(PoolConfig::new().mesh(true));
    /// let mut all: Vec<_> = (0..10_000).map(|i| pool.alloc([i as u8; 64])).collect();
    /// let kept: Vec<_> = all.drain(..).step_by(10).collect();
    /// pool.trim();
    /// let before = pool.stats().bytes_committed;
    /// let report = pool.mesh();
    /// assert_eq!(pool.stats().bytes_committed, before - report.bytes_released);
    /// assert!(kept.iter().enumerate().all(|(k, h)| h[0] == (10 * k) as u8));
    /// ```
    pub fn mesh(&self) -> crate::MeshReport {
        if let Some(cache) = self.table.get() {
            self.raw.flush(cache);
        }
        self.table.for_each_unowned(|cache| self.raw.flush(cache));
        self.raw.mesh()
    }

    /// Live objects grouped by the line of code that allocated them, most first (feature
    /// `track-sites`): where to look when `live` creeps up.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(feature = "track-sites")] {
    /// use typool::Pool;
    ///
    /// let pool: Pool<[u8; 32]> = Pool::new();
    /// let kept: Vec<_> = (0..3).map(|_| pool.alloc([0; 32])).collect();
    /// let sites = pool.leaks();
    /// assert_eq!(sites[0].live, 3);
    /// assert_eq!(sites[0].location.line(), line!() - 3);
    /// # drop(kept);
    /// # }
    /// ```
    #[cfg(feature = "track-sites")]
    pub fn leaks(&self) -> Vec<crate::stats::LeakSite> {
        self.raw
            .sites()
            .into_iter()
            .map(|(location, live)| crate::stats::LeakSite { location, live })
            .collect()
    }

    /// A snapshot of the pool's gauges and counters.
    pub fn stats(&self) -> PoolStats {
        self.raw.stats()
    }

    #[cold]
    fn refusal(&self, r: Refused) -> PoolError<()> {
        let type_name = core::any::type_name::<T>();
        match r {
            Refused::Exhausted => PoolError::Exhausted {
                value: (),
                limit: self.raw.config().limit(),
                live: self.raw.live(),
                type_name,
            },
            Refused::OutOfMemory { bytes } => PoolError::OutOfMemory {
                value: (),
                bytes,
                type_name,
            },
        }
    }

    /// Hit path of allocation, shared by every front end: a free slot from `cache`, or `None`
    /// when it is empty (the slow path then takes over).
    #[inline(always)]
    pub(crate) fn pop_slot(cache: &LocalCache) -> Option<NonNull<T>> {
        cache.pop().map(NonNull::cast)
    }

    /// Hit path of free, shared by every front end: keeps the slot in `cache`; `false` when the
    /// cache is full or closed (the caller then takes [`free_in`](Self::free_in)).
    ///
    /// # Safety
    ///
    /// `ptr` came from this pool and its object has been dropped or moved out.
    #[inline(always)]
    pub(crate) unsafe fn push_slot(cache: &LocalCache, ptr: NonNull<T>) -> bool {
        #[cfg(feature = "track-sites")]
        // SAFETY: forwarded from the caller: a slot of this pool.
        unsafe {
            crate::typed::sites::clear(ptr)
        };
        // SAFETY: forwarded from the caller: the slot is ours and holds nothing live.
        unsafe { cache.push(ptr.as_ptr().cast::<FreeSlot>()) }.is_ok()
    }

    /// A free slot through a given cache, refilling it if need be (the slow path's entry).
    pub(crate) fn slot_in(&self, cache: Option<&LocalCache>) -> Result<NonNull<T>, PoolError<()>> {
        let slot = match cache {
            Some(cache) => self.raw.alloc(cache),
            None => self.raw.alloc_uncached(),
        };
        match slot {
            // SAFETY: slots are never null.
            Ok(slot) => Ok(unsafe { NonNull::new_unchecked(slot.cast::<T>()) }),
            Err(r) => Err(self.refusal(r)),
        }
    }

    /// Returns the slot of a dropped or moved-out object, making room in the cache if need be
    /// (the slow path's entry).
    ///
    /// # Safety
    ///
    /// `ptr` came from this pool and its object has been dropped or moved out.
    pub(crate) unsafe fn free_in(&self, cache: Option<&LocalCache>, ptr: NonNull<T>) {
        #[cfg(feature = "track-sites")]
        // SAFETY: forwarded from the caller: a slot of this pool.
        unsafe {
            crate::typed::sites::clear(ptr)
        };
        let slot = ptr.as_ptr().cast::<FreeSlot>();
        match cache {
            // SAFETY: forwarded from the caller: the slot is ours and holds nothing live.
            Some(cache) => unsafe { self.raw.free(cache, slot) },
            // SAFETY: as above.
            None => unsafe { self.raw.free_uncached(slot) },
        }
    }

    /// Returns a slot to this thread's cache in the pool's table: the free path of [`Handle`].
    ///
    /// # Safety
    ///
    /// `ptr` came from this pool and its object has been dropped or moved out.
    #[inline(always)]
    pub(crate) unsafe fn release(&self, ptr: NonNull<T>) {
        let kept = match self.table.remembered() {
            // SAFETY: forwarded from the caller.
            Some(cache) => unsafe { Self::push_slot(cache, ptr) },
            None => false,
        };
        if !kept {
            // SAFETY: forwarded from the caller.
            unsafe { self.release_slow(ptr) };
        }
    }

    /// # Safety
    ///
    /// As [`Self::release`].
    #[cold]
    #[inline(never)]
    unsafe fn release_slow(&self, ptr: NonNull<T>) {
        // SAFETY: forwarded from the caller.
        unsafe { self.free_in(self.table.get(), ptr) };
    }

    /// Panics (in debug builds, and with feature `hardened`) unless `ptr` is a slot this pool
    /// handed out.
    #[track_caller]
    pub(crate) fn debug_check_owned(&self, ptr: *const T, what: &str) {
        if CHECKED && !self.raw.owns(ptr.cast()) {
            panic!(
                "{what}: {ptr:p} is not an object of the pool for {} (it was not allocated by this pool, or the pool was trimmed since)",
                short_type_name(core::any::type_name::<T>())
            );
        }
    }
}

/// Panics with a refusal's message (the panicking constructors' slow end).
#[cold]
#[track_caller]
pub(crate) fn refused(e: PoolError<()>) -> ! {
    panic!("{e}")
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const N: usize = if cfg!(miri) { 300 } else { 5_000 };

    #[test]
    fn frees_go_back_to_the_pages_when_no_descriptor_can_be_made() {
        let pool: Pool<[u64; 8]> = Pool::with_config(PoolConfig::new().cache(4));
        let n = 200;
        let first: Vec<_> = (0..n).map(|i| pool.alloc([i; 8])).collect();
        let mut addrs: Vec<usize> = first
            .iter()
            .map(|h| (&**h as *const [u64; 8]).addr())
            .collect();
        let reserved = pool.stats().reserved_slots;
        crate::engine::depot::REFUSE_DESCRIPTORS.set(true);
        // Every overflow finds no descriptor for the stash or the depot: the slots go back to
        // their pages, so the cache never holds more than its two magazines.
        drop(first);
        assert_eq!(pool.stats().live, 0);
        let again: Vec<_> = (0..n).map(|i| pool.alloc([i + 1; 8])).collect();
        crate::engine::depot::REFUSE_DESCRIPTORS.set(false);
        assert_eq!(
            pool.stats().reserved_slots,
            reserved,
            "the freed slots were reused"
        );
        let mut seen: Vec<usize> = again
            .iter()
            .map(|h| (&**h as *const [u64; 8]).addr())
            .collect();
        addrs.sort_unstable();
        seen.sort_unstable();
        assert_eq!(seen, addrs, "every slot came back once");
        assert!(again.iter().enumerate().all(|(i, h)| h[7] == i as u64 + 1));
    }

    #[test]
    fn peak_live_is_a_peak_that_was_reached() {
        let pool: Pool<u64> = Pool::new();
        for i in 0..1000 {
            drop(pool.alloc(i));
        }
        assert_eq!(pool.stats().peak_live, 1, "one object was ever live");
        let held: Vec<_> = (0..100).map(|i| pool.alloc(i)).collect();
        let s = pool.stats();
        assert_eq!((s.live, s.peak_live), (100, 100));
        drop(held);
        assert_eq!(pool.stats().peak_live, 100, "the peak stays");
    }

    #[test]
    fn alloc_free_roundtrip_and_stats() {
        let pool: Pool<u64> = Pool::new();
        let a = pool.alloc(41);
        let b = pool.alloc(1);
        assert_eq!(*a + *b, 42);
        let s = pool.stats();
        // A `u64`'s slot is 8 bytes; checked builds add the free tag (`engine/guard.rs`),
        // `track-sites` the site word.
        let slot = if crate::engine::guard::CHECKED { 16 } else { 8 }
            + if cfg!(feature = "track-sites") { 8 } else { 0 };
        assert_eq!((s.live, s.slot_size, s.type_name), (2, slot, "u64"));
        drop(a);
        assert_eq!(pool.stats().live, 1);
        assert_eq!(b.into_inner(), 1);
        assert_eq!(pool.stats().live, 0);
    }

    #[test]
    fn many_objects_are_distinct_and_slots_are_reused() {
        let pool: Pool<[u64; 3]> = Pool::new();
        let handles: Vec<_> = (0..N).map(|i| pool.alloc([i as u64; 3])).collect();
        let mut addrs: Vec<usize> = handles.iter().map(|h| &**h as *const _ as usize).collect();
        addrs.sort_unstable();
        addrs.dedup();
        assert_eq!(addrs.len(), N, "every live object has its own slot");
        assert!(handles.iter().enumerate().all(|(i, h)| h[2] == i as u64));
        let reserved = pool.stats().reserved_slots;
        drop(handles);
        assert_eq!(pool.stats().live, 0);
        let again: Vec<_> = (0..N).map(|i| pool.alloc([i as u64; 3])).collect();
        assert_eq!(
            pool.stats().reserved_slots,
            reserved,
            "freed slots are reused before growing"
        );
        assert!(pool.stats().hit_rate() > 0.9);
        drop(again);
    }

    #[test]
    fn two_types_of_one_name_in_two_modules_tell_apart_by_path() {
        mod a {
            pub struct Node(#[allow(dead_code)] pub u64);
        }
        mod b {
            pub struct Node(#[allow(dead_code)] pub u64);
        }
        let (pa, pb): (Pool<a::Node>, Pool<b::Node>) = (Pool::new(), Pool::new());
        let (x, y) = (pa.alloc(a::Node(1)), pb.alloc(b::Node(2)));
        let (sa, sb) = (pa.stats(), pb.stats());
        assert_eq!((sa.type_name, sb.type_name), ("Node", "Node"));
        assert_ne!(sa.type_path, sb.type_path);
        assert!(sa.type_path.ends_with("a::Node"), "{}", sa.type_path);
        assert!(sb.type_path.ends_with("b::Node"), "{}", sb.type_path);
        drop((x, y));
    }

    #[test]
    fn an_exhausted_message_states_only_what_is_known() {
        let pool: Pool<u32> = Pool::with_config(PoolConfig::new().max(10).cache(4));
        // This thread takes its id (and cache) first, so it cannot inherit the other's.
        let mut mine = vec![pool.alloc(0)];
        std::thread::scope(|s| {
            s.spawn(|| {
                // Four slots end up in this thread's cache, out of the main thread's reach.
                let held: Vec<_> = (0..4).map(|i| pool.alloc(i)).collect();
                drop(held);
            });
        });
        mine.extend(std::iter::from_fn(|| pool.try_alloc(7).ok()));
        assert!(mine.len() < 10, "{} allocated", mine.len());
        let msg = pool.try_alloc(8).unwrap_err().to_string();
        assert!(
            msg.starts_with(
                "pool for u32 is exhausted: all 10 slots are taken or held by other threads ("
            ),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("{} counted live", mine.len())),
            "{msg}"
        );
    }

    #[test]
    fn bounded_pool_hands_the_value_back() {
        let pool: Pool<String> = Pool::with_config(PoolConfig::new().max(10).cache(4));
        let held: Vec<_> = (0..10).map(|i| pool.alloc(i.to_string())).collect();
        let err = pool.try_alloc("eleven".to_string()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pool for String is exhausted: 10 of 10 live"
        );
        assert!(matches!(
            err,
            PoolError::Exhausted {
                limit: 10,
                live: 10,
                ..
            }
        ));
        assert_eq!(err.value(), "eleven");
        assert_eq!(err.into_inner(), "eleven");
        drop(held);
        assert_eq!(*pool.alloc("fits again".to_string()), "fits again");
    }

    #[test]
    #[should_panic(expected = "pool for u8 is exhausted: 1 of 1 live")]
    fn alloc_on_a_full_pool_panics_with_the_message() {
        let pool: Pool<u8> = Pool::with_config(PoolConfig::new().max(1));
        let _a = pool.alloc(1);
        let _b = pool.alloc(2);
    }

    #[test]
    fn over_aligned_types_are_aligned() {
        #[repr(align(64))]
        struct Line([u8; 64]);
        #[repr(align(4096))]
        struct Page(#[allow(dead_code)] u8);
        let lines: Pool<Line> = Pool::new();
        let pages: Pool<Page> = Pool::with_config(PoolConfig::new().initial(4));
        let ls: Vec<_> = (0..100).map(|_| lines.alloc(Line([1; 64]))).collect();
        let ps: Vec<_> = (0..6).map(|i| pages.alloc(Page(i))).collect();
        assert!(ls
            .iter()
            .all(|l| (&**l as *const Line as usize).is_multiple_of(64) && l.0[63] == 1));
        assert!(ps
            .iter()
            .all(|p| (&**p as *const Page as usize).is_multiple_of(4096)));
        // A page, and under `track-sites` a page more for the site word.
        let pages_per_slot = if cfg!(feature = "track-sites") { 2 } else { 1 };
        assert_eq!(pages.stats().slot_size, 4096 * pages_per_slot);
    }

    #[test]
    fn drops_run_once_even_when_a_drop_panics() {
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        struct Loud(bool);
        impl Drop for Loud {
            fn drop(&mut self) {
                DROPS.fetch_add(1, Ordering::Relaxed);
                assert!(!self.0, "boom");
            }
        }
        let pool: Pool<Loud> = Pool::new();
        drop(pool.alloc(Loud(false)));
        let bad = pool.alloc(Loud(true));
        assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(bad))).is_err());
        assert_eq!(DROPS.load(Ordering::Relaxed), 2);
        assert_eq!(
            pool.stats().live,
            0,
            "the slot of a panicking drop is still returned"
        );
    }

    #[test]
    fn objects_freed_on_another_thread_flow_back() {
        let pool: Pool<u32> = Pool::with_config(PoolConfig::new().cache(8));
        let handles: Vec<_> = (0..N as u32).map(|i| pool.alloc(i)).collect();
        let reserved = pool.stats().reserved_slots;
        std::thread::scope(|s| {
            s.spawn(move || {
                let sum: u64 = handles.iter().map(|h| u64::from(**h)).sum();
                assert_eq!(sum, (N as u64 - 1) * N as u64 / 2);
                drop(handles);
            });
        });
        let s = pool.stats();
        assert_eq!(s.live, 0);
        assert!(
            s.depot_transfers > 0,
            "the freeing thread overflowed into the depot"
        );
        let again: Vec<_> = (0..N as u32 - 8).map(|i| pool.alloc(i)).collect();
        assert_eq!(
            pool.stats().reserved_slots,
            reserved,
            "slots came back through the depot"
        );
        drop(again);
    }

    #[test]
    fn trim_gives_free_segments_back() {
        let pool: Pool<[u8; 48]> = Pool::with_config(PoolConfig::new().cache(4));
        std::thread::scope(|s| {
            s.spawn(|| {
                let hs: Vec<_> = (0..N).map(|_| pool.alloc([0; 48])).collect();
                drop(hs);
            });
        });
        let before = pool.stats();
        // The spawning thread's cache lives in the pool's table with at most 4 slots; the
        // rest sit in the depot, so every segment but the one holding those can go.
        let bytes = pool.trim();
        let after = pool.stats();
        let unmapped = before.bytes_reserved - after.bytes_reserved;
        assert!(
            unmapped > 0 && bytes >= unmapped && after.bytes_committed < before.bytes_committed,
            "{bytes} {before:?} {after:?}"
        );
        assert!(after.segments < before.segments);
        let hs: Vec<_> = (0..N).map(|_| pool.alloc([1; 48])).collect();
        assert!(hs.iter().all(|h| h[47] == 1));
        assert_eq!(pool.stats().live, N);
    }

    /// A thread whose demand swings past its cache grows the cache until its steady state
    /// touches no shared state; a bounded pool's caches stay at their configured size.
    #[test]
    fn oscillating_threads_grow_their_cache_in_unbounded_pools_only() {
        fn transfers_after(pool: &Pool<u64>, rounds: usize) -> u64 {
            for _ in 0..rounds {
                let held: Vec<_> = (0..100).map(|i| pool.alloc(i)).collect();
                drop(held);
            }
            pool.stats().depot_transfers
        }
        let unbounded: Pool<u64> = Pool::with_config(PoolConfig::new().cache(16));
        let warm = transfers_after(&unbounded, 10);
        assert_eq!(
            transfers_after(&unbounded, 10),
            warm,
            "a grown cache holds the working set"
        );

        let bounded: Pool<u64> = Pool::with_config(PoolConfig::new().cache(16).max(1000));
        let warm = transfers_after(&bounded, 10);
        assert!(
            transfers_after(&bounded, 10) > warm,
            "bounded caches do not grow"
        );
    }

    /// A thread that churns far more than its two magazines hold keeps what it frees on its
    /// stash: after a warm-up it touches neither the depot nor the segments.
    #[test]
    fn a_wide_churn_stays_on_the_threads_stash() {
        let pool: Pool<[u64; 2]> = Pool::new();
        // More than two grown magazines (2 × 1,024 slots of 16 bytes) hold; under Miri just
        // above that, since every slot costs it microseconds.
        let wide = if cfg!(miri) { 2_500u64 } else { 5_000 };
        let churn = |rounds| {
            for round in 0..rounds {
                let held: Vec<_> = (0..wide).map(|i| pool.alloc([i, round])).collect();
                assert!(held.iter().enumerate().all(|(i, h)| h[0] == i as u64));
            }
            pool.stats()
        };
        let warm = churn(3);
        let after = churn(if cfg!(miri) { 2 } else { 5 });
        assert_eq!(after.depot_transfers, warm.depot_transfers, "{after:?}");
        assert_eq!(after.reserved_slots, warm.reserved_slots);
        assert!(
            after.cache_misses > warm.cache_misses,
            "the stash served refills"
        );
    }

    /// A consumer that only frees keeps no stash: every magazine it fills goes to the depot,
    /// where the producer finds it, so the pool does not grow with the traffic.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "a bound on reserved memory over thousands of handoffs: minutes under Miri"
    )]
    fn a_consumer_hands_everything_on() {
        let pool: Pool<u64> = Pool::new();
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Handle<'_, u64>>>(4);
        std::thread::scope(|s| {
            s.spawn(move || rx.into_iter().for_each(drop));
            for round in 0..200u64 {
                tx.send((0..256).map(|i| pool.alloc(round + i)).collect())
                    .unwrap();
            }
            drop(tx);
        });
        let s = pool.stats();
        assert_eq!(s.live, 0);
        // In flight at most: the channel's 4 batches, one being built, one being dropped, and
        // the consumer's two magazines, far below the 51,200 objects sent.
        assert!(s.reserved_slots <= 8 * 1024, "{s:?}");
    }

    #[test]
    fn reserve_grows_once() {
        let pool: Pool<u64> = Pool::with_config(PoolConfig::new().max(1000));
        pool.reserve(700).unwrap();
        assert_eq!(pool.stats().reserved_slots, 700);
        pool.reserve(5000).unwrap();
        assert_eq!(pool.stats().reserved_slots, 1000, "reserve stops at max");
        let hs: Vec<_> = (0..1000).map(|i| pool.alloc(i)).collect();
        assert_eq!(pool.stats().segments, 2);
        drop(hs);
    }
}
