//! AddressSanitizer poisoning of free slots, under `--cfg typool_asan` (set by `.ci/sanitize`
//! with `-Zsanitizer=address`); no code at all otherwise.
//!
//! A free slot's first word is its link, which the engine reads and writes; every byte after
//! it belongs to no one while the slot is free, so it is poisoned from the moment the slot is
//! freed (or carved) until a cache pops it. A use after free inside a pool — through a
//! pointer kept past `drop(PoolBox)` — then reaches poisoned memory and ASan reports it,
//! though the pool never gave the memory back to the system. A segment is unpoisoned whole
//! before it goes back to the OS.

use crate::engine::magazine::FreeSlot;

#[cfg(typool_asan)]
extern "C" {
    fn __asan_poison_memory_region(addr: *const u8, size: usize);
    fn __asan_unpoison_memory_region(addr: *const u8, size: usize);
}

/// Marks the bytes of a free slot past its link as unusable.
#[inline(always)]
pub(crate) fn free_slot(slot: *mut FreeSlot, size: usize) {
    #[cfg(typool_asan)]
    if size > core::mem::size_of::<FreeSlot>() {
        let link = core::mem::size_of::<FreeSlot>();
        // SAFETY: the slot is `size` bytes of a live segment; poisoning only changes what ASan
        // lets the program touch.
        unsafe { __asan_poison_memory_region(slot.cast::<u8>().add(link), size - link) };
    }
    #[cfg(not(typool_asan))]
    let _ = (slot, size);
}

/// Makes a slot usable again as it is handed out.
#[inline(always)]
pub(crate) fn live_slot(slot: *mut FreeSlot, size: usize) {
    #[cfg(typool_asan)]
    // SAFETY: as in `free_slot`.
    unsafe {
        __asan_unpoison_memory_region(slot.cast::<u8>(), size)
    };
    #[cfg(not(typool_asan))]
    let _ = (slot, size);
}

/// Unpoisons a whole region before it goes back to the OS (the shadow would outlive it).
#[inline]
pub(crate) fn release(base: *mut u8, size: usize) {
    #[cfg(typool_asan)]
    // SAFETY: as in `free_slot`.
    unsafe {
        __asan_unpoison_memory_region(base, size)
    };
    #[cfg(not(typool_asan))]
    let _ = (base, size);
}
