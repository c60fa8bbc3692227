//! [`Ring`]: a bounded queue of slot indices in shared memory that no dead process can block.
//!
//! Both of a segment's queues are rings: the free ring (slots to allocate) and the message ring
//! (slots sent and not yet received). An entry in a ring is a **hint**, not a claim: the slot's
//! state word (`state.rs`) says who holds it, and a consumer owns the slot only when its `claim`
//! — a compare-and-swap on that state word — succeeds. An entry whose claim fails is stale (a
//! duplicate left by a recovery, or a slot someone else already claimed) and is dropped. So a
//! ring may hold a slot twice and lose nothing: that is what lets recovery finish the operation
//! of a process that died halfway through one (`registry.rs`).
//!
//! # Cells
//!
//! `cells.len()` cells; position `p` (a `u64` that only grows) lives in cell `p % len`. A cell
//! is one word, `lap << 32 | content`, where `lap` is `p`'s low 32 bits and `content` is
//! `index + 1` or 0:
//!
//! - `EMPTY(p)` = `p << 32`: cell free for the entry at position `p`;
//! - `FULL(p, i)` = `p << 32 | (i + 1)`: entry `i` at position `p`.
//!
//! A cell starts as `EMPTY(c)` for its index `c`. A producer at position `t` turns
//! `EMPTY(t)` into `FULL(t, i)`; a consumer at `h` turns `FULL(h, i)` into `EMPTY(h + len)`,
//! ready for the next lap. Each step is one CAS, expected value and position both named, so
//! a thread that stalled while others moved on fails its CAS instead of writing into the
//! wrong lap (the lap would have to come round 2³² times while it stalled).
//!
//! # Ends without locks
//!
//! `tail` and `head` are the next positions to fill and to empty. Each moves by CAS **after**
//! its cell, and any thread that sees a cell ahead of its end moves the end for it (a `FULL(t)`
//! at `tail`, an `EMPTY(h + len)` at `head`). A process that dies between the two leaves a
//! cell that the next thread recognises and an end that it moves: nothing waits on the dead.
//!
//! | a producer at `t` reads | meaning | it |
//! |---|---|---|
//! | `EMPTY(t)` | the cell is free | CASes in `FULL(t, i)`, then moves `tail` |
//! | `FULL(t, _)` | another filled it, `tail` lags | moves `tail`, retries |
//! | `EMPTY(t + len)` | filled and already emptied, `tail` lags | moves `tail`, retries |
//! | `FULL(t - len, _)` | last lap's entry not taken yet | reports full |
//! | anything else | its `t` is stale | retries |
//!
//! | a consumer at `h` reads | meaning | it |
//! |---|---|---|
//! | `FULL(h, i)` | an entry | claims `i` (or finds it stale), empties the cell, moves `head` |
//! | `EMPTY(h)` | nothing at `h` yet | reports empty |
//! | `EMPTY(h + len)` | another emptied it, `head` lags | moves `head`, retries |
//! | anything else | its `h` is stale | retries |
//!
//! A consumer claims **before** it empties the cell. Two consumers that read the same entry
//! race on the claim; the loser sees the claim fail and helps empty the cell. A consumer that
//! dies after its claim leaves a claimed slot (recovered as its own) and a full cell (emptied by
//! the next consumer, whose claim fails).
//!
//! Every word is read from memory other processes write: an index is checked against the
//! slot count before a claim sees it, and a loop that a corrupt ring keeps from finishing gives
//! up after [`SPINS`] rounds (the push reports full, the pop empty) instead of spinning forever.

use crate::sync::{AtomicU64, Ordering::*};

/// Rounds after which an operation that keeps meeting cells it cannot explain gives up.
/// Each round that fails means another thread moved the ring on; no honest schedule starves
/// one thread this long.
pub(crate) const SPINS: u32 = if cfg!(miri) { 1 << 8 } else { 1 << 20 };

/// A ring of indices below `slots`, over memory it does not own.
pub(crate) struct Ring<'a> {
    head: &'a AtomicU64,
    tail: &'a AtomicU64,
    cells: &'a [AtomicU64],
    slots: u32,
}

/// The ring had no free cell.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Full;

fn empty(p: u64) -> u64 {
    p << 32
}

fn full(p: u64, index: u32) -> u64 {
    p << 32 | (u64::from(index) + 1)
}

/// The lap of a cell's word, and its content (`index + 1`, or 0).
fn split(word: u64) -> (u32, u32) {
    ((word >> 32) as u32, word as u32)
}

impl<'a> Ring<'a> {
    /// A ring over `cells`, holding indices below `slots`. `cells` must not be empty.
    pub(crate) fn new(
        head: &'a AtomicU64,
        tail: &'a AtomicU64,
        cells: &'a [AtomicU64],
        slots: u32,
    ) -> Self {
        debug_assert!(!cells.is_empty(), "a ring needs cells");
        Ring {
            head,
            tail,
            cells,
            slots,
        }
    }

    /// Sets the ring up holding `0..filled` in order. Only for a ring no one else sees yet.
    pub(crate) fn init(&self, filled: u32) {
        debug_assert!(filled as usize <= self.cells.len() && filled <= self.slots);
        for (c, cell) in self.cells.iter().enumerate() {
            let c = c as u64;
            let word = if c < u64::from(filled) {
                full(c, c as u32)
            } else {
                empty(c)
            };
            cell.store(word, Relaxed);
        }
        self.head.store(0, Relaxed);
        self.tail.store(u64::from(filled), Release);
    }

    fn cell(&self, p: u64) -> &AtomicU64 {
        &self.cells[(p % self.cells.len() as u64) as usize]
    }

    fn len(&self) -> u64 {
        self.cells.len() as u64
    }

    /// Appends `index`; `Err(Full)` when every cell holds an entry not yet taken.
    pub(crate) fn push(&self, index: u32) -> Result<(), Full> {
        debug_assert!(index < self.slots, "index {index} of {}", self.slots);
        for _ in 0..SPINS {
            let t = self.tail.load(Acquire);
            let cell = self.cell(t);
            let word = cell.load(Acquire);
            let (lap, content) = split(word);
            if word == empty(t) {
                if cell
                    .compare_exchange(word, full(t, index), AcqRel, Acquire)
                    .is_ok()
                {
                    // Whoever fails here found `tail` moved already, by a helper.
                    let _ = self.tail.compare_exchange(t, t + 1, AcqRel, Relaxed);
                    return Ok(());
                }
            } else if (lap == t as u32 && content != 0) || word == empty(t + self.len()) {
                let _ = self.tail.compare_exchange(t, t + 1, AcqRel, Relaxed);
            } else if lap == t.wrapping_sub(self.len()) as u32
                && content != 0
                && self.tail.load(Acquire) == t
            {
                return Err(Full);
            }
        }
        Err(Full)
    }

    /// Takes the oldest entry whose `claim` succeeds, dropping the stale ones before it;
    /// `None` when the ring is empty. `claim(i)` is called only with `i` below the slot count,
    /// and must return whether the caller now owns slot `i`.
    pub(crate) fn pop(&self, mut claim: impl FnMut(u32) -> bool) -> Option<u32> {
        for _ in 0..SPINS {
            let h = self.head.load(Acquire);
            let cell = self.cell(h);
            let word = cell.load(Acquire);
            let (lap, content) = split(word);
            if lap == h as u32 && content != 0 {
                let index = content - 1;
                let won = index < self.slots && claim(index);
                // Claimed or stale, the entry is spent: empty its cell, move `head` on. Both
                // CASes fail harmlessly when another consumer did either first.
                let _ = cell.compare_exchange(word, empty(h + self.len()), AcqRel, Relaxed);
                let _ = self.head.compare_exchange(h, h + 1, AcqRel, Relaxed);
                if won {
                    return Some(index);
                }
            } else if word == empty(h) {
                if self.head.load(Acquire) == h {
                    return None;
                }
            } else if word == empty(h + self.len()) {
                let _ = self.head.compare_exchange(h, h + 1, AcqRel, Relaxed);
            }
        }
        None
    }

    /// Entries in the ring, stale ones included (a moment's reading). Read by the shared
    /// pool, which loom builds leave out.
    #[cfg_attr(typool_loom, allow(dead_code))]
    pub(crate) fn len_hint(&self) -> u64 {
        let head = self.head.load(Relaxed);
        self.tail.load(Relaxed).saturating_sub(head)
    }
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    struct Owned {
        head: AtomicU64,
        tail: AtomicU64,
        cells: Vec<AtomicU64>,
    }

    fn owned(cells: usize) -> Owned {
        Owned {
            head: AtomicU64::new(0),
            tail: AtomicU64::new(0),
            cells: (0..cells).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    impl Owned {
        fn ring(&self, slots: u32) -> Ring<'_> {
            Ring::new(&self.head, &self.tail, &self.cells, slots)
        }
    }

    #[test]
    fn fifo_then_full_then_empty() {
        let o = owned(3);
        let ring = o.ring(10);
        ring.init(0);
        for i in [4, 5, 6] {
            ring.push(i).unwrap();
        }
        assert_eq!(ring.push(7), Err(Full));
        assert_eq!(ring.pop(|_| true), Some(4));
        ring.push(7).unwrap();
        assert_eq!(ring.len_hint(), 3);
        let taken: Vec<_> = std::iter::from_fn(|| ring.pop(|_| true)).collect();
        assert_eq!(taken, [5, 6, 7]);
        assert_eq!(ring.pop(|_| true), None);
    }

    #[test]
    fn init_holds_every_slot_in_order() {
        let o = owned(8);
        let ring = o.ring(4);
        ring.init(4);
        let taken: Vec<_> = std::iter::from_fn(|| ring.pop(|_| true)).collect();
        assert_eq!(taken, [0, 1, 2, 3]);
    }

    #[test]
    fn stale_entries_are_dropped_on_the_way() {
        let o = owned(4);
        let ring = o.ring(10);
        ring.init(0);
        for i in [1, 2, 1, 3] {
            ring.push(i).unwrap();
        }
        let claimed: Vec<AtomicBool> = (0..10).map(|_| AtomicBool::new(false)).collect();
        let claim = |i: u32| !claimed[i as usize].swap(true, Relaxed);
        let taken: Vec<_> = std::iter::from_fn(|| ring.pop(claim)).collect();
        // The second 1 is stale: its claim fails and the pop goes on to 3.
        assert_eq!(taken, [1, 2, 3]);
        assert_eq!(ring.len_hint(), 0);
    }

    #[test]
    fn a_producer_that_died_after_its_cell_is_helped() {
        let o = owned(2);
        let ring = o.ring(10);
        ring.init(0);
        // A producer filled position 0 and died before it moved `tail`.
        o.cells[0].store(full(0, 9), Relaxed);
        ring.push(1).unwrap();
        assert_eq!(o.tail.load(Relaxed), 2);
        assert_eq!(ring.pop(|_| true), Some(9));
        assert_eq!(ring.pop(|_| true), Some(1));
    }

    #[test]
    fn a_consumer_that_died_after_its_cell_is_helped() {
        let o = owned(2);
        let ring = o.ring(10);
        ring.init(0);
        ring.push(3).unwrap();
        ring.push(4).unwrap();
        // A consumer emptied position 0 and died before it moved `head`.
        o.cells[0].store(empty(2), Relaxed);
        assert_eq!(ring.pop(|_| true), Some(4));
        ring.push(5).unwrap();
        assert_eq!(ring.pop(|_| true), Some(5));
    }

    #[test]
    fn garbage_is_never_claimed() {
        let o = owned(2);
        let ring = o.ring(4);
        ring.init(0);
        // A hostile peer wrote an out-of-range index, then garbage that fits no case.
        o.cells[0].store(full(0, 1000), Relaxed);
        o.tail.store(1, Relaxed);
        assert_eq!(ring.pop(|i| panic!("claimed {i}")), None);
        o.cells[1].store(0xdead_beef_dead_beef, Relaxed);
        o.tail.store(2, Relaxed);
        assert_eq!(ring.pop(|i| panic!("claimed {i}")), None);
    }

    #[test]
    fn positions_wrap_many_laps() {
        let o = owned(3);
        let ring = o.ring(u32::MAX - 1);
        ring.init(0);
        let n = if cfg!(miri) { 50 } else { 10_000 };
        for i in 0..n {
            ring.push(i).unwrap();
            ring.push(i + 1).unwrap();
            assert_eq!(ring.pop(|_| true), Some(i));
            assert_eq!(ring.pop(|_| true), Some(i + 1));
        }
    }
}
