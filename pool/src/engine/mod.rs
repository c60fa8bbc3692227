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
//! | `cache` | a thread's cache: two magazines, the fast path (no atomic read-modify-write), its stash, and the policy of when magazines move |
//! | `raw` | the untyped pool: the slow paths that tie cache, depot and segments together |
//! | `depot` | lock-free stacks of magazines, tagged against ABA: each thread's stash and the shared depot |
//! | `segment` | segments and their pages: where free slots are below the depot; give-back to the OS |
//! | `decay` | when unused memory goes back without a call: the policy and its clocks |
//! | `mesh` | meshing: which pages share a physical page, who owns each offset, [`MeshReport`](crate::MeshReport) |
//! | `span_map` | the segments' carved ranges, readable without a lock: ownership checks |
//! | `table` | per-thread caches for pools without a derived `thread_local!`, and for slabs |
//! | `record` | the pool's heap part (segments, registry) that `stats()` reads; the process-wide list behind `stats::all()` |
//! | `counters` | per-cache event counters and the registry that sums them for `stats()` |
//! | `config` | [`PoolConfig`](crate::PoolConfig): initial size, bound, cache size, backing, decay, mesh |
//! | `guard` | free-list integrity: encoded links and free tags (debug builds, and `hardened`) |
//! | `misuse` | how a double free or a foreign pointer is reported: no allocation, then abort |
//! | `poison` | ASan poisoning of free slots (`--cfg typool_asan`; nothing otherwise) |
//!
//! Memory flows in one cycle: pages hand out magazines; a thread's cache pops from its magazine
//! on allocation and pushes on free; a full magazine goes to the thread's stash, or when the
//! thread has not shown it reuses what it frees, to the shared depot; an empty cache takes one
//! from its stash, else the depot, else the pages. An object freed on another thread goes into
//! *that* thread's cache and flows back through the depot. A thread's stash and magazines
//! return to the depot when the thread exits; `trim` and decay move free memory down — stash,
//! depot, pages — and empty pages back to the OS.

pub(crate) mod cache;
pub(crate) mod config;
pub(crate) mod counters;
pub(crate) mod decay;
pub(crate) mod depot;
pub(crate) mod guard;
pub(crate) mod magazine;
pub(crate) mod mesh;
pub(crate) mod misuse;
pub(crate) mod poison;
pub(crate) mod raw;
pub(crate) mod record;
pub(crate) mod segment;
pub(crate) mod span_map;
pub(crate) mod table;
