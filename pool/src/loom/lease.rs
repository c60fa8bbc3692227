//! Loom model of the global arena list (`arena/lease.rs`): concurrent takes and gives never lose an
//! arena nor hand one to two threads.

use crate::arena::lease::ArenaList;
use crate::arena::Arena;
use crate::loom::explore;
use loom::sync::Arc;
use loom::thread;

#[test]
fn loom_lease_global_list_take_and_give_race() {
    let runs = explore(|| {
        let list: Arc<ArenaList<2>> = Arc::new(ArenaList::new());
        list.give(Box::new(Arena::with_capacity(64)));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let list = list.clone();
                thread::spawn(move || {
                    let arena = list
                        .take()
                        .unwrap_or_else(|| Box::new(Arena::with_capacity(64)));
                    let id = arena.checkpoint();
                    list.give(arena);
                    id
                })
            })
            .collect();
        let ids: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        // At most two arenas exist, each in a slot now: take both, and nothing more.
        let a = list.take().expect("an arena is kept");
        let b = list.take();
        assert!(list.take().is_none());
        // If both threads leased at once they cannot have shared one arena.
        if let Some(b) = b {
            assert_ne!(a.checkpoint(), b.checkpoint());
        }
        assert_eq!(ids.len(), 2);
    });
    assert!(runs >= 35, "explored only {runs} executions");
}
