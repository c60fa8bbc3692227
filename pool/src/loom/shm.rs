//! Loom models of the shared segment's ring of indices (`shm/ring.rs`), which is both its
//! free list and its message queue, with claims made as `SharedPool` makes them: a CAS on
//! the slot's state word (`shm/state.rs`).

use crate::loom::explore;
use crate::shm::ring::{Full, Ring};
use crate::shm::state;
use crate::sync::{AtomicU64, Ordering::*};
use loom::sync::Arc;
use loom::thread;

/// A ring's memory and the slots' state words, as a segment holds them.
struct Shared {
    head: AtomicU64,
    tail: AtomicU64,
    cells: Vec<AtomicU64>,
    states: Vec<AtomicU64>,
}

impl Shared {
    fn new(cells: usize, slots: usize) -> Arc<Shared> {
        let s = Shared {
            head: AtomicU64::new(0),
            tail: AtomicU64::new(0),
            cells: (0..cells).map(|_| AtomicU64::new(0)).collect(),
            states: (0..slots).map(|_| AtomicU64::new(0)).collect(),
        };
        s.ring().init(0);
        Arc::new(s)
    }

    fn ring(&self) -> Ring<'_> {
        Ring::new(
            &self.head,
            &self.tail,
            &self.cells,
            self.states.len() as u32,
        )
    }

    /// Pops as `SharedPool::recv` does: the slot must be `QUEUED`, and becomes `held(entry)`.
    fn recv(&self, entry: u32) -> Option<u32> {
        self.ring().pop(|i| {
            let s = &self.states[i as usize];
            let w = s.load(Acquire);
            state::tag(w) == state::QUEUED
                && s.compare_exchange(
                    w,
                    state::word(state::generation(w), state::held(entry)),
                    AcqRel,
                    Relaxed,
                )
                .is_ok()
        })
    }

    /// Pops as `SharedPool`'s refill does: the slot must be `FREE`, and becomes `cached(entry)`.
    fn alloc(&self, entry: u32) -> Option<u32> {
        self.ring().pop(|i| {
            let s = &self.states[i as usize];
            let w = s.load(Acquire);
            state::tag(w) == state::FREE
                && s.compare_exchange(
                    w,
                    state::word(state::generation(w), state::cached(entry)),
                    AcqRel,
                    Relaxed,
                )
                .is_ok()
        })
    }

    /// Frees as `SharedPool`'s spill does: state first, then the entry.
    fn free(&self, i: u32) -> Result<(), Full> {
        self.states[i as usize].store(state::word(1, state::FREE), Release);
        self.ring().push(i)
    }

    /// Sends as `SharedPool::send` does: state first, then the entry.
    fn send(&self, i: u32) -> Result<(), Full> {
        self.states[i as usize].store(state::word(0, state::QUEUED), Release);
        self.ring().push(i)
    }
}

#[test]
fn loom_shm_ring_two_senders_and_a_receiver_lose_nothing() {
    let runs = explore(|| {
        let shared = Shared::new(2, 4);
        let senders: Vec<_> = [1, 2]
            .into_iter()
            .map(|i| {
                let s = shared.clone();
                thread::spawn(move || s.send(i).unwrap())
            })
            .collect();
        let s = shared.clone();
        let receiver = thread::spawn(move || s.recv(0));
        senders.into_iter().for_each(|h| h.join().unwrap());
        let mut got: Vec<u32> = receiver.join().unwrap().into_iter().collect();
        got.extend(std::iter::from_fn(|| shared.recv(1)));
        got.sort_unstable();
        assert_eq!(got, [1, 2], "each message once");
    });
    assert!(runs >= 900, "explored only {runs} executions");
}

#[test]
fn loom_shm_ring_receivers_race_for_an_entry_and_its_duplicate() {
    let runs = explore(|| {
        let shared = Shared::new(2, 4);
        // A recovery pushed slot 3 a second time: two entries, one message.
        shared.send(3).unwrap();
        shared.ring().push(3).unwrap();
        let receivers: Vec<_> = [0, 1]
            .into_iter()
            .map(|entry| {
                let s = shared.clone();
                thread::spawn(move || s.recv(entry))
            })
            .collect();
        let got: Vec<_> = receivers.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(got.iter().flatten().count(), 1, "delivered once: {got:?}");
        assert_eq!(shared.recv(2), None, "the duplicate is stale");
        let winner = got.iter().position(Option::is_some).unwrap() as u32;
        let w = shared.states[3].load(Relaxed);
        assert_eq!(
            state::tag(w),
            state::held(winner),
            "the slot is the winner's"
        );
    });
    assert!(runs >= 90, "explored only {runs} executions");
}

#[test]
fn loom_shm_ring_of_one_cell_wraps_while_a_receiver_takes() {
    let runs = explore(|| {
        let shared = Shared::new(1, 4);
        let s = shared.clone();
        let sender = thread::spawn(move || {
            s.send(1).unwrap();
            s.send(2).is_ok()
        });
        let s = shared.clone();
        let receiver = thread::spawn(move || s.recv(0));
        let second_sent = sender.join().unwrap();
        let first = receiver.join().unwrap();
        let mut got: Vec<u32> = first.into_iter().collect();
        got.extend(std::iter::from_fn(|| shared.recv(0)));
        got.sort_unstable();
        // A full ring refuses the second send, and then it is not in the ring.
        let want: &[u32] = if second_sent { &[1, 2] } else { &[1] };
        assert_eq!(got, want);
    });
    assert!(runs >= 10, "explored only {runs} executions");
}

#[test]
fn loom_shm_free_ring_allocs_race_a_free() {
    let runs = explore(|| {
        // Slot 1 is free in the ring; slot 2 is held by the freeing thread.
        let shared = Shared::new(4, 4);
        shared.free(1).unwrap();
        shared.states[2].store(state::word(1, state::held(2)), Relaxed);
        let s = shared.clone();
        let freer = thread::spawn(move || s.free(2).unwrap());
        let allocators: Vec<_> = [0, 1]
            .into_iter()
            .map(|entry| {
                let s = shared.clone();
                thread::spawn(move || s.alloc(entry))
            })
            .collect();
        freer.join().unwrap();
        let mut got: Vec<u32> = allocators
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect();
        got.extend(std::iter::from_fn(|| shared.alloc(3)));
        got.sort_unstable();
        assert_eq!(got, [1, 2], "each free slot handed out once");
    });
    assert!(runs >= 1600, "explored only {runs} executions");
}
