//! [`SlabAllocator`]: a general-purpose allocator made of typed-pool machinery.
//!
//! Each size class is a [`RawPool`] — the same segments, depot and thread caches a
//! `#[derive(Pooled)]` type gets — so the slab allocator has no lock-free code of its own.
//! What it adds is routing: a layout picks its class ([`class_of`]), a thread picks its caches
//! (one [`ThreadSlab`] per thread, in a [`CacheTable`]), and anything past the largest class
//! goes to the system allocator.
//!
//! # Size classes
//!
//! 8, 16, 24 and 32 bytes, then four classes per power of two (quarter steps): 40, 48, 56, 64,
//! 80, 96, …, 28672, 32768 — 44 classes. Rounding up to a class wastes at most 20% of a block
//! (a 33-byte request in a 40-byte slot), 12.5% on average over uniformly spread sizes.
//! A class's slots are aligned to the largest power of two dividing its size (up to 4096),
//! because every segment is aligned to that; a layout asking for more alignment than its
//! size's class gives moves up to the next class that has it (at most three steps).
//!
//! # As the global allocator
//!
//! Nothing on any path allocates through the global allocator (bookkeeping uses
//! `os::SysVec`), the thread caches need no destructor, and a thread whose id is gone (its
//! thread-locals are being destroyed) allocates and frees through a throwaway cache — slower,
//! but correct, so thread-local destructors can allocate freely.

use crate::alloc::blocks::{dangling, relocate};
use crate::alloc::slab_record::{Role, SlabRecord};
use crate::engine::cache::LocalCache;
use crate::engine::config::PoolConfig;
use crate::engine::guard::CHECKED;
use crate::engine::magazine::FreeSlot;
use crate::engine::misuse::abort_with;
use crate::engine::raw::RawPool;
use crate::engine::table::CacheTable;
use crate::os::{Backing, Granted};
use crate::stats::FragmentationReport;
use crate::sync::{bump, loom_const_fn, AtomicPtr, AtomicU64, Ordering};
use allocator_api2::alloc::{AllocError, Allocator};
use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::ptr::{self, NonNull};
use std::alloc::System;

/// Number of size classes.
pub(crate) const CLASSES: usize = 44;
/// The largest alignment a class can give.
const MAX_CLASS_ALIGN: usize = 4096;

/// Bytes in a slot of class `i`.
pub(crate) const fn class_size(i: usize) -> usize {
    if i < 4 {
        (i + 1) * 8
    } else {
        let j = i - 4;
        let k = 5 + j / 4;
        (1 << k) + ((j % 4) + 1) * (1 << (k - 2))
    }
}

/// Alignment of every slot of class `i`: the largest power of two dividing its size.
const fn class_align(i: usize) -> usize {
    let size = class_size(i);
    let align = size & size.wrapping_neg();
    if align > MAX_CLASS_ALIGN {
        MAX_CLASS_ALIGN
    } else {
        align
    }
}

/// The smallest class holding `size` bytes (`1..=SlabAllocator::MAX_CLASS_SIZE`; 0 counts as 1).
#[inline(always)]
const fn class_index(size: usize) -> usize {
    if size <= 32 {
        size.saturating_sub(1) / 8
    } else {
        let s = size - 1;
        let k = (usize::BITS - 1 - s.leading_zeros()) as usize;
        4 + (k - 5) * 4 + ((s >> (k - 2)) & 3)
    }
}

/// The largest size [`SMALL_CLASS`] answers for.
const SMALL_MAX: usize = 1024;

/// The class of every size up to [`SMALL_MAX`] with alignment up to 8, by `(size + 7) / 8`:
/// one load instead of a bit scan on the hit path. Every class boundary up to 1024 is a
/// multiple of 8, so rounding the size up to 8 never changes its class.
static SMALL_CLASS: [u8; SMALL_MAX / 8 + 1] = {
    let mut table = [0u8; SMALL_MAX / 8 + 1];
    let mut w = 0;
    while w <= SMALL_MAX / 8 {
        table[w] = class_index(w * 8) as u8;
        w += 1;
    }
    table
};

/// The class of a small, ordinarily aligned layout: the hit path's lookup.
#[inline(always)]
fn small_class(layout: Layout) -> Option<usize> {
    if layout.size() <= SMALL_MAX && layout.align() <= 8 {
        Some(SMALL_CLASS[(layout.size() + 7) >> 3] as usize)
    } else {
        None
    }
}

/// The class for `layout`, or `None` if it goes to the system allocator.
#[inline(always)]
pub(crate) fn class_of(layout: Layout) -> Option<usize> {
    if let Some(class) = small_class(layout) {
        return Some(class);
    }
    let (size, align) = (layout.size(), layout.align());
    if size > SlabAllocator::MAX_CLASS_SIZE || align > MAX_CLASS_ALIGN {
        return None;
    }
    if align <= 8 {
        return Some(class_index(size));
    }
    let mut i = class_index(size.max(align));
    // Ends at the latest at the next power of two, whose alignment is `>= align`.
    while class_align(i) < align {
        i += 1;
    }
    Some(i)
}

/// Slots per thread cache for class `i`: about 64 KiB of them, between 4 and 128.
const fn class_cache(i: usize) -> usize {
    let slots = (64 * 1024) / class_size(i);
    if slots < 4 {
        4
    } else if slots > 128 {
        128
    } else {
        slots
    }
}

const fn class_config(i: usize, backing: Backing, mesh: bool) -> PoolConfig {
    let first = (64 * 1024) / class_size(i);
    let first = if first < class_cache(i) {
        class_cache(i)
    } else {
        first
    };
    PoolConfig::new()
        .initial(first)
        .cache(class_cache(i))
        .backing(backing)
        .mesh(mesh)
}

const fn class_layout(i: usize) -> Layout {
    match Layout::from_size_align(class_size(i), class_align(i)) {
        Ok(layout) => layout,
        Err(_) => panic!("class sizes are multiples of their alignment"),
    }
}

/// What a size class calls its pool in misuse reports (the report adds the slot size).
fn slab_name() -> &'static str {
    "SlabAllocator's size class"
}

/// One thread's caches, one per class, and what it asked for in bytes.
pub(crate) struct ThreadSlab {
    caches: [LocalCache; CLASSES],
    /// Bytes requested by allocations through this cache, and by frees through it.
    requested: AtomicU64,
    released: AtomicU64,
    /// Whether the allocator's record lists these counters yet (owner only).
    pub(crate) listed: Cell<bool>,
}

impl ThreadSlab {
    /// Bytes requested and released through this cache.
    pub(crate) fn counted(&self) -> (u64, u64) {
        (
            self.requested.load(Ordering::Relaxed),
            self.released.load(Ordering::Relaxed),
        )
    }
}

// SAFETY: its caches are `Entry`s, `listed` is its holder's alone, and its counters are
// atomics, which are all that `fragmentation` reads from other threads.
unsafe impl crate::engine::table::Entry for ThreadSlab {}

impl Default for ThreadSlab {
    fn default() -> Self {
        Self {
            caches: core::array::from_fn(|_| LocalCache::new()),
            requested: AtomicU64::new(0),
            released: AtomicU64::new(0),
            listed: Cell::new(false),
        }
    }
}

/// A size-class allocator with per-thread caches: usable as the `#[global_allocator]` and,
/// through `&SlabAllocator`, as an [`Allocator`] for any collection.
///
/// Requests up to [`MAX_CLASS_SIZE`](Self::MAX_CLASS_SIZE) bytes with alignment up to 4096
/// are served from one of 44 size classes — 8, 16, 24, 32 bytes, then four per power of two
/// (40, 48, 56, 64, 80, …, 28672, 32768), so rounding wastes at most 20% of a block — and
/// larger ones from [`System`]. A class's slots are aligned to the largest power of two
/// dividing its size; a layout wanting more moves up to a class that has it. Freeing takes the layout, as both allocator traits require, and the layout
/// picks the class, so blocks carry no header.
///
/// # Examples
///
/// As the program's allocator:
///
/// ```
/// use typool::SlabAllocator;
///
/// #[global_allocator]
/// static GLOBAL: SlabAllocator = SlabAllocator::new();
///
/// let words: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
/// assert_eq!(words[999], "999");
/// assert!(GLOBAL.fragmentation().live_bytes > 0);
/// ```
///
/// Under one collection:
///
/// ```
/// use typool::SlabAllocator;
/// use typool::allocator_api2::vec::Vec;
///
/// let slab = SlabAllocator::new();
/// let mut v = Vec::new_in(&slab);
/// v.extend(0..100u32);
/// assert_eq!(v.iter().sum::<u32>(), 4950);
/// ```
///
/// # Bad input
///
/// Zero-sized requests through [`Allocator`] get a dangling, aligned pointer and cost nothing.
/// In debug builds, and in release builds with feature `hardened`, freeing a pointer with a
/// layout of another class, a pointer this allocator never gave out, a block freed twice or
/// a free block written to is caught: the process prints a message that says which and
/// aborts (an allocator must not unwind out of `dealloc`), and the block is never handed out
/// twice. Under `hardened` the free lists are also encoded with a per-class random secret.
pub struct SlabAllocator {
    classes: [RawPool; CLASSES],
    threads: CacheTable<ThreadSlab>,
    /// What the fragmentation report reads, on the heap from the first slow path on
    /// (`slab_record.rs`); null before.
    record: AtomicPtr<SlabRecord>,
}

impl Drop for SlabAllocator {
    fn drop(&mut self) {
        let r = self.record.load(Ordering::Acquire);
        if !r.is_null() {
            // SAFETY: created by `record`, destroyed once, here, while no thread can use the
            // allocator (`&mut self`); the classes and the table it points into drop after.
            unsafe { SlabRecord::destroy(r) };
        }
    }
}

macro_rules! classes {
    ($backing:ident, $mesh:ident; $($i:literal)*) => {
        [$(RawPool::new(class_layout($i), class_config($i, $backing, $mesh), slab_name, false),)*]
    };
}

impl core::fmt::Debug for SlabAllocator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SlabAllocator")
            .field("fragmentation", &self.fragmentation())
            .finish_non_exhaustive()
    }
}

impl Default for SlabAllocator {
    fn default() -> Self {
        Self::new()
    }
}

impl SlabAllocator {
    /// The largest request served from a size class; larger ones go to the system.
    pub const MAX_CLASS_SIZE: usize = 32 * 1024;

    loom_const_fn! {
        /// An allocator that holds nothing yet; each class reserves its first segment on
        /// first use.
        pub const fn new() -> Self {
            Self::with_backing(Backing::Heap)
        }
    }

    loom_const_fn! {
        /// As [`new`](Self::new), with every class's segments from `backing` (requests past
        /// [`MAX_CLASS_SIZE`](Self::MAX_CLASS_SIZE) still go to the system allocator). With
        /// [`Backing::HugePages`] each class that is used holds at least one 2 MiB segment.
        /// What the kernel granted is [`backing()`](Self::backing); a [`Backing::File`] that
        /// cannot be used makes allocations fail (null from `GlobalAlloc`, [`AllocError`]
        /// from `Allocator`).
        ///
        /// # Examples
        ///
        /// A huge-page global allocator is one line:
        ///
        /// ```
        /// use typool::{Backing, SlabAllocator};
        ///
        /// #[global_allocator]
        /// static GLOBAL: SlabAllocator = SlabAllocator::with_backing(Backing::HugePages);
        ///
        /// let v: Vec<u64> = (0..1000).collect();
        /// assert_eq!(v[999], 999);
        /// ```
        pub const fn with_backing(backing: Backing) -> Self {
            Self::with(backing, false)
        }
    }

    loom_const_fn! {
        /// As [`new`](Self::new), with meshing (see [`PoolConfig::mesh`]): every class's
        /// segments live in memory files, and [`mesh`](Self::mesh) gives back the memory of
        /// sparse pages without moving a block. Classes round their slots up to a power of
        /// two (a 40-byte class takes 64-byte slots); requests past 4 KiB are served as by
        /// [`new`](Self::new) and never meshed.
        ///
        /// # Examples
        ///
        /// ```
        /// use typool::SlabAllocator;
        ///
        /// #[global_allocator]
        /// static GLOBAL: SlabAllocator = SlabAllocator::with_mesh();
        ///
        /// let mut all: Vec<Box<[u8; 48]>> = (0..50_000).map(|i| Box::new([i as u8; 48])).collect();
        /// let kept: Vec<_> = all.drain(..).step_by(10).collect();
        /// drop(all);
        /// GLOBAL.trim();
        /// println!("{}", GLOBAL.mesh());
        /// assert!(kept.iter().enumerate().all(|(k, b)| b[0] == (10 * k) as u8));
        /// ```
        pub const fn with_mesh() -> Self {
            Self::with(Backing::Heap, true)
        }
    }

    loom_const_fn! {
        const fn with(backing: Backing, mesh: bool) -> Self {
            Self {
                classes: classes!(backing, mesh; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19
                    20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43),
                threads: CacheTable::new(),
                record: AtomicPtr::new(ptr::null_mut()),
            }
        }
    }

    /// A block for `layout` (size > 0), or null.
    ///
    /// The hit path — a small layout, this thread's caches found by its memo, a slot in the
    /// class's cache — is all that inlines, with no call on it; everything else is
    /// [`Self::alloc_block_slow`].
    ///
    /// `GLOBAL`: called through `GlobalAlloc`, which the record's label says (on the slow
    /// path only).
    #[inline(always)]
    fn alloc_block<const GLOBAL: bool>(&self, layout: Layout) -> *mut u8 {
        if let (Some(class), Some(t)) = (small_class(layout), self.threads.remembered()) {
            // SAFETY: `small_class` returns a class index, below `CLASSES`.
            let cache = unsafe { t.caches.get_unchecked(class) };
            if let Some(slot) = cache.pop() {
                bump(&t.requested, layout.size() as u64);
                return slot.as_ptr().cast();
            }
        }
        self.alloc_block_slow::<GLOBAL>(layout)
    }

    #[cold]
    #[inline(never)]
    fn alloc_block_slow<const GLOBAL: bool>(&self, layout: Layout) -> *mut u8 {
        if GLOBAL {
            self.record().mark_global();
        }
        match class_of(layout) {
            Some(class) => self.alloc_in(self.threads.get(), class, layout.size()),
            None => self.alloc_large(layout),
        }
    }

    /// A slot of `class` through `thread`'s cache (or a throwaway one).
    pub(crate) fn alloc_in(
        &self,
        thread: Option<&ThreadSlab>,
        class: usize,
        size: usize,
    ) -> *mut u8 {
        let pool = &self.classes[class];
        let record = self.record();
        let slot = match thread {
            Some(t) => {
                record.list_thread(t);
                bump(&t.requested, size as u64);
                pool.alloc(&t.caches[class])
            }
            None => {
                record
                    .uncached_requested
                    .fetch_add(size as u64, Ordering::Relaxed);
                pool.alloc_uncached()
            }
        };
        record.know_class(class, pool.record_ptr());
        match slot {
            Ok(slot) => slot.cast(),
            Err(_) => self.refused(thread, size),
        }
    }

    /// The record, made on the first slow path.
    fn record(&self) -> &SlabRecord {
        let r = self.record.load(Ordering::Acquire);
        if !r.is_null() {
            // SAFETY: a published record lives until the allocator drops.
            return unsafe { &*r };
        }
        #[cfg(not(typool_loom))]
        let role = if ptr::eq(self, crate::PoolAlloc::slab()) {
            Role::PoolAlloc
        } else {
            Role::Other
        };
        #[cfg(typool_loom)]
        let role = Role::Other;
        let fresh = SlabRecord::create(role);
        match self.record.compare_exchange(
            ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // SAFETY: published just now; it lives until the allocator drops.
            Ok(_) => unsafe { &*fresh },
            Err(won) => {
                // SAFETY: ours, never published; `won` was, and lives as above.
                unsafe {
                    SlabRecord::destroy(fresh);
                    &*won
                }
            }
        }
    }

    /// Undoes the byte count of an allocation the class could not serve.
    #[cold]
    fn refused(&self, thread: Option<&ThreadSlab>, size: usize) -> *mut u8 {
        match thread {
            Some(t) => bump(&t.released, size as u64),
            None => {
                self.record()
                    .uncached_released
                    .fetch_add(size as u64, Ordering::Relaxed);
            }
        }
        ptr::null_mut()
    }

    /// The hit path of free: a small layout, this thread's caches, room in the class's cache.
    /// Checked builds (debug, or feature `hardened`) first check that the pointer is a block
    /// of that class.
    ///
    /// # Safety
    ///
    /// `ptr` was allocated by this allocator with `layout` (size > 0) and is not used again.
    #[inline(always)]
    unsafe fn free_block(&self, ptr: *mut u8, layout: Layout) {
        if let (Some(class), Some(t)) = (small_class(layout), self.threads.remembered()) {
            if CHECKED {
                self.check_owned(class, ptr, layout);
            }
            // SAFETY: `small_class` returns a class index, below `CLASSES`.
            let cache = unsafe { t.caches.get_unchecked(class) };
            // SAFETY: the caller gives back a live block of this class (its layout picks
            // the class), which is a slot of the class's pool holding nothing to drop.
            if unsafe { cache.push(ptr.cast()) }.is_ok() {
                bump(&t.released, layout.size() as u64);
                return;
            }
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.free_block_slow(ptr, layout) }
    }

    /// # Safety
    ///
    /// As [`Self::free_block`].
    #[cold]
    #[inline(never)]
    unsafe fn free_block_slow(&self, ptr: *mut u8, layout: Layout) {
        match class_of(layout) {
            // SAFETY: forwarded from the caller.
            Some(class) => unsafe { self.free_in(self.threads.get(), class, ptr, layout) },
            // SAFETY: forwarded from the caller.
            None => unsafe { self.free_large(ptr, layout) },
        }
    }

    /// # Safety
    ///
    /// `ptr` is a live block of `class` from this allocator, allocated with `layout`.
    pub(crate) unsafe fn free_in(
        &self,
        thread: Option<&ThreadSlab>,
        class: usize,
        ptr: *mut u8,
        layout: Layout,
    ) {
        let pool = &self.classes[class];
        if CHECKED {
            self.check_owned(class, ptr, layout);
        }
        let slot = ptr.cast::<FreeSlot>();
        let record = self.record();
        match thread {
            Some(t) => {
                record.list_thread(t);
                bump(&t.released, layout.size() as u64);
                // SAFETY: the caller gives back a live block of this class, which is a slot of
                // `pool` holding nothing the pool must drop, in no free chain.
                unsafe { pool.free(&t.caches[class], slot) }
            }
            None => {
                record
                    .uncached_released
                    .fetch_add(layout.size() as u64, Ordering::Relaxed);
                // SAFETY: as above.
                unsafe { pool.free_uncached(slot) }
            }
        }
    }

    #[cold]
    fn alloc_large(&self, layout: Layout) -> *mut u8 {
        // SAFETY: callers pass a non-zero size.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            self.record()
                .large_bytes
                .fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    /// # Safety
    ///
    /// `ptr` came from `alloc_large` with `layout`.
    #[cold]
    unsafe fn free_large(&self, ptr: *mut u8, layout: Layout) {
        if CHECKED {
            if let Some(owner) = self.class_owning(ptr) {
                abort_with(format_args!(
                    "SlabAllocator: {ptr:p} freed with {layout:?}, a layout past every size class, \
                     but it is a {} B slab block: it was allocated with a different layout",
                    class_size(owner)
                ));
            }
        }
        self.record()
            .large_bytes
            .fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded from the caller: `System` gave this block for this layout.
        unsafe { System.dealloc(ptr, layout) };
    }

    /// Aborts with a message (checked builds) unless `ptr` is a slot of `class`.
    #[inline]
    fn check_owned(&self, class: usize, ptr: *mut u8, layout: Layout) {
        if !self.classes[class].owns(ptr) {
            self.not_owned(class, ptr, layout);
        }
    }

    #[cold]
    #[inline(never)]
    fn not_owned(&self, class: usize, ptr: *mut u8, layout: Layout) -> ! {
        let size = class_size(class);
        match self.class_owning(ptr) {
            Some(other) => abort_with(format_args!(
                "SlabAllocator: {ptr:p} freed with {layout:?} is not a block of the {size} B size \
                 class; it is a block of the {} B class: it was allocated with a different layout",
                class_size(other)
            )),
            None => abort_with(format_args!(
                "SlabAllocator: {ptr:p} freed with {layout:?} is not a block of the {size} B size \
                 class; this allocator never gave it out"
            )),
        }
    }

    fn class_owning(&self, ptr: *mut u8) -> Option<usize> {
        (0..CLASSES).find(|&c| self.classes[c].owns(ptr))
    }

    /// Moves `ptr` to a block of `new` bytes; in place while both sizes share a class.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of `old` from this allocator; `new` has `old`'s alignment.
    unsafe fn realloc_block<const GLOBAL: bool>(
        &self,
        ptr: *mut u8,
        old: Layout,
        new: Layout,
    ) -> *mut u8 {
        let (from, to) = (class_of(old), class_of(new));
        if from.is_some() && from == to {
            self.recount(old.size(), new.size());
            return ptr;
        }
        if from.is_none() && to.is_none() {
            // SAFETY: a large block of `old` from `System`, resized with the same alignment.
            let moved = unsafe { System.realloc(ptr, old, new.size()) };
            if !moved.is_null() {
                let large = &self.record().large_bytes;
                large.fetch_add(new.size(), Ordering::Relaxed);
                large.fetch_sub(old.size(), Ordering::Relaxed);
            }
            return moved;
        }
        let moved = self.alloc_block::<GLOBAL>(new);
        if !moved.is_null() {
            // SAFETY: both blocks are live, distinct, and at least `min(old, new)` long.
            unsafe {
                ptr::copy_nonoverlapping(ptr, moved, old.size().min(new.size()));
                self.free_block(ptr, old);
            }
        }
        moved
    }

    /// Keeps the requested-bytes count right when a block is resized in place.
    fn recount(&self, old: usize, new: usize) {
        match self.threads.get() {
            Some(t) => {
                bump(&t.requested, new as u64);
                bump(&t.released, old as u64);
            }
            None => {
                let record = self.record();
                record
                    .uncached_requested
                    .fetch_add(new as u64, Ordering::Relaxed);
                record
                    .uncached_released
                    .fetch_add(old as u64, Ordering::Relaxed);
            }
        }
    }

    /// What the kernel granted the segments of the classes in use, all together: `Heap`
    /// when they differ or before the first (see [`Granted`]).
    pub fn backing(&self) -> Granted {
        Granted::together(self.classes.iter().filter_map(RawPool::granted)).unwrap_or_default()
    }

    /// How well the classes use their memory: see [`FragmentationReport`].
    ///
    /// `live_bytes` counts what callers asked for; a block is *granted* its whole slot.
    /// `largest_free_block` is the larger of the biggest class with a free slot and the
    /// biggest never-carved run at the end of a segment. Requests past the classes count as
    /// granted exactly what they asked, and are reserved as live.
    /// Counts of threads busy at the moment may be a few operations early or late.
    pub fn fragmentation(&self) -> FragmentationReport {
        let r = self.record.load(Ordering::Acquire);
        if r.is_null() {
            return FragmentationReport::new(0, 0, 0, 0);
        }
        // SAFETY: a published record lives until the allocator drops.
        unsafe { &*r }.fragmentation()
    }

    /// Hands a thread's caches back to the classes (loom models drive `ThreadSlab`s by hand;
    /// real ones live in the table until the allocator drops).
    #[cfg(typool_loom)]
    pub(crate) fn retire(&self, thread: &ThreadSlab) {
        for (pool, cache) in self.classes.iter().zip(&thread.caches) {
            pool.retire(cache);
        }
        self.record().forget_thread(thread);
    }

    /// Gives memory no block uses back to the OS, class by class, as
    /// [`Pool::trim`](crate::Pool::trim) does: empty pages with `madvise`, empty segments
    /// unmapped; returns the bytes.
    ///
    /// The calling thread's cached free slots, those cached for threads that have exited, and
    /// every thread's stash come back first; each live thread's two magazines per class stay.
    pub fn trim(&self) -> usize {
        self.flush_caches();
        self.classes.iter().map(RawPool::trim).sum()
    }

    /// Meshes every class's sparse pages (see [`Pool::mesh`](crate::Pool::mesh)) in an
    /// allocator made with [`with_mesh`](Self::with_mesh); an empty report otherwise. Blocks
    /// never move; other threads may use and free them meanwhile.
    ///
    /// The calling thread's cached free blocks, those of exited threads and every stash come
    /// back to their pages first, as in [`trim`](Self::trim).
    pub fn mesh(&self) -> crate::MeshReport {
        self.flush_caches();
        self.classes
            .iter()
            .map(RawPool::mesh)
            .fold(crate::MeshReport::default(), |a, b| a + b)
    }

    /// Puts the calling thread's cached free blocks, and those cached for threads that have
    /// exited, back into their classes.
    fn flush_caches(&self) {
        let flush = |t: &ThreadSlab| {
            for (pool, cache) in self.classes.iter().zip(&t.caches) {
                pool.flush(cache);
            }
        };
        if let Some(t) = self.threads.get() {
            flush(t);
        }
        self.threads.for_each_unowned(flush);
    }
}

// SAFETY: blocks of a class are distinct slots of its pool, valid until freed; large blocks
// are `System`'s. `realloc_block` keeps the contents up to the smaller size. Zero-sized
// layouts (which `GlobalAlloc` callers must not pass) are served as one-byte requests.
unsafe impl GlobalAlloc for SlabAllocator {
    #[inline(always)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.alloc_block::<true>(layout)
    }

    #[inline(always)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller gives back a block of ours, allocated with `layout`.
        unsafe { self.free_block(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if class_of(layout).is_none() {
            // SAFETY: non-zero size: zero-sized layouts map to a class.
            let ptr = unsafe { System.alloc_zeroed(layout) };
            if !ptr.is_null() {
                self.record()
                    .large_bytes
                    .fetch_add(layout.size(), Ordering::Relaxed);
            }
            return ptr;
        }
        let ptr = self.alloc_block::<true>(layout);
        if !ptr.is_null() {
            // SAFETY: a fresh block of at least `layout.size()` bytes.
            unsafe { ptr.write_bytes(0, layout.size()) };
        }
        ptr
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size`, rounded to the alignment, fits `isize`.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: forwarded from the caller.
        unsafe { self.realloc_block::<true>(ptr, layout, new) }
    }
}

impl SlabAllocator {
    /// The block handed to an [`Allocator`] caller: its whole slot for a class.
    fn granted(ptr: *mut u8, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let ptr = NonNull::new(ptr).ok_or(AllocError)?;
        let len = class_of(layout).map_or(layout.size(), class_size);
        Ok(NonNull::slice_from_raw_parts(ptr, len))
    }
}

// SAFETY: as for `GlobalAlloc`; zero-sized blocks are dangling and never touch a class.
// Any size between the requested one and the granted slot maps back to the same class, so
// freeing with the granted length is sound too.
unsafe impl Allocator for &SlabAllocator {
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() == 0 {
            return Ok(NonNull::slice_from_raw_parts(dangling(layout.align()), 0));
        }
        SlabAllocator::granted(self.alloc_block::<false>(layout), layout)
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: the caller gives back a block of ours, allocated with a layout that fits.
            unsafe { self.free_block(ptr.as_ptr(), layout) }
        }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller (`new.size() >= old.size()`).
        unsafe { self.resize(ptr, old, new) }
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller (`new.size() <= old.size()`).
        unsafe { self.resize(ptr, old, new) }
    }
}

impl SlabAllocator {
    /// # Safety
    ///
    /// `ptr` is a block of ours allocated with `old` (or dangling if `old` is zero-sized).
    unsafe fn resize(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if old.size() == 0 || new.size() == 0 || old.align() != new.align() {
            // SAFETY: forwarded from the caller.
            return unsafe { relocate(self, ptr, old, new) };
        }
        // SAFETY: same alignment, non-zero sizes, a live block of `old`.
        let moved = unsafe { self.realloc_block::<false>(ptr.as_ptr(), old, new) };
        Self::granted(moved, new)
    }
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;

    #[test]
    fn classes_step_by_quarters_and_cover_8_to_32k() {
        assert_eq!(class_size(0), 8);
        assert_eq!(class_size(3), 32);
        assert_eq!(
            (4..12).map(class_size).collect::<std::vec::Vec<_>>(),
            [40, 48, 56, 64, 80, 96, 112, 128]
        );
        assert_eq!(class_size(CLASSES - 1), SlabAllocator::MAX_CLASS_SIZE);
        for size in 0..=SlabAllocator::MAX_CLASS_SIZE {
            let i = class_index(size);
            assert!(class_size(i) >= size, "size {size} in class {i}");
            assert!(
                i == 0 || class_size(i - 1) < size,
                "size {size}: not the smallest"
            );
        }
    }

    #[test]
    fn the_small_table_agrees_with_the_class_formula() {
        for size in 0..=SMALL_MAX + 8 {
            for align in [1, 2, 4, 8, 16] {
                let layout = Layout::from_size_align(size, align).unwrap();
                match small_class(layout) {
                    Some(class) => {
                        assert!(size <= SMALL_MAX && align <= 8, "{layout:?}");
                        assert_eq!(class, class_index(size), "{layout:?}");
                    }
                    None => assert!(size > SMALL_MAX || align > 8, "{layout:?}"),
                }
            }
        }
    }

    #[test]
    fn class_of_honours_alignment() {
        for align in (0..=12).map(|k| 1usize << k) {
            for size in [0, 1, 7, 8, 9, 24, 33, 100, 1000, 4096, 5000, 32768] {
                let layout = Layout::from_size_align(size, align).unwrap();
                let c = class_of(layout).unwrap();
                assert!(
                    class_size(c) >= size && class_align(c) >= align,
                    "{layout:?} → {c}"
                );
            }
        }
        assert_eq!(class_of(Layout::from_size_align(8, 8192).unwrap()), None);
        assert_eq!(class_of(Layout::from_size_align(32769, 8).unwrap()), None);
    }

    #[test]
    fn blocks_are_aligned_distinct_and_reused() {
        let slab = SlabAllocator::new();
        let a = &slab;
        let mut blocks = std::vec::Vec::new();
        for (size, align) in [
            (1, 1),
            (24, 8),
            (48, 16),
            (100, 64),
            (3000, 4096),
            (40_000, 8),
        ] {
            let layout = Layout::from_size_align(size, align).unwrap();
            for _ in 0..3 {
                let p = a.allocate(layout).unwrap().cast::<u8>();
                assert_eq!(p.as_ptr().addr() % align, 0);
                // SAFETY: a fresh block of `size` bytes.
                unsafe { p.as_ptr().write_bytes(size as u8, size) };
                blocks.push((p, layout));
            }
        }
        let mut addrs: std::vec::Vec<_> = blocks.iter().map(|b| b.0.as_ptr().addr()).collect();
        addrs.sort_unstable();
        addrs.dedup();
        assert_eq!(addrs.len(), blocks.len());
        let live = slab.fragmentation().live_bytes;
        assert_eq!(live, 3 * (1 + 24 + 48 + 100 + 3000 + 40_000));
        let (p, layout) = blocks.pop().unwrap();
        // SAFETY: allocated above with this layout.
        unsafe { a.deallocate(p, layout) };
        for (p, layout) in blocks.drain(..) {
            // SAFETY: the block still holds its fill byte.
            assert_eq!(unsafe { *p.as_ptr() }, layout.size() as u8);
            // SAFETY: allocated above with this layout.
            unsafe { a.deallocate(p, layout) };
        }
        assert_eq!(slab.fragmentation().live_bytes, 0);
        let again = a.allocate(Layout::new::<[u8; 24]>()).unwrap();
        assert!(
            addrs.contains(&again.cast::<u8>().as_ptr().addr()),
            "a freed slot is reused"
        );
        // SAFETY: allocated just above.
        unsafe { a.deallocate(again.cast(), Layout::new::<[u8; 24]>()) };
    }

    #[test]
    fn realloc_stays_in_place_within_a_class_and_keeps_contents() {
        let slab = SlabAllocator::new();
        let old = Layout::from_size_align(33, 8).unwrap();
        // SAFETY: non-zero layouts; each pointer is used with the layout it has.
        unsafe {
            let p = slab.alloc(old);
            p.write_bytes(7, 33);
            assert_eq!(
                slab.realloc(p, old, 40),
                p,
                "33 and 40 share the 40-byte class"
            );
            let grown = Layout::from_size_align(40, 8).unwrap();
            let q = slab.realloc(p, grown, 5000);
            assert_ne!(q, p);
            assert!((0..33).all(|i| *q.add(i) == 7));
            let big = Layout::from_size_align(5000, 8).unwrap();
            let r = slab.realloc(q, big, 100_000);
            assert!((0..33).all(|i| *r.add(i) == 7));
            slab.dealloc(r, Layout::from_size_align(100_000, 8).unwrap());
        }
        assert_eq!(slab.fragmentation().live_bytes, 0);
    }

    #[test]
    fn zero_sized_requests_cost_nothing() {
        let slab = SlabAllocator::new();
        let layout = Layout::from_size_align(0, 64).unwrap();
        let p = (&slab).allocate(layout).unwrap();
        assert_eq!(p.len(), 0);
        assert_eq!(p.cast::<u8>().as_ptr().addr() % 64, 0);
        // SAFETY: the zero-sized block just allocated.
        unsafe { (&slab).deallocate(p.cast(), layout) };
        assert_eq!(slab.fragmentation().reserved_bytes, 0);
    }

    #[test]
    fn trim_gives_empty_segments_back() {
        let slab = SlabAllocator::new();
        let layout = Layout::new::<[u64; 4]>();
        let n = if cfg!(miri) { 300 } else { 5000 };
        let blocks: std::vec::Vec<_> = (0..n).map(|_| (&slab).allocate(layout).unwrap()).collect();
        let before = slab.fragmentation();
        assert!(before.reserved_bytes >= n * 32);
        for b in blocks {
            // SAFETY: allocated above with this layout.
            unsafe { (&slab).deallocate(b.cast(), layout) };
        }
        let freed = slab.trim();
        assert!(freed >= n * 32, "freed {freed}");
        assert_eq!(
            slab.fragmentation().reserved_bytes,
            before.reserved_bytes - freed
        );
    }

    #[test]
    fn frees_from_threads_without_a_cache_are_counted() {
        let slab = SlabAllocator::new();
        let layout = Layout::new::<[u8; 100]>();
        let p = slab.alloc_in(None, class_of(layout).unwrap(), 100);
        assert_eq!(slab.fragmentation().live_bytes, 100);
        // SAFETY: allocated just above, through the same class.
        unsafe { slab.free_in(None, class_of(layout).unwrap(), p, layout) };
        assert_eq!(slab.fragmentation().live_bytes, 0);
    }
}
