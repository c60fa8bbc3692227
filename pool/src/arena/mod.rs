//! [`Arena`]: bump allocation for everything a request (or a frame, or a query) needs, freed
//! all at once.
//!
//! # Design
//!
//! Memory comes in chunks from the global allocator; the first is sized by
//! [`Arena::with_capacity`] and each next one is twice the last (or as large as the request
//! that did not fit). Allocation bumps an offset in the current chunk: an add, an align and a
//! compare on the fast path; a new chunk on the slow one. Nothing is freed one by one —
//! [`Arena::reset`] frees it all and keeps the largest chunk for the next round, so an arena
//! that is reset and reused stops asking the system for memory once it has seen its largest
//! round. Sizes are rounded up to 8 bytes (as `malloc` rounds to 16), which keeps the bump
//! pointer aligned for every common type and the fast path at a handful of instructions;
//! byte data (`alloc_str`, `alloc_slice_copy` of bytes) is taken from the other end of the
//! chunk's free gap, unrounded, so strings cost no padding.
//!
//! Values that need `Drop` are not leaked: each is allocated behind a small header linking it
//! into the arena's *drop list* (newest first), which [`Arena::reset`], [`Arena::restore`],
//! [`Arena::scope`] and the arena's own drop run — newest first, so in reverse order of
//! allocation. Values that need no drop have no header and cost nothing extra.
//!
//! # Soundness of rewinding
//!
//! [`Arena::restore`] and [`Arena::reset`] take `&mut self`, so no reference into the arena is
//! alive when they run (the borrow checker sees to it); and the allocator trait is implemented
//! for `&Arena`, through which neither can be reached (the unsoundness that bump-scope issue
//! #137 describes cannot arise). A [`Checkpoint`] records the chunk, the offset and the drop
//! list's *sequence number* at its creation; restoring drops every value registered after it,
//! whatever happened in between, and checks that the checkpoint belongs to this arena and still
//! names a chunk it has, so a stale checkpoint can waste memory but never corrupt it.
//!
//! Invariants: `base <= ptr <= hi <= base + cap` within the current chunk (`EMPTY`/null
//! before the first); `ptr` is `MIN_ALIGN`-aligned; `[ptr, hi)` is free; every drop-list entry's value is
//! initialised and lies below the current position (in chunk order); entries are in strictly
//! decreasing sequence order from the head.

pub(crate) mod lease;

use allocator_api2::alloc::{AllocError, Allocator};
use core::alloc::Layout;
use core::cell::{Cell, RefCell};
use core::fmt;
use core::marker::PhantomData;
use core::mem;
use core::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU64, Ordering};

/// Alignment of every chunk; larger alignments are reached by padding inside the chunk.
const CHUNK_ALIGN: usize = 16;
/// The bump pointer's alignment at all times: every size is rounded up to it.
const MIN_ALIGN: usize = 8;

/// `size` rounded up to [`MIN_ALIGN`].
#[inline(always)]
const fn round(size: usize) -> usize {
    (size + MIN_ALIGN - 1) & !(MIN_ALIGN - 1)
}
/// First chunk when none is asked for.
const DEFAULT_CAPACITY: usize = 4096;
/// The bump pointer of an arena with no chunk: a dangling address aligned to 4096, so that
/// zero-size requests of alignment up to 4096 succeed without a chunk and all others take the
/// slow path (there are no bytes between it and itself).
const EMPTY: *mut u8 = ptr::without_provenance_mut(4096);

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
pub struct Arena {
    /// The bump pointer: next free byte of the current chunk (see [`EMPTY`] before the first).
    ptr: Cell<*mut u8>,
    /// The top of the free gap: byte data (`str`, `[u8]`) is taken downwards from the end of
    /// the chunk, unrounded; everything else upwards from `ptr`. Both check `hi - ptr`.
    hi: Cell<*mut u8>,
    /// Size of the current chunk (0 before the first).
    cap: Cell<usize>,
    /// Start of the current chunk (null before the first).
    base: Cell<*mut u8>,
    /// Newest value needing drop.
    drops: Cell<*mut DropHeader>,
    /// Sequence number the next drop-list entry gets.
    next_seq: Cell<u64>,
    chunks: RefCell<Vec<Chunk>>,
    current: Cell<usize>,
    /// Bytes used in the chunks before the current one.
    used_before: Cell<usize>,
    resets: Cell<u64>,
    first_capacity: usize,
    id: u64,
    /// Values of any type may be stored, and their drops run wherever the arena drops: the
    /// arena is `Send` only because `alloc` takes `T: Send` (see [`Arena::alloc`]).
    _not_sync: PhantomData<Cell<()>>,
}

// SAFETY: the arena owns its chunks outright, and every value it holds is `Send` (all
// allocating methods require it), so dropping them on another thread is fine. It is not `Sync`.
unsafe impl Send for Arena {}

#[derive(Debug)]
struct Chunk {
    ptr: NonNull<u8>,
    cap: usize,
}

impl Chunk {
    fn layout(cap: usize) -> Layout {
        Layout::from_size_align(cap, CHUNK_ALIGN).expect("chunk sizes are checked on creation")
    }
}

/// The header in front of every value that needs drop.
#[repr(C)]
struct DropHeader {
    next: *mut DropHeader,
    seq: u64,
    drop: unsafe fn(*mut DropHeader),
}

#[repr(C)]
struct DropOne<T> {
    header: DropHeader,
    value: T,
}

#[repr(C)]
struct DropSlice<T> {
    header: DropHeader,
    ptr: *mut T,
    len: usize,
}

/// # Safety
///
/// `h` heads a live `DropOne<T>` whose value is initialised and dropped nowhere else.
unsafe fn drop_one<T>(h: *mut DropHeader) {
    // SAFETY: by the contract, `h` is the header of a `DropOne<T>` (header first, repr(C)).
    unsafe { ptr::drop_in_place(ptr::addr_of_mut!((*h.cast::<DropOne<T>>()).value)) }
}

/// # Safety
///
/// `h` heads a live `DropSlice<T>` whose elements are initialised and dropped nowhere else.
unsafe fn drop_slice<T>(h: *mut DropHeader) {
    // SAFETY: by the contract, `h` is the header of a `DropSlice<T>` describing `len`
    // initialised elements at `ptr`.
    unsafe {
        let s = &*h.cast::<DropSlice<T>>();
        ptr::drop_in_place(ptr::slice_from_raw_parts_mut(s.ptr, s.len));
    }
}

/// A position to come back to with [`Arena::restore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    arena: u64,
    chunk: usize,
    offset: usize,
    /// `hi` as an offset from the chunk's start.
    top: usize,
    used_before: usize,
    seq: u64,
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
        Self {
            ptr: Cell::new(EMPTY),
            hi: Cell::new(EMPTY),
            cap: Cell::new(0),
            base: Cell::new(ptr::null_mut()),
            drops: Cell::new(ptr::null_mut()),
            next_seq: Cell::new(0),
            chunks: RefCell::new(Vec::new()),
            current: Cell::new(0),
            used_before: Cell::new(0),
            resets: Cell::new(0),
            first_capacity: bytes.max(64),
            id: next_id(),
            _not_sync: PhantomData,
        }
    }

    /// Moves `value` into the arena.
    ///
    /// `T: Send` because the arena is `Send` and drops what it holds wherever it is dropped.
    ///
    /// # Panics
    ///
    /// If the system refuses a new chunk (see [`try_alloc`](Self::try_alloc)).
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

    /// What one `T` takes: the bare value, or the value behind a drop-list header if it
    /// needs drop.
    const fn slot_of<T>() -> Layout {
        if mem::needs_drop::<T>() {
            Layout::new::<DropOne<T>>()
        } else {
            Layout::new::<T>()
        }
    }

    /// Writes `value` at `p`, linking it into the drop list if it needs drop.
    ///
    /// # Safety
    ///
    /// `p` is fresh arena memory laid out by [`Self::slot_of::<T>`].
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    unsafe fn place<T>(&self, p: NonNull<u8>, value: T) -> &mut T {
        if !mem::needs_drop::<T>() {
            let p = p.cast::<T>().as_ptr();
            // SAFETY: memory for one `T`, aligned (the caller's contract); it is ours until a
            // rewind, which needs `&mut self` and so ends this borrow first.
            return unsafe {
                p.write(value);
                &mut *p
            };
        }
        let node = p.cast::<DropOne<T>>().as_ptr();
        // SAFETY: memory for one `DropOne<T>` (the caller's contract); once written and
        // linked, the drop list owns the value's drop, and the reference lives no longer than
        // `&self`.
        unsafe {
            node.write(DropOne {
                header: self.header(drop_one::<T>),
                value,
            });
            self.link(node.cast());
            &mut (*node).value
        }
    }

    /// Allocates the result of `f`, built in place where the optimiser can.
    ///
    /// # Panics
    ///
    /// If the system refuses a new chunk.
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub fn alloc_with<T: Send>(&self, f: impl FnOnce() -> T) -> &mut T {
        self.alloc(f())
    }

    /// Copies `src` into the arena.
    ///
    /// # Panics
    ///
    /// If the system refuses a new chunk.
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

    /// Allocates `len` elements, the `i`-th being `f(i)`.
    ///
    /// # Panics
    ///
    /// If the system refuses a new chunk, or if `f` panics (the elements made so far are
    /// dropped).
    #[allow(clippy::mut_from_ref)]
    pub fn alloc_slice_fill_with<T: Send>(
        &self,
        len: usize,
        mut f: impl FnMut(usize) -> T,
    ) -> &mut [T] {
        let layout = Layout::array::<T>(len).unwrap_or_else(|_| out_of_memory(Layout::new::<T>()));
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
    /// # Panics
    ///
    /// If the system refuses a new chunk.
    #[inline]
    #[allow(clippy::mut_from_ref)]
    pub fn alloc_str(&self, s: &str) -> &mut str {
        let bytes = self.alloc_slice_copy(s.as_bytes());
        // SAFETY: a byte-for-byte copy of a `str` is UTF-8.
        unsafe { core::str::from_utf8_unchecked_mut(bytes) }
    }

    /// Runs `f` with the arena and rewinds it afterwards — also if `f` panics: everything `f`
    /// allocated is dropped and its memory reused.
    pub fn scope<R>(&mut self, f: impl FnOnce(&Arena) -> R) -> R {
        struct Rewind<'a>(&'a mut Arena, Checkpoint);
        impl Drop for Rewind<'_> {
            fn drop(&mut self) {
                self.0.restore(self.1);
            }
        }
        let cp = self.checkpoint();
        let guard = Rewind(self, cp);
        f(guard.0)
    }

    /// The current position, to [`restore`](Self::restore) later.
    #[inline]
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            arena: self.id,
            chunk: self.current.get(),
            offset: self.up_bytes(),
            // Before the first chunk, the gap will end where that chunk does.
            top: if self.base.get().is_null() {
                usize::MAX
            } else {
                self.cap.get() - self.down_bytes()
            },
            used_before: self.used_before.get(),
            seq: self.next_seq.get(),
        }
    }

    /// Drops every value allocated since `cp` (newest first) and reuses their memory.
    ///
    /// A stale checkpoint — one taken after a position the arena was later rewound to, or
    /// before a [`reset`](Self::reset) — is safe: what was allocated after it is dropped, and
    /// the arena rewinds as far as it still can.
    ///
    /// # Panics
    ///
    /// If `cp` was taken on another arena.
    pub fn restore(&mut self, cp: Checkpoint) {
        assert_eq!(
            cp.arena, self.id,
            "Arena::restore: the checkpoint belongs to another arena"
        );
        self.run_drops(cp.seq);
        let chunks = self.chunks.get_mut();
        if let Some(chunk) = chunks.get(cp.chunk) {
            let top = cp.top.min(chunk.cap);
            if cp.offset <= top {
                self.enter(cp.chunk, cp.offset, Some(top));
                self.used_before.set(cp.used_before);
            }
        }
        // Otherwise the checkpoint is stale — taken after a position the arena has since been
        // rewound to, and its chunk freed since — so the current position is already before
        // it: stay.
    }

    /// Drops everything and frees every chunk but the largest, which the next round reuses.
    #[inline]
    pub fn reset(&mut self) {
        self.resets.set(self.resets.get() + 1);
        self.used_before.set(0);
        // The steady state of a reused arena: one chunk, nothing to drop.
        if self.drops.get().is_null() && self.chunks.get_mut().len() <= 1 {
            let base = self.base.get();
            if !base.is_null() {
                self.ptr.set(base);
                // SAFETY: `cap` is the current chunk's length.
                self.hi.set(unsafe { base.add(self.cap.get()) });
            }
            return;
        }
        self.reset_slow();
    }

    #[cold]
    #[inline(never)]
    fn reset_slow(&mut self) {
        self.run_drops(0);
        let chunks = self.chunks.get_mut();
        if let Some(largest) = (0..chunks.len()).max_by_key(|&i| chunks[i].cap) {
            let keep = chunks.swap_remove(largest);
            for c in chunks.drain(..) {
                // SAFETY: allocated in `grow` with this layout; no reference can be alive
                // (`&mut self`), and no value in it needs drop any more.
                unsafe { std::alloc::dealloc(c.ptr.as_ptr(), Chunk::layout(c.cap)) };
            }
            chunks.push(keep);
            self.enter(0, 0, None);
        }
    }

    /// Frees chunks until at most `bytes` are reserved, keeping the largest (the reuse lists'
    /// trimming policy). Call after [`reset`](Self::reset).
    #[inline]
    pub(crate) fn shrink_to(&mut self, bytes: usize) {
        if self.cap.get() <= bytes && self.chunks.get_mut().len() <= 1 {
            return;
        }
        self.shrink_slow(bytes);
    }

    #[cold]
    #[inline(never)]
    fn shrink_slow(&mut self, bytes: usize) {
        let chunks = self.chunks.get_mut();
        if chunks.iter().map(|c| c.cap).sum::<usize>() <= bytes {
            return;
        }
        for c in chunks.drain(..) {
            // SAFETY: allocated in `grow`; the arena is reset, so nothing refers into it.
            unsafe { std::alloc::dealloc(c.ptr.as_ptr(), Chunk::layout(c.cap)) };
        }
        self.base.set(ptr::null_mut());
        self.ptr.set(EMPTY);
        self.hi.set(EMPTY);
        self.cap.set(0);
        self.current.set(0);
    }

    /// What the arena holds now.
    pub fn stats(&self) -> ArenaStats {
        let chunks = self.chunks.borrow();
        ArenaStats {
            bytes_used: self.used_before.get() + self.used_in_chunk(),
            bytes_reserved: chunks.iter().map(|c| c.cap).sum(),
            chunks: chunks.len(),
            resets: self.resets.get(),
        }
    }

    /// Bump-allocates `layout` in the current chunk, if it fits.
    ///
    /// The bump pointer is always [`MIN_ALIGN`]-aligned and sizes are rounded up to it, so
    /// for the common alignments the padding folds away at compile time.
    #[inline(always)]
    fn bump(&self, layout: Layout) -> Option<NonNull<u8>> {
        let p = self.ptr.get();
        let pad = if layout.align() <= MIN_ALIGN {
            0
        } else {
            p.addr().wrapping_neg() & (layout.align() - 1)
        };
        // No overflow: `Layout` keeps `size + align - 1` within `isize::MAX`.
        let need = pad + round(layout.size());
        if need > self.hi.get().addr() - p.addr() {
            return None;
        }
        // SAFETY: `p + need` stays within the current chunk (or, for the empty arena, is `p`
        // itself with `need == 0`), so both offsets are in bounds of one allocation; chunk
        // pointers and `EMPTY` are non-null.
        unsafe {
            let at = p.add(pad);
            self.ptr.set(at.add(need - pad));
            Some(NonNull::new_unchecked(at))
        }
    }

    /// Bump-allocates `layout`; `None` only if the system refuses a chunk.
    #[inline(always)]
    pub(crate) fn alloc_layout(&self, layout: Layout) -> Option<NonNull<u8>> {
        match self.bump(layout) {
            Some(p) => Some(p),
            None => self.alloc_slow(layout),
        }
    }

    /// Bump-allocates `layout`, ending the program (like `Box`) if the system refuses.
    #[inline(always)]
    fn alloc_layout_or_oom(&self, layout: Layout) -> NonNull<u8> {
        match self.bump(layout) {
            Some(p) => p,
            None => self.alloc_slow_or_oom(layout),
        }
    }

    #[cold]
    #[inline(never)]
    fn alloc_slow_or_oom(&self, layout: Layout) -> NonNull<u8> {
        self.alloc_slow(layout)
            .unwrap_or_else(|| out_of_memory(layout))
    }

    /// Takes `len` bytes of byte data (alignment 1) from the top of the free gap, unrounded.
    #[inline(always)]
    fn bump_down(&self, len: usize) -> Option<NonNull<u8>> {
        let h = self.hi.get();
        if len > h.addr() - self.ptr.get().addr() {
            return None;
        }
        // SAFETY: `h - len >= ptr`, inside the current chunk's free gap (or `h` itself with
        // `len == 0` for the empty arena); chunk pointers and `EMPTY` are non-null.
        unsafe {
            let at = h.sub(len);
            self.hi.set(at);
            Some(NonNull::new_unchecked(at))
        }
    }

    /// `len` bytes of alignment 1, from the top; ends the program if the system refuses.
    #[inline(always)]
    fn alloc_bytes_or_oom(&self, len: usize) -> NonNull<u8> {
        match self.bump_down(len) {
            Some(p) => p,
            None => self.alloc_bytes_slow(len),
        }
    }

    #[cold]
    #[inline(never)]
    fn alloc_bytes_slow(&self, len: usize) -> NonNull<u8> {
        let layout =
            Layout::from_size_align(len, 1).unwrap_or_else(|_| out_of_memory(Layout::new::<u8>()));
        if self.make_room(layout).is_none() {
            out_of_memory(layout);
        }
        self.bump_down(len).expect("a fresh chunk fits the request")
    }

    /// Bytes taken upwards in the current chunk.
    fn up_bytes(&self) -> usize {
        let base = self.base.get();
        if base.is_null() {
            0
        } else {
            self.ptr.get().addr() - base.addr()
        }
    }

    /// Bytes taken downwards in the current chunk.
    fn down_bytes(&self) -> usize {
        let base = self.base.get();
        if base.is_null() {
            0
        } else {
            base.addr() + self.cap.get() - self.hi.get().addr()
        }
    }

    /// Bytes used in the current chunk, both ways.
    fn used_in_chunk(&self) -> usize {
        self.up_bytes() + self.down_bytes()
    }

    #[cold]
    #[inline(never)]
    fn alloc_slow(&self, layout: Layout) -> Option<NonNull<u8>> {
        self.make_room(layout)?;
        self.alloc_layout(layout)
    }

    /// Moves on to a kept chunk (after a restore or reset) or a new one that fits `layout`.
    fn make_room(&self, layout: Layout) -> Option<()> {
        let need = layout.size().checked_add(layout.align())?;
        let next = self.current.get() + usize::from(!self.base.get().is_null());
        let reuse = self
            .chunks
            .borrow()
            .get(next)
            .is_some_and(|c| c.cap >= need);
        if reuse {
            self.used_before
                .set(self.used_before.get() + self.used_in_chunk());
            self.enter(next, 0, None);
        } else {
            self.grow(need)?;
        }
        Some(())
    }

    /// Allocates a chunk of at least `need` bytes and makes it current, placed right after
    /// the current one (chunks past it, kept by a restore, are too small and are freed).
    fn grow(&self, need: usize) -> Option<()> {
        let mut chunks = self.chunks.borrow_mut();
        let last = chunks.get(self.current.get()).map_or(0, |c| c.cap);
        let cap = need
            .max(last.saturating_mul(2))
            .max(self.first_capacity)
            .checked_next_multiple_of(CHUNK_ALIGN)?;
        let layout = Layout::from_size_align(cap, CHUNK_ALIGN).ok()?;
        // SAFETY: `cap > 0`.
        let ptr = NonNull::new(unsafe { std::alloc::alloc(layout) })?;
        let at = if self.base.get().is_null() {
            0
        } else {
            self.current.get() + 1
        };
        for c in chunks.drain(at..) {
            // SAFETY: chunks past the current one hold nothing alive (everything allocated
            // in them was rewound), and were allocated here with this layout.
            unsafe { std::alloc::dealloc(c.ptr.as_ptr(), Chunk::layout(c.cap)) };
        }
        if !self.base.get().is_null() {
            self.used_before
                .set(self.used_before.get() + self.used_in_chunk());
        }
        chunks.push(Chunk { ptr, cap });
        drop(chunks);
        self.enter(at, 0, None);
        Some(())
    }

    /// Makes chunk `index` current with `offset` bytes taken upwards and the free gap ending
    /// at `top` (the chunk's end when `None`); `offset <= top <= cap`.
    fn enter(&self, index: usize, offset: usize, top: Option<usize>) {
        let chunks = self.chunks.borrow();
        let Chunk { ptr, cap } = chunks[index];
        let top = top.unwrap_or(cap);
        debug_assert!(
            offset <= top && top <= cap,
            "offsets {offset}..{top} outside the chunk's {cap} bytes"
        );
        self.current.set(index);
        self.base.set(ptr.as_ptr());
        self.cap.set(cap);
        // SAFETY: `offset <= top <= cap` and `cap` is the chunk's length: all in bounds.
        unsafe {
            self.ptr.set(ptr.as_ptr().add(offset));
            self.hi.set(ptr.as_ptr().add(top));
        }
    }

    fn header(&self, drop: unsafe fn(*mut DropHeader)) -> DropHeader {
        let seq = self.next_seq.get();
        self.next_seq.set(seq + 1);
        DropHeader {
            next: self.drops.get(),
            seq,
            drop,
        }
    }

    /// # Safety
    ///
    /// `h` is a fully written header whose `next` is the current head.
    unsafe fn link(&self, h: *mut DropHeader) {
        self.drops.set(h);
    }

    /// Drops, newest first, every value registered at or after sequence number `seq`.
    fn run_drops(&mut self, seq: u64) {
        loop {
            let h = self.drops.get();
            // SAFETY: list entries are live headers (module invariant).
            if h.is_null() || unsafe { (*h).seq } < seq {
                return;
            }
            // SAFETY: as above; unlinking first means a panicking drop cannot run twice.
            unsafe {
                self.drops.set((*h).next);
                ((*h).drop)(h);
            }
        }
    }
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
        self.run_drops(0);
        for c in self.chunks.get_mut().drain(..) {
            // SAFETY: allocated in `grow` with this layout; `&mut self`: nothing refers in.
            unsafe { std::alloc::dealloc(c.ptr.as_ptr(), Chunk::layout(c.cap)) };
        }
    }
}

/// `&Arena` is an allocator: `ArenaVec`, hashbrown and other allocator-api2 collections can
/// live in it. Freeing the most recent allocation gives its memory back; growing or shrinking
/// it happens in place. Nothing else is freed before the arena is reset — which this impl
/// cannot do.
// SAFETY: memory handed out stays valid and unaliased until the arena is reset, restored or
// dropped, all of which need `&mut Arena` or ownership, impossible while a `&Arena` (the
// allocator) is borrowed; copies of `&Arena` share one arena, as the trait requires.
unsafe impl Allocator for &Arena {
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let p = self.alloc_layout(layout).ok_or(AllocError)?;
        Ok(NonNull::slice_from_raw_parts(p, layout.size()))
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if self.is_top(ptr, layout.size()) {
            self.ptr.set(ptr.as_ptr());
        }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        let fits = self.hi.get().addr() - ptr.as_ptr().addr() >= round(new.size());
        if self.is_top(ptr, old.size()) && ptr.as_ptr().addr() % new.align() == 0 && fits {
            // SAFETY: `ptr + round(new.size())` is within the current chunk (checked).
            self.ptr.set(unsafe { ptr.as_ptr().add(round(new.size())) });
            return Ok(NonNull::slice_from_raw_parts(ptr, new.size()));
        }
        let fresh = self.allocate(new)?;
        // SAFETY: `old.size()` bytes of `ptr` are readable (the trait's contract) and `fresh`
        // is a distinct, larger allocation.
        unsafe { ptr::copy_nonoverlapping(ptr.as_ptr(), fresh.cast::<u8>().as_ptr(), old.size()) };
        Ok(fresh)
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if ptr.as_ptr().addr() % new.align() != 0 {
            let fresh = self.allocate(new)?;
            // SAFETY: `new.size() <= old.size()` bytes are readable; `fresh` is distinct.
            unsafe {
                ptr::copy_nonoverlapping(ptr.as_ptr(), fresh.cast::<u8>().as_ptr(), new.size())
            };
            return Ok(fresh);
        }
        if self.is_top(ptr, old.size()) {
            // SAFETY: `round(new.size()) <= round(old.size())`: inside the allocation.
            self.ptr.set(unsafe { ptr.as_ptr().add(round(new.size())) });
        }
        Ok(NonNull::slice_from_raw_parts(ptr, new.size()))
    }
}

impl Arena {
    /// Whether `ptr..ptr + size` is the most recent allocation of the current chunk.
    fn is_top(&self, ptr: NonNull<u8>, size: usize) -> bool {
        !self.base.get().is_null()
            && ptr.as_ptr().addr().wrapping_add(round(size)) == self.ptr.get().addr()
    }
}

/// A vector in an arena: `ArenaVec::new_in(&arena)`.
pub type ArenaVec<'a, T> = allocator_api2::vec::Vec<T, &'a Arena>;

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;
    use std::rc::Rc;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    #[derive(Debug)]
    struct Noisy(Arc<AtomicUsize>, u32, Arc<std::sync::Mutex<Vec<u32>>>);
    impl Drop for Noisy {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
            self.2.lock().unwrap().push(self.1);
        }
    }

    #[test]
    fn values_are_aligned_distinct_and_kept() {
        let arena = Arena::with_capacity(64);
        let mut refs: Vec<&mut u64> = (0..1000).map(|i| arena.alloc(i)).collect();
        let big = arena.alloc_with(|| [7u8; 5000]);
        #[repr(align(256))]
        struct Aligned(u8);
        let a = arena.alloc(Aligned(3));
        assert_eq!(core::ptr::from_ref(a).addr() % 256, 0);
        assert_eq!(a.0, 3);
        assert!(big.iter().all(|&b| b == 7));
        for (i, r) in refs.iter_mut().enumerate() {
            assert_eq!(**r, i as u64);
            **r += 1;
        }
        assert!(arena.stats().chunks > 1);
    }

    #[test]
    fn drops_run_newest_first_at_reset_restore_scope_and_drop() {
        let count = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let noisy = |i| Noisy(count.clone(), i, order.clone());
        let mut arena = Arena::with_capacity(128);
        arena.alloc(noisy(1));
        arena.alloc_slice_fill_with(3, |i| noisy(10 + i as u32));
        arena.alloc(noisy(2));
        arena.reset();
        assert_eq!(count.load(Ordering::Relaxed), 5);
        assert_eq!(*order.lock().unwrap(), [2, 10, 11, 12, 1], "newest first");

        let cp = arena.checkpoint();
        arena.alloc(noisy(3));
        let inner = arena.checkpoint();
        arena.alloc(noisy(4));
        arena.restore(inner);
        assert_eq!(count.load(Ordering::Relaxed), 6);
        arena.restore(cp);
        assert_eq!(count.load(Ordering::Relaxed), 7);

        let r = arena.scope(|a| {
            a.alloc(noisy(5));
            a.alloc(17u32);
            42
        });
        assert_eq!((r, count.load(Ordering::Relaxed)), (42, 8));
        arena.alloc(noisy(6));
        drop(arena);
        assert_eq!(count.load(Ordering::Relaxed), 9);
    }

    #[test]
    fn a_panic_in_a_scope_still_rewinds() {
        let count = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut arena = Arena::new();
        let before = arena.stats().bytes_used;
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            arena.scope(|a| {
                a.alloc(Noisy(count.clone(), 1, order.clone()));
                panic!("handler failed");
            })
        }));
        assert!(caught.is_err());
        assert_eq!(count.load(Ordering::Relaxed), 1);
        assert_eq!(arena.stats().bytes_used, before);
    }

    #[test]
    fn a_panic_while_filling_a_slice_drops_what_was_made() {
        let count = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let arena = Arena::new();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            arena.alloc_slice_fill_with(5, |i| {
                assert!(i < 3, "third element fails");
                Noisy(count.clone(), i as u32, order.clone())
            });
        }));
        assert!(caught.is_err());
        assert_eq!(count.load(Ordering::Relaxed), 3);
        drop(arena);
        assert_eq!(count.load(Ordering::Relaxed), 3, "not dropped twice");
    }

    #[test]
    fn reset_keeps_the_largest_chunk_and_stops_allocating() {
        let mut arena = Arena::with_capacity(64);
        for round in 0..5 {
            for i in 0..2000u32 {
                arena.alloc(i);
            }
            let s = arena.stats();
            assert_eq!(
                s.bytes_used,
                2000 * MIN_ALIGN,
                "round {round}: sizes round up to 8"
            );
            arena.reset();
            if round > 0 {
                assert_eq!(
                    arena.stats().chunks,
                    1,
                    "one chunk holds a whole round after the first"
                );
            }
        }
        let s = arena.stats();
        assert_eq!((s.bytes_used, s.resets, s.chunks), (0, 5, 1));
    }

    #[test]
    fn allocator_reclaims_the_top_and_grows_in_place() {
        let arena = Arena::with_capacity(1 << 16);
        let mut v: ArenaVec<u32> = ArenaVec::new_in(&arena);
        for i in 0..1000 {
            v.push(i);
        }
        assert_eq!(v.iter().sum::<u32>(), 999 * 500);
        let used = arena.stats().bytes_used;
        assert!(
            used < 1000 * 4 * 2,
            "the vector grew in place: {used} bytes used"
        );
        drop(v);
        assert_eq!(
            arena.stats().bytes_used,
            0,
            "freeing the top allocation reclaims it"
        );
        let strs = arena.alloc_str("héllo");
        assert_eq!(strs, "héllo");
    }

    #[test]
    fn stale_checkpoints_drop_what_came_after_and_corrupt_nothing() {
        let count = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let noisy = |i| Noisy(count.clone(), i, order.clone());
        let mut arena = Arena::with_capacity(64);
        arena.alloc(noisy(0));
        let early = arena.checkpoint();
        arena.alloc_slice_fill_with(100, |_| 1u64); // a second chunk
        let late = arena.checkpoint();
        arena.restore(early);
        let kept = arena.alloc(noisy(1)) as *const Noisy;
        arena.alloc_slice_fill_with(10_000, |_| 2u64); // frees and replaces the second chunk
        arena.alloc(noisy(2));
        arena.restore(late); // stale: its chunk is gone
        assert_eq!(
            count.load(Ordering::Relaxed),
            2,
            "values 1 and 2 came after `late`"
        );
        let fresh = arena.alloc(7u64);
        assert_ne!(core::ptr::from_ref(fresh).cast::<u8>(), kept.cast::<u8>());
        arena.reset();
        assert_eq!(count.load(Ordering::Relaxed), 3);
    }

    #[test]
    #[should_panic(expected = "belongs to another arena")]
    fn a_foreign_checkpoint_is_refused() {
        let a = Arena::new();
        let mut b = Arena::new();
        let cp = a.checkpoint();
        b.restore(cp);
    }

    #[test]
    fn the_arena_is_send_but_not_sync() {
        fn is_send<T: Send>() {}
        is_send::<Arena>();
        let _ = Rc::new(0); // `alloc` needs `T: Send`: an `Rc` cannot go in (see ui tests)
    }
}
