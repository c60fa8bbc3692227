//! [`Backing::HugePages`](super::Backing::HugePages): reserved huge pages, else transparent
//! huge pages by advice, else plain pages.

use super::map::{anon, round_up, PAGE};
use super::Granted;
use core::ptr::NonNull;
use std::sync::atomic::{AtomicU8, Ordering};

/// The huge page size typool asks for (x86-64's and aarch64's usual 2 MiB).
pub(crate) const HUGE_PAGE: usize = 2 << 20;

/// Maps at least `size` bytes, in whole huge pages, aligned to `align` (at least 2 MiB).
/// Returns the block, its mapped length and what backs it; `None` if even plain pages are
/// refused.
pub(super) fn map(size: usize, align: usize) -> Option<(NonNull<u8>, usize, Granted)> {
    let len = round_up(size, HUGE_PAGE)?;
    let align = align.max(HUGE_PAGE);
    if let Some(p) = anon(len, align, HUGE_PAGE, hugetlb()) {
        return Some((p, len, Granted::HugePages));
    }
    let p = anon(len, align, PAGE, 0)?;
    Some((p, len, advise(p, len)))
}

/// `MAP_HUGETLB` where the platform has it.
fn hugetlb() -> i32 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    return libc::MAP_HUGETLB;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    return 0;
}

/// Advises the kernel to back `p..p + len` with transparent huge pages, and says whether it
/// will: only if its THP mode takes advice and it accepts this advice.
fn advise(p: NonNull<u8>, len: usize) -> Granted {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if thp_takes_advice() {
        // SAFETY: `p..p + len` is a mapping of ours; advice does not change its contents.
        let rc = unsafe { libc::madvise(p.as_ptr().cast(), len, libc::MADV_HUGEPAGE) };
        if rc == 0 {
            return Granted::TransparentHugePages;
        }
    }
    let _ = (p, len);
    Granted::Heap
}

/// Whether the kernel's THP mode (`/sys/kernel/mm/transparent_hugepage/enabled`) is `always`
/// or `madvise`. Read once, with `open`/`read` into a stack buffer: this runs inside the
/// slab when it is the global allocator, so it must not allocate.
pub(crate) fn thp_takes_advice() -> bool {
    // 0: not read yet, 1: takes advice, 2: does not.
    static MODE: AtomicU8 = AtomicU8::new(0);
    match MODE.load(Ordering::Relaxed) {
        1 => return true,
        2 => return false,
        _ => {}
    }
    let takes = read_thp_mode();
    MODE.store(if takes { 1 } else { 2 }, Ordering::Relaxed);
    takes
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn read_thp_mode() -> bool {
    let path = c"/sys/kernel/mm/transparent_hugepage/enabled";
    // SAFETY: a NUL-terminated path; the descriptor is closed below.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    let mut buf = [0u8; 128];
    // SAFETY: `buf` is writable for its length; `fd` is open.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    // SAFETY: `fd` is ours and closed once.
    unsafe { libc::close(fd) };
    let Ok(n) = usize::try_from(n) else {
        return false;
    };
    thp_mode_takes_advice(&buf[..n])
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn read_thp_mode() -> bool {
    false
}

/// Reads the selected mode (the bracketed word) of a THP `enabled` file.
fn thp_mode_takes_advice(text: &[u8]) -> bool {
    let has = |word: &[u8]| text.windows(word.len()).any(|w| w == word);
    has(b"[always]") || has(b"[madvise]")
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_bracketed_thp_mode_decides() {
        assert!(thp_mode_takes_advice(b"always [madvise] never\n"));
        assert!(thp_mode_takes_advice(b"[always] madvise never\n"));
        assert!(!thp_mode_takes_advice(b"always madvise [never]\n"));
        assert!(!thp_mode_takes_advice(b""));
    }
}
