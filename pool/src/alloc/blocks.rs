//! Helpers the [`Allocator`] implementations share: zero-sized blocks and moving a block.

use allocator_api2::alloc::{AllocError, Allocator};
use core::alloc::Layout;
use core::ptr::{self, NonNull};

/// A non-null pointer aligned to `align`, for zero-sized blocks.
pub(crate) fn dangling(align: usize) -> NonNull<u8> {
    // SAFETY: a valid `Layout`'s alignment is a non-zero power of two.
    unsafe { NonNull::new_unchecked(ptr::without_provenance_mut(align)) }
}

/// Moves a block to a fresh one of `new` from `a`: allocate, copy the smaller size, free.
///
/// # Safety
///
/// `ptr` is a block of `a` allocated with `old` (dangling if zero-sized), not used afterwards
/// unless this fails.
pub(crate) unsafe fn relocate<A: Allocator>(
    a: A,
    ptr: NonNull<u8>,
    old: Layout,
    new: Layout,
) -> Result<NonNull<[u8]>, AllocError> {
    let moved = a.allocate(new)?;
    // SAFETY: both blocks are valid for the smaller size and distinct (a live block is never
    // handed out twice; a zero-sized one copies nothing); then the old one is given back.
    unsafe {
        ptr::copy_nonoverlapping(
            ptr.as_ptr(),
            moved.cast().as_ptr(),
            old.size().min(new.size()),
        );
        a.deallocate(ptr, old);
    }
    Ok(moved)
}
