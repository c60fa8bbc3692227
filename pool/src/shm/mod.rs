//! # Layer: shared memory between processes
//!
//! A [`SharedPool<T>`] is a pool whose slots live in a named POSIX shared-memory segment, so
//! that processes on one machine hand each other `T`s without copying them: one process
//! allocates a [`SharedBox`] and [`send`](SharedPool::send)s it, another
//! [`recv`](SharedPool::recv)s the same slot and reads it in place. `T` is
//! [`bytemuck::Pod`]: plain bytes, no pointers (an address means nothing in another process),
//! no drop glue, every bit pattern valid — so whatever a peer wrote is a valid `T`.
//!
//! # What is shared, and what is the truth
//!
//! The segment holds a header, a registry of the handles that have it open, two rings of
//! slot indices — the free ring and the message ring — one state word per slot, and the slots
//! (`layout.rs`). The **state word** says who holds a slot: free, sent, in a box of registry
//! entry `e`, handed out as an index by `e`, or in `e`'s cache (`state.rs`). Everything that
//! gives a slot to someone is a compare-and-swap on that word. The rings only carry hints:
//! a ring entry whose slot's state does not match is stale and dropped (`ring.rs`). That
//! split is what makes the segment survive processes that die at any instruction:
//!
//! - nothing is guarded by a lock, so no dead process can leave one held;
//! - a slot's holder is written in its state, so a dead handle's slots are found by a scan
//!   and returned (`registry.rs`);
//! - the two operations that take two steps (a state store, then a ring push) write an intent
//!   first, and a recovery finishes them; pushing an entry twice is harmless.
//!
//! # Hostile peers
//!
//! Any process that can open the segment can write anything into it. It can corrupt the
//! values and the bookkeeping of the segment — lose slots, deliver garbage — but not this
//! process's own memory: every index read from shared memory is checked against the
//! capacity before it is used, every state word is compared whole, a ring loop that cannot
//! make sense of its cells gives up after a bounded number of rounds, and the layout is
//! computed here from `T` and checked against the file, never read as offsets. (It can make
//! this process fault by truncating the file: a crash, not a corruption.) Segments are
//! created for the current user only.
//!
//! # Processes, threads and `fork`
//!
//! A handle is `Send` but not `Sync`: each thread opens the segment for itself and gets its
//! own registry entry, cache and intent word, so the hit path (a cache pop, a state store, a
//! write) takes no atomic read-modify-write. A forked child's copy of a handle is its
//! parent's: using it panics, and dropping it (or its boxes) does nothing; the child opens
//! the segment again.
//!
//! | file | what it is |
//! |---|---|
//! | `pool` | [`SharedPool`], [`SharedBox`], [`ShmIndex`]: the typed front |
//! | `layout` | where everything sits in a segment, and the typed view of it |
//! | `state` | a slot's state word |
//! | `ring` | the bounded ring of indices that no dead process can block |
//! | `registry` | handles, liveness, recovery of the dead |
//! | `segment` | `shm_open`, `mmap`, `shm_unlink`, names |
//! | `error` | [`ShmError`] |

#[cfg(not(typool_loom))]
mod error;
#[cfg(not(typool_loom))]
mod layout;
#[cfg(not(typool_loom))]
mod pool;
#[cfg(not(typool_loom))]
mod registry;
pub(crate) mod ring;
#[cfg(not(typool_loom))]
mod segment;
pub(crate) mod state;

#[cfg(not(typool_loom))]
pub use error::{ShmError, SlotLayout};
#[cfg(not(typool_loom))]
pub use pool::{SharedBox, SharedPool, ShmIndex};
