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
//! - A thread keeps up to [`PER_THREAD`] arenas (more are needed only while scopes nest);
//!   the global list keeps up to [`GLOBAL`]. An arena with no place to go is dropped.
//!
//! # The global list
//!
//! A fixed array of `AtomicPtr<Arena>` slots. Taking is `swap(null)` on a non-null slot: the
//! swap hands the pointer to exactly one thread, whatever else happens, so there is no ABA to
//! guard against. Giving back is `compare_exchange(null → arena)` on an empty slot. The loom
//! model `loom_lease` checks that no arena is lost or leased twice.

use crate::arena::Arena;
use crate::sync::{AtomicPtr, Ordering};
use core::cell::RefCell;
use core::mem::ManuallyDrop;
use core::ptr;

/// An arena bigger than this after a reset is emptied before reuse.
pub const HIGH_WATER: usize = 1 << 20;
/// Arenas kept per thread for sync scopes.
pub const PER_THREAD: usize = 4;
/// Arenas kept in the global list for async scopes.
pub const GLOBAL: usize = 64;

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

std::thread_local! {
    static LOCAL_LIST: RefCell<Vec<Arena>> = const { RefCell::new(Vec::new()) };
}

/// Resets `arena` and applies the high-water policy.
fn recycle(arena: &mut Arena) {
    arena.reset();
    arena.shrink_to(HIGH_WATER);
}

/// An arena on loan to one `#[arena_scope]` call. Generated code names it through
/// `typool::__private`.
#[derive(Debug)]
pub struct ArenaLease {
    held: ManuallyDrop<Held>,
}

/// A local lease holds its arena by value (no allocation per call); a global one keeps the
/// box the global list stores.
#[derive(Debug)]
enum Held {
    Local(Arena),
    Global(Box<Arena>),
}

impl ArenaLease {
    /// Leases from this thread's list (for sync functions).
    pub fn local(capacity: usize) -> Self {
        let arena = LOCAL_LIST.try_with(|l| l.borrow_mut().pop()).ok().flatten();
        let arena = arena.unwrap_or_else(|| Arena::with_capacity(capacity));
        Self {
            held: ManuallyDrop::new(Held::Local(arena)),
        }
    }

    /// Leases from the global list (for `async fn`s, whose futures may change threads).
    pub fn global(capacity: usize) -> Self {
        #[cfg(not(typool_loom))]
        let arena = GLOBAL_LIST.take();
        #[cfg(typool_loom)]
        let arena = None;
        let arena = arena.unwrap_or_else(|| Box::new(Arena::with_capacity(capacity)));
        Self {
            held: ManuallyDrop::new(Held::Global(arena)),
        }
    }

    /// The leased arena.
    #[inline]
    pub fn arena(&mut self) -> &mut Arena {
        match &mut *self.held {
            Held::Local(a) => a,
            Held::Global(b) => b,
        }
    }
}

impl Drop for ArenaLease {
    fn drop(&mut self) {
        recycle(self.arena());
        // SAFETY: taken once, here; the field is not used again.
        match unsafe { ManuallyDrop::take(&mut self.held) } {
            Held::Local(arena) => {
                let _ = LOCAL_LIST.try_with(|l| {
                    let mut l = l.borrow_mut();
                    if l.len() < PER_THREAD {
                        l.push(arena);
                    }
                });
            }
            #[cfg(not(typool_loom))]
            Held::Global(arena) => GLOBAL_LIST.give(arena),
            #[cfg(typool_loom)]
            Held::Global(_) => {}
        }
    }
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;

    #[test]
    fn local_leases_reuse_one_arena() {
        let first = {
            let mut lease = ArenaLease::local(1024);
            lease.arena().alloc(1u32);
            lease.arena().stats().bytes_reserved
        };
        let mut again = ArenaLease::local(1024);
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
            let mut lease = ArenaLease::local(64);
            let big = core::alloc::Layout::from_size_align(HIGH_WATER + 1, 8).unwrap();
            (&*lease.arena()).allocate(big).unwrap();
            assert!(lease.arena().stats().bytes_reserved > HIGH_WATER);
        }
        let mut again = ArenaLease::local(64);
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
