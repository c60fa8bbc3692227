//! Typed memory pools that a type opts into with one derive.
//!
//! ```
//! use typool::{PoolBox, Pooled};
//!
//! #[derive(Pooled)]
//! #[pooled(initial = 1024, cache = 64)]
//! struct Particle { pos: [f32; 3], vel: [f32; 3] }
//!
//! let mut p = PoolBox::new(Particle { pos: [0.0; 3], vel: [1.0; 3] });
//! p.pos[0] += p.vel[0];
//! assert_eq!(Particle::pool().stats().live, 1);
//! ```
//!
//! # Architecture
//!
//! One module per concept; read them in this order.
//!
//! | module | what it is |
//! |---|---|
//! | `magazine` | a free slot's link word, and magazines: chains of free slots with a length |
//! | `cache` | a thread's cache: two magazines, the fast path (no atomic read-modify-write) |
//! | `depot` | the global lock-free stack of magazines, tagged against ABA |
//! | `segment` | the blocks slots are carved from; geometric growth; `trim` |
//! | `raw` | the untyped pool: the slow paths that tie cache, depot and segments together |
//! | `table` | per-thread caches for pools you build yourself and for slab allocators (derived types use a `thread_local!`) |
//! | `pool`, `handle` | [`Pool<T>`] and its RAII [`Handle`] |
//! | `pooled`, `boxed` | the [`Pooled`] trait and its one-word [`PoolBox`] |
//! | `slab` | [`SlabAllocator`]: 44 size classes, each a raw pool; as global allocator or `Allocator` |
//! | `buddy` | [`BuddyAllocator`]: power-of-two blocks over one region, split and coalesced |
//! | `pool_alloc` | [`PoolAlloc`]: the process-wide slab as a zero-sized allocator; [`PooledVec`] |
//! | `blocks` | what the `Allocator` impls share: zero-sized blocks, moving a block |
//! | `os` | memory from the OS (`mmap` for large blocks) and bookkeeping that bypasses the global allocator |
//! | `arena` | [`Arena`]: bump allocation, freed at once; drop list; `&Arena` as an allocator |
//! | `lease` | arena reuse for `#[arena_scope]`: per-thread and global lists, trimming policy |
//! | `stats`, `error`, `config` | [`PoolStats`], [`PoolError`], [`PoolConfig`] |
//! | `sync` | the one source of atomics and locks, swapped for loom's under `--cfg typool_loom` |
//!
//! Memory flows in one cycle: a segment is carved into magazines; a thread's cache pops from
//! its magazine on allocation and pushes on free; a full magazine goes to the depot and an
//! empty cache takes one from there. An object freed on another thread goes into *that*
//! thread's cache and flows back through the depot. A thread's cache returns to the depot
//! when the thread exits. `IMPLEMENTATION.md` at the repository root walks through the
//! invariants and the proofs of the lock-free parts.
//!
//! # Features of the handles
//!
//! | | owner | width | lifetime |
//! |---|---|---|---|
//! | [`PoolBox<T>`] | `#[derive(Pooled)]` types | one pointer | `'static` |
//! | [`Handle<'p, T>`] | any `Pool<T>` | two pointers | borrows the pool |

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

// Lets the derive's `::typool::…` paths resolve inside this crate's own tests.
extern crate self as typool;

mod arena;
mod blocks;
mod boxed;
mod buddy;
mod cache;
mod config;
mod depot;
mod error;
mod handle;
mod lease;
mod magazine;
mod os;
mod pool;
#[cfg(not(typool_loom))]
mod pool_alloc;
mod pooled;
mod raw;
mod segment;
mod slab;
pub mod stats;
mod sync;
mod table;

#[cfg(all(test, typool_loom))]
mod loom_alloc;
#[cfg(all(test, typool_loom))]
mod loom_depot;
#[cfg(all(test, typool_loom))]
mod loom_lease;
#[cfg(all(test, typool_loom))]
mod loom_pool;

pub use arena::{Arena, ArenaStats, ArenaVec, Checkpoint};
pub use boxed::PoolBox;
pub use buddy::BuddyAllocator;
pub use config::PoolConfig;
pub use error::PoolError;
pub use handle::Handle;
pub use pool::Pool;
#[cfg(not(typool_loom))]
pub use pool_alloc::{PoolAlloc, PooledVec, StableVector};
pub use pooled::Pooled;
pub use slab::SlabAllocator;
pub use stats::{FragmentationReport, PoolStats};
pub use typool_containers::SmallVector;
pub use typool_derive::{arena_scope, Pooled};

/// What generated code names. Not public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::arena::Arena;
    pub use crate::cache::LocalCache;
    pub use crate::config::PoolConfig;
    pub use crate::lease::{GlobalLease, LocalLease};
    pub use crate::pool::Pool;
    pub use crate::pooled::{with_cache, Pooled, ThreadCache};
    pub use core::option::Option;
    pub use std::thread_local;
}

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
