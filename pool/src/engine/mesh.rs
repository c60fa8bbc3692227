//! Meshing: compaction that moves no object (Powers et al., "Mesh", PLDI 2019).
//!
//! After a peak, survivors are scattered: with 10% of 64-byte objects left at random, a 4 KiB
//! page keeps about six, and almost no page is empty enough to give back. But two pages whose
//! live slots sit at *different offsets* can share one physical page: copy the live slots of
//! one (the *source*) into the other (the *target*) at the same offsets, map the source's
//! addresses onto the target's physical page, and free the source's. Every pointer stays
//! valid; the memory of one page goes back. A `mesh` pool (`PoolConfig::mesh`) keeps its
//! segments in memory files so that pages can be remapped (`os/mesh.rs`), cuts them into
//! 4 KiB pages of power-of-two slots, and hands a fresh page's slots out in random order so
//! that survivors of different pages rarely collide.
//!
//! # Who owns an offset
//!
//! After a mesh, one physical page is reachable through two (or more) virtual pages, and a
//! slot's offset must never be handed out through both. So every offset of a meshed physical
//! page belongs to exactly one of its virtual pages:
//!
//! - a source owns the offsets its slots held when it was meshed (`occupied`, below), for
//!   ever after: its objects, and once freed, its chain's slots. Every other offset of the
//!   source is *lent*;
//! - the target owns all the rest: its own occupied offsets, and a chain of the offsets free
//!   in both. The offsets its sources own are lent.
//!
//! A page's `lent` counts the offsets it may not hand out, and the page invariant becomes
//! `out = fresh − free_len − lent` (`segment.rs`). A source is meshed once, never becomes a
//! target, and never meshes again; a target may take more sources, whose occupied offsets
//! must be free in it (in its chain). Since every chain holds only offsets its page owns, and
//! ownership never changes while the pages are meshed, no two live objects can share bytes.
//!
//! When a source's last slot comes back (`out == 0`, so its chain holds every offset it
//! owns), the mesh ends: its chain's offsets go into the target's chain (they are free, and
//! the target owns them from now on), the source's addresses are mapped back onto its own,
//! empty file page, and it is an untouched page again. A target is never given back while it
//! lends (`Page::empty` says no), and never meshed as a source.
//!
//! Which pages: [`occupied`](Occupancy) offsets are the slots touched and not in the page's
//! chain — live objects and free slots in caches alike, since caches write links. `mesh()`
//! first brings stashes and the depot back into the pages (as `trim` does), then plans a
//! window of 1,024 pages at a time in one hold of the grow lock, pairing each sparse page with
//! the fullest page of the window it is disjoint from (Mesh's *SplitMesher* probes random
//! pairs instead; a window sorted by fill is deterministic, and packs targets densely), and
//! meshes the plan 16 pairs per hold. Pages change between holds, so each pair is checked
//! again — both still meshable, still disjoint — before it is meshed.
//!
//! # Soundness with threads running
//!
//! The copy, the remap and the handling of a write that arrives meanwhile are `os/mesh.rs`'s.
//! What this layer guarantees it: the bytes the copy writes into the target are offsets the
//! source owns, which the target has taken out of its chain before the copy (so no thread can
//! be handed them), and everything that happens here happens under the pool's grow lock, so no
//! chain changes underneath.

use crate::os::{sys_vec, SysVec};
use core::fmt;
use core::time::Duration;

/// Most slots a 4 KiB page can hold: 8-byte slots.
pub(crate) const MAX_SLOTS: usize = 512;

/// Pages a plan looks at: the more, the denser the pairing (on the issue's test, 64 pages
/// leave 2.9× the live bytes committed, 1024 leave 1.85×); planning holds the grow lock for
/// one window's chain walks.
pub(crate) const WINDOW: usize = 1024;

/// Pairs meshed per hold of the grow lock: what an allocation that needs the lock may wait
/// for (each pair a few system calls and a TLB shootdown, tens of µs).
pub(crate) const PAIRS_PER_HOLD: usize = 16;

/// Which slots of one 4 KiB page are occupied: a bit per slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Occupancy([u64; MAX_SLOTS / 64]);

impl Occupancy {
    /// The first `n` slots occupied.
    pub(crate) fn first(n: usize) -> Self {
        let mut o = Self::default();
        for i in 0..n {
            o.set(i, true);
        }
        o
    }

    pub(crate) fn set(&mut self, i: usize, on: bool) {
        let (w, b) = (i / 64, i % 64);
        if on {
            self.0[w] |= 1 << b;
        } else {
            self.0[w] &= !(1 << b);
        }
    }

    pub(crate) fn get(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }

    pub(crate) fn count(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    /// No slot occupied in both.
    pub(crate) fn disjoint(&self, other: &Self) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| a & b == 0)
    }

    /// The slots occupied in either.
    pub(crate) fn union(&self, other: &Self) -> Self {
        let mut o = *self;
        o.0.iter_mut().zip(&other.0).for_each(|(a, b)| *a |= b);
        o
    }

    /// The occupied slots, lowest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..MAX_SLOTS).filter(|&i| self.get(i))
    }
}

/// One page of a window: its occupancy, and whether it may be a source (a plain page, neither
/// meshed nor lending).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Candidate {
    pub(crate) occupied: Occupancy,
    pub(crate) plain: bool,
}

/// One window's plan: the pages looked at, then the pairs to mesh, as page addresses. Its
/// buffers come from `System` and are kept from window to window.
#[derive(Debug)]
pub(crate) struct Plan {
    pages: SysVec<(usize, Candidate)>,
    pairs: SysVec<(usize, usize)>,
}

impl Plan {
    pub(crate) const fn new() -> Self {
        Self {
            pages: sys_vec(),
            pairs: sys_vec(),
        }
    }

    pub(crate) fn clear(&mut self) {
        self.pages.clear();
        self.pairs.clear();
    }

    pub(crate) fn is_full(&self) -> bool {
        self.pages.len() == WINDOW
    }

    /// Adds the page at `addr`; `false` when there is no memory for it.
    pub(crate) fn consider(&mut self, addr: usize, page: Candidate) -> bool {
        if self.pages.try_reserve(1).is_err() {
            return false;
        }
        self.pages.push((addr, page));
        true
    }

    /// Pairs the pages considered (see [`pair`]).
    pub(crate) fn pair(&mut self) {
        let candidates: SysVec<Candidate> = {
            let mut v = sys_vec();
            if v.try_reserve(self.pages.len()).is_err() {
                return;
            }
            v.extend(self.pages.iter().map(|&(_, c)| c));
            v
        };
        let Some(pairs) = pair(&candidates) else {
            return;
        };
        if self.pairs.try_reserve(pairs.len()).is_err() {
            return;
        }
        let at = |i: usize| self.pages[i].0;
        self.pairs
            .extend(pairs.iter().map(|&(s, t)| (at(s), at(t))));
    }

    /// The pairs, as `(source, target)` page addresses.
    pub(crate) fn pairs(&self) -> &[(usize, usize)] {
        &self.pairs
    }
}

/// Pairs of `pages` to mesh, as `(source, target)` indices: each source a plain page, meshed
/// at most once and never a target; each target takes sources while their occupied slots
/// stay disjoint from everything it holds. Sparse pages go first, each onto the fullest page
/// that can take it. `None` when there is no memory to work in.
pub(crate) fn pair(pages: &[Candidate]) -> Option<SysVec<(usize, usize)>> {
    let n = pages.len();
    let mut order: SysVec<usize> = sys_vec();
    // What each page holds now: its own slots and those of the sources meshed onto it.
    let mut held: SysVec<Occupancy> = sys_vec();
    // 1: a source; 2: a target.
    let mut role: SysVec<u8> = sys_vec();
    let mut pairs = sys_vec();
    order.try_reserve(n).ok()?;
    held.try_reserve(n).ok()?;
    role.try_reserve(n).ok()?;
    pairs.try_reserve(n).ok()?;
    order.extend(0..n);
    order.sort_by_key(|&i| pages[i].occupied.count());
    held.extend(pages.iter().map(|p| p.occupied));
    role.resize(n, 0);
    for &s in &order {
        if !pages[s].plain || role[s] != 0 {
            continue;
        }
        let best = order
            .iter()
            .rev()
            .copied()
            .find(|&t| t != s && role[t] != 1 && held[t].disjoint(&held[s]));
        if let Some(t) = best {
            role[s] = 1;
            role[t] = 2;
            held[t] = held[t].union(&held[s]);
            pairs.push((s, t));
        }
    }
    Some(pairs)
}

/// A small, fast generator for the order of a fresh page's slots (xorshift64*): not for
/// secrets, only so that survivors of different pages rarely sit at the same offsets.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shuffle(u64);

impl Shuffle {
    pub(crate) const fn new() -> Self {
        Self(0x9E37_79B9_7F4A_7C15)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Shuffles `items` in place (Fisher–Yates; an index below `i + 1` from the high half
    /// of a product, not a division).
    pub(crate) fn shuffle(&mut self, items: &mut [u16]) {
        for i in (1..items.len()).rev() {
            let j = ((self.next() >> 32) * (i as u64 + 1)) >> 32;
            items.swap(i, j as usize);
        }
    }
}

/// What meshing did so far: pages meshed, bytes given back, time under the grow lock.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Tally {
    pub(crate) pages: usize,
    pub(crate) bytes: usize,
}

/// What a call to `mesh()` did (`Pool::mesh`, `SlabAllocator::mesh`).
///
/// ```
/// use typool::MeshReport;
///
/// let r = MeshReport::default();
/// assert_eq!((r.pages_meshed, r.bytes_released), (0, 0));
/// assert_eq!(r.to_string(), "meshed 0 pages, released 0.00 MiB in 0.000 ms");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MeshReport {
    /// Pages whose memory was given back by meshing them onto another page.
    pub pages_meshed: usize,
    /// Bytes of memory given back to the OS.
    pub bytes_released: usize,
    /// Time spent meshing with the pool's grow lock held, summed over every hold. An
    /// allocation that needed the lock waited at most one hold: a plan (the chain walks of
    /// 1,024 pages) or 16 meshes; a thread that wrote a page being meshed waited for that
    /// page alone.
    pub pause: Duration,
}

impl MeshReport {
    pub(crate) fn from_tally(t: Tally, pause: Duration) -> Self {
        Self {
            pages_meshed: t.pages,
            bytes_released: t.bytes,
            pause,
        }
    }
}

impl core::ops::Add for MeshReport {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            pages_meshed: self.pages_meshed + o.pages_meshed,
            bytes_released: self.bytes_released + o.bytes_released,
            pause: self.pause + o.pause,
        }
    }
}

impl fmt::Display for MeshReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "meshed {} pages, released {:.2} MiB in {:.3} ms",
            self.pages_meshed,
            self.bytes_released as f64 / (1024.0 * 1024.0),
            self.pause.as_secs_f64() * 1e3
        )
    }
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;

    fn page(slots: &[usize], plain: bool) -> Candidate {
        let mut occupied = Occupancy::default();
        slots.iter().for_each(|&i| occupied.set(i, true));
        Candidate { occupied, plain }
    }

    #[test]
    fn occupancy_sets_counts_and_compares() {
        let mut a = Occupancy::first(3);
        assert_eq!(a.count(), 3);
        a.set(511, true);
        a.set(1, false);
        assert_eq!(a.iter().collect::<Vec<_>>(), [0, 2, 511]);
        let b = page(&[1, 3], true).occupied;
        assert!(a.disjoint(&b));
        assert!(!a.disjoint(&Occupancy::first(1)));
        assert_eq!(a.union(&b).count(), 5);
    }

    #[test]
    fn pairs_are_disjoint_and_each_source_meshes_once() {
        // 0 and 1 collide at slot 0; 2 fits under either; 3 is not plain (a target already).
        let pages = [
            page(&[0, 5, 6], true),
            page(&[0, 7], true),
            page(&[9], true),
            page(&[1, 2, 3, 4], false),
        ];
        let pairs: Vec<_> = pair(&pages).unwrap().to_vec();
        let mut held: Vec<Occupancy> = pages.iter().map(|p| p.occupied).collect();
        let mut sources = Vec::new();
        for &(s, t) in &pairs {
            assert!(pages[s].plain, "a source is a plain page");
            assert!(!sources.contains(&s) && !sources.contains(&t));
            assert!(held[t].disjoint(&held[s]), "{s} onto {t} collides");
            held[t] = held[t].union(&held[s]);
            sources.push(s);
        }
        // The sparsest (2) goes onto the fullest (3); then 1 onto 3, which still fits; 0
        // collides with 1, now in 3, so it stays.
        assert_eq!(pairs, [(2, 3), (1, 3)]);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut items: Vec<u16> = (0..64).collect();
        let mut rng = Shuffle::new();
        rng.shuffle(&mut items);
        assert_ne!(items, (0..64).collect::<Vec<_>>());
        items.sort_unstable();
        assert_eq!(items, (0..64).collect::<Vec<_>>());
    }

    #[test]
    fn reports_add_and_display() {
        let a = MeshReport {
            pages_meshed: 256,
            bytes_released: 1 << 20,
            pause: Duration::from_millis(2),
        };
        let sum = a + a;
        assert_eq!(sum.pages_meshed, 512);
        assert_eq!(
            sum.to_string(),
            "meshed 512 pages, released 2.00 MiB in 4.000 ms"
        );
    }
}
