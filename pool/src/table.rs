//! Per-instance thread caches, for pools that are not derived.
//!
//! A derived type has its own `thread_local!`, generated next to its static pool. A `Pool<T>`
//! built by hand has no such static, so it keeps its caches itself: every thread gets a
//! small integer id (reused after the thread exits), and the pool keeps a table of caches
//! indexed by id, in buckets of 1, 2, 4, … caches allocated when first needed.
//!
//! A thread's cache in this table outlives the thread: the next thread that takes the same
//! id inherits it, free slots and all (handing an id over goes through a mutex, so the new
//! owner sees everything the old one wrote). The pool gives the memory back when it drops.
//! Buckets are installed under a lock and read with an `Acquire` load: there is nothing
//! lock-free here to model.

use crate::cache::LocalCache;
use crate::sync::{lock, loom_const_fn, null_ptrs, AtomicPtr, Mutex, Ordering};
use core::ptr;
use std::alloc::{GlobalAlloc, Layout, System};

const BUCKETS: usize = 32;

pub(crate) struct CacheTable {
    buckets: [AtomicPtr<LocalCache>; BUCKETS],
    install: Mutex<()>,
}

fn bucket_of(id: usize) -> (usize, usize) {
    let k = id + 1;
    let b = (usize::BITS - 1 - k.leading_zeros()) as usize;
    (b, k - (1 << b))
}

fn bucket_layout(b: usize) -> Layout {
    Layout::array::<LocalCache>(1 << b).expect("bucket sizes are small")
}

impl CacheTable {
    loom_const_fn! {
        pub(crate) const fn new() -> Self {
            Self { buckets: null_ptrs!(), install: Mutex::new(()) }
        }
    }

    /// This thread's cache, or `None` while the thread is being torn down (or if the system
    /// refuses the few bytes of a bucket): the caller then goes without a cache.
    #[inline]
    pub(crate) fn get(&self) -> Option<&LocalCache> {
        let (b, i) = bucket_of(ids::current()?);
        let mut bucket = self.buckets[b].load(Ordering::Acquire);
        if bucket.is_null() {
            bucket = self.install(b)?;
        }
        // The cache at this id is used only by the thread holding the id, and the reference
        // cannot leave this thread (`LocalCache` is not `Sync`).
        // SAFETY: an installed bucket holds `1 << b` initialised caches and lives until the
        // table drops; `i < 1 << b` by `bucket_of`; this thread alone uses this cache.
        Some(unsafe { &*bucket.add(i) })
    }

    #[cold]
    fn install(&self, b: usize) -> Option<*mut LocalCache> {
        let _guard = lock(&self.install);
        let existing = self.buckets[b].load(Ordering::Acquire);
        if !existing.is_null() {
            return Some(existing);
        }
        // SAFETY: the layout is non-empty.
        let bucket = unsafe { System.alloc(bucket_layout(b)) }.cast::<LocalCache>();
        if bucket.is_null() {
            return None;
        }
        for j in 0..1 << b {
            // SAFETY: `j` is within the fresh bucket.
            unsafe { bucket.add(j).write(LocalCache::new()) };
        }
        self.buckets[b].store(bucket, Ordering::Release);
        Some(bucket)
    }
}

impl Drop for CacheTable {
    fn drop(&mut self) {
        for (b, bucket) in self.buckets.iter_mut().enumerate() {
            let bucket = bucket.load(Ordering::Relaxed);
            if !bucket.is_null() {
                for j in 0..1 << b {
                    // SAFETY: every cache of an installed bucket was initialised in `install`.
                    unsafe { ptr::drop_in_place(bucket.add(j)) };
                }
                // SAFETY: allocated in `install` with this layout; `&mut self`: no user is left.
                unsafe { System.dealloc(bucket.cast(), bucket_layout(b)) };
            }
        }
    }
}

/// Small thread ids, reused after a thread exits.
mod ids {
    use std::sync::Mutex;

    /// Ids given back by exited threads, and the next never-used id. A plain `std` mutex even
    /// under loom: loom models drive caches directly and never ask for an id.
    static FREE: Mutex<(Vec<usize>, usize)> = Mutex::new((Vec::new(), 0));

    struct Id(usize);

    impl Id {
        fn acquire() -> Self {
            let mut free = FREE.lock().unwrap_or_else(|p| p.into_inner());
            let id = free.0.pop().unwrap_or_else(|| {
                free.1 += 1;
                free.1 - 1
            });
            Self(id)
        }
    }

    impl Drop for Id {
        fn drop(&mut self) {
            FREE.lock()
                .unwrap_or_else(|p| p.into_inner())
                .0
                .push(self.0);
        }
    }

    std::thread_local! {
        static ID: Id = Id::acquire();
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
        let table = CacheTable::new();
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
}
