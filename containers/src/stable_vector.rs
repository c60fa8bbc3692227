//! [`StableVector`]: a vector whose elements never move while they are present.
//!
//! Storage is a list of chunks of 64, 128, 256, … elements (chunk `k` holds `64 << k`), allocated
//! when first needed and never reallocated, so a push never moves what is already stored: a
//! reference or raw pointer to an element stays valid until that element is removed. Index `i`
//! lives in chunk `k = log2(i / 64 + 1)` at offset `i − 64·(2ᵏ − 1)`. Every chunk starts at a
//! multiple of 64, so each 64-bit word of the occupancy bitmap describes indices of one chunk:
//! iteration finds a word's slots from one base pointer.
//!
//! Removing leaves a hole; the next push fills the most recent hole (LIFO), so indices stay
//! small and memory is reused. An occupancy bitmap (one bit per index) says which indices hold
//! an element; iteration walks it a word at a time and skips holes.
//!
//! Invariants: `occupied` has a set bit exactly for the indices holding an initialised
//! element; those are `< end`; every index `< end` with a clear bit is on the hole list exactly
//! once (threaded through the vacant slots from `holes` when a slot can hold an index, else in
//! `free`);
//! `len` is the number of set bits; every chunk holding an index `< end` is allocated, and
//! the allocated chunks are exactly chunks `0..k` holding the indices `< cap_end`.

use allocator_api2::alloc::{Allocator, Global, Layout};
use allocator_api2::vec::Vec as AVec;
use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ops::{Index, IndexMut};
use core::ptr::NonNull;

/// Elements in the first chunk: one bitmap word, so chunk boundaries fall on word boundaries.
const FIRST: usize = 64;
/// The end of the hole list.
const NO_HOLE: usize = usize::MAX;
/// Chunks enough for every index that fits in memory.
const CHUNKS: usize = usize::BITS as usize - 4;

/// (chunk, offset) of index `i`. `#[inline]`: it is not generic, so without it a user's crate
/// would call it for every element.
#[inline]
fn locate(i: usize) -> (usize, usize) {
    let k = (i / FIRST + 1).ilog2() as usize;
    (k, i - FIRST * ((1 << k) - 1))
}

#[inline]
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
    /// The most recent hole, whose slot holds the index of the next (`NO_HOLE` ends the list);
    /// used when a slot can hold an index (`THREADED`), so a removal allocates nothing.
    holes: usize,
    /// The holes, newest last, for element types too small to hold an index.
    free: AVec<usize, A>,
    len: usize,
    /// One past the highest index ever handed out.
    end: usize,
    /// One past the last index the allocated chunks hold (`end <= cap_end`).
    cap_end: usize,
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
            holes: NO_HOLE,
            free: AVec::new_in(alloc.clone()),
            len: 0,
            end: 0,
            cap_end: 0,
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
    #[inline]
    pub fn push(&mut self, value: T) -> usize {
        let i = match self.pop_hole() {
            Some(i) => i,
            None => self.fresh_index(),
        };
        // SAFETY: `i < end`, so its chunk is allocated; its bit is clear, so it is vacant.
        unsafe { self.slot(i).write(MaybeUninit::new(value)) };
        // SAFETY: `i < end`, and `occupied` has a word for every index below `end`.
        unsafe { *self.occupied.get_unchecked_mut(i / 64) |= 1 << (i % 64) };
        self.len += 1;
        i
    }

    /// Hands out `end` as a new index, with its chunk and bitmap word in place.
    #[inline]
    fn fresh_index(&mut self) -> usize {
        let i = self.end;
        if i == self.cap_end {
            self.add_chunk();
        }
        if i.is_multiple_of(64) {
            self.occupied.push(0);
        }
        self.end += 1;
        i
    }

    /// Takes the element at `i` out, leaving a hole; `None` if there is none.
    #[inline]
    pub fn remove(&mut self, i: usize) -> Option<T> {
        if i >= self.end {
            return None;
        }
        // SAFETY: `i < end`, and `occupied` has a word for every index below `end`.
        let word = unsafe { self.occupied.get_unchecked_mut(i / 64) };
        let bit = 1 << (i % 64);
        if *word & bit == 0 {
            return None;
        }
        *word &= !bit;
        self.len -= 1;
        // SAFETY: `i < end`.
        let slot = unsafe { self.slot(i) };
        // SAFETY: the bit was set, so the slot held an initialised element, which we move out;
        // the cleared bit means nothing will read or drop it again.
        let value = unsafe { slot.read().assume_init() };
        // SAFETY: the slot of index `i` is vacant now.
        unsafe { self.push_hole(i, slot) };
        Some(value)
    }

    /// Whether holes are threaded through the vacant slots.
    const THREADED: bool = core::mem::size_of::<T>() >= core::mem::size_of::<usize>()
        && core::mem::align_of::<T>() >= core::mem::align_of::<usize>();

    /// Puts index `i` at the head of the hole list.
    ///
    /// # Safety
    ///
    /// `slot` is the slot of index `i < end`, vacant (its bit clear) and on no list.
    #[inline]
    unsafe fn push_hole(&mut self, i: usize, slot: *mut MaybeUninit<T>) {
        if Self::THREADED {
            // SAFETY: a vacant slot is ours to write, and (`THREADED`) big and aligned enough
            // for an index.
            unsafe { slot.cast::<usize>().write(self.holes) };
            self.holes = i;
        } else {
            self.free.push(i);
        }
    }

    /// Takes the most recent hole off the list.
    #[inline]
    fn pop_hole(&mut self) -> Option<usize> {
        if !Self::THREADED {
            return self.free.pop();
        }
        let i = self.holes;
        if i == NO_HOLE {
            return None;
        }
        // SAFETY: `i` heads the hole list, so it is below `end` and its vacant slot holds the
        // next hole's index (`push_hole`).
        self.holes = unsafe { self.slot(i).cast::<usize>().read() };
        Some(i)
    }

    /// Whether index `i` holds an element.
    #[inline]
    pub fn contains(&self, i: usize) -> bool {
        i < self.end && self.occupied[i / 64] >> (i % 64) & 1 == 1
    }

    /// The element at `i`, if present.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&T> {
        // SAFETY: present means initialised; the chunk never moves while `self` is borrowed.
        self.contains(i)
            .then(|| unsafe { (*self.slot(i)).assume_init_ref() })
    }

    /// The element at `i`, mutably, if present.
    #[inline]
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        // SAFETY: as in `get`, with `&mut self` for exclusive access.
        self.contains(i)
            .then(|| unsafe { (*self.slot(i)).assume_init_mut() })
    }

    /// Drops every element; keeps the chunks for reuse.
    ///
    /// If an element's drop panics, the others are still dropped (as a slice's are; a second
    /// panic ends the program) and the vector is empty when the panic reaches the caller.
    pub fn clear(&mut self) {
        /// Drops what the walk has not reached yet, then forgets every element: on the
        /// normal path the walk is over and only the forgetting is left.
        struct Rest<'a, T, A: Allocator> {
            v: &'a mut StableVector<T, A>,
            at: Cursor<T>,
        }
        impl<T, A: Allocator> Drop for Rest<'_, T, A> {
            fn drop(&mut self) {
                if core::mem::needs_drop::<T>() {
                    while let Some((_, slot)) = self.at.next(self.v) {
                        // SAFETY: present, so initialised, and the walk yields each slot once;
                        // the bits are cleared right below, so nothing drops it again.
                        unsafe { (*slot).assume_init_drop() };
                    }
                }
                let v = &mut *self.v;
                v.occupied.clear();
                v.holes = NO_HOLE;
                v.free.clear();
                v.len = 0;
                v.end = 0;
            }
        }
        let mut rest = Rest {
            v: self,
            at: Cursor::START,
        };
        if core::mem::needs_drop::<T>() {
            while let Some((_, slot)) = rest.at.next(rest.v) {
                // SAFETY: as in `Rest::drop`; if this drop panics, `rest` goes on from the
                // next element.
                unsafe { (*slot).assume_init_drop() };
            }
        }
    }

    /// The present elements, in index order.
    pub fn iter(&self) -> Iter<'_, T, A> {
        Iter {
            v: self,
            at: Cursor::START,
            left: self.len,
        }
    }

    /// The present elements, mutably, in index order.
    pub fn iter_mut(&mut self) -> IterMut<'_, T, A> {
        IterMut {
            left: self.len,
            v: self,
            at: Cursor::START,
        }
    }

    /// `(index, element)` for every present element, in index order.
    pub fn indexed(&self) -> impl Iterator<Item = (usize, &T)> + '_ {
        let mut at = Cursor::START;
        core::iter::from_fn(move || {
            let (i, slot) = at.next(self)?;
            // SAFETY: the cursor only yields present slots: initialised; shared borrow.
            Some((i, unsafe { (*slot).assume_init_ref() }))
        })
    }

    /// The slot of index `i`.
    ///
    /// # Safety
    ///
    /// `i < end` (so its chunk is allocated).
    #[inline]
    unsafe fn slot(&self, i: usize) -> *mut MaybeUninit<T> {
        let (k, at) = locate(i);
        debug_assert!(i < self.end, "index {i} past the end {}", self.end);
        // SAFETY: `i < end <= cap_end`, so chunk `k` is allocated (the type's invariant), and
        // `at < chunk_len(k)` by `locate`, inside the chunk's allocation.
        unsafe {
            let chunk = self.chunks.get_unchecked(k).unwrap_unchecked();
            chunk.as_ptr().add(at)
        }
    }

    /// Allocates the next chunk, which holds the indices from `cap_end` on.
    #[cold]
    #[inline(never)]
    fn add_chunk(&mut self) {
        let (k, _) = locate(self.cap_end);
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
        self.cap_end += chunk_len(k);
    }
}

/// A walk over the present elements, a bitmap word at a time: each word's 64 indices lie in
/// one chunk (chunks start at multiples of 64), so a word's slots are found from one base
/// pointer and an element costs a bit scan and an add — no chunk lookup.
#[derive(Debug)]
struct Cursor<T> {
    /// Word being walked, and its bits not yet yielded.
    word: usize,
    bits: u64,
    /// The slot of the word's first index.
    word_base: *mut MaybeUninit<T>,
    /// Current chunk, its first index and one past its last.
    chunk: usize,
    start: usize,
    stop: usize,
}

impl<T> Clone for Cursor<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Cursor<T> {}

impl<T> Cursor<T> {
    /// Before the first word and chunk (`word` and `chunk` wrap to 0 on the first step).
    const START: Self = Self {
        word: usize::MAX,
        bits: 0,
        word_base: core::ptr::null_mut(),
        chunk: usize::MAX,
        start: 0,
        stop: 0,
    };

    /// Moves to the next word with a present index, unless the current one has bits left.
    #[inline]
    fn fill<A: Allocator>(&mut self, v: &StableVector<T, A>) -> Option<()> {
        while self.bits == 0 {
            self.word = self.word.wrapping_add(1);
            self.bits = *v.occupied.get(self.word)?;
            let first = self.word * 64;
            if first >= self.stop {
                self.chunk = self.chunk.wrapping_add(1);
                self.start = self.stop;
                self.stop += chunk_len(self.chunk);
            }
            // SAFETY: `occupied` has words only for indices below `end <= cap_end`, so this
            // word's chunk is allocated; `first - start < chunk_len(chunk)`, and the chunk
            // starting at a multiple of 64 holds the word's 64 indices.
            self.word_base = unsafe {
                let base = v.chunks.get_unchecked(self.chunk).unwrap_unchecked();
                base.as_ptr().add(first - self.start)
            };
        }
        Some(())
    }

    /// The next present index and its slot.
    #[inline]
    fn next<A: Allocator>(
        &mut self,
        v: &StableVector<T, A>,
    ) -> Option<(usize, *mut MaybeUninit<T>)> {
        self.fill(v)?;
        let bit = self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        // SAFETY: the bit is set, so its index is below `end`, inside the word's chunk.
        Some((self.word * 64 + bit, unsafe { self.word_base.add(bit) }))
    }

    /// The rest of the current word, or the next word with a present index: the slot of the
    /// word's first index and the bits of its present ones (for `fold`, which then walks a
    /// full word as a slice).
    #[inline]
    fn next_word<A: Allocator>(
        &mut self,
        v: &StableVector<T, A>,
    ) -> Option<(*mut MaybeUninit<T>, u64)> {
        self.fill(v)?;
        Some((self.word_base, core::mem::take(&mut self.bits)))
    }
}

/// Folds `f` over the present elements of a word: as a slice when all 64 are present (the
/// common case of a dense vector, which the compiler can unroll), else bit by bit.
///
/// # Safety
///
/// `base` is the slot of a word's first index, `bits` marks present (initialised) slots of
/// that word, and the caller may hand out references to them as `f` does (each once).
#[inline(always)]
unsafe fn fold_word<T, B>(
    base: *mut MaybeUninit<T>,
    mut bits: u64,
    mut acc: B,
    f: &mut impl FnMut(B, *mut T) -> B,
) -> B {
    if bits == u64::MAX {
        for j in 0..64 {
            // SAFETY: all 64 slots of the word are present.
            acc = f(acc, unsafe { base.add(j) }.cast::<T>());
        }
        return acc;
    }
    while bits != 0 {
        let bit = bits.trailing_zeros() as usize;
        bits &= bits - 1;
        // SAFETY: the bit is set: the slot is present.
        acc = f(acc, unsafe { base.add(bit) }.cast::<T>());
    }
    acc
}

impl<T, A: Allocator> Drop for StableVector<T, A> {
    fn drop(&mut self) {
        /// Frees the chunks after the elements, also when an element's drop panics.
        struct Chunks<'a, T, A: Allocator>(&'a mut StableVector<T, A>);
        impl<T, A: Allocator> Drop for Chunks<'_, T, A> {
            fn drop(&mut self) {
                let v = &mut *self.0;
                for (k, chunk) in v.chunks.iter().enumerate() {
                    let Some(chunk) = chunk else { break };
                    let layout =
                        Layout::array::<MaybeUninit<T>>(chunk_len(k)).expect("as allocated");
                    if layout.size() != 0 {
                        // SAFETY: allocated by `add_chunk` from `v.alloc` with this layout;
                        // `clear` left no element in it.
                        unsafe { v.alloc.deallocate(chunk.cast(), layout) };
                    }
                }
            }
        }
        let chunks = Chunks(self);
        chunks.0.clear();
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
    at: Cursor<T>,
    left: usize,
}

impl<'a, T, A: Allocator> Iterator for Iter<'a, T, A> {
    type Item = &'a T;

    #[inline]
    fn next(&mut self) -> Option<&'a T> {
        let (_, slot) = self.at.next(self.v)?;
        self.left -= 1;
        // SAFETY: the cursor yields present slots: initialised; shared borrow for `'a`.
        Some(unsafe { (*slot).assume_init_ref() })
    }

    #[inline]
    fn fold<B, F: FnMut(B, &'a T) -> B>(mut self, mut acc: B, mut f: F) -> B {
        while let Some((base, bits)) = self.at.next_word(self.v) {
            // SAFETY: a word of present slots from the cursor; shared borrows for `'a`.
            acc = unsafe { fold_word(base, bits, acc, &mut |acc, p| f(acc, &*p)) };
        }
        acc
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
    at: Cursor<T>,
    left: usize,
}

impl<'a, T, A: Allocator> Iterator for IterMut<'a, T, A> {
    type Item = &'a mut T;

    #[inline]
    fn next(&mut self) -> Option<&'a mut T> {
        let (_, slot) = self.at.next(self.v)?;
        self.left -= 1;
        // SAFETY: each present slot is yielded once, so the `&mut` are disjoint; elements
        // never move, and the vector stays mutably borrowed for `'a`.
        Some(unsafe { (*slot).assume_init_mut() })
    }

    #[inline]
    fn fold<B, F: FnMut(B, &'a mut T) -> B>(mut self, mut acc: B, mut f: F) -> B {
        while let Some((base, bits)) = self.at.next_word(self.v) {
            // SAFETY: a word of present slots, each yielded once (the cursor moves past them),
            // so the `&mut` are disjoint; the vector stays mutably borrowed for `'a`.
            acc = unsafe { fold_word(base, bits, acc, &mut |acc, p| f(acc, &mut *p)) };
        }
        acc
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

    /// A panicking drop in `clear` or in the vector's drop: every other element is dropped
    /// once, none twice, the vector is empty after `clear` and its chunks are freed at drop.
    #[test]
    fn a_panicking_drop_drops_the_rest_once() {
        use std::panic::{catch_unwind, AssertUnwindSafe};
        struct D(Rc<Cell<usize>>, bool);
        impl Drop for D {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
                assert!(!self.1, "a user's drop panicked");
            }
        }
        let drops = Rc::new(Cell::new(0));
        let fill = |v: &mut StableVector<D>| {
            for i in 0..200 {
                v.push(D(drops.clone(), i == 70));
            }
        };
        let mut v: StableVector<D> = StableVector::new();
        fill(&mut v);
        assert!(catch_unwind(AssertUnwindSafe(|| v.clear())).is_err());
        assert_eq!(drops.get(), 200);
        assert!(v.is_empty() && v.iter().next().is_none());
        fill(&mut v);
        assert!(catch_unwind(AssertUnwindSafe(move || drop(v))).is_err());
        assert_eq!(drops.get(), 400, "each element dropped once");
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
    fn fold_and_next_agree_across_full_words_holes_and_chunks() {
        let mut v: StableVector<u64> = (0..1000).collect();
        for i in (0..1000).filter(|i| i % 7 == 3 || (130..200).contains(i)) {
            v.remove(i);
        }
        let by_next: std::vec::Vec<u64> = {
            let mut it = v.iter();
            core::iter::from_fn(|| it.next().copied()).collect()
        };
        let by_fold = v.iter().fold(std::vec::Vec::new(), |mut acc, &x| {
            acc.push(x);
            acc
        });
        assert_eq!(by_fold, by_next);
        assert_eq!(by_fold.len(), v.len());
        v.iter_mut().for_each(|x| *x += 1);
        assert_eq!(v.iter().sum::<u64>(), by_next.iter().map(|x| x + 1).sum());
    }

    #[test]
    #[should_panic(expected = "no element at index 3")]
    fn indexing_a_hole_panics_with_the_index() {
        let mut v: StableVector<u8> = (0..5).collect();
        v.remove(3);
        let _ = v[3];
    }
}
