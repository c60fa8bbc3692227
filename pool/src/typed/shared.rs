//! [`PoolArc`] and [`PoolRc`]: shared ownership of a pooled object, the count in its slot.
//!
//! A `PoolArc<T>` points at a [`Counted<T>`] — the count, then the value — in a second pool
//! that `#[derive(Pooled)]` gives every type beside its own (with the same configuration), so
//! it is one pointer wide and allocating one is a `PoolBox::new` of the pair. Both handles
//! are one generic type, [`Shared<T, K>`], whose `K` says how the count moves: [`Atomic`]
//! (`PoolArc`, read-modify-write atomics, as `Arc`) or [`Local`] (`PoolRc`, a plain load and
//! store, as `Rc`; no atomic read-modify-write, and neither `Send` nor `Sync`).
//!
//! Invariants: `count` is the number of live handles to the slot, at least 1 while any
//! exists; the handle that takes it from 1 to 0 (dropping, or `try_unwrap`) is the only one
//! left, and drops the value and frees the slot; `&mut T` is handed out only while `count` is
//! 1 and the caller holds that one handle mutably. There are no weak references.

use crate::typed::boxed::PoolBox;
use crate::typed::error::PoolError;
use crate::typed::pooled::Pooled;
use core::borrow::Borrow;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::NonNull;
use core::sync::atomic::{self, AtomicUsize, Ordering};

/// A shared object's slot: its count, then its value. Generated code names it through
/// `typool::__private`; users never touch it.
#[doc(hidden)]
#[repr(C)]
pub struct Counted<T> {
    count: AtomicUsize,
    value: T,
}

impl<T> fmt::Debug for Counted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counted")
            .field("count", &self.count.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

// SAFETY: `Counted<T>`'s pool, cache and exit hook are `T`'s second set, which the derive
// writes to the same contract as the first (see `Pooled`'s safety section).
unsafe impl<T: Pooled> Pooled for Counted<T> {
    #[inline]
    fn pool() -> &'static crate::Pool<Self> {
        T::__counted_pool()
    }

    #[inline(always)]
    fn __with_cache<R>(f: impl FnOnce(&crate::engine::cache::LocalCache) -> R) -> R {
        T::__with_counted_cache(f)
    }

    #[inline]
    fn __retire_at_exit() -> bool {
        T::__counted_retire_at_exit()
    }

    // A `Counted<Counted<T>>` (a `PoolArc` of the hidden slot type) has no derive to write its
    // statics: it takes the process-wide ones for generic instantiations.
    #[inline]
    fn __counted_pool() -> &'static crate::Pool<Counted<Self>> {
        nested::pool()
    }

    #[inline(always)]
    fn __with_counted_cache<R>(f: impl FnOnce(&crate::engine::cache::LocalCache) -> R) -> R {
        nested::with_cache::<Counted<Self>, R>(f)
    }

    #[inline]
    fn __counted_retire_at_exit() -> bool {
        nested::armed::<Counted<Self>>()
    }
}

/// The statics of `Counted<Counted<T>>` pools: the generic machinery, once for the process.
mod nested {
    use super::Counted;
    use crate::engine::cache::LocalCache;
    use crate::engine::config::PoolConfig;
    use crate::typed::generic::{self, GenericCaches, GenericRetire, GenericStatics, Instances};
    use crate::typed::pool::Pool;

    static INSTANCES: Instances = Instances::new();
    std::thread_local! {
        static CACHES: GenericCaches = const { GenericCaches::new() };
        static RETIRE: GenericRetire<Statics> = const { GenericRetire::new() };
    }
    struct Statics;
    impl GenericStatics for Statics {
        fn caches() -> &'static std::thread::LocalKey<GenericCaches> {
            &CACHES
        }
    }

    pub(super) fn pool<T: 'static>() -> &'static Pool<Counted<T>> {
        INSTANCES.pool::<Counted<T>>(PoolConfig::new)
    }

    #[inline(always)]
    pub(super) fn with_cache<T: 'static, R>(f: impl FnOnce(&LocalCache) -> R) -> R {
        generic::with_cache::<T, R>(&CACHES, f)
    }

    pub(super) fn armed<T: 'static>() -> bool {
        generic::armed::<T, Statics>(INSTANCES.pool::<T>(PoolConfig::new), &RETIRE)
    }
}

/// How a [`Shared`] handle's count moves.
pub trait Count: sealed::Sealed {
    /// Adds a handle.
    #[doc(hidden)]
    fn increment(count: &AtomicUsize);
    /// Removes a handle: `true` when it was the last one, whose holder now owns the value.
    #[doc(hidden)]
    fn decrement(count: &AtomicUsize) -> bool;
    /// `true` when one handle exists, and every other handle's effect is visible.
    #[doc(hidden)]
    fn unique(count: &AtomicUsize) -> bool;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Atomic {}
    impl Sealed for super::Local {}
}

/// [`PoolArc`]'s count: atomic read-modify-writes, as [`std::sync::Arc`]'s.
#[derive(Debug)]
pub enum Atomic {}

/// [`PoolRc`]'s count: a plain load and store, as [`std::rc::Rc`]'s; only one thread ever
/// holds handles to one object.
#[derive(Debug)]
pub enum Local {}

/// Past this many handles, a program has leaked handles in a loop: abort, as `Arc` does.
const MAX_COUNT: usize = isize::MAX as usize;

impl Count for Atomic {
    #[inline]
    fn increment(count: &AtomicUsize) {
        // Relaxed, as `Arc::clone`: a new handle comes from an existing one, which keeps the
        // object alive and already synchronised.
        if count.fetch_add(1, Ordering::Relaxed) > MAX_COUNT {
            std::process::abort();
        }
    }

    #[inline]
    fn decrement(count: &AtomicUsize) -> bool {
        // The only handle: no other exists to race with (a clone needs a handle), and the
        // Acquire load saw every other handle's Release decrement, so their uses happen before
        // the drop. The count stays 1 in a slot about to be freed; no read-modify-write.
        if count.load(Ordering::Acquire) == 1 {
            return true;
        }
        // Release, then Acquire for the last: every use through another handle happens before
        // the value is dropped (the argument of `Arc::drop`).
        if count.fetch_sub(1, Ordering::Release) != 1 {
            return false;
        }
        atomic::fence(Ordering::Acquire);
        true
    }

    #[inline]
    fn unique(count: &AtomicUsize) -> bool {
        count.load(Ordering::Acquire) == 1
    }
}

impl Count for Local {
    #[inline]
    fn increment(count: &AtomicUsize) {
        let n = count.load(Ordering::Relaxed);
        if n >= MAX_COUNT {
            std::process::abort();
        }
        count.store(n + 1, Ordering::Relaxed);
    }

    #[inline]
    fn decrement(count: &AtomicUsize) -> bool {
        let n = count.load(Ordering::Relaxed);
        count.store(n - 1, Ordering::Relaxed);
        n == 1
    }

    #[inline]
    fn unique(count: &AtomicUsize) -> bool {
        count.load(Ordering::Relaxed) == 1
    }
}

/// A shared handle to a pooled `T`; use it as [`PoolArc<T>`] or [`PoolRc<T>`].
///
/// One pointer wide (and so is `Option` of it); cloning adds to the count in the object's
/// slot, and the last handle to drop drops the value and gives the slot back to the
/// dropping thread's cache.
pub struct Shared<T: Pooled, K: Count> {
    ptr: NonNull<Counted<T>>,
    _owns: PhantomData<(Counted<T>, K)>,
}

/// Shared ownership of a pooled `T` across threads, like [`std::sync::Arc`]: the count is an
/// atomic in the object's slot.
///
/// `Send` and `Sync` exactly when `T` is both, as `Arc<T>`. Every `#[derive(Pooled)]` type can
/// be held in one: its values live in a second pool of the type's, with its configuration (a
/// `max` bounds each pool apart), listed in [`stats::all`](crate::stats::all) as
/// `Counted<T>`.
///
/// # Examples
///
/// ```
/// use typool::{PoolArc, Pooled};
///
/// #[derive(Pooled, Debug, Clone)]
/// struct Session { user: String, requests: u64 }
///
/// let s = PoolArc::new(Session { user: "ada".into(), requests: 0 });
/// let t = PoolArc::clone(&s);
/// std::thread::spawn(move || assert_eq!(t.user, "ada")).join().unwrap();
/// assert_eq!(PoolArc::strong_count(&s), 1);
///
/// let mut s = s;
/// PoolArc::make_mut(&mut s).requests += 1;           // unique: changed in place
/// assert_eq!(PoolArc::try_unwrap(s).unwrap().requests, 1);
/// assert_eq!(std::mem::size_of::<Option<PoolArc<Session>>>(), std::mem::size_of::<usize>());
/// ```
pub type PoolArc<T> = Shared<T, Atomic>;

/// Shared ownership of a pooled `T` within one thread, like [`std::rc::Rc`]: the count in the
/// object's slot moves with a plain load and store.
///
/// Neither `Send` nor `Sync`. The values share the second pool of `T` with [`PoolArc`].
///
/// # Examples
///
/// ```
/// use typool::{PoolRc, Pooled};
///
/// #[derive(Pooled)]
/// struct Node { value: u32, next: Option<PoolRc<Node>> }
///
/// let tail = PoolRc::new(Node { value: 2, next: None });
/// let a = PoolRc::new(Node { value: 1, next: Some(PoolRc::clone(&tail)) });
/// let b = PoolRc::new(Node { value: 3, next: Some(PoolRc::clone(&tail)) });
/// assert_eq!(PoolRc::strong_count(&tail), 3);
/// assert!(PoolRc::ptr_eq(a.next.as_ref().unwrap(), b.next.as_ref().unwrap()));
/// ```
pub type PoolRc<T> = Shared<T, Local>;

// SAFETY: as `Arc<T>`: handles on several threads share `&T` (so `T: Sync`), and the last
// one, on any thread, drops the `T` (so `T: Send`); the count is atomic.
unsafe impl<T: Pooled + Send + Sync> Send for Shared<T, Atomic> {}
// SAFETY: as for `Send`: `&PoolArc<T>` can be cloned into a handle on another thread.
unsafe impl<T: Pooled + Send + Sync> Sync for Shared<T, Atomic> {}

impl<T: Pooled, K: Count> Shared<T, K> {
    /// Moves `value` into `T`'s second pool, with a count of 1.
    ///
    /// # Panics
    ///
    /// As [`PoolBox::new`]: when the pool is bounded and full, or out of memory.
    #[inline]
    #[track_caller]
    pub fn new(value: T) -> Self {
        Self::from_slot(PoolBox::new(Counted {
            count: AtomicUsize::new(1),
            value,
        }))
    }

    /// Moves `value` into `T`'s second pool, or hands it back inside the error.
    ///
    /// # Errors
    ///
    /// As [`PoolBox::try_new`]: when the bounded pool is full, or the system refuses memory.
    #[inline]
    pub fn try_new(value: T) -> Result<Self, PoolError<T>> {
        let slot = PoolBox::try_new(Counted {
            count: AtomicUsize::new(1),
            value,
        })
        .map_err(|e| e.map(|c| c.value))?;
        Ok(Self::from_slot(slot))
    }

    #[inline]
    fn from_slot(slot: PoolBox<Counted<T>>) -> Self {
        Self {
            // SAFETY: `into_raw` never returns null.
            ptr: unsafe { NonNull::new_unchecked(PoolBox::into_raw(slot)) },
            _owns: PhantomData,
        }
    }

    #[inline]
    fn counted(&self) -> &Counted<T> {
        // SAFETY: a live handle keeps the slot and its value alive (count ≥ 1).
        unsafe { self.ptr.as_ref() }
    }

    /// Handles to this object, this one included.
    #[inline]
    pub fn strong_count(this: &Self) -> usize {
        this.counted().count.load(Ordering::Acquire)
    }

    /// `true` when both handles point at the same object.
    #[inline]
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        a.ptr == b.ptr
    }

    /// The value, mutably, when this is its only handle.
    #[inline]
    pub fn get_mut(this: &mut Self) -> Option<&mut T> {
        if K::unique(&this.counted().count) {
            // SAFETY: the only handle, held mutably: no one else can reach the value.
            Some(unsafe { &mut this.ptr.as_mut().value })
        } else {
            None
        }
    }

    /// The value, when this is its only handle (its slot goes back to the pool); else the
    /// handle, unchanged.
    ///
    /// # Errors
    ///
    /// `Err(this)` when other handles exist.
    pub fn try_unwrap(this: Self) -> Result<T, Self> {
        if !K::unique(&this.counted().count) {
            return Err(this);
        }
        let this = core::mem::ManuallyDrop::new(this);
        // SAFETY: the only handle, forgotten: its slot came from `PoolBox::into_raw` of this
        // pool and is taken back once.
        let slot = unsafe { PoolBox::from_raw(this.ptr.as_ptr()) };
        Ok(PoolBox::into_inner(slot).value)
    }

    /// The value, mutably: in place when this is its only handle, else in a clone of the
    /// value that this handle moves to (the others keep the original).
    ///
    /// # Panics
    ///
    /// As [`new`](Self::new), when a clone is needed and the pool refuses it.
    #[track_caller]
    pub fn make_mut(this: &mut Self) -> &mut T
    where
        T: Clone,
    {
        if !K::unique(&this.counted().count) {
            *this = Self::new(T::clone(this));
        }
        // SAFETY: unique now: the only handle, held mutably.
        unsafe { &mut this.ptr.as_mut().value }
    }
}

impl<T: Pooled, K: Count> Clone for Shared<T, K> {
    #[inline]
    fn clone(&self) -> Self {
        K::increment(&self.counted().count);
        Self {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T: Pooled, K: Count> Drop for Shared<T, K> {
    #[inline]
    fn drop(&mut self) {
        if K::decrement(&self.counted().count) {
            // SAFETY: the last handle: the slot came from `PoolBox::into_raw` and is taken
            // back once; dropping the box drops the value and frees the slot.
            drop(unsafe { PoolBox::from_raw(self.ptr.as_ptr()) });
        }
    }
}

impl<T: Pooled, K: Count> Deref for Shared<T, K> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.counted().value
    }
}

impl<T: Pooled, K: Count> AsRef<T> for Shared<T, K> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: Pooled, K: Count> Borrow<T> for Shared<T, K> {
    fn borrow(&self) -> &T {
        self
    }
}

impl<T: Pooled + fmt::Debug, K: Count> fmt::Debug for Shared<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: Pooled + fmt::Display, K: Count> fmt::Display for Shared<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: Pooled, K: Count> fmt::Pointer for Shared<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&core::ptr::from_ref::<T>(self), f)
    }
}

impl<T: Pooled + PartialEq, K: Count> PartialEq for Shared<T, K> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Pooled + Eq, K: Count> Eq for Shared<T, K> {}

impl<T: Pooled + PartialOrd, K: Count> PartialOrd for Shared<T, K> {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: Pooled + Ord, K: Count> Ord for Shared<T, K> {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: Pooled + Hash, K: Count> Hash for Shared<T, K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state);
    }
}

impl<T: Pooled, K: Count> From<T> for Shared<T, K> {
    #[track_caller]
    fn from(value: T) -> Self {
        Self::new(value)
    }
}
