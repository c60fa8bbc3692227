//! Two threads that allocate at the same time draw from pages of their own (`engine/segment.rs`,
//! "Homes"), while they start together and after threads exit and new ones take their memory.
//! The pool's 64 KiB pages start where a segment does, which need not be a multiple of 64 KiB,
//! so the test looks at 4 KiB windows: two threads' pages meet in at most one window per
//! boundary between them, where magazines taken in turn put both threads in nearly every one.

use std::collections::HashSet;
use std::sync::Barrier;
use typool::{PoolBox, Pooled};

#[derive(Pooled)]
struct Cell64 {
    _words: [u64; 8],
}

const WINDOW: usize = 4096;

/// The 4 KiB windows the objects of each of two threads lie in, the two allocating in step (a
/// barrier every 32 objects, so that neither carves a page ahead of the other).
fn windows_of_two_threads(objects: usize) -> [HashSet<usize>; 2] {
    let step = Barrier::new(2);
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut held = Vec::with_capacity(objects);
                    for i in 0..objects {
                        if i % 32 == 0 {
                            step.wait();
                        }
                        held.push(PoolBox::new(Cell64 {
                            _words: [i as u64; 8],
                        }));
                    }
                    let pages = held.iter().map(|b| (&**b as *const Cell64).addr() / WINDOW);
                    pages.collect::<HashSet<_>>()
                })
            })
            .collect();
        let mut it = threads.into_iter().map(|t| t.join().unwrap());
        [it.next().unwrap(), it.next().unwrap()]
    })
}

#[test]
fn two_threads_never_share_a_page() {
    for round in 0..3 {
        // Round 0 carves fresh pages; the later rounds reuse what the exited threads left.
        let [a, b] = windows_of_two_threads(3000);
        let shared = a.intersection(&b).count();
        // 3000 objects of 64 bytes are 47 windows each, in about three pages: a boundary or
        // two (the engine before homes: 9, 9 and 28).
        assert!(
            shared <= 3,
            "round {round}: {shared} of {} windows hold objects of both threads",
            a.len().max(b.len())
        );
    }
    assert_eq!(Cell64::pool().stats().live, 0);
}
