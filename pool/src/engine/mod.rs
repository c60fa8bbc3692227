//! # Layer: the engine — untyped slots, thread caches, the depot, segments
//!
//! Everything that moves fixed-size slots around, knowing them only by size and alignment.
//! Uses `os` (segments and bookkeeping memory), `stats` (the snapshot it fills in) and `sync`;
//! used by `typed` (each `Pool<T>` is a [`RawPool`](raw::RawPool)) and by `alloc` (each slab
//! size class is one). Nothing here knows about `T`, handles or the derive.
//!
//! An allocation's way down, from the fast path to the slowest:
//!
//! | file | what it is |
//! |---|---|
//! | `magazine` | a free slot's link word, and magazines: chains of free slots with a length |
//! | `cache` | a thread's cache: two magazines, the fast path (no atomic read-modify-write) |
//! | `raw` | the untyped pool: the slow paths that tie cache, depot and segments together |
//! | `depot` | the global lock-free stack of magazines, tagged against ABA |
//! | `segment` | the blocks slots are carved from (memory from `os`); geometric growth; `trim` |
//! | `span_map` | the segments' carved ranges, readable without a lock: ownership checks |
//! | `table` | per-thread caches for pools without a derived `thread_local!`, and for slabs |
//! | `record` | what `stats()` reads, on the heap; the process-wide list behind `stats::all()` |
//! | `counters` | per-cache event counters and the registry that sums them for `stats()` |
//! | `config` | [`PoolConfig`](crate::PoolConfig): initial size, bound, cache size |
//! | `guard` | free-list integrity: encoded links and free tags (debug builds, and `hardened`) |
//! | `misuse` | how a double free or a foreign pointer is reported: no allocation, then abort |
//! | `poison` | ASan poisoning of free slots (`--cfg typool_asan`; nothing otherwise) |
//!
//! Memory flows in one cycle: a segment is carved into magazines; a thread's cache pops from
//! its magazine on allocation and pushes on free; a full magazine goes to the depot and an
//! empty cache takes one from there. An object freed on another thread goes into *that*
//! thread's cache and flows back through the depot. A thread's cache returns to the depot
//! when the thread exits.

pub(crate) mod cache;
pub(crate) mod config;
pub(crate) mod counters;
pub(crate) mod depot;
pub(crate) mod guard;
pub(crate) mod magazine;
pub(crate) mod misuse;
pub(crate) mod poison;
pub(crate) mod raw;
pub(crate) mod record;
pub(crate) mod segment;
pub(crate) mod span_map;
pub(crate) mod table;
