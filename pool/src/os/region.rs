//! [`Region`]: one block of memory from the OS with the [`Backing`] asked for, and the
//! [`Granted`] it got; given back when dropped.

use super::map::{self, round_up, PAGE};
use super::{huge, numa, Backing, BackingError, Granted, HUGE_PAGE};
use core::alloc::Layout;
use core::ptr::NonNull;
use std::alloc::{GlobalAlloc, System};

/// A block of at least `layout.size()` bytes aligned to `layout.align()`, owned: dropping it
/// gives the memory back.
///
/// Invariant: `ptr` points to `layout.size()` writable bytes, aligned to `layout.align()`,
/// that nothing else owns, obtained as `source` says and given back the same way in `Drop`.
#[derive(Debug)]
pub(crate) struct Region {
    ptr: NonNull<u8>,
    layout: Layout,
    source: Source,
    granted: Granted,
}

#[derive(Debug)]
enum Source {
    /// `System.alloc(layout)`: small heap blocks, and every block where there is no `mmap`.
    System,
    /// An anonymous mapping of this many bytes at `ptr` (`map::anon`).
    Anon { len: usize },
    /// A shared mapping of a file; `ptr` lies inside it. Dropping it unmaps.
    #[cfg(all(unix, not(miri)))]
    File { _mapping: super::file::Mapping },
    /// A memory file of its own, for meshing (`mesh.rs`); `ptr` is its start. Dropping it
    /// unmaps and closes.
    Mesh(super::mesh::File),
}

// SAFETY: a `Region` owns its block outright (see the invariant) and has no interior state;
// moving it to or sharing it with another thread moves or shares nothing but the address.
unsafe impl Send for Region {}
// SAFETY: as above: `&Region` gives only the address and the grant.
unsafe impl Sync for Region {}

impl Region {
    /// A block for `layout` (of non-zero size) from `backing`. Huge pages and NUMA nodes fall
    /// back to plain pages (see [`granted`](Self::granted)); a file that cannot be used is an
    /// error naming it.
    pub(crate) fn new(layout: Layout, backing: Backing) -> Result<Region, BackingError> {
        debug_assert!(layout.size() > 0);
        let (size, align) = (layout.size(), layout.align());
        let oom = || BackingError::OutOfMemory { bytes: size };
        // An anonymous mapping: its address, its mapped length, what backs it.
        let mapped = match backing {
            Backing::File(path) => return file(layout, path),
            _ if !map::AVAILABLE => None,
            Backing::Heap if !map::mapped(size) => None,
            Backing::Heap => {
                let (ptr, len) = plain(size, align).ok_or_else(oom)?;
                Some((ptr, len, Granted::Heap))
            }
            Backing::HugePages => Some(huge::map(size, align).ok_or_else(oom)?),
            Backing::Numa(node) => {
                let (ptr, len) = plain(size, align).ok_or_else(oom)?;
                let granted = if numa::bind(ptr, len, node) {
                    Granted::Numa(node)
                } else {
                    Granted::Heap
                };
                Some((ptr, len, granted))
            }
        };
        let (ptr, source, granted) = match mapped {
            Some((ptr, len, granted)) => (ptr, Source::Anon { len }, granted),
            None => {
                // SAFETY: the layout has a non-zero size (asserted above).
                let ptr = NonNull::new(unsafe { System.alloc(layout) }).ok_or_else(oom)?;
                (ptr, Source::System, Granted::Heap)
            }
        };
        Ok(Region {
            ptr,
            layout,
            source,
            granted,
        })
    }

    /// A block for `layout` in a memory file of its own, whose pages can be meshed
    /// ([`mesh_file`](Self::mesh_file)); `None` where memory files cannot be had (then the
    /// caller takes an ordinary region).
    pub(crate) fn mesh(layout: Layout) -> Option<Region> {
        if layout.align() > super::mesh::MESH_PAGE {
            return None;
        }
        let file = super::mesh::File::new(layout.size())?;
        Some(Region {
            ptr: file.ptr(),
            layout,
            source: Source::Mesh(file),
            granted: Granted::Heap,
        })
    }

    /// The memory file behind the block, if it is one (see [`mesh`](Self::mesh)).
    pub(crate) fn mesh_file(&self) -> Option<&super::mesh::File> {
        match &self.source {
            Source::Mesh(file) => Some(file),
            _ => None,
        }
    }

    /// The first byte.
    pub(crate) fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// What backs the block.
    pub(crate) fn granted(&self) -> Granted {
        self.granted
    }

    /// Gives the OS pages inside `[offset, offset + len)` of the block back, keeping the
    /// address range: the next touch finds zeroed pages. Returns the bytes given back — 0
    /// where the block cannot give pages back (a `System` block, a file mapping, whose bytes
    /// are the file's) or the range holds no whole page (of 2 MiB for reserved huge pages).
    ///
    /// # Safety
    ///
    /// Nothing needs the bytes of the range any more (they may read as zero afterwards).
    pub(crate) unsafe fn discard(&self, offset: usize, len: usize) -> usize {
        let mapped = match &self.source {
            Source::Anon { len } => *len,
            // SAFETY: forwarded from the caller (and a page meshed onto another is never
            // empty, so the range holds none).
            Source::Mesh(file) => return unsafe { file.punch(offset, len) },
            _ => return 0,
        };
        let granule = match self.granted {
            Granted::HugePages => HUGE_PAGE,
            _ => PAGE,
        };
        let start = self.ptr.as_ptr().addr() + offset;
        let (Some(lo), hi) = (round_up(start, granule), (start + len) & !(granule - 1)) else {
            return 0;
        };
        let end_of_mapping = self.ptr.as_ptr().addr() + mapped;
        if hi <= lo || hi > end_of_mapping {
            return 0;
        }
        // SAFETY: `[lo, hi)` is inside this region's anonymous mapping, on its granule, and
        // the caller needs none of its bytes.
        let taken = unsafe { map::discard(self.ptr.as_ptr().with_addr(lo), hi - lo) };
        if taken {
            hi - lo
        } else {
            0
        }
    }
}

/// Plain pages: an anonymous mapping of `size` rounded up to pages, aligned to `align`.
fn plain(size: usize, align: usize) -> Option<(NonNull<u8>, usize)> {
    let len = round_up(size, PAGE)?;
    Some((map::anon(len, align, PAGE, 0)?, len))
}

#[cfg(all(unix, not(miri)))]
fn file(layout: Layout, path: &'static str) -> Result<Region, BackingError> {
    let (mapping, ptr) = super::file::map(path, layout.size(), layout.align())
        .map_err(|source| BackingError::File { path, source })?;
    Ok(Region {
        ptr,
        layout,
        source: Source::File { _mapping: mapping },
        granted: Granted::File,
    })
}

#[cfg(not(all(unix, not(miri))))]
fn file(_: Layout, path: &'static str) -> Result<Region, BackingError> {
    Err(BackingError::File {
        path,
        source: std::io::Error::from(std::io::ErrorKind::Unsupported),
    })
}

impl Drop for Region {
    fn drop(&mut self) {
        match self.source {
            // SAFETY: allocated in `new` from `System` with this layout; we own it (invariant).
            Source::System => unsafe { System.dealloc(self.ptr.as_ptr(), self.layout) },
            // SAFETY: mapped in `new` by `map::anon`, exactly `len` bytes at `ptr`.
            Source::Anon { len } => unsafe { map::unmap(self.ptr, len) },
            // The mapping unmaps itself when the field drops.
            #[cfg(all(unix, not(miri)))]
            Source::File { .. } => {}
            // The file unmaps and closes itself when the field drops.
            Source::Mesh(_) => {}
        }
    }
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;

    fn check(layout: Layout, backing: Backing) -> Granted {
        let r = Region::new(layout, backing).expect("the OS gives a block");
        let p = r.ptr().as_ptr();
        assert_eq!(p.addr() % layout.align(), 0, "{layout:?} {backing:?}");
        // SAFETY: the block is ours and `layout.size()` bytes long.
        unsafe {
            p.write_bytes(0xA5, layout.size());
            assert_eq!(*p.add(layout.size() - 1), 0xA5);
        }
        r.granted()
    }

    #[test]
    fn every_backing_gives_aligned_writable_blocks() {
        for (size, align) in [
            (64, 8),
            (4096, 4096),
            (1 << 20, 1 << 16),
            (300_000, 2 << 20),
            (5 << 20, 4 << 20),
        ] {
            let layout = Layout::from_size_align(size, align).unwrap();
            assert_eq!(check(layout, Backing::Heap), Granted::Heap);
            let huge = check(layout, Backing::HugePages);
            assert_ne!(huge, Granted::File);
            let numa = check(layout, Backing::Numa(0));
            assert!(matches!(numa, Granted::Numa(0) | Granted::Heap), "{numa:?}");
            assert_eq!(check(layout, Backing::Numa(1 << 20)), Granted::Heap);
        }
    }
}
