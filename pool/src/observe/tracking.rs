//! [`TrackingAllocator`]: any allocator, counted — bytes in use, their peak, allocations and
//! deallocations — without making every allocation write one shared cache line.
//!
//! Counts go to one of [`SHARDS`] shards, each on its own pair of cache lines; a thread
//! picks its shard once (round robin) and keeps it, so threads share a shard only past
//! `SHARDS` threads. `stats()` sums the shards. The peak is sampled whenever a shard's net
//! bytes cross a multiple of 64 KiB upwards (a sum of the shards, rare), and at every
//! `stats()` call: it can miss a higher peak by less than 64 KiB per shard.

use allocator_api2::alloc::{AllocError, Allocator};
use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::fmt;
use core::ptr::NonNull;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

/// Shards of the counters.
const SHARDS: usize = 16;
/// Net bytes a shard moves between two samples of the peak: `1 << PEAK_SHIFT` (64 KiB).
const PEAK_SHIFT: u32 = 16;

/// One shard's counters, alone on two cache lines (x86's adjacent-line prefetcher pulls
/// pairs), so two threads on two shards never share a line.
#[repr(align(128))]
#[derive(Debug)]
struct Shard {
    /// Bytes allocated minus bytes freed through this shard (negative when a thread frees
    /// what another allocated).
    net: AtomicI64,
    allocations: AtomicU64,
    deallocations: AtomicU64,
}

impl Shard {
    const fn new() -> Self {
        Self {
            net: AtomicI64::new(0),
            allocations: AtomicU64::new(0),
            deallocations: AtomicU64::new(0),
        }
    }
}

/// What a [`TrackingAllocator`] has counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackingStats {
    /// Bytes in live blocks (as requested).
    pub current_bytes: usize,
    /// Highest `current_bytes` sampled since creation or the last
    /// [`reset_peak`](TrackingAllocator::reset_peak) (see the type's docs).
    pub peak_bytes: usize,
    /// Allocations so far (a reallocation counts as one allocation and one deallocation).
    pub allocations: u64,
    /// Deallocations so far.
    pub deallocations: u64,
}

/// One line, as `PoolStats` prints: `12.5 MiB live (peak 40.0 MiB), 1200 allocations, 1000
/// deallocations`.
///
/// ```
/// use typool::TrackingStats;
///
/// let s = TrackingStats { current_bytes: 3 << 20, peak_bytes: 5 << 20, allocations: 7, deallocations: 2 };
/// assert_eq!(s.to_string(), "3.0 MiB live (peak 5.0 MiB), 7 allocations, 2 deallocations");
/// ```
impl fmt::Display for TrackingStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MIB: f64 = (1 << 20) as f64;
        write!(
            f,
            "{:.1} MiB live (peak {:.1} MiB), {} allocations, {} deallocations",
            self.current_bytes as f64 / MIB,
            self.peak_bytes as f64 / MIB,
            self.allocations,
            self.deallocations
        )
    }
}

/// An allocator that counts what goes through it: `#[global_allocator]` over any
/// [`GlobalAlloc`], or, as `&TrackingAllocator<A>`, an allocator-api2 [`Allocator`] over any
/// `A: Allocator`.
///
/// Counting costs two uncontended atomic additions per call: the counters are sharded per
/// thread (16 shards, each on its own cache lines) and summed by [`stats`](Self::stats).
/// `peak_bytes` is sampled when a shard's bytes cross a 64 KiB step and at every `stats()`,
/// so it can read up to 64 KiB per thread below the true peak. Sizes are the ones callers
/// pass: a block freed with a larger "fitting" size (allocator-api2 allows it) reads as fewer
/// bytes in use, never below 0.
///
/// # Examples
///
/// ```
/// use typool::TrackingAllocator;
/// use std::alloc::System;
///
/// #[global_allocator]
/// static GLOBAL: TrackingAllocator<System> = TrackingAllocator::new(System);
///
/// let before = GLOBAL.stats();
/// let v = vec![0u8; 1 << 20];
/// let during = GLOBAL.stats();
/// assert!(during.current_bytes >= before.current_bytes + (1 << 20));
/// assert!(during.allocations > before.allocations);
/// drop(v);
/// assert!(GLOBAL.stats().peak_bytes >= 1 << 20);
/// ```
#[derive(Debug)]
pub struct TrackingAllocator<A> {
    inner: A,
    shards: [Shard; SHARDS],
    peak: AtomicUsize,
}

/// Which shard this thread counts in: picked on first use, round robin.
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

std::thread_local! {
    // `const`, with no destructor: usable inside a global allocator, even during teardown.
    static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn shard_index() -> usize {
    SHARD
        .try_with(|s| {
            let i = s.get();
            if i != usize::MAX {
                return i;
            }
            let i = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
            s.set(i);
            i
        })
        .unwrap_or(0)
}

impl<A> TrackingAllocator<A> {
    /// Counts what goes through `inner`.
    pub const fn new(inner: A) -> Self {
        Self {
            inner,
            shards: [const { Shard::new() }; SHARDS],
            peak: AtomicUsize::new(0),
        }
    }

    /// The allocator underneath.
    pub fn inner(&self) -> &A {
        &self.inner
    }

    /// What has been counted so far.
    pub fn stats(&self) -> TrackingStats {
        let current = self.current();
        self.peak.fetch_max(current, Ordering::Relaxed);
        let sum = |f: fn(&Shard) -> &AtomicU64| -> u64 {
            self.shards
                .iter()
                .map(|s| f(s).load(Ordering::Relaxed))
                .sum()
        };
        TrackingStats {
            current_bytes: current,
            peak_bytes: self.peak.load(Ordering::Relaxed),
            allocations: sum(|s| &s.allocations),
            deallocations: sum(|s| &s.deallocations),
        }
    }

    /// Starts the peak again from the bytes in use now.
    pub fn reset_peak(&self) {
        self.peak.store(self.current(), Ordering::Relaxed);
    }

    fn current(&self) -> usize {
        let net: i64 = self
            .shards
            .iter()
            .map(|s| s.net.load(Ordering::Relaxed))
            .sum();
        net.max(0) as usize
    }

    #[inline]
    fn count_alloc(&self, bytes: usize) {
        let shard = &self.shards[shard_index()];
        shard.allocations.fetch_add(1, Ordering::Relaxed);
        let bytes = bytes as i64;
        let old = shard.net.fetch_add(bytes, Ordering::Relaxed);
        // Crossed a multiple of the step (an arithmetic shift floors, negatives included).
        if old >> PEAK_SHIFT != (old + bytes) >> PEAK_SHIFT {
            self.sample_peak();
        }
    }

    #[inline]
    fn count_dealloc(&self, bytes: usize) {
        let shard = &self.shards[shard_index()];
        shard.deallocations.fetch_add(1, Ordering::Relaxed);
        shard.net.fetch_sub(bytes as i64, Ordering::Relaxed);
    }

    /// A block moved or resized from `old` to `new` bytes: one deallocation and one allocation.
    #[inline]
    fn count_resize(&self, old: usize, new: usize) {
        self.count_dealloc(old);
        self.count_alloc(new);
    }

    #[cold]
    fn sample_peak(&self) {
        self.peak.fetch_max(self.current(), Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to `inner` unchanged, with the caller's contract; counting
// touches only atomics (and a thread-local without destructor) and never allocates or unwinds.
unsafe impl<A: GlobalAlloc> GlobalAlloc for TrackingAllocator<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        let p = unsafe { self.inner.alloc(layout) };
        if !p.is_null() {
            self.count_alloc(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        let p = unsafe { self.inner.alloc_zeroed(layout) };
        if !p.is_null() {
            self.count_alloc(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.dealloc(ptr, layout) };
        self.count_dealloc(layout.size());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        let p = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            self.count_resize(layout.size(), new_size);
        }
        p
    }
}

// SAFETY: every call is forwarded to `inner` unchanged, so its blocks, their validity and
// the fitting rules are `inner`'s; copies of `&TrackingAllocator` share one `inner`.
unsafe impl<A: Allocator> Allocator for &TrackingAllocator<A> {
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let p = self.inner.allocate(layout)?;
        self.count_alloc(layout.size());
        Ok(p)
    }

    #[inline]
    fn allocate_zeroed(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let p = self.inner.allocate_zeroed(layout)?;
        self.count_alloc(layout.size());
        Ok(p)
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.deallocate(ptr, layout) };
        self.count_dealloc(layout.size());
    }

    #[inline]
    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller.
        let p = unsafe { self.inner.grow(ptr, old, new) }?;
        self.count_resize(old.size(), new.size());
        Ok(p)
    }

    #[inline]
    unsafe fn grow_zeroed(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller.
        let p = unsafe { self.inner.grow_zeroed(ptr, old, new) }?;
        self.count_resize(old.size(), new.size());
        Ok(p)
    }

    #[inline]
    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller.
        let p = unsafe { self.inner.shrink(ptr, old, new) }?;
        self.count_resize(old.size(), new.size());
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator_api2::alloc::Global;

    #[test]
    fn counts_blocks_bytes_and_the_peak() {
        let t = TrackingAllocator::new(Global);
        let layout = Layout::from_size_align(100_000, 8).unwrap();
        let a = (&t).allocate(layout).unwrap();
        let b = (&t).allocate(layout).unwrap();
        let s = t.stats();
        assert_eq!(
            (s.current_bytes, s.peak_bytes, s.allocations),
            (200_000, 200_000, 2)
        );
        // SAFETY: both came from `&t` with `layout`.
        unsafe {
            (&t).deallocate(a.cast(), layout);
            (&t).deallocate(b.cast(), layout);
        }
        let s = t.stats();
        assert_eq!(
            (s.current_bytes, s.peak_bytes, s.deallocations),
            (0, 200_000, 2)
        );
        t.reset_peak();
        assert_eq!(t.stats().peak_bytes, 0);
    }

    #[test]
    fn a_peak_between_stats_calls_is_seen_to_within_a_step() {
        let t = TrackingAllocator::new(Global);
        let layout = Layout::from_size_align(4096, 8).unwrap();
        let blocks: Vec<_> = (0..100).map(|_| (&t).allocate(layout).unwrap()).collect();
        for b in blocks {
            // SAFETY: from `&t` with `layout`.
            unsafe { (&t).deallocate(b.cast(), layout) };
        }
        let s = t.stats();
        assert_eq!(s.current_bytes, 0);
        assert!(s.peak_bytes > 409_600 - (1 << PEAK_SHIFT), "{s:?}");
        assert!(s.peak_bytes <= 409_600);
    }

    #[test]
    fn threads_count_in_their_own_shards_and_the_sums_are_exact() {
        let t = TrackingAllocator::new(Global);
        let layout = Layout::from_size_align(64, 8).unwrap();
        // Fewer under Miri, where each pair costs milliseconds.
        let pairs = if cfg!(miri) { 1_000 } else { 10_000 };
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..pairs {
                        let p = (&t).allocate(layout).unwrap();
                        // SAFETY: from `&t` with `layout`.
                        unsafe { (&t).deallocate(p.cast(), layout) };
                    }
                });
            }
        });
        let s = t.stats();
        assert_eq!(
            (s.current_bytes, s.allocations, s.deallocations),
            (0, 4 * pairs, 4 * pairs)
        );
    }
}
