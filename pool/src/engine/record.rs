//! A pool's record: what its `stats()` reads, on the heap, so that it stays put when the pool
//! value moves — and the process-wide list of records that `typool::stats::all()` walks.
//!
//! A [`RawPool`](crate::engine::raw::RawPool) creates its record on its first slow path (the
//! first cache registration or the first segment; never on the fast path), puts it on the list
//! if it is a typed pool, and takes it off in `Drop` before freeing it. The list's lock is
//! taken only there and by readers, so reading the list never blocks an allocation; a reader
//! then takes each record's counter lock as the pool's own `stats()` does.
//!
//! Records are allocated from [`System`], never the global allocator: the slab's size classes
//! are pools too, and the slab may be the global allocator.
//!
//! Lock order: the list, then a record's registry.

use crate::engine::counters::Registry;
use crate::os::{sys_vec, Granted, SysVec};
use crate::stats::{short_type_name, PoolStats};
use crate::sync::{lock, AtomicU64, AtomicUsize, Mutex, Ordering};
use std::alloc::{GlobalAlloc, Layout, System};

/// What `stats()` reads of one pool.
#[derive(Debug)]
pub(crate) struct Record {
    /// The counters of the pool's caches, and of those that retired.
    pub(crate) registry: Mutex<Registry>,
    /// The pooled type's full path (`core::any::type_name`), or the allocator's name.
    name: fn() -> &'static str,
    slot_size: usize,
    /// Mirrors of the segments' figures, written under the pool's grow lock.
    reserved_slots: AtomicUsize,
    segments: AtomicUsize,
    /// What the segments were granted (`Granted::to_bits`).
    granted: AtomicU64,
    /// Highest `live` sampled: see `PoolStats::peak_live`.
    peak_live: AtomicUsize,
    /// Whether the record was put on the list (once, under the pool's grow lock).
    enlisted: std::sync::atomic::AtomicBool,
    /// Where the pool's carved slots are, for the leak walks (feature `track-sites`).
    #[cfg(feature = "track-sites")]
    pub(crate) carved: Mutex<SysVec<(usize, usize)>>,
    #[cfg(feature = "track-sites")]
    site_offset: Option<usize>,
}

impl Record {
    /// A record on the heap, or `None` if the system has no memory for it.
    /// `site_offset`: where a slot's allocation-site word is (typed pools under `track-sites`).
    pub(crate) fn create(
        name: fn() -> &'static str,
        slot_size: usize,
        site_offset: Option<usize>,
    ) -> Option<*mut Record> {
        let layout = Layout::new::<Record>();
        // SAFETY: `Record` is not zero-sized.
        let p = unsafe { System.alloc(layout) }.cast::<Record>();
        if p.is_null() {
            return None;
        }
        let record = Record {
            registry: Mutex::new(Registry::new()),
            name,
            slot_size,
            reserved_slots: AtomicUsize::new(0),
            segments: AtomicUsize::new(0),
            granted: AtomicU64::new(0),
            peak_live: AtomicUsize::new(0),
            enlisted: std::sync::atomic::AtomicBool::new(false),
            #[cfg(feature = "track-sites")]
            carved: Mutex::new(sys_vec()),
            #[cfg(feature = "track-sites")]
            site_offset,
        };
        #[cfg(not(feature = "track-sites"))]
        let _ = site_offset;
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

    /// Updates the segment figures (under the pool's grow lock).
    pub(crate) fn set_segments(
        &self,
        count: usize,
        reserved_slots: usize,
        granted: Option<Granted>,
    ) {
        self.segments.store(count, Ordering::Relaxed);
        self.reserved_slots.store(reserved_slots, Ordering::Relaxed);
        self.granted
            .store(Granted::to_bits(granted), Ordering::Relaxed);
    }

    /// True the first time only: the caller then puts the record on the list.
    pub(crate) fn enlist_once(&self) -> bool {
        !self
            .enlisted
            .swap(true, std::sync::atomic::Ordering::Relaxed)
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
        let Ok(registry) = self.registry.try_lock() else {
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
        let reserved_slots = self.reserved_slots.load(Ordering::Relaxed);
        PoolStats {
            type_name: short_type_name(type_path),
            type_path,
            slot_size: self.slot_size,
            live,
            peak_live: self.peak_live.load(Ordering::Relaxed),
            reserved_slots,
            cache_hits: allocs.saturating_sub(misses),
            cache_misses: misses,
            depot_transfers: transfers,
            segments: self.segments.load(Ordering::Relaxed),
            bytes_reserved: reserved_slots * self.slot_size,
            backing: Granted::from_bits(self.granted.load(Ordering::Relaxed)).unwrap_or_default(),
        }
    }
}

#[cfg(feature = "track-sites")]
impl Record {
    /// Live objects by allocation site: a walk of every carved slot's site word (0 for a
    /// free slot), under the lock that keeps the segments mapped.
    pub(crate) fn sites(&self) -> Vec<(&'static core::panic::Location<'static>, usize)> {
        use std::collections::HashMap;
        let Some(offset) = self.site_offset else {
            return Vec::new();
        };
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for &(base, bytes) in lock(&self.carved).iter() {
            for at in (base..base + bytes).step_by(self.slot_size) {
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

fn list() -> std::sync::MutexGuard<'static, SysVec<Listed>> {
    LIST.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Puts `r` on the process-wide list.
pub(crate) fn enlist(r: *const Record) {
    list().push(Listed(r));
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

/// Snapshots of every listed pool, sorted by `type_path`.
pub(crate) fn all() -> Vec<PoolStats> {
    let mut out: Vec<PoolStats> = {
        let list = list();
        // SAFETY: listed records are alive while the list's lock is held.
        list.iter().map(|l| unsafe { &*l.0 }.stats()).collect()
    };
    out.sort_by(|a, b| a.type_path.cmp(b.type_path));
    out
}
