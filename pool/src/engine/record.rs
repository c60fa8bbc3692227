//! A pool's record: the part of a pool that must stay put when the pool value moves — its
//! segments and the registry of its caches, which is what `stats()` reads — and the
//! process-wide list of records that `typool::stats::all()` walks.
//!
//! A [`RawPool`](crate::engine::raw::RawPool) creates its record on its first slow path (the
//! first cache registration or the first segment; never on the fast path), puts it on the list
//! if it is a typed pool once it has memory, and takes it off in `Drop` before freeing it. The
//! list's lock is taken only there and by readers, so reading the list never blocks an
//! allocation; a reader then reads each record as the pool's own `stats()` does, where the
//! figures live: the counters through the registry, the rest from the segments.
//!
//! Records are allocated from [`System`], never the global allocator: the slab's size classes
//! are pools too, and the slab may be the global allocator.
//!
//! Lock order: the list, then a record's registry, then its segments (the grow lock), then
//! (feature `track-sites`) its list of carved ranges. Nothing takes the list while holding
//! another.

use crate::engine::counters::Registry;
use crate::engine::segment::{Segments, SlotLayout};
use crate::os::{sys_vec, Backing, SysVec};
use crate::stats::{short_type_name, PoolStats};
use crate::sync::{lock, lock_std, try_lock, AtomicUsize, Locked, Mutex, Ordering};
use std::alloc::{GlobalAlloc, Layout, System};

/// What `stats()` reads of one pool.
#[derive(Debug)]
pub(crate) struct Record {
    /// The counters of the pool's caches, and of those that retired.
    pub(crate) registry: Mutex<Registry>,
    /// The pool's memory; its lock is the pool's grow lock.
    pub(crate) segments: Mutex<Segments>,
    /// The pooled type's full path (`core::any::type_name`), or the allocator's name.
    name: fn() -> &'static str,
    slot: SlotLayout,
    /// Highest `live` sampled: see `PoolStats::peak_live`.
    peak_live: AtomicUsize,
    /// Whether the record was put on the list. Set only under the list's lock, in the same
    /// hold as the push, so that a child forked at any moment sees it set only if the record is
    /// on its copy of the list (the fork gate keeps forks out of that hold).
    enlisted: std::sync::atomic::AtomicBool,
    /// Where the pool's carved slots are, for the leak walks (feature `track-sites`).
    #[cfg(feature = "track-sites")]
    pub(crate) carved: Mutex<SysVec<(usize, usize)>>,
}

impl Record {
    /// A record on the heap for a pool of `slot`s from `backing`, or `None` if the system has
    /// no memory for it.
    pub(crate) fn create(
        name: fn() -> &'static str,
        slot: SlotLayout,
        backing: Backing,
    ) -> Option<*mut Record> {
        let layout = Layout::new::<Record>();
        // SAFETY: `Record` is not zero-sized.
        let p = unsafe { System.alloc(layout) }.cast::<Record>();
        if p.is_null() {
            return None;
        }
        let record = Record {
            registry: Mutex::new(Registry::new()),
            segments: Mutex::new(Segments::new(backing)),
            name,
            slot,
            peak_live: AtomicUsize::new(0),
            enlisted: std::sync::atomic::AtomicBool::new(false),
            #[cfg(feature = "track-sites")]
            carved: Mutex::new(sys_vec()),
        };
        // SAFETY: `p` is fresh memory of `Record`'s layout.
        unsafe { p.write(record) };
        Some(p)
    }

    /// Drops and frees a record from [`Record::create`].
    ///
    /// # Safety
    ///
    /// `p` came from `create`, is on no list, and nothing refers to it any more.
    pub(crate) unsafe fn destroy(p: *mut Record) {
        // SAFETY: forwarded from the caller.
        unsafe {
            p.drop_in_place();
            System.dealloc(p.cast(), Layout::new::<Record>());
        }
    }

    /// Whether the record is on the list already (a hint read without the list's lock: once
    /// true it stays true until the record dies).
    pub(crate) fn is_enlisted(&self) -> bool {
        self.enlisted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Bytes of all segments, and the largest run of never-carved slots, in bytes.
    pub(crate) fn reserved_and_uncarved(&self) -> (usize, usize) {
        let segs = lock(&self.segments);
        (
            segs.reserved_bytes(self.slot),
            segs.largest_uncarved(self.slot),
        )
    }

    /// Objects live now: allocations minus frees over every cache.
    pub(crate) fn live(&self) -> usize {
        let [allocs, frees, ..] = lock(&self.registry).totals();
        net(allocs, frees)
    }

    /// Samples `live` for `peak_live` (when a cache takes memory from the pool's shared
    /// layers: not on the refills a thread serves itself). Skipped if a reader holds the counter
    /// lock — that reader samples `live` itself — so `stats()` never makes a refill wait.
    pub(crate) fn sample_peak(&self) {
        let Some(registry) = try_lock(&self.registry) else {
            return;
        };
        let [allocs, frees, ..] = registry.totals();
        drop(registry);
        let live = net(allocs, frees);
        if live > self.peak_live.load(Ordering::Relaxed) {
            self.peak_live.fetch_max(live, Ordering::Relaxed);
        }
    }

    /// The snapshot `Pool::stats()` and `stats::all()` return.
    pub(crate) fn stats(&self) -> PoolStats {
        let [allocs, frees, misses, transfers] = lock(&self.registry).totals();
        let live = net(allocs, frees);
        self.peak_live.fetch_max(live, Ordering::Relaxed);
        let type_path = (self.name)();
        let (reserved_slots, reserved_bytes, segments, committed, granted) = {
            let segs = lock(&self.segments);
            (
                segs.reserved_slots(),
                segs.reserved_bytes(self.slot),
                segs.count(),
                segs.committed_bytes(),
                segs.granted(),
            )
        };
        PoolStats {
            type_name: short_type_name(type_path),
            type_path,
            slot_size: self.slot.size,
            live,
            peak_live: self.peak_live.load(Ordering::Relaxed),
            reserved_slots,
            cache_hits: allocs.saturating_sub(misses),
            cache_misses: misses,
            depot_transfers: transfers,
            segments,
            bytes_reserved: reserved_bytes,
            bytes_committed: committed,
            backing: granted.unwrap_or_default(),
        }
    }
}

#[cfg(feature = "track-sites")]
impl Record {
    /// Live objects by allocation site: a walk of every carved slot's site word (0 for a
    /// free slot), under the lock that keeps the segments mapped.
    pub(crate) fn sites(&self) -> Vec<(&'static core::panic::Location<'static>, usize)> {
        use std::collections::HashMap;
        if !self.slot.site {
            return Vec::new();
        }
        let offset = self.slot.site_offset();
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for &(base, bytes) in lock(&self.carved).iter() {
            for i in 0..self.slot.slots_in(bytes) {
                let at = base + self.slot.offset_of(i);
                let word = (at + offset) as *const std::sync::atomic::AtomicUsize;
                // SAFETY: the segment is mapped while it is listed here (trim and drop update
                // the list under this lock before unmapping); every carved slot's site word
                // was initialised at carve time and is only written atomically since.
                let site = unsafe { &*word }.load(std::sync::atomic::Ordering::Relaxed);
                if site != 0 {
                    *counts.entry(site).or_default() += 1;
                }
            }
        }
        let location = |site: usize| -> &'static core::panic::Location<'static> {
            // SAFETY: non-zero site words hold a `&'static Location` (`typed/sites.rs`).
            unsafe { &*(site as *const core::panic::Location<'static>) }
        };
        let mut sites: Vec<_> = counts
            .into_iter()
            .map(|(site, live)| (location(site), live))
            .collect();
        sites.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| a.0.to_string().cmp(&b.0.to_string()))
        });
        sites
    }

    /// The pool's type path (for reports).
    pub(crate) fn type_path(&self) -> &'static str {
        (self.name)()
    }
}

/// Live objects from counters that another thread may be updating: a free counted before
/// its allocation (on another thread) must not show as a huge number.
fn net(allocs: u64, frees: u64) -> usize {
    (allocs.wrapping_sub(frees) as i64).max(0) as usize
}

/// A listed record. Records on the list are alive: a pool takes its record off (under the
/// list's lock) before freeing it.
#[derive(Debug)]
struct Listed(*const Record);

// SAFETY: a `Record` is all atomics and mutexes, readable from any thread; the list protocol
// above keeps the pointer valid while it is listed.
unsafe impl Send for Listed {}

/// Every typed pool's record. A std mutex even in loom builds: the list is not a structure
/// the models explore, and its lock is never taken on an allocation's path.
static LIST: std::sync::Mutex<SysVec<Listed>> = std::sync::Mutex::new(sys_vec());

fn list() -> Locked<std::sync::MutexGuard<'static, SysVec<Listed>>> {
    lock_std(&LIST)
}

/// Puts `r` on the process-wide list, unless it is on it already.
pub(crate) fn enlist(r: &Record) {
    let mut list = list();
    // Flag and push in one hold of the lock: a fork (kept out of the hold by the gate) never
    // leaves a child whose record says "listed" and is not.
    if !r.enlisted.swap(true, std::sync::atomic::Ordering::Relaxed) {
        list.push(Listed(r));
    }
}

/// Takes `r` off the list (if it is on it).
pub(crate) fn delist(r: *const Record) {
    let mut list = list();
    if let Some(i) = list.iter().position(|l| core::ptr::eq(l.0, r)) {
        list.swap_remove(i);
    }
}

/// `f` on every listed record, under the list's lock.
#[cfg(feature = "track-sites")]
pub(crate) fn for_each(mut f: impl FnMut(&Record)) {
    let list = list();
    for l in list.iter() {
        // SAFETY: listed records are alive while the list's lock is held.
        f(unsafe { &*l.0 });
    }
}

/// Snapshots of every listed pool, sorted by `type_path`. Read by `observe`, which loom
/// builds leave out.
#[cfg_attr(typool_loom, allow(dead_code))]
pub(crate) fn all() -> Vec<PoolStats> {
    let mut out: Vec<PoolStats> = {
        let list = list();
        // SAFETY: listed records are alive while the list's lock is held.
        list.iter().map(|l| unsafe { &*l.0 }.stats()).collect()
    };
    out.sort_by(|a, b| a.type_path.cmp(b.type_path));
    out
}
