//! [`StableVector`]: a vector whose elements never move while they are present.
//!
//! Storage is a list of chunks of 16, 32, 64, … elements (chunk `k` holds `16 << k`), allocated
//! when first needed and never reallocated, so a push never moves what is already stored: a
//! reference or raw pointer to an element stays valid until that element is removed. Index `i`
//! lives in chunk `k = log2(i / 16 + 1)` at offset `i − 16·(2ᵏ − 1)`.
//!
//! Removing leaves a hole; the next push fills the most recent hole (LIFO), so indices stay
//! small and memory is reused. An occupancy bitmap (one bit per index) says which indices hold
//! an element; iteration walks it a word at a time and skips holes.
//!
//! Invariants: `occupied` has a set bit exactly for the indices holding an initialised
//! element; those are `< end`; every index `< end` with a clear bit is on `free` exactly once;
//! `len` is the number of set bits; every chunk holding an index `< end` is allocated.

use allocator_api2::alloc::{Allocator, Global, Layout};
use allocator_api2::vec::Vec as AVec;
use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ops::{Index, IndexMut};
use core::ptr::NonNull;

/// Elements in the first chunk.
const FIRST: usize = 16;
/// Chunks enough for every index that fits in memory.
const CHUNKS: usize = usize::BITS as usize - 4;

/// (chunk, offset) of index `i`.
fn locate(i: usize) -> (usize, usize) {
    let k = (i / FIRST + 1).ilog2() as usize;
    (k, i - FIRST * ((1 << k) - 1))
}

fn chunk_len(k: usize) -> usize {
    FIRST << k
}

/// A vector with stable element addresses, holes on removal, and an allocator of its own.
///
/// # Examples
///
/// ```
/// use typool_containers::StableVector;
///
/// let mut v: StableVector<String> = StableVector::new();
/// let a = v.push("a".to_string());
/// let b = v.push("b".to_string());
/// let at_b: *const String = &v[b];
/// assert_eq!(v.remove(a).as_deref(), Some("a"));
/// for i in 0..1000 {
///     v.push(i.to_string()); // the first push fills `a`'s hole
/// }
/// assert_eq!(v.len(), 1001);
/// assert!(core::ptr::eq(at_b, &v[b]), "`b` did not move");
/// assert_eq!(v.iter().next().map(String::as_str), Some("0"));
/// ```
pub struct StableVector<T, A: Allocator = Global> {
    chunks: [Option<NonNull<MaybeUninit<T>>>; CHUNKS],
    occupied: AVec<u64, A>,
    free: AVec<usize, A>,
    len: usize,
    /// One past the highest index ever handed out.
    end: usize,
    alloc: A,
    _owns: PhantomData<T>,
}

// SAFETY: the vector owns its elements (like `Vec<T, A>`): sending it sends them and the
// allocator handle.
unsafe impl<T: Send, A: Allocator + Send> Send for StableVector<T, A> {}
// SAFETY: `&StableVector` gives out only `&T` (and `&A`).
unsafe impl<T: Sync, A: Allocator + Sync> Sync for StableVector<T, A> {}

impl<T, A: Allocator + Clone + Default> StableVector<T, A> {
    /// An empty vector; allocates nothing until the first push.
    pub fn new() -> Self {
        Self::new_in(A::default())
    }
}

impl<T, A: Allocator + Clone + Default> Default for StableVector<T, A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, A: Allocator + Clone> StableVector<T, A> {
    /// An empty vector whose chunks and bookkeeping come from `alloc`.
    pub fn new_in(alloc: A) -> Self {
        Self {
            chunks: [None; CHUNKS],
            occupied: AVec::new_in(alloc.clone()),
            free: AVec::new_in(alloc.clone()),
            len: 0,
            end: 0,
            alloc,
            _owns: PhantomData,
        }
    }
}

impl<T, A: Allocator> StableVector<T, A> {
    /// Elements present.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no element is present.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Elements the allocated chunks can hold without allocating again.
    pub fn capacity(&self) -> usize {
        (0..CHUNKS)
            .take_while(|&k| self.chunks[k].is_some())
            .map(chunk_len)
            .sum()
    }

    /// Stores `value` and returns its index: the most recently vacated one, or a fresh one.
    ///
    /// # Panics
    ///
    /// If the allocator refuses a chunk (through `handle_alloc_error`).
    pub fn push(&mut self, value: T) -> usize {
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = self.end;
                self.ensure_chunk(i);
                if i % 64 == 0 {
                    self.occupied.push(0);
                }
                self.end += 1;
                i
            }
        };
        // SAFETY: `i < end`, so its chunk is allocated; its bit is clear, so it is vacant.
        unsafe { self.slot(i).write(MaybeUninit::new(value)) };
        self.occupied[i / 64] |= 1 << (i % 64);
        self.len += 1;
        i
    }

    /// Takes the element at `i` out, leaving a hole; `None` if there is none.
    pub fn remove(&mut self, i: usize) -> Option<T> {
        if !self.contains(i) {
            return None;
        }
        self.occupied[i / 64] &= !(1 << (i % 64));
        self.len -= 1;
        self.free.push(i);
        // SAFETY: the bit was set, so the slot held an initialised element, which we move out;
        // the cleared bit means nothing will read or drop it again.
        Some(unsafe { self.slot(i).read().assume_init() })
    }

    /// Whether index `i` holds an element.
    pub fn contains(&self, i: usize) -> bool {
        i < self.end && self.occupied[i / 64] >> (i % 64) & 1 == 1
    }

    /// The element at `i`, if present.
    pub fn get(&self, i: usize) -> Option<&T> {
        // SAFETY: present means initialised; the chunk never moves while `self` is borrowed.
        self.contains(i)
            .then(|| unsafe { (*self.slot(i)).assume_init_ref() })
    }

    /// The element at `i`, mutably, if present.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        // SAFETY: as in `get`, with `&mut self` for exclusive access.
        self.contains(i)
            .then(|| unsafe { (*self.slot(i)).assume_init_mut() })
    }

    /// Drops every element; keeps the chunks for reuse.
    pub fn clear(&mut self) {
        self.drop_present();
        self.occupied.clear();
        self.free.clear();
        self.len = 0;
        self.end = 0;
    }

    /// The present elements, in index order.
    pub fn iter(&self) -> Iter<'_, T, A> {
        Iter {
            v: self,
            at: Present::START,
            left: self.len,
        }
    }

    /// The present elements, mutably, in index order.
    pub fn iter_mut(&mut self) -> IterMut<'_, T, A> {
        IterMut {
            left: self.len,
            v: self,
            at: Present::START,
        }
    }

    /// `(index, element)` for every present element, in index order.
    pub fn indexed(&self) -> impl Iterator<Item = (usize, &T)> + '_ {
        let mut at = Present::START;
        core::iter::from_fn(move || {
            let i = at.next(&self.occupied)?;
            // SAFETY: the cursor only yields indices whose bit is set: initialised, below `end`.
            Some((i, unsafe { (*self.slot(i)).assume_init_ref() }))
        })
    }

    /// The slot of index `i`.
    ///
    /// # Safety
    ///
    /// `i < end` (so its chunk is allocated).
    unsafe fn slot(&self, i: usize) -> *mut MaybeUninit<T> {
        let (k, at) = locate(i);
        let chunk = self.chunks[k].expect("indices below `end` have a chunk");
        // SAFETY: `at < chunk_len(k)` by `locate`, inside the chunk's allocation.
        unsafe { chunk.as_ptr().add(at) }
    }

    fn ensure_chunk(&mut self, i: usize) {
        let (k, _) = locate(i);
        if self.chunks[k].is_some() {
            return;
        }
        let layout = Layout::array::<MaybeUninit<T>>(chunk_len(k)).expect("chunk fits in memory");
        let chunk = if layout.size() == 0 {
            NonNull::dangling()
        } else {
            match self.alloc.allocate(layout) {
                Ok(p) => p.cast(),
                Err(_) => std::alloc::handle_alloc_error(layout),
            }
        };
        self.chunks[k] = Some(chunk);
    }

    fn drop_present(&mut self) {
        if !core::mem::needs_drop::<T>() {
            return;
        }
        let mut at = Present::START;
        while let Some(i) = at.next(&self.occupied) {
            // SAFETY: present, so initialised; callers clear the bits (or free the chunks)
            // right after, so nothing drops it twice.
            unsafe { (*self.slot(i)).assume_init_drop() };
        }
    }
}

/// A walk over the set bits of an occupancy bitmap, one word at a time: the indices of the
/// present elements, in order.
#[derive(Clone, Copy, Debug)]
struct Present {
    /// Word being walked, and its bits not yet yielded.
    word: usize,
    bits: u64,
}

impl Present {
    /// Before the first word (`word` wraps to 0 on the first step).
    const START: Self = Self {
        word: usize::MAX,
        bits: 0,
    };

    #[inline]
    fn next(&mut self, occupied: &[u64]) -> Option<usize> {
        while self.bits == 0 {
            self.word = self.word.wrapping_add(1);
            self.bits = *occupied.get(self.word)?;
        }
        let bit = self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        Some(self.word * 64 + bit)
    }
}

impl<T, A: Allocator> Drop for StableVector<T, A> {
    fn drop(&mut self) {
        self.drop_present();
        for (k, chunk) in self.chunks.iter().enumerate() {
            let Some(chunk) = chunk else { break };
            let layout = Layout::array::<MaybeUninit<T>>(chunk_len(k)).expect("as allocated");
            if layout.size() != 0 {
                // SAFETY: allocated by `ensure_chunk` from `self.alloc` with this layout.
                unsafe { self.alloc.deallocate(chunk.cast(), layout) };
            }
        }
    }
}

impl<T, A: Allocator> Index<usize> for StableVector<T, A> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        match self.get(i) {
            Some(v) => v,
            None => panic!("StableVector: no element at index {i} (a hole, or past the end)"),
        }
    }
}

impl<T, A: Allocator> IndexMut<usize> for StableVector<T, A> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        match self.get_mut(i) {
            Some(v) => v,
            None => panic!("StableVector: no element at index {i} (a hole, or past the end)"),
        }
    }
}

impl<T: fmt::Debug, A: Allocator> fmt::Debug for StableVector<T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.indexed()).finish()
    }
}

impl<T, A: Allocator + Clone + Default> FromIterator<T> for StableVector<T, A> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut v = Self::new();
        v.extend(iter);
        v
    }
}

impl<T, A: Allocator> Extend<T> for StableVector<T, A> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for x in iter {
            self.push(x);
        }
    }
}

/// Iterator over a [`StableVector`]'s present elements.
pub struct Iter<'a, T, A: Allocator> {
    v: &'a StableVector<T, A>,
    at: Present,
    left: usize,
}

impl<'a, T, A: Allocator> Iterator for Iter<'a, T, A> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        let i = self.at.next(&self.v.occupied)?;
        self.left -= 1;
        // SAFETY: the cursor found its bit set: initialised, below `end`; shared borrow.
        Some(unsafe { (*self.v.slot(i)).assume_init_ref() })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T, A: Allocator> ExactSizeIterator for Iter<'_, T, A> {}

impl<T, A: Allocator> fmt::Debug for Iter<'_, T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").field("left", &self.left).finish()
    }
}

/// Mutable iterator over a [`StableVector`]'s present elements.
pub struct IterMut<'a, T, A: Allocator> {
    v: &'a mut StableVector<T, A>,
    at: Present,
    left: usize,
}

impl<'a, T, A: Allocator> Iterator for IterMut<'a, T, A> {
    type Item = &'a mut T;

    fn next(&mut self) -> Option<&'a mut T> {
        let i = self.at.next(&self.v.occupied)?;
        self.left -= 1;
        // SAFETY: each present index is yielded once, so the `&mut` are disjoint; elements
        // never move, and the vector stays mutably borrowed for `'a`.
        Some(unsafe { (*self.v.slot(i)).assume_init_mut() })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<T, A: Allocator> ExactSizeIterator for IterMut<'_, T, A> {}

impl<T, A: Allocator> fmt::Debug for IterMut<'_, T, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IterMut").field("left", &self.left).finish()
    }
}

impl<'a, T, A: Allocator> IntoIterator for &'a StableVector<T, A> {
    type Item = &'a T;
    type IntoIter = Iter<'a, T, A>;
    fn into_iter(self) -> Iter<'a, T, A> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    #[test]
    fn locate_covers_every_index_once() {
        let mut expected = (0, 0);
        for i in 0..10_000 {
            assert_eq!(locate(i), expected, "index {i}");
            expected.1 += 1;
            if expected.1 == chunk_len(expected.0) {
                expected = (expected.0 + 1, 0);
            }
        }
    }

    #[test]
    fn addresses_survive_pushes_and_holes_are_reused() {
        let mut v: StableVector<u64> = StableVector::new();
        let first = v.push(7);
        let p: *const u64 = &v[first];
        for i in 0..5000 {
            v.push(i);
        }
        assert!(core::ptr::eq(p, &v[first]));
        assert_eq!(v.remove(10), Some(9));
        assert_eq!(v.remove(10), None);
        assert!(v.get(10).is_none());
        assert_eq!(v.push(99), 10, "the hole is reused");
        assert_eq!(v.len(), 5001);
        assert_eq!(v.iter().len(), 5001);
        assert!(v.capacity() >= 5001);
    }

    #[test]
    fn drop_drops_present_elements_only_once() {
        let drops = Rc::new(Cell::new(0));
        struct D(Rc<Cell<usize>>);
        impl Drop for D {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        let mut v: StableVector<D> = StableVector::new();
        for _ in 0..100 {
            v.push(D(drops.clone()));
        }
        for i in (0..100).step_by(3) {
            drop(v.remove(i));
        }
        assert_eq!(drops.get(), 34);
        v.clear();
        assert_eq!(drops.get(), 100);
        for _ in 0..10 {
            v.push(D(drops.clone()));
        }
        drop(v);
        assert_eq!(drops.get(), 110);
    }

    #[test]
    fn iter_mut_skips_holes_and_zero_sized_types_work() {
        let mut v: StableVector<u32> = (0..100).collect();
        for i in (0..100).step_by(2) {
            v.remove(i);
        }
        v.iter_mut().for_each(|x| *x *= 10);
        assert_eq!(v.iter().copied().take(3).collect::<Vec<_>>(), [10, 30, 50]);
        assert_eq!(format!("{:?}", v).get(..14), Some("{1: 10, 3: 30,"));
        let mut units: StableVector<()> = StableVector::new();
        let i = units.push(());
        assert_eq!(units.remove(i), Some(()));
    }

    #[test]
    #[should_panic(expected = "no element at index 3")]
    fn indexing_a_hole_panics_with_the_index() {
        let mut v: StableVector<u8> = (0..5).collect();
        v.remove(3);
        let _ = v[3];
    }
}
