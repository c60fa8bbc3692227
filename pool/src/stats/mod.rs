//! Statistics: what a pool holds and how well its caches work.
//!
//! This layer holds the snapshot types every other layer fills in, and depends on none of
//! them but `os`, whose [`Granted`] the snapshots report; the process-wide functions here — [`all`], [`render_prometheus`] — are the
//! `observe` layer's, which reads every pool. Counters live in each thread's cache (see `engine/counters.rs`) so that counting
//! costs the fast path no atomic read-modify-write; a pool sums its caches' counters under
//! its registry lock. The sum is exact for threads that are quiet (or gone) while it runs; a
//! thread busy at that moment may be counted a few operations early or late. Exporters of
//! these snapshots (text formats, metrics facades) belong in this folder too.
//!
//! Gauges (`live`, `reserved_slots`, `segments`, `bytes_reserved`, `bytes_committed`) are
//! point-in-time; counters (`cache_hits`, `cache_misses`, `depot_transfers`) only grow. The
//! segment figures are read from the segments themselves, under the pool's grow lock, so they
//! are exact when read.
//!
//! `peak_live` is the highest `live` sampled — when a cache takes memory from the pool's
//! shared layers (the depot or the segments; skipped while a `stats()` holds the counters, so
//! reading never makes an allocation wait) and at every `stats()` call. It is never above the
//! true peak. It can miss a higher true peak that a thread reaches with memory it already
//! holds: by at most what one thread keeps — its two magazines and its stash — per thread.
//! With threads freeing concurrently, a sample may count a free still in flight on another
//! thread as live.
//!
//! `cache_hits` and `cache_misses` count allocations at magazine granularity: a miss is an
//! allocation that needed a magazine from outside the thread's two — its stash, the depot or
//! the segments — and every other allocation is a hit.

use crate::os::Granted;
use core::fmt;

#[cfg(all(feature = "track-sites", not(typool_loom)))]
pub use crate::observe::leak_report;
#[cfg(all(feature = "metrics", not(typool_loom)))]
pub use crate::observe::publish_metrics;
#[cfg(not(typool_loom))]
pub use crate::observe::{all, render_prometheus, TrackingStats};

/// `core::any::type_name` without the module path: `app::model::Particle` → `Particle`.
/// A name with generic arguments is returned whole (it is not a suffix of itself).
pub(crate) fn short_type_name(full: &'static str) -> &'static str {
    if full.contains('<') {
        return full;
    }
    full.rsplit("::").next().unwrap_or(full)
}

/// A snapshot of one pool. See the [module docs](self) for what is exact.
///
/// # Examples
///
/// ```
/// use typool::Pool;
///
/// let pool: Pool<[u64; 8]> = Pool::new();
/// let a = pool.alloc([0; 8]);
/// let s = pool.stats();
/// assert_eq!(s.live, 1);
/// assert_eq!(s.slot_size, 64);
/// assert!(s.utilization() > 0.0);
/// # drop(a);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct PoolStats {
    /// `core::any::type_name` of the pooled type, without its module path.
    pub type_name: &'static str,
    /// The full `core::any::type_name` (module path included), so that `a::Node` and
    /// `b::Node` tell apart.
    pub type_path: &'static str,
    /// Bytes per slot: the type's size, at least a pointer, rounded to its alignment.
    pub slot_size: usize,
    /// Objects allocated and not yet freed.
    pub live: usize,
    /// Highest `live` sampled, when caches take memory from the pool and at `stats()` calls
    /// (see the module docs).
    pub peak_live: usize,
    /// Slots in all segments.
    pub reserved_slots: usize,
    /// Allocations served by a thread cache.
    pub cache_hits: u64,
    /// Allocations that needed a magazine from outside the thread's two: from its stash, the
    /// depot or the segments.
    pub cache_misses: u64,
    /// Magazines moved between threads and the pool: to or from the depot, or fresh from the
    /// segments.
    pub depot_transfers: u64,
    /// Segments held.
    pub segments: usize,
    /// Bytes of all segments, with the few bytes that each 64 KiB page of slots up to 1 KiB
    /// leaves unused at its end (so that such slots do not all sit on one power-of-two
    /// lattice).
    pub bytes_reserved: usize,
    /// Bytes of `bytes_reserved` not given back to the OS page by page (`madvise`): what the
    /// pool can hold resident at most. A page counts from the first time a slot of it is
    /// handed out until it is given back, and again once it is used again.
    pub bytes_committed: usize,
    /// What the kernel gave the segments for the pool's [`Backing`](crate::Backing): all of
    /// them together, `Heap` when they differ or before the first (see [`Granted`]).
    pub backing: Granted,
}

impl PoolStats {
    /// Share of allocations served from a thread cache, in `0.0..=1.0` (1.0 before any).
    pub fn hit_rate(&self) -> f64 {
        let total = self.cache_hits + self.cache_misses;
        if total == 0 {
            1.0
        } else {
            self.cache_hits as f64 / total as f64
        }
    }

    /// Share of reserved slots holding a live object, in `0.0..=1.0` (0.0 when none reserved).
    pub fn utilization(&self) -> f64 {
        if self.reserved_slots == 0 {
            0.0
        } else {
            self.live as f64 / self.reserved_slots as f64
        }
    }
}

impl fmt::Display for PoolStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} live (peak {}), {} of {} slots used ({:.1}%), {} segment{}, {} KiB{}, cache hit rate {:.2}%, {} depot transfers",
            self.type_name,
            self.live,
            self.peak_live,
            self.live,
            self.reserved_slots,
            self.utilization() * 100.0,
            self.segments,
            if self.segments == 1 { "" } else { "s" },
            self.bytes_reserved / 1024,
            Committed(self.bytes_reserved, self.bytes_committed),
            self.hit_rate() * 100.0,
            self.depot_transfers,
        )?;
        match self.backing {
            Granted::Heap => Ok(()),
            granted => write!(f, ", on {granted}"),
        }
    }
}

/// `" (N KiB committed)"` when some of the reserved bytes went back to the OS, else nothing.
struct Committed(usize, usize);

impl fmt::Display for Committed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Committed(reserved, committed) if committed < reserved => {
                write!(f, " ({} KiB committed)", committed / 1024)
            }
            _ => Ok(()),
        }
    }
}

/// Live objects of one pool allocated at one line of code: see
/// [`Pool::leaks`](crate::Pool::leaks) and [`leak_report`] (feature `track-sites`).
#[cfg(feature = "track-sites")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeakSite {
    /// Where the objects were allocated (`#[track_caller]`).
    pub location: &'static core::panic::Location<'static>,
    /// How many of them are live.
    pub live: usize,
}

/// How well a variable-size allocator uses the memory it holds: returned by
/// [`SlabAllocator::fragmentation`](crate::SlabAllocator::fragmentation) and
/// [`BuddyAllocator::fragmentation`](crate::BuddyAllocator::fragmentation).
///
/// *Internal* fragmentation is what rounding wastes: `1 − requested / granted` over live
/// blocks (a 20-byte request granted a 24-byte slot wastes 4). *External* fragmentation is how
/// scattered the free memory is: `1 − largest_free_block / free_bytes` (0 when all free memory
/// is one block, or when nothing is free).
///
/// # Examples
///
/// ```
/// use typool::BuddyAllocator;
/// use typool::allocator_api2::alloc::{Allocator, Layout};
///
/// let buddy = BuddyAllocator::with_capacity(1 << 16);
/// let block = (&buddy).allocate(Layout::from_size_align(48, 8).unwrap()).unwrap();
/// let f = buddy.fragmentation();
/// assert_eq!(f.live_bytes, 48);
/// assert_eq!(f.internal, 0.25); // 48 bytes in a 64-byte block
/// # unsafe { (&buddy).deallocate(block.cast(), Layout::from_size_align(48, 8).unwrap()) };
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FragmentationReport {
    /// Bytes users asked for, over live blocks.
    pub live_bytes: usize,
    /// Bytes the allocator holds from the system.
    pub reserved_bytes: usize,
    /// Reserved bytes in no live block (`reserved − granted`).
    pub free_bytes: usize,
    /// The largest block that one request could be granted without asking the system.
    pub largest_free_block: usize,
    /// `1 − requested / granted` over live blocks, in `0.0..1.0`.
    pub internal: f64,
    /// `1 − largest_free_block / free_bytes`, in `0.0..1.0`.
    pub external: f64,
}

impl FragmentationReport {
    /// A report from raw sums; `granted` is the bytes of live blocks.
    pub(crate) fn new(live: usize, granted: usize, reserved: usize, largest_free: usize) -> Self {
        let free = reserved.saturating_sub(granted);
        let ratio = |part: usize, whole: usize| {
            if whole == 0 {
                0.0
            } else {
                1.0 - part.min(whole) as f64 / whole as f64
            }
        };
        Self {
            live_bytes: live,
            reserved_bytes: reserved,
            free_bytes: free,
            largest_free_block: largest_free.min(free),
            internal: ratio(live, granted),
            external: ratio(largest_free, free),
        }
    }
}

impl fmt::Display for FragmentationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} KiB live in {} KiB reserved ({} KiB free, largest free block {} KiB); internal {:.1}%, external {:.1}%",
            self.live_bytes / 1024,
            self.reserved_bytes / 1024,
            self.free_bytes / 1024,
            self.largest_free_block / 1024,
            self.internal * 100.0,
            self.external * 100.0,
        )
    }
}
