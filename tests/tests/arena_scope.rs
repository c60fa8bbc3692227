//! `#[arena_scope]` on every kind of function, and what it guarantees.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use typool::{arena_scope, Arena, ArenaVec};

#[arena_scope]
fn words(text: &str) -> usize {
    let mut v: ArenaVec<&str> = ArenaVec::new_in(arena);
    v.extend(text.split_whitespace());
    let upper = arena.alloc_str(&text.to_uppercase());
    v.len() + upper.len() - text.len()
}

/// Doc comments, generics, where clauses and lifetimes survive the rewrite.
#[arena_scope(name = scratch, capacity = 256)]
fn longest<'t, T>(items: &'t [T]) -> Option<&'t T>
where
    T: AsRef<str>,
{
    let lens = scratch.alloc_slice_fill_with(items.len(), |i| items[i].as_ref().len());
    let best = lens.iter().enumerate().max_by_key(|(_, l)| **l)?.0;
    items.get(best)
}

struct Server {
    served: usize,
}

impl Server {
    #[arena_scope]
    fn by_ref(&self, n: u32) -> u32 {
        arena
            .alloc_slice_fill_with(n as usize, |i| i as u32)
            .iter()
            .sum::<u32>()
            + self.served as u32
    }

    #[arena_scope]
    fn by_mut(&mut self) -> usize {
        self.served += 1;
        arena.alloc(self.served).to_owned()
    }

    #[arena_scope]
    fn by_value(self) -> usize {
        *arena.alloc(self.served * 10)
    }
}

#[arena_scope]
fn stats_inside() -> typool::ArenaStats {
    arena.alloc([0u8; 100]);
    arena.stats()
}

#[test]
fn free_functions_generics_and_methods() {
    assert_eq!(words("bump it and reset"), 4);
    assert_eq!(longest(&["a", "abc", "ab"]), Some(&"abc"));
    let mut s = Server { served: 0 };
    assert_eq!(s.by_ref(4), 6);
    assert_eq!(s.by_mut(), 1);
    assert_eq!(s.by_value(), 10);
}

#[test]
fn the_arena_is_reset_and_reused_between_calls() {
    let first = stats_inside();
    let second = stats_inside();
    assert!(first.bytes_used >= 100 && second.bytes_used == first.bytes_used);
    assert_eq!(first.bytes_used, 104, "100 bytes, rounded up to 8");
    assert!(
        second.resets > first.resets,
        "the same arena came back, reset: {first:?} {second:?}"
    );
}

static DROPS: AtomicUsize = AtomicUsize::new(0);
struct Counted;
impl Drop for Counted {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Relaxed);
    }
}

#[arena_scope]
fn fails(after: usize) {
    for _ in 0..after {
        arena.alloc(Counted);
    }
    panic!("handler failed after {after} allocations");
}

#[test]
fn a_panic_still_drops_resets_and_returns_the_arena() {
    let baseline = stats_inside().bytes_used;
    let before = DROPS.load(Relaxed);
    assert!(std::panic::catch_unwind(|| fails(3)).is_err());
    assert_eq!(
        DROPS.load(Relaxed) - before,
        3,
        "values were dropped on unwind"
    );
    let after = stats_inside();
    assert_eq!(after.bytes_used, baseline, "the arena came back empty");
}

#[test]
fn nested_scopes_get_their_own_arenas() {
    #[arena_scope]
    fn inner() -> usize {
        arena.alloc(1u64);
        arena.stats().bytes_used
    }
    #[arena_scope]
    fn outer() -> (usize, usize) {
        arena.alloc([0u8; 32]);
        let nested = inner();
        (arena.stats().bytes_used, nested)
    }
    assert_eq!(outer(), (32, 8));
}

#[arena_scope]
async fn handle_async(req: String) -> usize {
    let copy = arena.alloc_str(&req);
    tokio::task::yield_now().await;
    let n = arena.alloc(copy.len());
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    *n + arena.stats().chunks
}

#[test]
fn async_handlers_move_between_threads() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tasks: Vec<_> = (0..64)
            .map(|i| tokio::spawn(handle_async("x".repeat(i))))
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap(), i + 1);
        }
    });
}

#[test]
fn arenas_outside_the_attribute() {
    let mut arena = Arena::new();
    let total = arena.scope(|a| a.alloc_slice_copy(&[1, 2, 3]).iter().sum::<i32>());
    assert_eq!(total, 6);
    assert_eq!(arena.stats().bytes_used, 0);
}

/// Nesting deeper than the thread's slots falls back to arenas of its own; each level still
/// sees only its own allocations.
#[arena_scope]
fn nest(depth: u32) -> usize {
    arena.alloc_slice_fill_with(depth as usize + 1, |i| i as u8);
    let below = if depth == 0 { 0 } else { nest(depth - 1) };
    assert_eq!(
        arena.stats().bytes_used,
        (depth as usize + 1).next_multiple_of(8),
        "level {depth}"
    );
    below + 1
}

#[test]
fn deep_nesting_gets_arenas_of_its_own() {
    assert_eq!(nest(9), 10);
    assert_eq!(nest(9), 10, "and the slots are whole again afterwards");
}
