//! Typed memory pools that a type opts into with one derive.
//!
//! typool is not on crates.io yet; depend on a clone of its repository by path:
//!
//! ```toml
//! [dependencies]
//! typool = { path = "../typool/pool" }   # where your clone is
//! ```
//!
//! A type opts in with `#[derive(Pooled)]` and is allocated with [`PoolBox::new`]:
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
//! A request handler gets a bump arena, reset and reused for the next call, with
//! `#[arena_scope]`:
//!
//! ```
//! use typool::{arena_scope, ArenaVec};
//!
//! #[arena_scope] // `arena: &Arena` in the body; keys `name = ..`, `capacity = ..` (default 4096 bytes)
//! fn handle(request: &str) -> usize {
//!     let line = arena.alloc_str(request);
//!     let mut words: ArenaVec<&str> = ArenaVec::new_in(arena);
//!     words.extend(line.split(' '));
//!     words.len()
//! }
//!
//! assert_eq!(handle("GET /index.html HTTP/1.1"), 3);
//! ```
//!
//! # What is here
//!
//! | you want | use |
//! |---|---|
//! | many objects of one type, allocated and freed fast | `#[derive(`[`Pooled`](derive@Pooled)`)]` and [`PoolBox<T>`] (one word, like `Box`) |
//! | a pool you own, not a static one | [`Pool<T>`] and its [`Handle`]; configured by [`PoolConfig`] |
//! | scratch memory per request, freed at once | [`#[arena_scope]`](arena_scope) on the handler, or an [`Arena`] by hand ([`ArenaVec`]) |
//! | a general allocator: the whole program, or one collection | [`SlabAllocator`] (`#[global_allocator]` or `&SlabAllocator`), [`PoolAlloc`] and [`PooledVec`] |
//! | a fixed region split into power-of-two blocks | [`BuddyAllocator`] |
//! | elements that never move | [`StableVector`]; small inline vectors: [`SmallVector`] |
//! | what a pool or allocator holds | [`Pool::stats`] ([`PoolStats`]), `fragmentation()` ([`FragmentationReport`]), [`Arena::stats`] |
//! | every pool in the process, for a dashboard | [`stats::all`], [`stats::render_prometheus`] (Prometheus text); feature `metrics`: `stats::publish_metrics`; feature `track-sites`: `Pool::leaks`, `stats::leak_report` |
//! | any allocator, counted | [`TrackingAllocator`] (`#[global_allocator]` or `&TrackingAllocator`) |
//! | an object shared by several owners, the count in its slot | [`PoolArc<T>`] (threads), [`PoolRc<T>`] (one thread), for every derived type |
//! | handles that serialise as their value | feature `serde`: [`PoolBox`], [`PoolArc`], [`PoolRc`] implement `Serialize` and `Deserialize`, as `Box`, `Arc`, `Rc` do |
//! | release builds that catch double frees | feature `hardened` (debug builds always check) |
//! | huge pages, a NUMA node or a file under a pool, arena or allocator | [`Backing`]: [`PoolConfig::backing`] (`#[pooled(huge_pages)]`, `#[pooled(numa = N)]`), [`Arena::with_backing`], [`BuddyAllocator::try_with_backing`], [`SlabAllocator::with_backing`]; what was [`Granted`] is in the stats |
//! | typed objects handed between processes without a copy (Linux) | [`shm::SharedPool`] of a `bytemuck::Pod` type: `create`/`open` a named segment, `alloc`, `send`/`recv`, `recover` after a crash |
//!
//! Collections over these allocators come from
//! [allocator-api2 0.2](https://docs.rs/allocator-api2/0.2), re-exported here so
//! that your program names the same version: `typool::allocator_api2::vec::Vec`.
//!
//! A bounded pool that is full hands the value back ([`PoolBox::try_new`] returns a
//! [`PoolError`] holding it); allocators return `AllocError` for layouts they cannot serve;
//! misuse that cannot be handed back (a double free, a foreign pointer) is caught with a
//! message that names the pool or allocator. The repository's `BENCHMARKS.md` has every
//! measured figure with the command that reproduces it.
//!
//! # Processes that fork
//!
//! typool registers `pthread_atfork` handlers on its first slow path: `fork` waits until no
//! thread holds a typool lock, so the child can allocate, free, trim and read stats at once —
//! with the slab as its global allocator too. The parent's other threads do not exist in the
//! child, and their thread caches (two magazines per pool each, a few KiB) stay out of its
//! reach; everything else, their stashes included, the child's `trim` reaches. A child that
//! `exec`s at once needs nothing more; a long-lived child may call `trim` on its pools to give
//! back what it inherited and will not use.
//!
//! # For contributors
//!
//! `IMPLEMENTATION.md` at the repository root is the map of the code — one folder per layer,
//! the cycle of a slot, the invariants and the proofs of the lock-free parts.
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

mod alloc;
mod arena;
mod engine;
#[cfg(not(typool_loom))]
mod observe;
mod os;
#[cfg(target_os = "linux")]
pub mod shm;
pub mod stats;
mod sync;
mod typed;

#[cfg(all(test, typool_loom))]
mod loom;

pub use alloc::buddy::BuddyAllocator;
#[cfg(not(typool_loom))]
pub use alloc::pool_alloc::{PoolAlloc, PooledVec, StableVector};
pub use alloc::slab::SlabAllocator;
pub use arena::{Arena, ArenaStats, ArenaVec, Checkpoint};
pub use engine::config::PoolConfig;
pub use engine::mesh::MeshReport;
#[cfg(not(typool_loom))]
pub use observe::{TrackingAllocator, TrackingStats};
pub use os::{Backing, BackingError, Granted};
pub use stats::{FragmentationReport, PoolStats};
pub use typed::boxed::PoolBox;
pub use typed::error::PoolError;
pub use typed::handle::Handle;
pub use typed::pool::Pool;
pub use typed::pooled::Pooled;
#[cfg(not(typool_loom))]
pub use typed::shared::{Atomic, Count, Local, PoolArc, PoolRc, Shared};
pub use typool_containers::SmallVector;

/// The allocator-api2 crate typool's allocators implement, re-exported so that a program names
/// the same version: depend on `typool` alone and write `typool::allocator_api2::vec::Vec`
/// (adding another `allocator-api2` version to `Cargo.toml` gives "multiple different versions
/// of crate" errors when its collections meet typool's allocators).
///
/// ```
/// use typool::allocator_api2::vec::Vec;
/// use typool::PoolAlloc;
///
/// let mut v = Vec::new_in(PoolAlloc);
/// v.push(1u32);
/// assert_eq!(v[0], 1);
/// ```
pub use allocator_api2;
pub use allocator_api2::alloc::{AllocError, Allocator};
/// The bytemuck crate (version 1), whose `Pod` types a [`shm::SharedPool`] holds, re-exported
/// so that a program derives `Pod` and `Zeroable` with the version typool was built against.
pub use bytemuck;
pub use typool_derive::{arena_scope, Pooled};

/// What generated code names. Not public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::arena::lease::{GlobalLease, LocalLease};
    pub use crate::arena::Arena;
    pub use crate::engine::cache::LocalCache;
    pub use crate::engine::config::PoolConfig;
    pub use crate::typed::pool::Pool;
    pub use crate::typed::pooled::{retire_at_exit, with_cache, Pooled, RetireAtExit, ThreadCache};
    #[cfg(not(typool_loom))]
    pub use crate::typed::shared::Counted;
    /// What a generic derived type's impl uses (`typed/generic.rs`).
    #[cfg(not(typool_loom))]
    pub mod generic {
        pub use crate::typed::generic::{
            armed, with_cache, GenericCaches, GenericRetire, GenericStatics, Instances,
        };
    }
    pub use core::option::Option;
    pub use std::thread_local;
}

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
