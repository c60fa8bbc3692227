//! Blocks straight from the OS: on Unix, blocks of [`MAP_THRESHOLD`] bytes or more are
//! anonymous `mmap`s, so [`unmap`] really hands the pages back (glibc's `free` would keep them
//! once its dynamic mmap threshold has risen past their size). Smaller blocks, other platforms
//! and Miri use [`System`].

use core::alloc::Layout;
use core::ptr::NonNull;
use std::alloc::{GlobalAlloc, System};

/// Blocks at least this large are mapped directly.
pub(crate) const MAP_THRESHOLD: usize = 256 * 1024;

/// A block of `layout` from the OS, or `None` if it refuses.
pub(crate) fn map(layout: Layout) -> Option<NonNull<u8>> {
    debug_assert!(layout.size() > 0);
    if !mapped(layout) {
        // SAFETY: callers never ask for zero bytes (asserted above).
        return NonNull::new(unsafe { System.alloc(layout) });
    }
    imp::map(layout)
}

/// Gives back a block from [`map`].
///
/// # Safety
///
/// `ptr` came from [`map`] with this `layout` and is not used afterwards.
pub(crate) unsafe fn unmap(ptr: NonNull<u8>, layout: Layout) {
    if !mapped(layout) {
        // SAFETY: `map` took this block from `System` with this layout (same test).
        unsafe { System.dealloc(ptr.as_ptr(), layout) };
        return;
    }
    // SAFETY: forwarded from the caller.
    unsafe { imp::unmap(ptr, layout) };
}

fn mapped(layout: Layout) -> bool {
    imp::AVAILABLE && layout.size() >= MAP_THRESHOLD
}

#[cfg(all(unix, not(miri)))]
mod imp {
    use core::alloc::Layout;
    use core::ptr::{self, NonNull};

    pub(super) const AVAILABLE: bool = true;
    const PAGE: usize = 4096;

    /// Maps `size` rounded up to pages, plus slack to cut an aligned block out of.
    pub(super) fn map(layout: Layout) -> Option<NonNull<u8>> {
        let size = layout.size().checked_add(PAGE - 1)? & !(PAGE - 1);
        let slack = layout.align().saturating_sub(PAGE);
        let total = size.checked_add(slack)?;
        // SAFETY: an anonymous private mapping with no address hint has no preconditions.
        let raw = unsafe {
            libc::mmap(
                ptr::null_mut(),
                total,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return None;
        }
        let raw = raw.cast::<u8>();
        let lead = raw.addr().wrapping_neg() & (layout.align() - 1);
        // SAFETY: `lead <= slack` (mmap returns page-aligned addresses), so the aligned block
        // `lead..lead + size` lies inside the mapping, and so do the cut-off edges.
        unsafe {
            if lead > 0 {
                libc::munmap(raw.cast(), lead);
            }
            if slack > lead {
                libc::munmap(raw.add(lead + size).cast(), slack - lead);
            }
            NonNull::new(raw.add(lead))
        }
    }

    /// # Safety
    ///
    /// As [`super::unmap`].
    pub(super) unsafe fn unmap(ptr: NonNull<u8>, layout: Layout) {
        let size = (layout.size() + PAGE - 1) & !(PAGE - 1);
        // SAFETY: `map` left exactly `size` bytes mapped at `ptr`, which the caller gives up.
        let rc = unsafe { libc::munmap(ptr.as_ptr().cast(), size) };
        debug_assert_eq!(rc, 0, "munmap of a block typool mapped failed");
    }
}

#[cfg(not(all(unix, not(miri))))]
mod imp {
    use core::alloc::Layout;
    use core::ptr::NonNull;

    pub(super) const AVAILABLE: bool = false;

    pub(super) fn map(_: Layout) -> Option<NonNull<u8>> {
        unreachable!("`mapped` is false without mmap")
    }

    /// # Safety
    ///
    /// Never called.
    pub(super) unsafe fn unmap(_: NonNull<u8>, _: Layout) {
        unreachable!("`mapped` is false without mmap")
    }
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_blocks_are_aligned_writable_and_given_back() {
        for (size, align) in [
            (64, 8),
            (4096, 4096),
            (1 << 20, 1 << 16),
            (300_000, 2 << 20),
        ] {
            let layout = Layout::from_size_align(size, align).unwrap();
            let p = map(layout).expect("the OS gives a block");
            assert_eq!(p.as_ptr().addr() % align, 0, "{layout:?}");
            // SAFETY: the block is ours and `size` bytes long.
            unsafe {
                p.as_ptr().write_bytes(0xA5, size);
                assert_eq!(*p.as_ptr().add(size - 1), 0xA5);
                unmap(p, layout);
            }
        }
    }
}
