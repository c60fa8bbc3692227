//! [`Backing::File`](super::Backing::File): shared mappings of a file (memmap2).
//!
//! Every region backed by one path is a slice of the same file: the first region mapped
//! while none is creates the file (or truncates it), and each next one is laid after the
//! last, at a page-aligned offset, growing the file with `set_len` (sparse: a hole costs no
//! disk until it is written). A process-wide table holds each open path and how many regions
//! use it; the file is closed when the last is dropped, and what was written stays in it.
//! Nothing here allocates through the global allocator, so the slab may be file-backed while
//! it is the global allocator.

use super::map::{round_up, PAGE};
use super::sys_vec::{sys_vec, SysVec};
use crate::sync::{lock_std, Locked};
use core::ptr::NonNull;
use std::fs::{File, OpenOptions};
use std::io;
use std::sync::{Mutex, MutexGuard};

/// The paths in use: one entry per path with at least one region mapped.
static OPEN: Mutex<SysVec<Open>> = Mutex::new(sys_vec());

struct Open {
    path: &'static str,
    file: File,
    /// Bytes of the file given to regions so far: where the next one starts.
    end: u64,
    /// Regions mapped from it and not dropped.
    regions: usize,
}

/// A region's mapping: unmapped when dropped, and its path's region count goes down.
pub(crate) struct Mapping {
    // Dropped before `path` is released below; `MmapMut::drop` unmaps.
    map: memmap2::MmapMut,
    path: &'static str,
}

impl core::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mapping")
            .field("path", &self.path)
            .field("len", &self.map.len())
            .finish()
    }
}

fn table() -> Locked<MutexGuard<'static, SysVec<Open>>> {
    lock_std(&OPEN)
}

/// Maps `size` bytes of `path`, aligned to `align`, after the regions it already backs.
pub(super) fn map(
    path: &'static str,
    size: usize,
    align: usize,
) -> io::Result<(Mapping, NonNull<u8>)> {
    let too_large = || io::Error::from(io::ErrorKind::OutOfMemory);
    // Mappings are page-aligned; more alignment comes from mapping more and starting later.
    let len = round_up(size, PAGE)
        .and_then(|n| n.checked_add(align.saturating_sub(PAGE)))
        .ok_or_else(too_large)?;
    let mut open = table();
    let at = match open.iter().position(|o| o.path == path) {
        Some(at) => at,
        None => {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)?;
            open.push(Open {
                path,
                file,
                end: 0,
                regions: 0,
            });
            open.len() - 1
        }
    };
    let result = extend_and_map(&mut open[at], len);
    if open[at].regions == 0 {
        open.swap_remove(at);
    }
    let mut map = result?;
    let base = map.as_mut_ptr();
    let lead = base.addr().wrapping_neg() & (align - 1);
    // SAFETY: `lead < align`, and the mapping is `align - PAGE` longer than the page-rounded
    // size, so `lead + size <= len`; a mapping's address is never null.
    let ptr = unsafe { NonNull::new_unchecked(base.add(lead)) };
    Ok((Mapping { map, path }, ptr))
}

fn extend_and_map(open: &mut Open, len: usize) -> io::Result<memmap2::MmapMut> {
    let offset = open.end;
    let end = offset
        .checked_add(len as u64)
        .ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
    open.file.set_len(end)?;
    // SAFETY: memmap2's contract is that nobody else truncates or writes the file behind the
    // mapping's back. The file is ours (created or truncated on first use, only grown after),
    // and the `File(path)` documentation says it is not for other processes to touch.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .offset(offset)
            .len(len)
            .map_mut(&open.file)?
    };
    open.end = end;
    open.regions += 1;
    Ok(map)
}

impl Drop for Mapping {
    fn drop(&mut self) {
        let mut open = table();
        if let Some(at) = open.iter().position(|o| o.path == self.path) {
            open[at].regions -= 1;
            if open[at].regions == 0 {
                open.swap_remove(at);
            }
        }
    }
}
