//! Allocation sites (feature `track-sites`): every live object of a typed pool remembers the
//! `#[track_caller]` location that allocated it, in one word at the end of its slot
//! (`SlotLayout::for_objects`). The public allocating functions write it; every free clears
//! it; `Pool::leaks()` and `stats::leak_report()` walk the carved slots and count the words
//! that are set. The word is written and read atomically (relaxed), so a walk during
//! allocations sees each object either counted or not, never torn.
//!
//! Without the feature this file is not compiled and the slots have no such word.

use crate::engine::segment::SlotLayout;
use core::alloc::Layout;
use core::panic::Location;
use core::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The site word of `ptr`'s slot.
///
/// # Safety
///
/// `ptr` is a slot of a typed pool of `T`s; the result is used while the slot is.
#[inline(always)]
unsafe fn word<'a, T>(ptr: NonNull<T>) -> &'a AtomicUsize {
    let offset = const { SlotLayout::for_objects(Layout::new::<T>()).site_offset() };
    // SAFETY: a typed pool's slots are `for_objects` slots: the word lies inside the slot,
    // aligned for a `usize` and initialised at carve time; the caller keeps the slot alive.
    unsafe { &*ptr.as_ptr().cast::<u8>().add(offset).cast::<AtomicUsize>() }
}

/// Notes that `ptr`'s object was allocated at `site`.
///
/// # Safety
///
/// As [`word`].
#[inline(always)]
pub(crate) unsafe fn record<T>(ptr: NonNull<T>, site: &'static Location<'static>) {
    // SAFETY: forwarded from the caller.
    let w = unsafe { word(ptr) };
    w.store(site as *const Location<'static> as usize, Ordering::Relaxed);
}

/// Notes that `ptr`'s object is gone.
///
/// # Safety
///
/// As [`word`].
#[inline(always)]
pub(crate) unsafe fn clear<T>(ptr: NonNull<T>) {
    // SAFETY: forwarded from the caller.
    unsafe { word(ptr) }.store(0, Ordering::Relaxed);
}
