//! The depot, and the stashes beside it: stacks of whole magazines.
//!
//! # Design
//!
//! Below its two magazines, every thread cache keeps a [`Stash`]: a stack of full magazines
//! that only its owner pushes and pops (and that `trim` or thread exit may steal from). Below
//! the stashes, the pool's [`Depot`] is one more such stack, shared by all threads: a cache
//! whose stash is full hands a magazine there, one whose stash is empty takes one from there.
//! So a thread whose demand swings wider than its cache keeps its own memory — warm in its
//! own core's caches — and threads meet only to hand memory to each other, a magazine at a
//! time.
//!
//! The stacks' nodes are not the slots themselves but *descriptors* — `{ next, head, len }`
//! records kept in a table beside the pool that are never freed while the pool lives. Each
//! stack is a pair of tagged Treiber stacks over that table: `full` (descriptors carrying a
//! magazine) and `spare` (descriptors with nothing to carry). A push takes a spare descriptor
//! (the stack's own, else the depot's, else a new one), fills it and pushes it on `full`: a
//! CAS on each of the two heads. A pop does the reverse. The depot's heads sit on cache lines
//! of their own; a stash's heads sit in its thread's cache, which no other thread writes on
//! any path but a steal.
//!
//! Keeping the links out of the slots matters twice: a thread that lost a race never reads
//! memory that now belongs to a user object (that read would race with the user's plain
//! writes), and `trim` can free a segment without any reclamation scheme, because no thread
//! ever reads slot memory it does not own. This is why the stacks use a tagged index and not
//! crossbeam-epoch: nothing here is ever freed while another thread might read it.
//!
//! # ABA safety
//!
//! Each stack's head is one `AtomicU64`: a 32-bit tag over a 32-bit descriptor index (plus
//! one, so 0 is empty). Every successful push and pop adds one to the tag. The dangerous
//! interleaving is the classic one (descriptors A, B, C; stack `A → B → C`):
//!
//! | step | thread 1 (pop)                         | thread 2                       | head          |
//! |------|----------------------------------------|--------------------------------|---------------|
//! | 1    | loads head = (t, A); reads A.next = B  |                                | (t, A)        |
//! | 2    | *preempted*                            | pop → A                        | (t+1, B)      |
//! | 3    |                                        | pop → B                        | (t+2, C)      |
//! | 4    |                                        | push A (A.next = C)            | (t+3, A)      |
//! | 5    | CAS (t, A) → (t+1, B)                  |                                | **fails**     |
//! | 6    | reloads (t+3, A), A.next = C; CAS ok   |                                | (t+4, C)      |
//!
//! Without the tag, step 5 would succeed and install B — which thread 2 owns — as the head.
//! With it, step 5 compares `t` against `t+3` and retries. A stale CAS succeeds only if the
//! tag wrapped exactly 2³² times between its load and its CAS, which no preemption lasts.
//! The read of `A.next` in step 1 is an atomic load of a descriptor that still exists, so a
//! stale value is harmless: the CAS that would publish it fails. The loom model
//! `loom::depot::loom_depot_aba_pop_preempted` replays this interleaving.
//!
//! # Ordering
//!
//! The pusher writes the magazine's links (plain writes into slots it owns) and the
//! descriptor's `head`/`len` (relaxed), then publishes with a `Release` CAS; a popper's
//! `Acquire` load and CAS of the head synchronise with it, so everything the pusher wrote —
//! including the user's last writes before the slots were freed — happens before the popper
//! reads the magazine. All later CASes on a head are read-modify-writes, so they continue the
//! release sequence.

use crate::engine::magazine::{FreeSlot, Magazine};
use crate::sync::{
    lock, loom_const_fn, null_ptrs, AtomicPtr, AtomicU32, AtomicU64, Mutex, Ordering,
};
use core::ptr;
use std::alloc::{GlobalAlloc, Layout, System};

/// Descriptors in the table's first bucket; bucket `b` holds `FIRST << b`.
const FIRST: u32 = 16;
/// Buckets enough for every 32-bit index.
const BUCKETS: usize = 29;

/// One node of the depot's stacks.
struct Descriptor {
    /// Index + 1 of the next descriptor on the stack this one is on (0: none).
    next: AtomicU32,
    /// The magazine carried, while on `full`.
    head: AtomicPtr<FreeSlot>,
    len: AtomicU32,
}

/// Descriptors, by index, in buckets that are allocated on demand and freed with the pool.
struct Table {
    buckets: [AtomicPtr<Descriptor>; BUCKETS],
    /// Descriptors created so far; changed only under `grow`.
    created: AtomicU32,
    grow: Mutex<()>,
}

fn bucket_of(index: u32) -> (usize, usize) {
    let k = index / FIRST + 1;
    let b = 31 - k.leading_zeros();
    (b as usize, (index - FIRST * ((1 << b) - 1)) as usize)
}

fn bucket_layout(b: usize) -> Layout {
    Layout::array::<Descriptor>((FIRST as usize) << b).expect("bucket sizes are small")
}

impl Table {
    loom_const_fn! {
        const fn new() -> Self {
            Self {
                buckets: null_ptrs!(),
                created: AtomicU32::new(0),
                grow: Mutex::new(()),
            }
        }
    }

    fn get(&self, index: u32) -> &Descriptor {
        let (b, i) = bucket_of(index);
        let bucket = self.buckets[b].load(Ordering::Acquire);
        debug_assert!(
            !bucket.is_null(),
            "descriptor {index} used before its bucket exists"
        );
        // SAFETY: every index handed out by `create` lies in a bucket that `create` allocated
        // and initialised before publishing it (Release store, Acquire load above); buckets
        // live until the table drops, and `i` is below the bucket's length by `bucket_of`.
        unsafe { &*bucket.add(i) }
    }

    /// A fresh descriptor index, or `None` if the system refuses memory for a bucket.
    #[cold]
    fn create(&self) -> Option<u32> {
        #[cfg(all(test, not(typool_loom)))]
        if REFUSE_DESCRIPTORS.get() {
            return None;
        }
        let _guard = lock(&self.grow);
        let index = self.created.load(Ordering::Relaxed);
        let (b, i) = bucket_of(index);
        if i == 0 {
            let layout = bucket_layout(b);
            // SAFETY: the layout is non-empty.
            let bucket = unsafe { System.alloc(layout) }.cast::<Descriptor>();
            if bucket.is_null() {
                return None;
            }
            for j in 0..(FIRST as usize) << b {
                let d = Descriptor {
                    next: AtomicU32::new(0),
                    head: AtomicPtr::new(ptr::null_mut()),
                    len: AtomicU32::new(0),
                };
                // SAFETY: `j` is below the bucket's length; the memory is fresh.
                unsafe { bucket.add(j).write(d) };
            }
            self.buckets[b].store(bucket, Ordering::Release);
        }
        self.created.store(index + 1, Ordering::Relaxed);
        Some(index)
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        for (b, bucket) in self.buckets.iter_mut().enumerate() {
            let bucket = bucket.load(Ordering::Relaxed);
            if bucket.is_null() {
                continue;
            }
            for j in 0..(FIRST as usize) << b {
                // SAFETY: every descriptor of an allocated bucket was initialised by `create`.
                unsafe { ptr::drop_in_place(bucket.add(j)) };
            }
            // SAFETY: allocated in `create` with this layout; `&mut self` means no reader is left.
            unsafe { System.dealloc(bucket.cast(), bucket_layout(b)) };
        }
    }
}

/// A Treiber stack of descriptor indices with a tagged head (see the module docs).
#[derive(Debug)]
struct TaggedStack {
    head: AtomicU64,
}

const INDEX_BITS: u32 = 32;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;

impl TaggedStack {
    loom_const_fn! {
        const fn new() -> Self {
            Self { head: AtomicU64::new(0) }
        }
    }

    fn push(&self, table: &Table, index: u32) {
        let node = table.get(index);
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            node.next
                .store((head & INDEX_MASK) as u32, Ordering::Relaxed);
            let tag = (head >> INDEX_BITS).wrapping_add(1);
            let new = tag << INDEX_BITS | u64::from(index + 1);
            match self
                .head
                .compare_exchange_weak(head, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }

    fn pop(&self, table: &Table) -> Option<u32> {
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            let top = (head & INDEX_MASK) as u32;
            if top == 0 {
                return None;
            }
            let next = table.get(top - 1).next.load(Ordering::Relaxed);
            let tag = (head >> INDEX_BITS).wrapping_add(1);
            let new = tag << INDEX_BITS | u64::from(next);
            match self
                .head
                .compare_exchange_weak(head, new, Ordering::Acquire, Ordering::Acquire)
            {
                Ok(_) => return Some(top - 1),
                Err(now) => head = now,
            }
        }
    }
}

/// A stack of magazines over the pool's descriptor table: the depot's shared one, or a
/// thread's own stash. `full` carries magazines; `spare` keeps the descriptors this stack
/// freed, so that a stash's owner reuses its own and touches no shared line.
#[derive(Debug)]
pub(crate) struct Stash {
    full: TaggedStack,
    spare: TaggedStack,
}

impl Stash {
    loom_const_fn! {
        pub(crate) const fn new() -> Self {
            Self { full: TaggedStack::new(), spare: TaggedStack::new() }
        }
    }

    /// Puts `mag` (non-empty, owned by the caller) on this stack. Its descriptor comes from
    /// this stack's spares, else the depot's, else a new one; gives `mag` back if the system
    /// refuses memory for one.
    pub(crate) fn push(&self, depot: &Depot, mag: Magazine) -> Result<(), Magazine> {
        debug_assert!(
            mag.len > 0 && !mag.head.is_null(),
            "pushing an empty magazine: {mag:?}"
        );
        let table = &depot.table;
        let Some(index) = self
            .spare
            .pop(table)
            .or_else(|| depot.shared.0.spare.pop(table))
            .or_else(|| table.create())
        else {
            return Err(mag);
        };
        let d = table.get(index);
        d.head.store(mag.head, Ordering::Relaxed);
        d.len.store(mag.len, Ordering::Relaxed);
        self.full.push(table, index);
        Ok(())
    }

    /// Takes the magazine on top, keeping its descriptor among this stack's spares.
    pub(crate) fn pop(&self, depot: &Depot) -> Option<Magazine> {
        self.pop_to(depot, &self.spare)
    }

    /// Takes the magazine on top for another thread (a trim, a thread exit): its descriptor
    /// goes to the depot's spares, where anyone can reuse it.
    pub(crate) fn steal(&self, depot: &Depot) -> Option<Magazine> {
        self.pop_to(depot, &depot.shared.0.spare)
    }

    fn pop_to(&self, depot: &Depot, spares: &TaggedStack) -> Option<Magazine> {
        let table = &depot.table;
        let index = self.full.pop(table)?;
        let d = table.get(index);
        let mag = Magazine {
            head: d.head.load(Ordering::Relaxed),
            len: d.len.load(Ordering::Relaxed),
        };
        spares.push(table, index);
        Some(mag)
    }

    /// Hands this stack's spare descriptors to the depot (its owner is going away).
    pub(crate) fn return_spares(&self, depot: &Depot) {
        while let Some(index) = self.spare.pop(&depot.table) {
            depot.shared.0.spare.push(&depot.table, index);
        }
    }
}

/// Keeps what it holds on a pair of cache lines of its own (the unit x86's adjacent-line
/// prefetcher pulls in), so that threads CASing the depot's heads share nothing else.
#[derive(Debug)]
#[repr(align(128))]
struct Padded<T>(T);

/// The shared store of full (and, at thread exit, partial) magazines, and the table of
/// descriptors that it and every thread's [`Stash`] run over.
pub(crate) struct Depot {
    shared: Padded<Stash>,
    table: Table,
}

impl core::fmt::Debug for Depot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Depot").finish_non_exhaustive()
    }
}

impl Depot {
    loom_const_fn! {
        pub(crate) const fn new() -> Self {
            Self { shared: Padded(Stash::new()), table: Table::new() }
        }
    }

    /// Hands `mag` (non-empty, owned by the caller) to the depot. Gives it back if the system
    /// refuses memory for a descriptor.
    pub(crate) fn push(&self, mag: Magazine) -> Result<(), Magazine> {
        self.shared.0.push(self, mag)
    }

    /// Takes a magazine, if the depot has one.
    pub(crate) fn pop(&self) -> Option<Magazine> {
        self.shared.0.pop(self)
    }

    /// Descriptors created so far (the loom models check that none is lost).
    #[cfg(typool_loom)]
    pub(crate) fn created(&self) -> u32 {
        self.table.created.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, not(typool_loom)))]
std::thread_local! {
    /// Unit tests set this to see what pools do when the system refuses descriptor memory.
    pub(crate) static REFUSE_DESCRIPTORS: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;

    #[test]
    fn bucket_math_covers_every_index_once() {
        let mut expected = (0usize, 0usize);
        for index in 0..10_000u32 {
            assert_eq!(bucket_of(index), expected, "index {index}");
            expected.1 += 1;
            if expected.1 == (FIRST as usize) << expected.0 {
                expected = (expected.0 + 1, 0);
            }
        }
        assert_eq!(bucket_of(u32::MAX - 1).0, BUCKETS - 1);
    }

    #[test]
    fn depot_is_lifo_and_recycles_descriptors() {
        let depot = Depot::new();
        let mut slots = [FreeSlot::UNLINKED, FreeSlot::UNLINKED];
        let base = slots.as_mut_ptr();
        for round in 0..100 {
            let a = Magazine { head: base, len: 1 };
            let b = Magazine {
                head: base.wrapping_add(1),
                len: 1,
            };
            depot.push(a).unwrap();
            depot.push(b).unwrap();
            assert_eq!(depot.pop().unwrap().head, b.head, "round {round}");
            assert_eq!(depot.pop().unwrap().head, a.head);
            assert!(depot.pop().is_none());
        }
        assert_eq!(
            depot.table.created.load(Ordering::Relaxed),
            2,
            "descriptors are reused"
        );
    }
}
