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
//! Large blocks (pool segments, buddy regions) come from [`map`] and go back through
//! [`unmap`]. Where memory comes from — plain pages today; huge pages, a NUMA node or a file
//! are the next backings — is decided here, so a new backing is a new file in this folder
//! that `map` dispatches to.
//!
//! | file | what it is |
//! |---|---|
//! | `map` | blocks from the OS: `mmap`/`munmap` for large blocks, `System` for the rest |
//! | `sys_vec` | [`SysVec`]: bookkeeping that never touches the global allocator |
//! | `asan` | AddressSanitizer's manual poisoning (`--cfg typool_asan`; nothing otherwise) |

pub(crate) mod asan;
mod map;
mod sys_vec;

pub(crate) use map::{map, unmap};
pub(crate) use sys_vec::{sys_vec, SysVec};
