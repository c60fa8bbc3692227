//! # Layer: the typed front — what users hold
//!
//! [`Pool<T>`](crate::Pool) and its RAII [`Handle`](crate::Handle); the [`Pooled`](crate::Pooled)
//! trait that `#[derive(Pooled)]` implements and its one-word [`PoolBox`](crate::PoolBox);
//! [`PoolError`](crate::PoolError), which hands a refused value back. Uses the `engine` (a
//! `Pool<T>` wraps a `RawPool`) and `stats`; nothing below imports from here.
//!
//! `PoolBox::new` → the type's `thread_local!` cache (`pooled`) → `Pool::alloc_in` (`pool`) →
//! the engine's `RawPool::alloc`: a cache hit, or the slow path down to a segment.
//!
//! | file | what it is |
//! |---|---|
//! | `pool` | [`Pool<T>`](crate::Pool): turns slots into `T`s and refusals into errors |
//! | `handle` | [`Handle<'p, T>`](crate::Handle): the owner of an object of a pool built by hand |
//! | `pooled` | the [`Pooled`](crate::Pooled) trait and the derived type's thread-local cache |
//! | `generic` | the pools and caches of a generic derived type's instantiations, found by `TypeId` |
//! | `boxed` | [`PoolBox<T>`](crate::PoolBox): the one-word owner of a derived type's object |
//! | `shared` | [`PoolArc<T>`](crate::PoolArc) and [`PoolRc<T>`](crate::PoolRc): shared owners, the count in the slot |
//! | `error` | [`PoolError<T>`](crate::PoolError) |
//! | `serde` | feature `serde`: the handles serialise as the value they own |
//!
//! Two pairs of files name each other, on purpose: `Pool::alloc` returns a `Handle` and a
//! `Handle` frees into its `Pool`; `Pooled::pooled` returns a `PoolBox` and a `PoolBox` is
//! bounded by `Pooled`. An owner and its guard are defined against each other (as `Mutex`
//! and `MutexGuard` are); the cycles stay inside this layer.

pub(crate) mod boxed;
pub(crate) mod error;
pub(crate) mod generic;
pub(crate) mod handle;
pub(crate) mod pool;
pub(crate) mod pooled;
#[cfg(all(feature = "serde", not(typool_loom)))]
mod serde;
#[cfg(not(typool_loom))]
pub(crate) mod shared;
#[cfg(feature = "track-sites")]
pub(crate) mod sites;
