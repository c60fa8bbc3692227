//! Anonymous mappings straight from the OS: `mmap` of whole pages at any power-of-two
//! alignment, and `munmap`, which really hands the pages back (glibc's `free` would keep a
//! large block once its dynamic mmap threshold has risen past its size). Without `mmap`
//! (other platforms, Miri) [`AVAILABLE`] is false and regions come from `System`.

/// Heap blocks at least this large are mapped directly; smaller ones come from `System`.
pub(crate) const MAP_THRESHOLD: usize = 256 * 1024;
/// The base page size typool rounds mappings to.
pub(crate) const PAGE: usize = 4096;

pub(crate) use imp::{anon, discard, unmap, AVAILABLE};

#[cfg(all(unix, not(miri)))]
mod imp {
    use core::ptr::{self, NonNull};

    pub(crate) const AVAILABLE: bool = true;

    /// Maps `len` bytes (a multiple of `granule`, itself a multiple of the page size) at an
    /// address aligned to `align` (a power of two), with `flags` added to an anonymous
    /// private mapping (`MAP_HUGETLB` for reserved huge pages, whose `granule` is 2 MiB).
    /// `None` if the kernel refuses or the sizes overflow.
    pub(crate) fn anon(
        len: usize,
        align: usize,
        granule: usize,
        flags: i32,
    ) -> Option<NonNull<u8>> {
        debug_assert!(len > 0 && len.is_multiple_of(granule) && align.is_power_of_two());
        // Mappings come aligned to their granule; slack past that is cut off again below.
        let slack = align.saturating_sub(granule);
        let total = len.checked_add(slack)?;
        // SAFETY: an anonymous private mapping with no address hint has no preconditions.
        let raw = unsafe {
            libc::mmap(
                ptr::null_mut(),
                total,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | flags,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return None;
        }
        let raw = raw.cast::<u8>();
        let lead = raw.addr().wrapping_neg() & (align - 1);
        // SAFETY: `raw` is `granule`-aligned and `align` a multiple of `granule`, so `lead` is
        // a multiple of `granule` no larger than `slack`: the block `lead..lead + len` and both
        // cut-off edges lie inside the mapping, and every length unmapped is whole granules.
        unsafe {
            if lead > 0 {
                libc::munmap(raw.cast(), lead);
            }
            if slack > lead {
                libc::munmap(raw.add(lead + len).cast(), slack - lead);
            }
            NonNull::new(raw.add(lead))
        }
    }

    /// Gives back `len` bytes mapped at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` and `len` are exactly what [`anon`] mapped and returned, and nothing uses the
    /// block afterwards.
    pub(crate) unsafe fn unmap(ptr: NonNull<u8>, len: usize) {
        // SAFETY: forwarded from the caller.
        let rc = unsafe { libc::munmap(ptr.as_ptr().cast(), len) };
        debug_assert_eq!(rc, 0, "munmap of a block typool mapped failed");
    }

    /// Gives the pages of `len` bytes at `ptr` back to the OS, keeping the mapping: the next
    /// touch finds zeroed pages (`MADV_DONTNEED` on a private anonymous mapping). Whether the
    /// kernel took them.
    ///
    /// # Safety
    ///
    /// The range lies inside one private anonymous mapping from [`anon`], on its granule, and
    /// nothing needs its bytes any more.
    pub(crate) unsafe fn discard(ptr: *mut u8, len: usize) -> bool {
        // SAFETY: forwarded from the caller; the advice changes no mapping.
        unsafe { libc::madvise(ptr.cast(), len, libc::MADV_DONTNEED) == 0 }
    }
}

#[cfg(not(all(unix, not(miri))))]
mod imp {
    use core::ptr::NonNull;

    pub(crate) const AVAILABLE: bool = false;

    pub(crate) fn anon(_: usize, _: usize, _: usize, _: i32) -> Option<NonNull<u8>> {
        None
    }

    /// # Safety
    ///
    /// Never called: [`anon`] maps nothing.
    pub(crate) unsafe fn unmap(_: NonNull<u8>, _: usize) {
        unreachable!("nothing is mapped without mmap")
    }

    /// # Safety
    ///
    /// Never called: [`anon`] maps nothing.
    pub(crate) unsafe fn discard(_: *mut u8, _: usize) -> bool {
        false
    }
}

/// `n` rounded up to a multiple of `granule` (a power of two), `None` on overflow.
pub(crate) const fn round_up(n: usize, granule: usize) -> Option<usize> {
    match n.checked_add(granule - 1) {
        Some(m) => Some(m & !(granule - 1)),
        None => None,
    }
}

/// Whether a heap region of `size` bytes is mapped rather than taken from `System`.
pub(crate) const fn mapped(size: usize) -> bool {
    AVAILABLE && size >= MAP_THRESHOLD
}
