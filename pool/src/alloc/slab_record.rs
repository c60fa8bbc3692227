//! A slab allocator's figures on the heap, and the process-wide list of them.
//!
//! A `SlabAllocator` is a plain value: it can move whenever nothing borrows it, so no list may
//! hold its address. What its fragmentation report reads lives instead in a [`SlabRecord`],
//! allocated from `System` on the allocator's first slow path and freed when it drops: the
//! byte counters of threads without a cache and of large blocks, the records of its classes
//! (which are on the heap already), and the threads' own counters (each in the allocator's
//! cache table, whose buckets live until it drops). Both the allocator's
//! [`fragmentation`](crate::SlabAllocator::fragmentation) and the process-wide list that
//! [`render_prometheus`](crate::stats::render_prometheus) walks read this record, so they
//! agree by construction.
//!
//! The list's lock comes before a record's own (its thread list) and before the classes'
//! registries and segments, which `fragmentation` takes one at a time.

use super::slab::{class_size, ThreadSlab, CLASSES};
use crate::engine::record::Record;
use crate::os::{sys_vec, SysVec};
use crate::stats::FragmentationReport;
use crate::sync::{lock, AtomicPtr, AtomicU64, AtomicUsize, Mutex, Ordering};
use core::alloc::Layout;
use std::alloc::{handle_alloc_error, GlobalAlloc, System};

/// Which allocator a record belongs to, as its `allocator` label says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Any other `SlabAllocator`: labelled `slab-N`, N counting records from 1.
    Other = 0,
    /// The process-wide slab behind `PoolAlloc` (not built under loom).
    #[cfg_attr(typool_loom, allow(dead_code))]
    PoolAlloc = 1,
    /// A slab called through `GlobalAlloc`: the `#[global_allocator]`.
    Global = 2,
}

/// What a slab allocator's fragmentation report reads, in one place that does not move.
pub(crate) struct SlabRecord {
    role: AtomicUsize,
    #[cfg_attr(typool_loom, allow(dead_code))]
    number: u64,
    /// Bytes requested and released by threads without a cache.
    pub(crate) uncached_requested: AtomicU64,
    pub(crate) uncached_released: AtomicU64,
    /// Bytes of live blocks that went to the system allocator.
    pub(crate) large_bytes: AtomicUsize,
    /// Each class's record, once the class has one.
    classes: [AtomicPtr<Record>; CLASSES],
    /// Every thread cache used so far (they live until the allocator drops).
    threads: Mutex<SysVec<*const ThreadSlab>>,
}

impl SlabRecord {
    /// A new record on the `System` heap, listed process-wide (ends the program if the system
    /// refuses its few hundred bytes, as `Box` would).
    pub(crate) fn create(role: Role) -> *mut SlabRecord {
        static NUMBERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let layout = Layout::new::<SlabRecord>();
        // SAFETY: the layout is not zero-sized.
        let p = unsafe { System.alloc(layout) }.cast::<SlabRecord>();
        if p.is_null() {
            handle_alloc_error(layout);
        }
        let record = SlabRecord {
            role: AtomicUsize::new(role as usize),
            number: NUMBERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            uncached_requested: AtomicU64::new(0),
            uncached_released: AtomicU64::new(0),
            large_bytes: AtomicUsize::new(0),
            classes: core::array::from_fn(|_| AtomicPtr::new(core::ptr::null_mut())),
            threads: Mutex::new(sys_vec()),
        };
        // SAFETY: fresh memory for one record.
        unsafe { p.write(record) };
        #[cfg(not(typool_loom))]
        list::add(p);
        p
    }

    /// Takes `p` off the list and frees it.
    ///
    /// # Safety
    ///
    /// `p` came from [`create`](Self::create), is destroyed once, and its allocator is being
    /// dropped (no thread uses it).
    pub(crate) unsafe fn destroy(p: *mut SlabRecord) {
        #[cfg(not(typool_loom))]
        list::remove(p);
        // SAFETY: off the list, so no reader reaches it; created by `create` with this layout.
        unsafe {
            p.drop_in_place();
            System.dealloc(p.cast(), Layout::new::<SlabRecord>());
        }
    }

    /// Marks the allocator as used through `GlobalAlloc` (once; a relaxed load after that).
    #[inline]
    pub(crate) fn mark_global(&self) {
        if self.role.load(Ordering::Relaxed) != Role::Global as usize {
            self.role.store(Role::Global as usize, Ordering::Relaxed);
        }
    }

    /// Remembers class `class`'s record (its pool just created it, or had it).
    #[inline]
    pub(crate) fn know_class(&self, class: usize, record: *const Record) {
        if self.classes[class].load(Ordering::Relaxed).is_null() {
            self.classes[class].store(record.cast_mut(), Ordering::Release);
        }
    }

    /// Lists `thread`'s counters, once, for the report to sum (on its slow paths).
    #[inline]
    pub(crate) fn list_thread(&self, thread: &ThreadSlab) {
        if !thread.listed.get() {
            thread.listed.set(true);
            lock(&self.threads).push(thread);
        }
    }

    /// Takes a thread cache that is about to go off the list, keeping its counts (loom models
    /// drop their caches before the allocator).
    #[cfg(typool_loom)]
    pub(crate) fn forget_thread(&self, thread: &ThreadSlab) {
        let mut threads = lock(&self.threads);
        threads.retain(|&t| !core::ptr::eq(t, thread));
        let (r, f) = thread.counted();
        self.uncached_requested.fetch_add(r, Ordering::Relaxed);
        self.uncached_released.fetch_add(f, Ordering::Relaxed);
        thread.listed.set(false);
    }

    /// The `allocator` label: `pool_alloc`, `global` or `slab-N`.
    #[cfg(not(typool_loom))]
    pub(crate) fn label(&self) -> String {
        let role = self.role.load(Ordering::Relaxed);
        if role == Role::PoolAlloc as usize {
            "pool_alloc".to_string()
        } else if role == Role::Global as usize {
            "global".to_string()
        } else {
            format!("slab-{}", self.number)
        }
    }

    /// The allocator's fragmentation report (see `SlabAllocator::fragmentation`).
    pub(crate) fn fragmentation(&self) -> FragmentationReport {
        let (mut requested, mut released) = (
            self.uncached_requested.load(Ordering::Relaxed),
            self.uncached_released.load(Ordering::Relaxed),
        );
        for &t in lock(&self.threads).iter() {
            // SAFETY: listed caches live in the allocator's table until it drops, which
            // destroys this record first; only their atomics are read.
            let (r, f) = unsafe { (*t).counted() };
            requested = requested.wrapping_add(r);
            released = released.wrapping_add(f);
        }
        let large = self.large_bytes.load(Ordering::Relaxed);
        let live = (requested.wrapping_sub(released) as i64).max(0) as usize + large;
        let (mut granted, mut reserved, mut largest) = (large, large, 0);
        for (c, class) in self.classes.iter().enumerate() {
            let r = class.load(Ordering::Acquire);
            if r.is_null() {
                continue;
            }
            // SAFETY: a class's record lives until its pool drops, after this record.
            let r = unsafe { &*r };
            let (bytes, uncarved) = r.reserved_and_uncarved();
            let used = r.live() * class_size(c);
            granted += used;
            reserved += bytes;
            largest = largest.max(uncarved);
            if bytes > used + uncarved {
                largest = largest.max(class_size(c));
            }
        }
        FragmentationReport::new(live, granted, reserved, largest)
    }
}

/// The process-wide list of slab records.
#[cfg(not(typool_loom))]
pub(crate) mod list {
    use super::SlabRecord;
    use crate::os::{sys_vec, SysVec};
    use crate::sync::lock_std;
    use std::sync::Mutex;

    struct Listed(*const SlabRecord);
    // SAFETY: records are `Sync` in all but name (atomics and a mutex); a listed one is alive.
    unsafe impl Send for Listed {}

    static SLABS: Mutex<SysVec<Listed>> = Mutex::new(sys_vec());

    pub(super) fn add(p: *const SlabRecord) {
        lock_std(&SLABS).push(Listed(p));
    }

    pub(super) fn remove(p: *const SlabRecord) {
        lock_std(&SLABS).retain(|l| l.0 != p);
    }

    /// `f` on every slab allocator's record, under the list's lock (in creation order).
    pub(crate) fn for_each(mut f: impl FnMut(&SlabRecord)) {
        for l in lock_std(&SLABS).iter() {
            // SAFETY: listed records are alive while the list's lock is held (`destroy` takes
            // a record off under it before freeing it).
            f(unsafe { &*l.0 });
        }
    }
}
