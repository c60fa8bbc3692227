//! AddressSanitizer poisoning of free slots, under `--cfg typool_asan` (set by `.ci/sanitize`
//! with `-Zsanitizer=address`); no code at all otherwise.
//!
//! A free slot's first words are its link (and, in checked builds, its free tag: `guard.rs`),
//! which the engine reads and writes; every byte after them belongs to no one while the slot
//! is free, so it is poisoned from the moment the slot is freed (or carved) until a cache pops
//! it. A use after free inside a pool — through a
//! pointer kept past `drop(PoolBox)` — then reaches poisoned memory and ASan reports it,
//! though the pool never gave the memory back to the system. A segment is unpoisoned whole
//! before it goes back to the OS.

use crate::engine::magazine::FreeSlot;
use crate::os::asan;

/// Marks the bytes of a free slot past its link words as unusable.
#[inline(always)]
pub(crate) fn free_slot(slot: *mut FreeSlot, size: usize) {
    let link = core::mem::size_of::<FreeSlot>();
    if cfg!(typool_asan) && size > link {
        asan::poison(slot.cast::<u8>().wrapping_add(link), size - link);
    }
}

/// Makes a slot usable again as it is handed out.
#[inline(always)]
pub(crate) fn live_slot(slot: *mut FreeSlot, size: usize) {
    asan::unpoison(slot.cast::<u8>(), size);
}

/// Unpoisons a whole region before it goes back to the OS (the shadow would outlive it).
#[inline]
pub(crate) fn release(base: *mut u8, size: usize) {
    asan::unpoison(base, size);
}
