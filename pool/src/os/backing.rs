//! [`Backing`] (what a pool, arena or allocator asks its memory to come from), [`Granted`]
//! (what the kernel gave) and [`BackingError`].

use core::fmt;

/// Where the memory of a pool, arena or allocator comes from. Every region typool maps for
/// it — pool segments, arena chunks, the buddy's region, the slab's segments — is asked for
/// this way; what the kernel really gave is reported as a [`Granted`].
///
/// | backing | ask for it | falls back to |
/// |---|---|---|
/// | [`Heap`](Self::Heap) | always (the default) | — |
/// | [`HugePages`](Self::HugePages) | many objects visited at random: fewer TLB misses | plain pages |
/// | [`Numa(n)`](Self::Numa) | a multi-socket machine: memory beside the threads that use it | plain pages |
/// | [`File(path)`](Self::File) | more data than RAM: it pages to the file, not to swap | nothing: an error |
///
/// # Examples
///
/// ```
/// use typool::{Backing, Granted, Pool, PoolConfig};
///
/// static POINTS: Pool<[f64; 8]> = Pool::with_config(PoolConfig::new().backing(Backing::HugePages));
/// let p = POINTS.alloc([1.0; 8]);
/// // What was granted depends on the kernel: huge pages where it has them, plain ones where not.
/// assert_ne!(POINTS.stats().backing, Granted::File);
/// # drop(p);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backing {
    /// Ordinary memory: the system allocator for small blocks, anonymous `mmap` for large ones.
    #[default]
    Heap,
    /// 2 MiB pages: `mmap` with `MAP_HUGETLB` where huge pages are reserved
    /// (`vm.nr_hugepages`); otherwise a 2 MiB-aligned mapping advised with
    /// `madvise(MADV_HUGEPAGE)`, which transparent huge pages back where the kernel's THP mode
    /// is `always` or `madvise`; otherwise plain pages. Regions are sized in whole 2 MiB
    /// pages, so a pool's segments and an arena's chunks are at least 2 MiB.
    HugePages,
    /// Memory bound to this NUMA node with `mbind(MPOL_BIND)`. A node that does not exist,
    /// or a kernel that refuses, gives plain pages.
    Numa(u32),
    /// A shared mapping of this file, created (or truncated) on first use and grown as regions
    /// are added: memory larger than RAM pages to the file instead of swap, and what was
    /// written is in the file after the region is dropped. Regions are laid end to end, each
    /// at a page-aligned offset; a file that cannot be created, sized or mapped is an error
    /// that names it. The file belongs to this process while any region of it is mapped (another
    /// process writing or truncating it would change memory under typool's feet). Regions given
    /// back — a trimmed segment, a dropped arena — leave their bytes in the file; the file is
    /// not shrunk or hole-punched, so it keeps the size of everything mapped from it since it
    /// was created.
    File(&'static str),
}

/// What the kernel granted for a [`Backing`]: the truth, not the request.
///
/// A holder of several regions (a pool's segments, an arena's chunks) reports what they all
/// got, or [`Heap`](Self::Heap) when they differ (some huge pages were refused); before its
/// first region it reports [`Heap`](Self::Heap).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Granted {
    /// Plain pages (asked for, or a fallback).
    #[default]
    Heap,
    /// Reserved huge pages (`MAP_HUGETLB`).
    HugePages,
    /// A 2 MiB-aligned mapping the kernel agreed to back with transparent huge pages (its
    /// THP mode is `always` or `madvise`, and it took the advice). The kernel still decides
    /// page by page; `AnonHugePages` in `/proc/self/smaps` shows what it did.
    TransparentHugePages,
    /// Bound to this NUMA node.
    Numa(u32),
    /// A shared mapping of the file asked for.
    File,
}

impl Granted {
    /// What a holder of regions reports: their common grant, `Heap` when they differ, `None`
    /// when there are none.
    pub(crate) fn together(grants: impl IntoIterator<Item = Granted>) -> Option<Granted> {
        grants
            .into_iter()
            .reduce(|a, b| if a == b { a } else { Granted::Heap })
    }
}

impl fmt::Display for Granted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Heap => f.write_str("heap"),
            Self::HugePages => f.write_str("huge pages"),
            Self::TransparentHugePages => f.write_str("transparent huge pages"),
            Self::Numa(n) => write!(f, "NUMA node {n}"),
            Self::File => f.write_str("file"),
        }
    }
}

/// Why a region could not be had with the [`Backing`] asked for.
///
/// Only [`Backing::File`] fails for reasons of its own; huge pages and NUMA nodes fall back to
/// plain pages instead.
#[non_exhaustive]
#[derive(Debug)]
pub enum BackingError {
    /// The size is too large (it rounds past `isize::MAX`), or the system refused the memory.
    OutOfMemory {
        /// Bytes asked for.
        bytes: usize,
    },
    /// The file could not be created, sized or mapped.
    File {
        /// The path of [`Backing::File`].
        path: &'static str,
        /// What the system said.
        source: std::io::Error,
    },
}

impl fmt::Display for BackingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfMemory { bytes } => {
                write!(f, "the system refused a region of {bytes} bytes")
            }
            Self::File { path, source } => {
                write!(f, "cannot back memory with the file `{path}`: {source}")
            }
        }
    }
}

impl std::error::Error for BackingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::OutOfMemory { .. } => None,
            Self::File { source, .. } => Some(source),
        }
    }
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;

    #[test]
    fn grants_combine() {
        let thp = Granted::TransparentHugePages;
        assert_eq!(Granted::together([]), None);
        assert_eq!(Granted::together([thp]), Some(thp));
        assert_eq!(Granted::together([thp, thp]), Some(thp));
        assert_eq!(
            Granted::together([thp, Granted::Heap, thp]),
            Some(Granted::Heap)
        );
        assert_eq!(
            Granted::together([Granted::Numa(0), Granted::Numa(1)]),
            Some(Granted::Heap)
        );
    }

    #[test]
    fn a_file_error_names_the_path_and_keeps_its_cause() {
        let e = BackingError::File {
            path: "/nowhere/pool.bin",
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert!(e.to_string().contains("`/nowhere/pool.bin`"), "{e}");
        assert!(std::error::Error::source(&e).is_some());
    }
}
