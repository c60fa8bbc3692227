//! AddressSanitizer's manual poisoning, under `--cfg typool_asan` (set by `.ci/sanitize`
//! with `-Zsanitizer=address`); every function is empty otherwise.
//!
//! Memory typool keeps but no one may touch — a pool's free slots (`engine/poison.rs`), an
//! arena's free gap and rewound chunks (`arena/chunk.rs`) — is poisoned, so a use after free
//! inside it is reported although it never went back to the system.

#[cfg(typool_asan)]
extern "C" {
    fn __asan_poison_memory_region(addr: *const u8, size: usize);
    fn __asan_unpoison_memory_region(addr: *const u8, size: usize);
}

/// Marks `len` bytes at `addr` as unusable.
#[inline(always)]
pub(crate) fn poison(addr: *const u8, len: usize) {
    #[cfg(typool_asan)]
    // SAFETY: poisoning only changes what ASan lets the program touch; callers pass memory
    // they own.
    unsafe {
        __asan_poison_memory_region(addr, len)
    };
    #[cfg(not(typool_asan))]
    let _ = (addr, len);
}

/// Marks `len` bytes at `addr` as usable again.
#[inline(always)]
pub(crate) fn unpoison(addr: *const u8, len: usize) {
    #[cfg(typool_asan)]
    // SAFETY: as in `poison`.
    unsafe {
        __asan_unpoison_memory_region(addr, len)
    };
    #[cfg(not(typool_asan))]
    let _ = (addr, len);
}
