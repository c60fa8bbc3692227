//! # Layer: memory from the operating system
//!
//! The bottom layer: it uses nothing of typool's but `sync`, and every other layer may use it.
//!
//! Everything typool keeps for itself — segment lists, registries, free-id lists — lives in a
//! [`SysVec`], backed by [`System`](std::alloc::System). That is what lets
//! [`SlabAllocator`](crate::SlabAllocator) be the program's `#[global_allocator]`: no path
//! inside typool re-enters the global allocator, so none can recurse into itself or deadlock
//! on its own lock.
//!
//! Large blocks — pool segments, the buddy's region, backed arena chunks — are [`Region`]s:
//! a block from the [`Backing`] asked for, which knows what was [`Granted`] and gives itself
//! back when dropped. One file per backing:
//!
//! | file | what it is |
//! |---|---|
//! | `backing` | the public [`Backing`], [`Granted`] and [`BackingError`] |
//! | `region` | [`Region`]: a block from a backing, given back on drop |
//! | `map` | anonymous `mmap`/`munmap` at any alignment (heap blocks of 256 KiB and up) |
//! | `huge` | huge pages: `MAP_HUGETLB`, else `madvise(MADV_HUGEPAGE)`, else plain |
//! | `numa` | `mbind` to a node, else plain |
//! | `file` | shared mappings of a file (memmap2), laid end to end |
//! | `mesh` | memory files of their own, whose pages can be meshed onto each other (`mesh` pools) |
//! | `sys_vec` | [`SysVec`]: bookkeeping that never touches the global allocator |
//! | `asan` | AddressSanitizer's manual poisoning (`--cfg typool_asan`; nothing otherwise) |

pub(crate) mod asan;
mod backing;
#[cfg(all(unix, not(miri)))]
mod file;
mod huge;
pub(crate) mod map;
pub(crate) mod mesh;
mod numa;
mod region;
mod sys_vec;

pub use backing::{Backing, BackingError, Granted};
pub(crate) use huge::HUGE_PAGE;
pub(crate) use region::Region;
pub(crate) use sys_vec::{sys_vec, SysVec};
