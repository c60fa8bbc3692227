//! Arena reuse: where `#[arena_scope]` gets its arena and where it puts it back.
//!
//! A sync function leases from a per-thread list; an `async fn`, whose future may move between
//! threads, leases from one global list. Either way the lease resets the arena when it ends —
//! on return and on unwind — and hands it back, so a steady stream of requests allocates
//! nothing from the system once every arena has seen its largest request.
//!
//! # Policy
//!
//! - After a reset an arena holds only its largest chunk. If that chunk is over
//!   [`HIGH_WATER`] (1 MiB) — one request needed a lot — it is freed too, so a long-running
//!   server's idle memory stays bounded by lists × high-water mark.
//! - A thread keeps up to [`PER_THREAD`] arenas, one per level of nesting of sync scopes, as a
//!   stack of slots used in place: a lease takes the slot at the current depth, so entering
//!   and leaving a scope moves no arena. Deeper nesting gets a fresh arena, dropped after use.
//!   The global list keeps up to [`GLOBAL`] arenas; one with no place to go is dropped.
//!
//! # The global list
//!
//! A fixed array of `AtomicPtr<Arena>` slots. Taking is `swap(null)` on a non-null slot: the
//! swap hands the pointer to exactly one thread, whatever else happens, so there is no ABA to
//! guard against. Giving back is `compare_exchange(null → arena)` on an empty slot. The loom
//! model `loom_lease` checks that no arena is lost or leased twice.

use crate::arena::Arena;
use crate::sync::{AtomicPtr, Ordering};
use core::cell::{Cell, UnsafeCell};
use core::mem::ManuallyDrop;
use core::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU64, AtomicUsize};

/// An arena bigger than this after a reset is emptied before reuse.
pub const HIGH_WATER: usize = 1 << 20;
/// Arenas kept per thread for sync scopes.
pub const PER_THREAD: usize = 4;
/// Arenas kept in the global list for async scopes.
#[cfg_attr(typool_loom, allow(dead_code))] // loom models build their own small lists
pub const GLOBAL: usize = 64;

/// Bytes of chunks held by arenas that leases made (idle in a list or on loan): the
/// `typool_arena_bytes_reserved` gauge. Updated where chunks come and go (the slow path).
/// Process-wide statistics use std atomics even under loom: no model explores them.
pub(crate) static LEASED_BYTES: AtomicUsize = AtomicUsize::new(0);
/// Scopes served, counted per thread and added here [`SCOPE_BATCH`] at a time (and the
/// rest when the thread exits), so a scope costs no shared write: `typool_arena_scopes_total`.
static SCOPES: AtomicU64 = AtomicU64::new(0);
/// Leased arenas emptied past [`HIGH_WATER`] after a scope: `typool_arena_trims_total`.
static TRIMS: AtomicU64 = AtomicU64::new(0);
/// Scopes a thread counts before adding them to [`SCOPES`].
const SCOPE_BATCH: u64 = 64;

/// `(scopes served, bytes reserved, trims)` of `#[arena_scope]`'s arenas. Scopes of running
/// threads are counted up to [`SCOPE_BATCH`] − 1 late each. Read by `observe`, which loom
/// builds leave out.
#[cfg_attr(typool_loom, allow(dead_code))]
pub(crate) fn lease_tally() -> (u64, usize, u64) {
    (
        SCOPES.load(Ordering::Relaxed),
        LEASED_BYTES.load(Ordering::Relaxed),
        TRIMS.load(Ordering::Relaxed),
    )
}

/// A fresh arena for the leases, whose chunks count in [`LEASED_BYTES`].
fn leased_arena(capacity: usize) -> Arena {
    let arena = Arena::with_capacity(capacity);
    arena.leased.set(true);
    arena
}

/// A lock-free list of idle arenas (see the module docs).
pub(crate) struct ArenaList<const N: usize> {
    slots: [AtomicPtr<Arena>; N],
}

impl<const N: usize> ArenaList<N> {
    crate::sync::loom_const_fn! {
        pub(crate) const fn new() -> Self {
            Self { slots: crate::sync::null_ptrs!() }
        }
    }

    /// An idle arena, if any.
    pub(crate) fn take(&self) -> Option<Box<Arena>> {
        for slot in &self.slots {
            if slot.load(Ordering::Relaxed).is_null() {
                continue;
            }
            let p = slot.swap(ptr::null_mut(), Ordering::Acquire);
            if !p.is_null() {
                // SAFETY: non-null slot values come from `Box::into_raw` in `give`, and the
                // swap made this thread their only owner.
                return Some(unsafe { Box::from_raw(p) });
            }
        }
        None
    }

    /// Keeps `arena` for the next taker, or drops it if the list is full.
    pub(crate) fn give(&self, arena: Box<Arena>) {
        let p = Box::into_raw(arena);
        for slot in &self.slots {
            if slot
                .compare_exchange(ptr::null_mut(), p, Ordering::Release, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
        // SAFETY: `p` came from `Box::into_raw` above and was placed nowhere.
        drop(unsafe { Box::from_raw(p) });
    }
}

impl<const N: usize> Drop for ArenaList<N> {
    fn drop(&mut self) {
        while self.take().is_some() {}
    }
}

#[cfg(not(typool_loom))]
static GLOBAL_LIST: ArenaList<GLOBAL> = ArenaList::new();

/// This thread's arenas for sync scopes: slot `i` serves the scope nested `i` deep.
struct LocalArenas {
    depth: Cell<usize>,
    /// Scopes served on this thread and not yet added to [`SCOPES`].
    scopes: Cell<u64>,
    slots: [UnsafeCell<Option<Arena>>; PER_THREAD],
}

impl Drop for LocalArenas {
    fn drop(&mut self) {
        SCOPES.fetch_add(self.scopes.get(), Ordering::Relaxed);
    }
}

std::thread_local! {
    static LOCAL: LocalArenas = const {
        LocalArenas {
            depth: Cell::new(0),
            scopes: Cell::new(0),
            slots: [const { UnsafeCell::new(None) }; PER_THREAD],
        }
    };
}

/// Counts a scope served on a thread whose `LocalArenas` is `l`.
#[inline]
fn count_scope(l: &LocalArenas) {
    let n = l.scopes.get() + 1;
    if n == SCOPE_BATCH {
        SCOPES.fetch_add(n, Ordering::Relaxed);
        l.scopes.set(0);
    } else {
        l.scopes.set(n);
    }
}

/// Resets `arena` and applies the high-water policy.
#[inline]
fn recycle(arena: &mut Arena) {
    arena.reset();
    if arena.shrink_to(HIGH_WATER) {
        TRIMS.fetch_add(1, Ordering::Relaxed);
    }
}

/// An arena on loan to one call of a sync `#[arena_scope]` function: this thread's slot at
/// the current nesting depth. Not `Send`: it points into this thread's slots. Generated code
/// names it through `typool::__private`.
///
/// Two words, so that entering and leaving a scope moves no arena around.
#[derive(Debug)]
pub struct LocalLease {
    arena: NonNull<Arena>,
    /// The slot's depth, or [`OWNED`] for a boxed arena of our own (nested deeper than
    /// `PER_THREAD`, or leased during thread teardown — rare enough to allocate).
    depth: usize,
}

const OWNED: usize = usize::MAX;

impl LocalLease {
    /// Leases this thread's arena for the current nesting depth.
    #[inline]
    pub fn new(capacity: usize) -> Self {
        let slot = LOCAL.try_with(|l| {
            let depth = l.depth.get();
            let slot = l.slots.get(depth)?.get();
            l.depth.set(depth + 1);
            // SAFETY: slot `depth` is used only by the lease at that depth, and leases of one
            // thread end in reverse order of creation (they are locals of nested calls, and
            // `LocalLease` is not `Send`); the thread-local outlives every lease of its thread.
            let arena = unsafe { (*slot).get_or_insert_with(|| leased_arena(capacity)) };
            Some(Self {
                arena: NonNull::from(arena),
                depth,
            })
        });
        match slot {
            Ok(Some(lease)) => lease,
            _ => Self::owned(capacity),
        }
    }

    #[cold]
    fn owned(capacity: usize) -> Self {
        let arena = Box::new(leased_arena(capacity));
        Self {
            arena: NonNull::from(Box::leak(arena)),
            depth: OWNED,
        }
    }

    /// The leased arena.
    #[inline]
    pub fn arena(&mut self) -> &mut Arena {
        // SAFETY: the slot (or the box) is this lease's alone until it drops (see `new`).
        unsafe { self.arena.as_mut() }
    }
}

impl Drop for LocalLease {
    #[inline]
    fn drop(&mut self) {
        /// Ends the lease after the arena's reset, also when a drop it runs panics (the reset
        /// itself finishes then): the depth is restored and an owned arena freed, so the next
        /// scope on this thread is served as before.
        struct End<'a>(&'a mut LocalLease);
        impl Drop for End<'_> {
            fn drop(&mut self) {
                let lease = &mut *self.0;
                if lease.depth == OWNED {
                    // SAFETY: `owned` leaked this box for us; it is reclaimed once, here.
                    drop(unsafe { Box::from_raw(lease.arena.as_ptr()) });
                    if LOCAL.try_with(count_scope).is_err() {
                        SCOPES.fetch_add(1, Ordering::Relaxed);
                    }
                } else {
                    let depth = lease.depth;
                    let _ = LOCAL.try_with(|l| {
                        l.depth.set(depth);
                        count_scope(l);
                    });
                }
            }
        }
        // The depth stays past this slot while the drops run: a drop that opens a scope of
        // its own is served by the next slot, never by the arena being reset.
        let end = End(self);
        recycle(end.0.arena());
    }
}

/// An arena on loan to one call of an `async` `#[arena_scope]` function, from the global
/// list; `Send`, so the future can move between threads. Generated code names it through
/// `typool::__private`.
#[derive(Debug)]
pub struct GlobalLease {
    arena: ManuallyDrop<Box<Arena>>,
}

impl GlobalLease {
    /// Leases an idle arena from the global list, or a new one.
    pub fn new(capacity: usize) -> Self {
        #[cfg(not(typool_loom))]
        let arena = GLOBAL_LIST.take();
        #[cfg(typool_loom)]
        let arena = None;
        let arena = arena.unwrap_or_else(|| Box::new(leased_arena(capacity)));
        Self {
            arena: ManuallyDrop::new(arena),
        }
    }

    /// The leased arena.
    #[inline]
    pub fn arena(&mut self) -> &mut Arena {
        &mut self.arena
    }
}

impl Drop for GlobalLease {
    fn drop(&mut self) {
        /// Hands the arena back after its reset, also when a drop it runs panics.
        struct End<'a>(&'a mut GlobalLease);
        impl Drop for End<'_> {
            fn drop(&mut self) {
                SCOPES.fetch_add(1, Ordering::Relaxed);
                // SAFETY: taken once, here; the field is not used again.
                let arena = unsafe { ManuallyDrop::take(&mut self.0.arena) };
                #[cfg(not(typool_loom))]
                GLOBAL_LIST.give(arena);
                #[cfg(typool_loom)]
                drop(arena);
            }
        }
        let end = End(self);
        recycle(&mut end.0.arena);
    }
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;

    #[test]
    fn local_leases_reuse_one_arena() {
        let first = {
            let mut lease = LocalLease::new(1024);
            lease.arena().alloc(1u32);
            lease.arena().stats().bytes_reserved
        };
        let mut again = LocalLease::new(1024);
        let s = again.arena().stats();
        assert_eq!(
            (s.bytes_used, s.bytes_reserved, s.resets),
            (0, first, 1),
            "the same arena, reset"
        );
    }

    #[test]
    fn oversized_arenas_are_emptied_before_reuse() {
        {
            use allocator_api2::alloc::Allocator;
            let mut lease = LocalLease::new(64);
            let big = core::alloc::Layout::from_size_align(HIGH_WATER + 1, 8).unwrap();
            (&*lease.arena()).allocate(big).unwrap();
            assert!(lease.arena().stats().bytes_reserved > HIGH_WATER);
        }
        let mut again = LocalLease::new(64);
        assert_eq!(again.arena().stats().bytes_reserved, 0);
    }

    #[test]
    fn the_global_list_hands_each_arena_to_one_taker() {
        let list: ArenaList<2> = ArenaList::new();
        list.give(Box::new(Arena::with_capacity(10)));
        list.give(Box::new(Arena::with_capacity(20)));
        list.give(Box::new(Arena::with_capacity(30))); // full: dropped
        assert!(list.take().is_some() && list.take().is_some() && list.take().is_none());
    }
}
