//! Per-instance thread caches, for pools that are not derived and for slab allocators.
//!
//! A derived type has its own `thread_local!`, generated next to its static pool. A `Pool<T>`
//! built by hand, or a `SlabAllocator`, has no such static, so it keeps its caches itself:
//! every thread gets a small integer id (reused after the thread exits), and the owner keeps
//! a table of caches indexed by id, in buckets of 1, 2, 4, … caches allocated (from
//! `System`) when first needed.
//!
//! Each thread remembers the entries it looked up last, in a small direct-mapped memo (a
//! thread-local without a destructor): [`MEMO_SLOTS`] pairs of a table key and a pointer, the
//! slot chosen by the key. A thread that uses a few tables at once — a hand-built pool or two,
//! `PoolAlloc`'s slab, a slab as the global allocator — keeps each in its own slot (keys are
//! drawn in turn, so the first `MEMO_SLOTS` tables never share one) and pays one compare per
//! lookup whatever the mix. Keys are unique for the life of the process, so a memo can never
//! match a different table; a thread clears its memo before giving its id back.
//!
//! A thread's cache in this table outlives the thread: the next thread that takes the same
//! id inherits it, free slots and all (handing an id over goes through a mutex, so the new
//! owner sees everything the old one wrote). The pool gives the memory back when it drops.
//! Buckets are installed under a lock and read with an `Acquire` load: there is nothing
//! lock-free here to model.
//!
//! The table is `Send` and `Sync` for entries that promise what it does with them
//! ([`Entry`]): an entry is used by one thread at a time and moves between threads only
//! through the id list's mutex; other threads may read its atomics (a slab's report reads its
//! threads' byte counters through the allocator's record). Debug builds check the first part: every entry records
//! the id it serves, and each lookup checks it.

use crate::sync::{
    lock, loom_const_fn, null_ptrs, AtomicPtr, AtomicU64, AtomicUsize, Mutex, Ordering,
};
use core::ptr::{self, NonNull};
use std::alloc::{GlobalAlloc, Layout, System};

const BUCKETS: usize = 32;

/// What a table may hold.
///
/// # Safety
///
/// An implementor may be used through `&Self` by the thread holding its id, then by the next
/// holder after the handover (it is `Send` in all but name: its raw pointers lead to memory
/// the pool owns, not the thread), and every thread may read its atomics while it is used.
pub(crate) unsafe trait Entry: Default {}

/// Per-thread entries of type `C`, created with `C::default()`: the table hands `&C` only to
/// the thread holding the entry's id, or to one thread while no thread holds it.
pub(crate) struct CacheTable<C> {
    buckets: [AtomicPtr<Slot<C>>; BUCKETS],
    install: Mutex<()>,
    /// This table's memo key (0 until first used; then unique in the process).
    key: AtomicU64,
    /// The byte offset of the memo slot `key` picks (0 until drawn): read beside the key, it
    /// spares the hit path the arithmetic. A reader that sees a key without its offset looks
    /// in slot 0, misses, and takes the slow path.
    slot: AtomicUsize,
}

/// An entry and, in debug builds, the id of the thread it serves.
struct Slot<C> {
    entry: C,
    #[cfg(debug_assertions)]
    owner: std::sync::atomic::AtomicUsize,
}

// SAFETY: the table owns its entries (they drop with it), and `C: Entry` may be used from
// whichever thread holds its id, one at a time: sending the table sends nothing a thread
// still uses, since a table is only dropped when no thread uses it (`&mut self`).
unsafe impl<C: Entry> Send for CacheTable<C> {}
// SAFETY: through `&CacheTable`, a thread gets `&C` only for the entry of the id it holds
// (`get`, `remembered`: ids are unique among live threads, the memo is cleared before an id
// is given back, and a debug check confirms the owner) or for entries no thread holds while
// the id list is locked (`for_each_unowned`), both of which `C: Entry` allows.
unsafe impl<C: Entry> Sync for CacheTable<C> {}

fn bucket_of(id: usize) -> (usize, usize) {
    let k = id + 1;
    let b = (usize::BITS - 1 - k.leading_zeros()) as usize;
    (b, k - (1 << b))
}

fn bucket_layout<C>(b: usize) -> Layout {
    Layout::array::<Slot<C>>(1 << b).expect("bucket sizes are small")
}

impl<C> Slot<C> {
    /// In debug builds: panics unless the calling thread holds the id this entry serves.
    #[inline(always)]
    fn check_owner(&self) {
        #[cfg(debug_assertions)]
        {
            let owner = self.owner.load(std::sync::atomic::Ordering::Relaxed);
            assert!(
                ids::current() == Some(owner),
                "typool: a thread reached the cache of thread id {owner} through its memo; \
                 the memo should have been cleared when the id was given back"
            );
        }
    }
}

/// Source of table keys; 0 means "no key yet". Consecutive keys pick consecutive memo slots.
static KEYS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Entries in each thread's memo (a power of two).
const MEMO_SLOTS: usize = 8;

impl<C: Entry> CacheTable<C> {
    loom_const_fn! {
        pub(crate) const fn new() -> Self {
            Self {
                buckets: null_ptrs!(),
                install: Mutex::new(()),
                key: AtomicU64::new(0),
                slot: AtomicUsize::new(0),
            }
        }
    }

    /// This thread's entry, or `None` while the thread is being torn down (or if the system
    /// refuses the few bytes of a bucket): the caller then goes without a cache.
    #[inline(always)]
    pub(crate) fn get(&self) -> Option<&C> {
        match self.remembered() {
            Some(entry) => Some(entry),
            None => self.lookup(),
        }
    }

    /// This thread's entry if it was the last one this thread looked up — one thread-local
    /// load and a compare, with no call: the hit paths use it and leave the rest to `get`.
    #[inline(always)]
    pub(crate) fn remembered(&self) -> Option<&C> {
        let key = self.key.load(Ordering::Relaxed);
        let (memo, entry) = ids::memo(self.slot.load(Ordering::Relaxed));
        // The memo's keys are never 0 and a table's is 0 only until drawn, so equal keys mean
        // this table's entry.
        if memo == key {
            // SAFETY: the memo holds this table's entry for this thread's id (keys are unique,
            // and the memo is cleared before the id is given back); see `lookup`. A slot with
            // a key always has an entry.
            let slot = unsafe { entry.cast::<Slot<C>>().as_ref() };
            slot.check_owner();
            return Some(&slot.entry);
        }
        None
    }

    #[cold]
    #[inline(never)]
    fn lookup(&self) -> Option<&C> {
        let id = ids::current()?;
        let (b, i) = bucket_of(id);
        let mut bucket = self.buckets[b].load(Ordering::Acquire);
        if bucket.is_null() {
            bucket = self.install(b)?;
        }
        // The entry at this id is used only by the thread holding the id, and the reference
        // cannot leave this thread (`C` is not `Sync`, or the caller uses it as if not).
        // SAFETY: an installed bucket holds `1 << b` initialised entries and lives until the
        // table drops; `i < 1 << b` by `bucket_of`; this thread alone uses this entry.
        let slot = unsafe { &*bucket.add(i) };
        #[cfg(debug_assertions)]
        slot.owner.store(id, std::sync::atomic::Ordering::Relaxed);
        ids::remember(self.key(), NonNull::from(slot).cast());
        Some(&slot.entry)
    }

    /// This table's unique key, drawn on first use.
    fn key(&self) -> u64 {
        let key = self.key.load(Ordering::Relaxed);
        if key != 0 {
            return key;
        }
        let fresh = KEYS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = match self
            .key
            .compare_exchange(0, fresh, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => fresh,
            Err(won) => won,
        };
        self.slot.store(ids::offset(key), Ordering::Relaxed);
        key
    }

    /// Runs `f` on the entry of every id no thread holds now: the caches exited threads left
    /// behind. The id list stays locked meanwhile, so no thread can take one of these ids (and
    /// start using its entry) while `f` runs: `f` has each entry to itself.
    pub(crate) fn for_each_unowned(&self, mut f: impl FnMut(&C)) {
        ids::with_free(|free| {
            for &id in free {
                let (b, i) = bucket_of(id);
                let bucket = self.buckets[b].load(Ordering::Acquire);
                if !bucket.is_null() {
                    // SAFETY: an installed bucket's entries are initialised and live until the
                    // table drops; no thread holds `id` while the list is locked.
                    f(unsafe { &(*bucket.add(i)).entry });
                }
            }
        });
    }

    #[cold]
    fn install(&self, b: usize) -> Option<*mut Slot<C>> {
        let _guard = lock(&self.install);
        let existing = self.buckets[b].load(Ordering::Acquire);
        if !existing.is_null() {
            return Some(existing);
        }
        // SAFETY: the layout is non-empty.
        let bucket = unsafe { System.alloc(bucket_layout::<C>(b)) }.cast::<Slot<C>>();
        if bucket.is_null() {
            return None;
        }
        for j in 0..1 << b {
            // SAFETY: `j` is within the fresh bucket.
            unsafe {
                bucket.add(j).write(Slot {
                    entry: C::default(),
                    #[cfg(debug_assertions)]
                    owner: std::sync::atomic::AtomicUsize::new(usize::MAX),
                })
            };
        }
        self.buckets[b].store(bucket, Ordering::Release);
        Some(bucket)
    }
}

impl<C> Drop for CacheTable<C> {
    fn drop(&mut self) {
        for (b, bucket) in self.buckets.iter_mut().enumerate() {
            let bucket = bucket.load(Ordering::Relaxed);
            if !bucket.is_null() {
                for j in 0..1 << b {
                    // SAFETY: every entry of an installed bucket was initialised in `install`.
                    unsafe { ptr::drop_in_place(bucket.add(j)) };
                }
                // SAFETY: allocated in `install` with this layout; `&mut self`: no user is left.
                unsafe { System.dealloc(bucket.cast(), bucket_layout::<C>(b)) };
            }
        }
    }
}

/// Small thread ids, reused after a thread exits.
mod ids {
    use super::MEMO_SLOTS;
    use crate::os::{sys_vec, SysVec};
    use crate::sync::lock_std;
    use core::cell::Cell;
    use core::ptr::NonNull;
    use std::sync::Mutex;

    /// Ids given back by exited threads, and the next never-used id. A plain `std` mutex even
    /// under loom: loom models drive caches directly and never ask for an id. The list never
    /// allocates through the global allocator, which may be a `SlabAllocator` asking for an id.
    static FREE: Mutex<(SysVec<usize>, usize)> = Mutex::new((sys_vec(), 0));

    /// A memo slot's key while it names no entry: never a table's key, drawn or not (tables
    /// draw keys counting up from 1, and hold 0 until they draw).
    const NO_KEY: u64 = u64::MAX;

    struct Id(usize);

    impl Id {
        fn acquire() -> Self {
            let mut free = lock_std(&FREE);
            let id = free.0.pop().unwrap_or_else(|| {
                free.1 += 1;
                free.1 - 1
            });
            Self(id)
        }
    }

    impl Drop for Id {
        fn drop(&mut self) {
            // Forget the entries this id indexes before another thread can take the id.
            forget_all();
            lock_std(&FREE).0.push(self.0);
        }
    }

    std::thread_local! {
        static ID: Id = Id::acquire();
        /// The table entries this thread looked up last, each in the slot its table's key
        /// picks. No destructor, so it stays usable while other thread-locals are being
        /// destroyed.
        static MEMO: [MemoSlot; MEMO_SLOTS] = const {
            [const { MemoSlot { key: Cell::new(NO_KEY), entry: Cell::new(NonNull::dangling()) } };
                MEMO_SLOTS]
        };
    }

    /// One memo entry: a table's key and this thread's entry in it (dangling while the key
    /// is `NO_KEY`; never null, which spares the hit path a test).
    #[repr(C)]
    struct MemoSlot {
        key: Cell<u64>,
        entry: Cell<NonNull<u8>>,
    }

    /// The byte offset in the memo of the slot `key` picks.
    pub(super) fn offset(key: u64) -> usize {
        (key as usize & (MEMO_SLOTS - 1)) * core::mem::size_of::<MemoSlot>()
    }

    /// The memo slot at byte `offset` (from [`offset`], or 0): (the key it holds, its entry).
    #[inline(always)]
    pub(super) fn memo(offset: usize) -> (u64, NonNull<u8>) {
        MEMO.with(|m| {
            debug_assert!(
                offset.is_multiple_of(core::mem::size_of::<MemoSlot>())
                    && offset < MEMO_SLOTS * core::mem::size_of::<MemoSlot>()
            );
            // SAFETY: `offset` is that of a slot of the array (it comes from `offset`, which
            // picks one of `MEMO_SLOTS`, or is 0): in bounds and aligned.
            let slot = unsafe { &*m.as_ptr().cast::<u8>().add(offset).cast::<MemoSlot>() };
            (slot.key.get(), slot.entry.get())
        })
    }

    pub(super) fn remember(key: u64, entry: NonNull<u8>) {
        MEMO.with(|m| {
            let slot = &m[offset(key) / core::mem::size_of::<MemoSlot>()];
            slot.key.set(key);
            slot.entry.set(entry);
        });
    }

    /// Empties every slot.
    pub(super) fn forget_all() {
        MEMO.with(|m| {
            for slot in m {
                slot.key.set(NO_KEY);
                slot.entry.set(NonNull::dangling());
            }
        });
    }

    /// Runs `f` on the ids no thread holds (given back by exited threads), with the list
    /// locked: no thread can take one of them until `f` returns.
    pub(super) fn with_free(f: impl FnOnce(&[usize])) {
        let free = lock_std(&FREE);
        f(&free.0);
    }

    /// The calling thread's id, `None` once its thread-locals are being destroyed.
    #[inline]
    pub(super) fn current() -> Option<usize> {
        ID.try_with(|id| id.0).ok()
    }
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;
    use crate::engine::cache::LocalCache;

    #[test]
    fn bucket_math() {
        assert_eq!(bucket_of(0), (0, 0));
        assert_eq!(bucket_of(1), (1, 0));
        assert_eq!(bucket_of(2), (1, 1));
        assert_eq!(bucket_of(3), (2, 0));
        assert_eq!(bucket_of(6), (2, 3));
        assert_eq!(bucket_of(7), (3, 0));
    }

    #[test]
    fn a_thread_gets_the_same_cache_every_time() {
        let table = CacheTable::<LocalCache>::new();
        let a: *const LocalCache = table.get().unwrap();
        let b: *const LocalCache = table.get().unwrap();
        assert_eq!(a, b);
        let other = std::thread::scope(|s| {
            s.spawn(|| table.get().unwrap() as *const _ as usize)
                .join()
                .unwrap()
        });
        assert_ne!(other, a as usize, "two live threads never share a cache");
    }

    /// Tables whose keys pick different memo slots are all found by their memo however the
    /// thread interleaves them; two that pick one slot evict each other, and are still
    /// served (by the lookup).
    #[test]
    fn interleaved_tables_keep_their_memo_slots() {
        // Keys far from those drawn, set by hand so the slots they pick are known.
        let keyed = |key: u64| {
            let t = CacheTable::<LocalCache>::new();
            t.key.store(key, Ordering::Relaxed);
            t.slot.store(ids::offset(key), Ordering::Relaxed);
            t
        };
        let base = u64::MAX / 2;
        let tables: Vec<_> = (0..MEMO_SLOTS as u64).map(|i| keyed(base + i)).collect();
        let entries: Vec<*const LocalCache> =
            tables.iter().map(|t| t.get().unwrap() as _).collect();
        for _ in 0..3 {
            for (t, &e) in tables.iter().zip(&entries) {
                assert_eq!(t.remembered().map(|c| c as *const _), Some(e));
            }
        }
        let clash = keyed(base + MEMO_SLOTS as u64);
        let mine: *const LocalCache = clash.get().unwrap();
        assert!(tables[0].remembered().is_none(), "one slot, two keys");
        assert_eq!(tables[0].get().map(|c| c as *const _), Some(entries[0]));
        assert!(clash.remembered().is_none());
        assert_eq!(clash.get().map(|c| c as *const _), Some(mine));
    }
}
