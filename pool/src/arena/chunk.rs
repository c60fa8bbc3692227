//! Chunks and the two cursors: where the arena's bytes come from and how they are handed out.
//!
//! Memory comes in chunks from the global allocator — or, for an arena made with
//! [`Arena::with_backing`], as [`Region`]s of that backing; the first is sized by
//! [`Arena::with_capacity`] and each next one is twice the last (or as large as the request
//! that did not fit). Allocation bumps a cursor in the current chunk: an add, an align and a
//! compare on the fast path; a new chunk on the slow one. Sizes are rounded up to 8 bytes (as
//! `malloc` rounds to 16), which keeps the bump pointer aligned for every common type and the
//! fast path at a handful of instructions; byte data (`alloc_str`, `alloc_slice_copy` of
//! bytes) is taken from the other end of the chunk's free gap, unrounded, so strings cost no
//! padding.

use super::{lease, out_of_memory, Arena};
use crate::os::{asan, Backing, Granted, Region, HUGE_PAGE};
use core::alloc::Layout;
use core::ptr::{self, NonNull};

/// Alignment of every chunk; larger alignments are reached by padding inside the chunk.
pub(super) const CHUNK_ALIGN: usize = 16;
/// The bump pointer's alignment at all times: every size is rounded up to it.
pub(super) const MIN_ALIGN: usize = 8;

/// `size` rounded up to [`MIN_ALIGN`].
#[inline(always)]
pub(super) const fn round(size: usize) -> usize {
    (size + MIN_ALIGN - 1) & !(MIN_ALIGN - 1)
}
/// First chunk when none is asked for.
pub(super) const DEFAULT_CAPACITY: usize = 4096;
/// The bump pointer of an arena with no chunk: a dangling address aligned to 4096, so that
/// zero-size requests of alignment up to 4096 succeed without a chunk and all others take the
/// slow path (there are no bytes between it and itself).
pub(super) const EMPTY: *mut u8 = ptr::without_provenance_mut(4096);

#[derive(Debug)]
pub(super) struct Chunk {
    pub(super) ptr: NonNull<u8>,
    pub(super) cap: usize,
    /// Where the bytes come from when the arena has a backing; `None`: the global allocator.
    region: Option<Region>,
}

impl Chunk {
    pub(super) fn layout(cap: usize) -> Layout {
        Layout::from_size_align(cap, CHUNK_ALIGN).expect("chunk sizes are checked on creation")
    }

    /// Gives the chunk back to the global allocator; `leased`: it belonged to an arena of
    /// `#[arena_scope]`'s, counted in [`lease::LEASED_BYTES`].
    ///
    /// # Safety
    ///
    /// Nothing alive is left in the chunk (everything allocated in it was rewound or reset,
    /// or the arena is being dropped), and it was allocated by [`Arena::grow`].
    pub(super) unsafe fn free(self, leased: bool) {
        if leased {
            lease::LEASED_BYTES.fetch_sub(self.cap, std::sync::atomic::Ordering::Relaxed);
        }
        asan::unpoison(self.ptr.as_ptr(), self.cap);
        if self.region.is_none() {
            // SAFETY: forwarded from the caller: allocated in `grow` with this layout, unused.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr(), Self::layout(self.cap)) };
        }
        // A region is given back as it drops here.
    }

    /// What backs the chunk.
    pub(super) fn granted(&self) -> Granted {
        self.region.as_ref().map_or(Granted::Heap, Region::granted)
    }
}

impl Arena {
    /// Bump-allocates `layout` in the current chunk, if it fits.
    ///
    /// The bump pointer is always [`MIN_ALIGN`]-aligned and sizes are rounded up to it, so
    /// for the common alignments the padding folds away at compile time.
    #[inline(always)]
    pub(super) fn bump(&self, layout: Layout) -> Option<NonNull<u8>> {
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
            asan::unpoison(at, layout.size());
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
    pub(super) fn alloc_layout_or_oom(&self, layout: Layout) -> NonNull<u8> {
        match self.bump(layout) {
            Some(p) => p,
            None => self.alloc_slow_or_oom(layout),
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn alloc_slow_or_oom(&self, layout: Layout) -> NonNull<u8> {
        self.alloc_slow(layout)
            .unwrap_or_else(|| out_of_memory(layout))
    }

    /// Takes `len` bytes of byte data (alignment 1) from the top of the free gap, unrounded.
    #[inline(always)]
    pub(super) fn bump_down(&self, len: usize) -> Option<NonNull<u8>> {
        let h = self.hi.get();
        if len > h.addr() - self.ptr.get().addr() {
            return None;
        }
        // SAFETY: `h - len >= ptr`, inside the current chunk's free gap (or `h` itself with
        // `len == 0` for the empty arena); chunk pointers and `EMPTY` are non-null.
        unsafe {
            let at = h.sub(len);
            self.hi.set(at);
            asan::unpoison(at, len);
            Some(NonNull::new_unchecked(at))
        }
    }

    /// `len` bytes of alignment 1, from the top; ends the program if the system refuses.
    #[inline(always)]
    pub(super) fn alloc_bytes_or_oom(&self, len: usize) -> NonNull<u8> {
        match self.bump_down(len) {
            Some(p) => p,
            None => self.alloc_bytes_slow(len),
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn alloc_bytes_slow(&self, len: usize) -> NonNull<u8> {
        let layout =
            Layout::from_size_align(len, 1).unwrap_or_else(|_| out_of_memory(Layout::new::<u8>()));
        if self.make_room(layout).is_none() {
            out_of_memory(layout);
        }
        self.bump_down(len).expect("a fresh chunk fits the request")
    }

    /// Bytes taken upwards in the current chunk.
    pub(super) fn up_bytes(&self) -> usize {
        let base = self.base.get();
        if base.is_null() {
            0
        } else {
            self.ptr.get().addr() - base.addr()
        }
    }

    /// Bytes taken downwards in the current chunk.
    pub(super) fn down_bytes(&self) -> usize {
        let base = self.base.get();
        if base.is_null() {
            0
        } else {
            base.addr() + self.cap.get() - self.hi.get().addr()
        }
    }

    /// Bytes used in the current chunk, both ways.
    pub(super) fn used_in_chunk(&self) -> usize {
        self.up_bytes() + self.down_bytes()
    }

    #[cold]
    #[inline(never)]
    pub(super) fn alloc_slow(&self, layout: Layout) -> Option<NonNull<u8>> {
        self.make_room(layout)?;
        self.alloc_layout(layout)
    }

    /// Moves on to a kept chunk (after a restore or reset) or a new one that fits `layout`.
    pub(super) fn make_room(&self, layout: Layout) -> Option<()> {
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
    pub(super) fn grow(&self, need: usize) -> Option<()> {
        let mut chunks = self.chunks.borrow_mut();
        let last = chunks.get(self.current.get()).map_or(0, |c| c.cap);
        // Huge-page chunks are whole 2 MiB pages, so the pages they get can be huge.
        let granule = match self.backing {
            Backing::HugePages => HUGE_PAGE,
            _ => CHUNK_ALIGN,
        };
        let cap = need
            .max(last.saturating_mul(2))
            .max(self.first_capacity)
            .checked_next_multiple_of(granule)?;
        let layout = Layout::from_size_align(cap, CHUNK_ALIGN).ok()?;
        let (ptr, region) = match self.backing {
            // SAFETY: `cap > 0`.
            Backing::Heap => (NonNull::new(unsafe { std::alloc::alloc(layout) })?, None),
            backing => {
                let region = Region::new(layout, backing).ok()?;
                (region.ptr(), Some(region))
            }
        };
        let at = if self.base.get().is_null() {
            0
        } else {
            self.current.get() + 1
        };
        for c in chunks.drain(at..) {
            // SAFETY: chunks past the current one hold nothing alive (everything allocated
            // in them was rewound), and were allocated here.
            unsafe { c.free(self.leased.get()) };
        }
        if self.leased.get() {
            lease::LEASED_BYTES.fetch_add(cap, std::sync::atomic::Ordering::Relaxed);
        }
        if !self.base.get().is_null() {
            self.used_before
                .set(self.used_before.get() + self.used_in_chunk());
        }
        chunks.push(Chunk { ptr, cap, region });
        drop(chunks);
        self.enter(at, 0, None);
        Some(())
    }

    /// Makes chunk `index` current with `offset` bytes taken upwards and the free gap ending
    /// at `top` (the chunk's end when `None`); `offset <= top <= cap`.
    pub(super) fn enter(&self, index: usize, offset: usize, top: Option<usize>) {
        let chunks = self.chunks.borrow();
        let Chunk { ptr, cap, .. } = chunks[index];
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
        self.poison_gap();
    }

    /// Poisons the current chunk's free gap for ASan (nothing otherwise): what was rewound,
    /// reset or never handed out may not be touched.
    #[inline(always)]
    pub(super) fn poison_gap(&self) {
        let p = self.ptr.get();
        asan::poison(p, self.hi.get().addr() - p.addr());
    }
}
