//! # Layer: arenas
//!
//! [`Arena`]: bump allocation for everything a request (or a frame, or a query) needs, freed
//! all at once.
//!
//! Takes its chunks from the global allocator — or, made with [`Arena::with_backing`], as
//! `os::Region`s of that backing — and uses only `sync` (for the leases) and `os` (backed
//! chunks; under ASan, the free gap and rewound memory are poisoned); used by
//! `#[arena_scope]`'s generated code, through `typool::__private`.
//!
//! Nothing is freed one by one — [`Arena::reset`] frees it all and keeps the largest chunk for
//! the next round, so an arena that is reset and reused stops asking the system for memory
//! once it has seen its largest round.
//!
//! | file | what it is |
//! |---|---|
//! | `chunk` | chunks (global allocator or a backing) and the two cursors: the bump fast path, the slow path that moves to a new chunk |
//! | `drop_list` | placing a value: bare, or behind a header on the list that drops it, newest first |
//! | `rewind` | [`Checkpoint`], `scope`, `restore`, `reset`; why rewinding is sound |
//! | `allocator` | `&Arena` as an allocator-api2 `Allocator`; [`ArenaVec`] |
//! | `lease` | arena reuse for `#[arena_scope]`: per-thread and global lists, trimming policy |
//!
//! Invariants: `base <= ptr <= hi <= base + cap` within the current chunk (`EMPTY`/null
//! before the first); `ptr` is `MIN_ALIGN`-aligned; `[ptr, hi)` is free; the drop list's
//! invariant is in `drop_list.rs`.

mod allocator;
mod chunk;
mod drop_list;
pub(crate) mod lease;
mod rewind;

pub use allocator::ArenaVec;
pub use rewind::Checkpoint;

use crate::os::{Backing, Granted};
use chunk::{Chunk, DEFAULT_CAPACITY, EMPTY};
use core::alloc::Layout;
use core::cell::{Cell, RefCell};
use core::fmt;
use core::marker::PhantomData;
use core::mem;
use core::panic::UnwindSafe;
use core::ptr;
use drop_list::{drop_slice, DropHeader, DropSlice};
use std::sync::atomic::{AtomicU64, Ordering};

/// A bump arena: allocation moves a cursor; everything is freed at once by `reset`, `restore`,
/// the end of a `scope`, or drop, which also run the destructors of values that need one.
///
/// | allocate | fallible | with a closure |
/// |---|---|---|
/// | [`alloc`](Self::alloc) | [`try_alloc`](Self::try_alloc) | [`alloc_with`](Self::alloc_with) |
/// | [`alloc_slice_copy`](Self::alloc_slice_copy) | | [`alloc_slice_fill_with`](Self::alloc_slice_fill_with) |
/// | [`alloc_str`](Self::alloc_str) | | |
///
/// # Examples
///
/// ```
/// use typool::{Arena, ArenaVec};
///
/// let mut arena = Arena::with_capacity(1024);
/// let n = arena.alloc(41u64);
/// *n += 1;
/// let name = arena.alloc_str("typool");
/// let mut words: ArenaVec<&str> = ArenaVec::new_in(&arena);
/// words.extend(["bump", "and", "reset"]);
/// assert_eq!((*n, &*name, words.len()), (42, "typool", 3));
/// drop(words);
/// arena.reset();
/// assert_eq!(arena.stats().bytes_used, 0);
/// ```
///
/// # Threads
///
/// An arena is used by one thread at a time: it is `Send` (it may move, with its values), not
/// `Sync`. So what borrows it as `&Arena` — an [`ArenaVec`], the `arena` of a sync
/// `#[arena_scope]` — stays on its thread, and an `ArenaVec` kept across an `.await` makes the
/// future `!Send`; the compiler's error names `ArenaBorrowsStayOnOneThread`. The values it hands
/// out (`&mut T`, `&mut [T]`, and `ArenaVec::leak`'s slice) are as `Send` as `T` is.
pub struct Arena {
    /// The bump pointer: next free byte of the current chunk (see [`EMPTY`] before the first).
    ptr: Unshared<Cell<*mut u8>>,
    /// The top of the free gap: byte data (`str`, `[u8]`) is taken downwards from the end of
    /// the chunk, unrounded; everything else upwards from `ptr`. Both check `hi - ptr`.
    hi: Unshared<Cell<*mut u8>>,
    /// Size of the current chunk (0 before the first).
    cap: Unshared<Cell<usize>>,
    /// Start of the current chunk (null before the first).
    base: Unshared<Cell<*mut u8>>,
    /// Newest value needing drop.
    drops: Unshared<Cell<*mut DropHeader>>,
    /// Sequence number the next drop-list entry gets.
    next_seq: Unshared<Cell<u64>>,
    chunks: Unshared<RefCell<Vec<Chunk>>>,
    current: Unshared<Cell<usize>>,
    /// Bytes used in the chunks before the current one.
    used_before: Unshared<Cell<usize>>,
    resets: Unshared<Cell<u64>>,
    /// Leased by `#[arena_scope]`: its chunks count in `stats`' `typool_arena_bytes_reserved`.
    leased: Unshared<Cell<bool>>,
    first_capacity: usize,
    /// Where chunks come from (`Heap`: the global allocator).
    backing: Backing,
    id: u64,
    /// What makes the arena `!Sync`, on its own (the cells are wrapped in [`Unshared`]): a
    /// `&Arena` sent to another thread, or held across an `.await` in a `Send` future, is then
    /// one compile error naming [`ArenaBorrowsStayOnOneThread`] instead of one per cell.
    /// Values of any type may be stored, and their drops run wherever the arena drops: the
    /// arena is `Send` only because `alloc` takes `T: Send` (see [`Arena::alloc`]).
    _one_thread: PhantomData<Box<dyn ArenaBorrowsStayOnOneThread + Send + UnwindSafe>>,
}

// SAFETY: the arena owns its chunks outright, and every value it holds is `Send` (all
// allocating methods require it), so dropping them on another thread is fine. It is not `Sync`.
unsafe impl Send for Arena {}

/// Named in the compile error of an `&Arena` that would cross threads: an arena is used by one
/// thread at a time. It may move (`Arena: Send`), but what borrows it — an `ArenaVec`, an
/// `&Arena` — stays on its thread. In an `async fn`, finish such a value before the next
/// `.await`: `ArenaVec::leak`, in a block of its own, turns a vector into a slice that may
/// cross it (the arena still frees it).
trait ArenaBorrowsStayOnOneThread {}

/// One cell of an arena's state, `Sync` so that the compiler's "cannot be shared between
/// threads" error stops at `Arena`'s [`ArenaBorrowsStayOnOneThread`] marker instead of naming
/// every cell. Only ever a private field of `Arena`, which is `!Sync`.
struct Unshared<T>(T);

// SAFETY: an `Unshared` is only a private field of `Arena`, and no arena code hands a
// reference to one anywhere but to its own callee on the same thread. `Arena` is `!Sync` (its
// `_one_thread` marker), so a `&Unshared` is never on two threads at once: the `Sync` claimed
// here is never used to share the cell.
unsafe impl<T> Sync for Unshared<T> {}

impl<T> core::ops::Deref for Unshared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> core::ops::DerefMut for Unshared<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// What an arena holds. `bytes_used` and `bytes_reserved` are gauges; `resets` only grows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ArenaStats {
    /// Bytes handed out since the last reset (padding for alignment included).
    pub bytes_used: usize,
    /// Bytes of all chunks held.
    pub bytes_reserved: usize,
    /// Chunks held.
    pub chunks: usize,
    /// Times the arena was reset.
    pub resets: u64,
    /// What the kernel gave the chunks held for the arena's [`Backing`]: all of them
    /// together, `Heap` when they differ or before the first (see [`Granted`]).
    pub backing: Granted,
}

fn next_id() -> u64 {
    static IDS: AtomicU64 = AtomicU64::new(1);
    IDS.fetch_add(1, Ordering::Relaxed)
}

impl Arena {
    /// An empty arena whose first chunk (allocated on first use) holds 4 KiB.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// An empty arena whose first chunk holds at least `bytes`. Allocates nothing yet.
    pub fn with_capacity(bytes: usize) -> Self {
        Self::with_backing(bytes, Backing::Heap)
    }

    /// An empty arena whose first chunk holds at least `bytes`, with every chunk from
    /// `backing` instead of the global allocator. With [`Backing::HugePages`] chunks are whole
    /// 2 MiB pages. Allocates nothing yet; what the kernel granted is
    /// [`ArenaStats::backing`]. A chunk that cannot be had (say, a [`Backing::File`] whose
    /// file cannot be created) makes [`try_alloc`](Self::try_alloc) hand the value back and
    /// the `Allocator` methods return [`AllocError`](crate::AllocError).
    ///
    /// # Examples
    ///
    /// ```
    /// use typool::{Arena, Backing, Granted};
    ///
    /// let arena = Arena::with_backing(4 << 20, Backing::HugePages);
    /// let table = arena.alloc_slice_fill_with(100_000, |i| i as u32);
    /// assert_eq!(table[99_999], 99_999);
    /// // Huge pages where the kernel gives them; plain pages where not.
    /// assert!(matches!(
    ///     arena.stats().backing,
    ///     Granted::HugePages | Granted::TransparentHugePages | Granted::Heap
    /// ));
    /// ```
    pub fn with_backing(bytes: usize, backing: Backing) -> Self {
        Self {
            ptr: Unshared(Cell::new(EMPTY)),
            hi: Unshared(Cell::new(EMPTY)),
            cap: Unshared(Cell::new(0)),
            base: Unshared(Cell::new(ptr::null_mut())),
            drops: Unshared(Cell::new(ptr::null_mut())),
            next_seq: Unshared(Cell::new(0)),
            chunks: Unshared(RefCell::new(Vec::new())),
            current: Unshared(Cell::new(0)),
            used_before: Unshared(Cell::new(0)),
            resets: Unshared(Cell::new(0)),
            leased: Unshared(Cell::new(false)),
            first_capacity: bytes.max(64),
            backing,
            id: next_id(),
            _one_thread: PhantomData,
        }
    }

    /// Moves `value` into the arena.
    ///
    /// `T: Send` because the arena is `Send` and drops what it holds wherever it is dropped.
    ///
    /// # Out of memory
    ///
    /// If the system refuses a new chunk, the program ends through
    /// [`handle_alloc_error`](std::alloc::handle_alloc_error), as with `Box::new` (a
    /// `catch_unwind` does not stop it); [`try_alloc`](Self::try_alloc) hands the value back
    /// instead.
    #[inline]
    #[allow(clippy::mut_from_ref)] // each call hands out fresh, disjoint memory
    pub fn alloc<T: Send>(&self, value: T) -> &mut T {
        let p = self.alloc_layout_or_oom(Self::slot_of::<T>());
        // SAFETY: fresh arena memory laid out by `slot_of::<T>()`.
        unsafe { self.place(p, value) }
    }

    /// Moves `value` into the arena, or gives it back if the system refuses a new chunk.
    ///
    /// # Errors
    ///
    /// `Err(value)` when no memory could be had.
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub fn try_alloc<T: Send>(&self, value: T) -> Result<&mut T, T> {
        match self.alloc_layout(Self::slot_of::<T>()) {
            // SAFETY: fresh arena memory laid out by `slot_of::<T>()`.
            Some(p) => Ok(unsafe { self.place(p, value) }),
            None => Err(value),
        }
    }

    /// Allocates the result of `f`, written straight into arena memory taken first (bumpalo's
    /// `alloc_with`): a large `T` need not be built on the stack and then moved, where the
    /// optimiser can build it in place. `f` may allocate in the arena too. If `f` panics,
    /// nothing is lost: the memory taken is reused at the next rewind.
    ///
    /// # Panics
    ///
    /// If `f` panics.
    ///
    /// # Out of memory
    ///
    /// If the system refuses a new chunk, the program ends through
    /// [`handle_alloc_error`](std::alloc::handle_alloc_error), as with `Box::new` (a
    /// `catch_unwind` does not stop it); [`try_alloc`](Self::try_alloc) hands the value back
    /// instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use typool::Arena;
    ///
    /// let arena = Arena::new();
    /// let table = arena.alloc_with(|| [1u32; 1 << 14]);
    /// assert_eq!(table.iter().sum::<u32>(), 1 << 14);
    /// ```
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    pub fn alloc_with<T: Send>(&self, f: impl FnOnce() -> T) -> &mut T {
        let p = self.alloc_layout_or_oom(Self::slot_of::<T>());
        // SAFETY: fresh arena memory laid out by `slot_of::<T>()`.
        unsafe { self.place_with(p, f) }
    }

    /// [`alloc_with`](Self::alloc_with), or `f` back, not called, if the system refuses a new
    /// chunk.
    ///
    /// # Errors
    ///
    /// `Err(f)` when no memory could be had.
    ///
    /// # Examples
    ///
    /// ```
    /// use typool::Arena;
    ///
    /// let arena = Arena::new();
    /// let Ok(v) = arena.try_alloc_with(|| [3u8; 4096]) else { panic!("out of memory") };
    /// assert_eq!(v[4095], 3);
    /// ```
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    pub fn try_alloc_with<T: Send, F: FnOnce() -> T>(&self, f: F) -> Result<&mut T, F> {
        match self.alloc_layout(Self::slot_of::<T>()) {
            // SAFETY: fresh arena memory laid out by `slot_of::<T>()`.
            Some(p) => Ok(unsafe { self.place_with(p, f) }),
            None => Err(f),
        }
    }

    /// Copies `src` into the arena.
    ///
    /// # Out of memory
    ///
    /// If the system refuses a new chunk, the program ends through
    /// [`handle_alloc_error`](std::alloc::handle_alloc_error), as with `Box::new` (a
    /// `catch_unwind` does not stop it).
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub fn alloc_slice_copy<T: Copy + Send>(&self, src: &[T]) -> &mut [T] {
        let p = if mem::align_of::<T>() == 1 {
            self.alloc_bytes_or_oom(mem::size_of_val(src))
        } else {
            self.alloc_layout_or_oom(Layout::for_value(src))
        };
        let p = p.cast::<T>().as_ptr();
        // SAFETY: fresh, aligned memory for `src.len()` elements; `T: Copy`.
        unsafe {
            ptr::copy_nonoverlapping(src.as_ptr(), p, src.len());
            &mut *ptr::slice_from_raw_parts_mut(p, src.len())
        }
    }

    /// Allocates `len` elements, the `i`-th being `f(i)`. As with `Vec`, `f` is called `len`
    /// times even when `T` is zero-sized (the slice then takes no memory).
    ///
    /// # Panics
    ///
    /// If `len` elements of `T` would exceed `isize::MAX` bytes, with a message naming the
    /// request (as `Vec::with_capacity` does); or if `f` panics (the elements made so far are
    /// dropped, and the memory taken is reused at the next rewind).
    ///
    /// # Out of memory
    ///
    /// If the system refuses a new chunk, the program ends through
    /// [`handle_alloc_error`](std::alloc::handle_alloc_error), as with `Box::new` (a
    /// `catch_unwind` does not stop it).
    #[allow(clippy::mut_from_ref)]
    #[track_caller]
    pub fn alloc_slice_fill_with<T: Send>(
        &self,
        len: usize,
        mut f: impl FnMut(usize) -> T,
    ) -> &mut [T] {
        let layout = Layout::array::<T>(len).unwrap_or_else(|_| capacity_overflow::<T>(len));
        let p = self
            .alloc_layout(layout)
            .unwrap_or_else(|| out_of_memory(layout))
            .cast::<T>()
            .as_ptr();
        /// Drops the elements written so far if `f` panics.
        struct Partial<T>(*mut T, usize);
        impl<T> Drop for Partial<T> {
            fn drop(&mut self) {
                // SAFETY: the first `self.1` elements were written and are owned here.
                unsafe { ptr::drop_in_place(ptr::slice_from_raw_parts_mut(self.0, self.1)) }
            }
        }
        let mut done = Partial(p, 0);
        for i in 0..len {
            // SAFETY: `i < len`: inside the allocation, not yet written.
            unsafe { p.add(i).write(f(i)) };
            done.1 = i + 1;
        }
        mem::forget(done);
        if mem::needs_drop::<T>() && len > 0 {
            let node = self
                .alloc_layout(Layout::new::<DropSlice<T>>())
                .unwrap_or_else(|| out_of_memory(Layout::new::<DropSlice<T>>()))
                .cast::<DropSlice<T>>()
                .as_ptr();
            // SAFETY: fresh memory for the node; it takes over the elements' drop.
            unsafe {
                node.write(DropSlice {
                    header: self.header(drop_slice::<T>),
                    ptr: p,
                    len,
                });
                self.link(node.cast());
            }
        }
        // SAFETY: `len` elements were written; the borrow lasts no longer than `&self`.
        unsafe { &mut *ptr::slice_from_raw_parts_mut(p, len) }
    }

    /// Copies `s` into the arena.
    ///
    /// # Out of memory
    ///
    /// If the system refuses a new chunk, the program ends through
    /// [`handle_alloc_error`](std::alloc::handle_alloc_error), as with `Box::new` (a
    /// `catch_unwind` does not stop it).
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub fn alloc_str(&self, s: &str) -> &mut str {
        let bytes = self.alloc_slice_copy(s.as_bytes());
        // SAFETY: a byte-for-byte copy of a `str` is UTF-8.
        unsafe { core::str::from_utf8_unchecked_mut(bytes) }
    }

    /// What the arena holds now.
    pub fn stats(&self) -> ArenaStats {
        let chunks = self.chunks.borrow();
        ArenaStats {
            bytes_used: self.used_before.get() + self.used_in_chunk(),
            bytes_reserved: chunks.iter().map(|c| c.cap).sum(),
            chunks: chunks.len(),
            resets: self.resets.get(),
            backing: Granted::together(chunks.iter().map(Chunk::granted)).unwrap_or_default(),
        }
    }
}

/// A slice request past `isize::MAX` bytes: a panic that names it, as `Vec` gives.
#[cold]
#[track_caller]
fn capacity_overflow<T>(len: usize) -> ! {
    panic!(
        "Arena: capacity overflow: {len} elements of {} ({} bytes each) exceed isize::MAX bytes",
        core::any::type_name::<T>(),
        core::mem::size_of::<T>()
    )
}

#[cold]
#[track_caller]
fn out_of_memory(layout: Layout) -> ! {
    std::alloc::handle_alloc_error(layout)
}

impl Default for Arena {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Arena {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Arena")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // Chunks are freed even if a drop panics.
        self.run_drops_then(0, |arena| {
            let leased = arena.leased.get();
            for c in arena.chunks.get_mut().drain(..) {
                // SAFETY: allocated in `grow`; `&mut self`: nothing refers in.
                unsafe { c.free(leased) };
            }
        });
    }
}

#[cfg(all(test, not(typool_loom)))]
mod tests;
