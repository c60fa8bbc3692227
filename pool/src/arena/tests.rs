//! Unit tests of the arena: values, drops, rewinding, chunk reuse, the allocator impl.

use super::chunk::MIN_ALIGN;
use super::*;
use std::rc::Rc;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

#[derive(Debug)]
struct Noisy(Arc<AtomicUsize>, u32, Arc<std::sync::Mutex<Vec<u32>>>);
impl Drop for Noisy {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
        self.2.lock().unwrap().push(self.1);
    }
}

#[test]
fn values_are_aligned_distinct_and_kept() {
    let arena = Arena::with_capacity(64);
    let mut refs: Vec<&mut u64> = (0..1000).map(|i| arena.alloc(i)).collect();
    let big = arena.alloc_with(|| [7u8; 5000]);
    #[repr(align(256))]
    struct Aligned(u8);
    let a = arena.alloc(Aligned(3));
    assert_eq!(core::ptr::from_ref(a).addr() % 256, 0);
    assert_eq!(a.0, 3);
    assert!(big.iter().all(|&b| b == 7));
    for (i, r) in refs.iter_mut().enumerate() {
        assert_eq!(**r, i as u64);
        **r += 1;
    }
    assert!(arena.stats().chunks > 1);
}

#[test]
fn drops_run_newest_first_at_reset_restore_scope_and_drop() {
    let count = Arc::new(AtomicUsize::new(0));
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let noisy = |i| Noisy(count.clone(), i, order.clone());
    let mut arena = Arena::with_capacity(128);
    arena.alloc(noisy(1));
    arena.alloc_slice_fill_with(3, |i| noisy(10 + i as u32));
    arena.alloc(noisy(2));
    arena.reset();
    assert_eq!(count.load(Ordering::Relaxed), 5);
    assert_eq!(*order.lock().unwrap(), [2, 10, 11, 12, 1], "newest first");

    let cp = arena.checkpoint();
    arena.alloc(noisy(3));
    let inner = arena.checkpoint();
    arena.alloc(noisy(4));
    arena.restore(inner);
    assert_eq!(count.load(Ordering::Relaxed), 6);
    arena.restore(cp);
    assert_eq!(count.load(Ordering::Relaxed), 7);

    let r = arena.scope(|a| {
        a.alloc(noisy(5));
        a.alloc(17u32);
        42
    });
    assert_eq!((r, count.load(Ordering::Relaxed)), (42, 8));
    arena.alloc(noisy(6));
    drop(arena);
    assert_eq!(count.load(Ordering::Relaxed), 9);
}

#[test]
fn a_panic_in_a_scope_still_rewinds() {
    let count = Arc::new(AtomicUsize::new(0));
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut arena = Arena::new();
    let before = arena.stats().bytes_used;
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        arena.scope(|a| {
            a.alloc(Noisy(count.clone(), 1, order.clone()));
            panic!("handler failed");
        })
    }));
    assert!(caught.is_err());
    assert_eq!(count.load(Ordering::Relaxed), 1);
    assert_eq!(arena.stats().bytes_used, before);
}

#[test]
fn a_panic_while_filling_a_slice_drops_what_was_made() {
    let count = Arc::new(AtomicUsize::new(0));
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let arena = Arena::new();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        arena.alloc_slice_fill_with(5, |i| {
            assert!(i < 3, "third element fails");
            Noisy(count.clone(), i as u32, order.clone())
        });
    }));
    assert!(caught.is_err());
    assert_eq!(count.load(Ordering::Relaxed), 3);
    drop(arena);
    assert_eq!(count.load(Ordering::Relaxed), 3, "not dropped twice");
}

#[test]
fn reset_keeps_the_largest_chunk_and_stops_allocating() {
    let mut arena = Arena::with_capacity(64);
    for round in 0..5 {
        for i in 0..2000u32 {
            arena.alloc(i);
        }
        let s = arena.stats();
        assert_eq!(
            s.bytes_used,
            2000 * MIN_ALIGN,
            "round {round}: sizes round up to 8"
        );
        arena.reset();
        if round > 0 {
            assert_eq!(
                arena.stats().chunks,
                1,
                "one chunk holds a whole round after the first"
            );
        }
    }
    let s = arena.stats();
    assert_eq!((s.bytes_used, s.resets, s.chunks), (0, 5, 1));
}

#[test]
fn allocator_reclaims_the_top_and_grows_in_place() {
    let arena = Arena::with_capacity(1 << 16);
    let mut v: ArenaVec<u32> = ArenaVec::new_in(&arena);
    for i in 0..1000 {
        v.push(i);
    }
    assert_eq!(v.iter().sum::<u32>(), 999 * 500);
    let used = arena.stats().bytes_used;
    assert!(
        used < 1000 * 4 * 2,
        "the vector grew in place: {used} bytes used"
    );
    drop(v);
    assert_eq!(
        arena.stats().bytes_used,
        0,
        "freeing the top allocation reclaims it"
    );
    let strs = arena.alloc_str("héllo");
    assert_eq!(strs, "héllo");
}

#[test]
fn stale_checkpoints_drop_what_came_after_and_corrupt_nothing() {
    let count = Arc::new(AtomicUsize::new(0));
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let noisy = |i| Noisy(count.clone(), i, order.clone());
    let mut arena = Arena::with_capacity(64);
    arena.alloc(noisy(0));
    let early = arena.checkpoint();
    arena.alloc_slice_fill_with(100, |_| 1u64); // a second chunk
    let late = arena.checkpoint();
    arena.restore(early);
    let kept = arena.alloc(noisy(1)) as *const Noisy;
    arena.alloc_slice_fill_with(10_000, |_| 2u64); // frees and replaces the second chunk
    arena.alloc(noisy(2));
    arena.restore(late); // stale: its chunk is gone
    assert_eq!(
        count.load(Ordering::Relaxed),
        2,
        "values 1 and 2 came after `late`"
    );
    let fresh = arena.alloc(7u64);
    assert_ne!(core::ptr::from_ref(fresh).cast::<u8>(), kept.cast::<u8>());
    arena.reset();
    assert_eq!(count.load(Ordering::Relaxed), 3);
}

#[test]
#[should_panic(expected = "belongs to another arena")]
fn a_foreign_checkpoint_is_refused() {
    let a = Arena::new();
    let mut b = Arena::new();
    let cp = a.checkpoint();
    b.restore(cp);
}

#[test]
fn the_arena_is_send_but_not_sync() {
    fn is_send<T: Send>() {}
    is_send::<Arena>();
    let _ = Rc::new(0); // `alloc` needs `T: Send`: an `Rc` cannot go in (see ui tests)
}

#[test]
#[should_panic(expected = "capacity overflow")]
fn a_slice_past_isize_max_panics_naming_the_request() {
    let arena = Arena::new();
    arena.alloc_slice_fill_with(usize::MAX / 2, |i| i as u64);
}

#[test]
fn a_zero_sized_slice_calls_the_closure_len_times() {
    let arena = Arena::new();
    let mut calls = 0;
    let units = arena.alloc_slice_fill_with(1000, |_| calls += 1);
    assert_eq!((units.len(), calls), (1000, 1000));
    assert_eq!(arena.stats().bytes_used, 0);
}

/// A panicking drop at reset, restore and the arena's drop: the other values are dropped
/// once, the rewind finishes, and every chunk is freed (Miri checks the leaks).
#[test]
fn a_panicking_drop_finishes_the_rewind() {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    struct Bomb<'a>(&'a AtomicUsize, bool);
    impl Drop for Bomb<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
            assert!(!self.1, "a user's drop panicked");
        }
    }
    let drops = AtomicUsize::new(0);
    let fill = |arena: &Arena| {
        for i in 0..20 {
            arena.alloc_with(|| Bomb(&drops, i == 10));
        }
        arena.alloc_slice_fill_with(200, |i| i as u64);
    };
    let mut arena = Arena::with_capacity(64);
    fill(&arena);
    assert!(catch_unwind(AssertUnwindSafe(|| arena.reset())).is_err());
    assert_eq!(drops.load(Ordering::Relaxed), 20);
    assert_eq!((arena.stats().bytes_used, arena.stats().chunks), (0, 1));
    let cp = arena.checkpoint();
    fill(&arena);
    assert!(catch_unwind(AssertUnwindSafe(|| arena.restore(cp))).is_err());
    assert_eq!(drops.load(Ordering::Relaxed), 40);
    assert_eq!(arena.stats().bytes_used, 0);
    fill(&arena);
    assert!(catch_unwind(AssertUnwindSafe(move || drop(arena))).is_err());
    assert_eq!(drops.load(Ordering::Relaxed), 60);
}
