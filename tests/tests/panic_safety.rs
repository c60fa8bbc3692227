//! Panics in user code that typool runs (issue 20): `Drop` of pooled and arena values, the
//! arena's drop list at reset, restore, scope end and `#[arena_scope]` exit, the closures of
//! `alloc_with`, `new_with` and `alloc_slice_fill_with`, and `Clone`. After each, nothing is
//! lost (every other value is dropped, every slot and chunk comes back) and the next call
//! costs what it cost before — counted here in the global allocator's calls, per thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use typool::{arena_scope, Arena, Pool, PoolBox, PoolConfig, Pooled};

/// Counts this thread's allocations (tests run on threads of their own).
struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to `System`; the count is a thread-local `Cell` with no destructor.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> usize {
    ALLOCS.with(Cell::get)
}

/// Calls per measurement: 1000, or 20 under Miri (minutes per thousand there).
const CALLS: usize = if cfg!(miri) { 20 } else { 1000 };

/// Panics on drop when its flag is set; counts every drop.
struct Bomb {
    armed: bool,
    drops: &'static AtomicUsize,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Relaxed);
        if self.armed {
            panic!("a user's Drop panicked");
        }
    }
}

fn bomb(armed: bool, drops: &'static AtomicUsize) -> Bomb {
    Bomb { armed, drops }
}

/// Quiet panics: the test expects them.
fn quietly<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    catch_unwind(AssertUnwindSafe(f))
}

#[arena_scope]
fn handler(armed: bool, drops: &'static AtomicUsize) -> usize {
    arena.alloc(bomb(false, drops));
    arena.alloc(bomb(armed, drops));
    arena.alloc(bomb(false, drops));
    let v = arena.alloc_slice_fill_with(64, |i| i);
    v.iter().sum()
}

#[test]
fn panicking_drops_in_an_arena_scope_leave_the_next_calls_as_cheap() {
    static SCOPE_DROPS: AtomicUsize = AtomicUsize::new(0);
    let calls = |n: usize| {
        let before = allocs();
        for _ in 0..n {
            assert_eq!(handler(false, &SCOPE_DROPS), 2016);
        }
        allocs() - before
    };
    let first = calls(CALLS);
    for _ in 0..8 {
        let dropped = SCOPE_DROPS.load(Relaxed);
        assert!(quietly(|| handler(true, &SCOPE_DROPS)).is_err());
        assert_eq!(
            SCOPE_DROPS.load(Relaxed) - dropped,
            3,
            "the other values were dropped too"
        );
    }
    let after = calls(CALLS);
    assert!(
        after <= first,
        "{CALLS} calls made {first} allocations before 8 panicking drops, {after} after"
    );
}

#[test]
fn a_panicking_drop_in_nested_and_async_scopes_returns_every_arena() {
    static SCOPE_DROPS: AtomicUsize = AtomicUsize::new(0);
    #[arena_scope]
    fn outer(armed: bool) -> usize {
        arena.alloc(bomb(false, &SCOPE_DROPS));
        handler(armed, &SCOPE_DROPS)
    }
    #[arena_scope]
    async fn in_future(armed: bool) -> usize {
        arena.alloc(bomb(armed, &SCOPE_DROPS));
        arena.alloc_slice_fill_with(16, |i| i).len()
    }
    fn run<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }
    let warm = |n: usize| {
        let before = allocs();
        for _ in 0..n {
            outer(false);
            run(in_future(false));
        }
        allocs() - before
    };
    warm(10);
    let first = warm(CALLS / 10);
    for _ in 0..8 {
        assert!(quietly(|| outer(true)).is_err());
        assert!(quietly(|| run(in_future(true))).is_err());
    }
    let after = warm(CALLS / 10);
    assert!(after <= first, "{first} allocations before, {after} after");
}

#[test]
fn reset_restore_scope_and_drop_finish_when_a_drop_panics() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let fill = |arena: &Arena, armed: bool| {
        for i in 0..100 {
            arena.alloc(bomb(armed && i == 50, &DROPS));
        }
        // Past the first chunk, so that a reset has chunks to free.
        arena.alloc_slice_fill_with(if cfg!(miri) { 1000 } else { 10_000 }, |i| i as u64);
    };

    let mut arena = Arena::with_capacity(4096);
    // Two rounds: the chunk a reset keeps grows until one round fits in it.
    for _ in 0..2 {
        fill(&arena, false);
        arena.reset();
    }
    let reserved = arena.stats().bytes_reserved;
    let before = DROPS.load(Relaxed);
    fill(&arena, true);
    assert!(quietly(|| arena.reset()).is_err());
    assert_eq!(DROPS.load(Relaxed) - before, 100, "every value was dropped");
    let s = arena.stats();
    assert_eq!(
        (s.bytes_used, s.chunks),
        (0, 1),
        "the reset finished: {s:?}"
    );
    assert_eq!(s.bytes_reserved, reserved);
    let a = allocs();
    fill(&arena, false);
    assert_eq!(allocs(), a, "the kept chunk serves the next round");
    arena.reset();

    let cp = arena.checkpoint();
    let before = DROPS.load(Relaxed);
    fill(&arena, true);
    assert!(quietly(|| arena.restore(cp)).is_err());
    assert_eq!(DROPS.load(Relaxed) - before, 100);
    assert_eq!(arena.stats().bytes_used, 0, "the restore finished");

    let before = DROPS.load(Relaxed);
    assert!(quietly(|| arena.scope(|a| fill(a, true))).is_err());
    assert_eq!(DROPS.load(Relaxed) - before, 100);
    assert_eq!(arena.stats().bytes_used, 0, "the scope rewound");

    let before = DROPS.load(Relaxed);
    fill(&arena, true);
    assert!(quietly(move || drop(arena)).is_err());
    assert_eq!(
        DROPS.load(Relaxed) - before,
        100,
        "dropping the arena dropped all"
    );
}

#[test]
fn panicking_closures_lose_nothing() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    let mut arena = Arena::new();
    let before = DROPS.load(Relaxed);
    assert!(quietly(|| {
        arena.alloc_slice_fill_with(10, |i| {
            assert!(i < 7, "a user's closure panicked");
            bomb(false, &DROPS)
        });
    })
    .is_err());
    assert_eq!(
        DROPS.load(Relaxed) - before,
        7,
        "the elements made were dropped"
    );
    assert!(quietly(|| arena.alloc_with(|| -> Bomb { panic!("no value") })).is_err());
    let kept = arena.alloc(5u32);
    assert_eq!(*kept, 5);
    arena.reset();
    assert_eq!(arena.stats().bytes_used, 0);

    let pool: Pool<[u64; 8]> = Pool::with_config(PoolConfig::new().max(4));
    for _ in 0..10 {
        assert!(quietly(|| pool.alloc_with(|| panic!("no value"))).is_err());
    }
    assert_eq!(pool.stats().live, 0);
    let full: Vec<_> = (0..4).map(|i| pool.alloc([i; 8])).collect();
    assert!(
        pool.try_alloc([9; 8]).is_err(),
        "the bound is exact: no slot was lost"
    );
    drop(full);
}

#[derive(Pooled)]
struct Tracked(Bomb);

static TRACKED_DROPS: AtomicUsize = AtomicUsize::new(0);

impl Clone for Tracked {
    fn clone(&self) -> Self {
        assert!(!self.0.armed, "a user's Clone panicked");
        Tracked(bomb(false, &TRACKED_DROPS))
    }
}

#[test]
fn pool_box_drop_new_with_and_clone_panics_give_slots_back() {
    let live = || Tracked::pool().stats().live;
    let start = live();
    for _ in 0..CALLS / 10 {
        let b = PoolBox::new(Tracked(bomb(true, &TRACKED_DROPS)));
        assert!(quietly(move || drop(b)).is_err());
        assert!(quietly(|| PoolBox::<Tracked>::new_with(|| panic!("no value"))).is_err());
        let b = PoolBox::new(Tracked(bomb(false, &TRACKED_DROPS)));
        let mut armed = PoolBox::new(Tracked(bomb(false, &TRACKED_DROPS)));
        armed.0.armed = true;
        assert!(quietly(|| armed.clone()).is_err());
        armed.0.armed = false;
        drop((b, armed));
    }
    assert_eq!(live(), start, "every slot came back");
    let reserved = Tracked::pool().stats().reserved_slots;
    assert!(
        reserved <= 1024,
        "{reserved} slots reserved for at most 3 live objects"
    );
}

#[derive(Pooled, Debug)]
#[pooled(max = 2)]
struct Scarce(u64);

/// A full pool hands the closure back, not called; the constructors in place fill the slots.
#[test]
fn a_full_pool_hands_the_closure_back_uncalled() {
    let called = Cell::new(0);
    let make = |v| {
        called.set(called.get() + 1);
        Scarce(v)
    };
    let a = PoolBox::try_new_with(|| make(1)).unwrap();
    let b = PoolBox::new_with(|| make(2));
    let refused = PoolBox::try_new_with(|| make(3)).unwrap_err();
    assert_eq!(called.get(), 2, "the refused closure did not run");
    assert!(refused.to_string().contains("exhausted"), "{refused}");
    assert_eq!(refused.into_inner()().0, 3);
    assert_eq!((a.0, b.0), (1, 2));
    let arena = Arena::new();
    let v = arena.try_alloc_with(|| make(4)).ok().unwrap();
    assert_eq!(v.0, 4);
}
