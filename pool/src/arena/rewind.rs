//! Checkpoints and scopes: rewinding the arena, and resetting it for the next round.
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

use super::chunk::EMPTY;
use super::Arena;
use core::ptr;

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

impl Arena {
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
        self.run_drops_then(cp.seq, |arena| {
            let chunks = arena.chunks.get_mut();
            if let Some(chunk) = chunks.get(cp.chunk) {
                let top = cp.top.min(chunk.cap);
                if cp.offset <= top {
                    arena.enter(cp.chunk, cp.offset, Some(top));
                    arena.used_before.set(cp.used_before);
                }
            }
            // Otherwise the checkpoint is stale — taken after a position the arena has since
            // been rewound to, and its chunk freed since — so the current position is already
            // before it: stay.
        });
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
                self.poison_gap();
            }
            return;
        }
        self.reset_slow();
    }

    #[cold]
    #[inline(never)]
    fn reset_slow(&mut self) {
        self.run_drops_then(0, |arena| {
            let leased = arena.leased.get();
            let chunks = arena.chunks.get_mut();
            if let Some(largest) = (0..chunks.len()).max_by_key(|&i| chunks[i].cap) {
                let keep = chunks.swap_remove(largest);
                for c in chunks.drain(..) {
                    // SAFETY: allocated in `grow`; no reference can be alive
                    // (`&mut self`), and no value in it needs drop any more.
                    unsafe { c.free(leased) };
                }
                chunks.push(keep);
                arena.enter(0, 0, None);
            }
        });
    }

    /// Frees chunks until at most `bytes` are reserved, keeping the largest (the reuse lists'
    /// trimming policy); whether it freed any. Call after [`reset`](Self::reset).
    #[inline]
    pub(crate) fn shrink_to(&mut self, bytes: usize) -> bool {
        if self.cap.get() <= bytes && self.chunks.get_mut().len() <= 1 {
            return false;
        }
        self.shrink_slow(bytes)
    }

    #[cold]
    #[inline(never)]
    fn shrink_slow(&mut self, bytes: usize) -> bool {
        let leased = self.leased.get();
        let chunks = self.chunks.get_mut();
        if chunks.iter().map(|c| c.cap).sum::<usize>() <= bytes {
            return false;
        }
        for c in chunks.drain(..) {
            // SAFETY: allocated in `grow`; the arena is reset, so nothing refers into it.
            unsafe { c.free(leased) };
        }
        self.base.set(ptr::null_mut());
        self.ptr.set(EMPTY);
        self.hi.set(EMPTY);
        self.cap.set(0);
        self.current.set(0);
        true
    }
}
