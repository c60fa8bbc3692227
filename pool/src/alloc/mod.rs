//! # Layer: variable-size allocators
//!
//! Allocators for blocks of any layout, usable as `#[global_allocator]` and through
//! allocator-api2's `Allocator`. Uses the `engine` (each slab size class is a `RawPool`),
//! `os` (the buddy's region, bookkeeping off the global allocator), `stats` and `sync`;
//! used by the containers through [`PoolAlloc`](crate::PoolAlloc).
//!
//! | file | what it is |
//! |---|---|
//! | `slab` | [`SlabAllocator`](crate::SlabAllocator): 44 size classes, each a raw pool |
//! | `slab_record` | what a slab's fragmentation report reads, on the heap, and the process-wide list of them (for the dashboards) |
//! | `buddy` | [`BuddyAllocator`](crate::BuddyAllocator): power-of-two blocks over one region |
//! | `pool_alloc` | [`PoolAlloc`](crate::PoolAlloc): the process-wide slab as a zero-sized allocator; `PooledVec` |
//! | `blocks` | what the `Allocator` impls share: zero-sized blocks, moving a block |

pub(crate) mod blocks;
pub(crate) mod buddy;
#[cfg(not(typool_loom))]
pub(crate) mod pool_alloc;
pub(crate) mod slab;
pub(crate) mod slab_record;
