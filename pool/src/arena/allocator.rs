//! `&Arena` as an allocator-api2 [`Allocator`], so collections (`ArenaVec`, hashbrown, …) can
//! live in the arena.

use super::chunk::round;
use super::Arena;
use allocator_api2::alloc::{AllocError, Allocator};
use core::alloc::Layout;
use core::ptr::{self, NonNull};

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
            self.poison_gap();
        }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // `is_top` first: only then is `ptr` inside the current chunk, below `hi`.
        if self.is_top(ptr, old.size())
            && ptr.as_ptr().addr().is_multiple_of(new.align())
            && self.hi.get().addr() - ptr.as_ptr().addr() >= round(new.size())
        {
            // SAFETY: `ptr + round(new.size())` is within the current chunk (checked).
            self.ptr.set(unsafe { ptr.as_ptr().add(round(new.size())) });
            crate::os::asan::unpoison(ptr.as_ptr(), new.size());
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
        if !ptr.as_ptr().addr().is_multiple_of(new.align()) {
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
            self.poison_gap();
        }
        Ok(NonNull::slice_from_raw_parts(ptr, new.size()))
    }
}

impl Arena {
    /// Whether `ptr..ptr + size` is the most recent allocation of the current chunk. Both
    /// ends are checked: by address alone, a block at the end of an older chunk that happens
    /// to sit just below the current chunk would pass (adjacent chunks, as a bump-style global
    /// allocator hands out).
    fn is_top(&self, ptr: NonNull<u8>, size: usize) -> bool {
        let (base, addr) = (self.base.get(), ptr.as_ptr().addr());
        !base.is_null()
            && base.addr() <= addr
            && addr.wrapping_add(round(size)) == self.ptr.get().addr()
    }
}

/// A vector in an arena: `ArenaVec::new_in(&arena)`.
pub type ArenaVec<'a, T> = allocator_api2::vec::Vec<T, &'a Arena>;
