//! The [`Pooled`] trait, which `#[derive(Pooled)]` implements, and the thread-local cache
//! each derived type gets.

use crate::engine::cache::LocalCache;
use crate::sync::loom_const_fn;
use crate::typed::boxed::PoolBox;
use crate::typed::pool::Pool;
use core::marker::PhantomData;
use std::thread::LocalKey;

/// A type with its own static [`Pool`] and thread-local cache. Implemented by
/// `#[derive(Pooled)]`, and only by it.
///
/// # Safety
///
/// `pool()` returns the same pool on every call; `__with_cache` passes `f` the calling
/// thread's own cache of that pool (a `thread_local!` dedicated to it, with no destructor, so
/// reaching it costs no state check — for a generic type, an element of an array that the
/// instantiation's slot picks, `typed/generic.rs`); and `__retire_at_exit` arms a second
/// thread-local whose destructor retires that cache into the pool, returning `false` once the
/// thread's thread-locals are being destroyed. A generic instantiation without a cache of its
/// own is handed an empty cache that never registers, and its `__retire_at_exit` always
/// returns `false`, so its slow paths go without a cache. The `__counted_*` three keep the
/// same promises for the pool of `Counted<Self>` (the slots of `PoolArc` and `PoolRc`). [`PoolBox`] relies on all three to return every slot to
/// the pool it came from: its slow path registers a cache with the pool only after arming the
/// retirement, and goes without a cache when arming fails. The derive upholds this;
/// hand-written impls are not supported.
///
/// # Examples
///
/// ```
/// use typool::{PoolBox, Pooled};
///
/// #[derive(Pooled, Debug, PartialEq)]
/// #[pooled(initial = 128, cache = 32)]
/// struct Order { id: u64, qty: u32 }
///
/// let o = Order { id: 7, qty: 3 }.pooled();
/// assert_eq!(o.qty, 3);
/// assert_eq!(Order::pool().stats().live, 1);
/// assert_eq!(PoolBox::into_inner(o), Order { id: 7, qty: 3 });
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no pool of its own",
    label = "`{Self}` does not implement `Pooled`",
    note = "add `#[derive(Pooled)]` to the definition of `{Self}`, or use a `typool::Pool<{Self}>` with `Pool::alloc`"
)]
pub unsafe trait Pooled: Sized + 'static {
    /// The type's process-wide pool.
    fn pool() -> &'static Pool<Self>;

    #[doc(hidden)]
    fn __with_cache<R>(f: impl FnOnce(&LocalCache) -> R) -> R;

    #[doc(hidden)]
    fn __retire_at_exit() -> bool;

    /// The pool of `Counted<Self>`, the slots of [`PoolArc`](crate::PoolArc) and
    /// [`PoolRc`](crate::PoolRc): a second pool with the same contract as `pool()`.
    #[doc(hidden)]
    #[cfg(not(typool_loom))]
    fn __counted_pool() -> &'static Pool<crate::typed::shared::Counted<Self>>;

    #[doc(hidden)]
    #[cfg(not(typool_loom))]
    fn __with_counted_cache<R>(f: impl FnOnce(&LocalCache) -> R) -> R;

    #[doc(hidden)]
    #[cfg(not(typool_loom))]
    fn __counted_retire_at_exit() -> bool;

    /// Moves `self` into its pool: `Particle { .. }.pooled()`.
    ///
    /// # Panics
    ///
    /// As [`PoolBox::new`].
    #[track_caller]
    fn pooled(self) -> PoolBox<Self> {
        PoolBox::new(self)
    }
}

/// A derived type's thread-local cache. It has no destructor, so the hit path reaches it with
/// one thread-pointer-relative address and no state check; [`RetireAtExit`] retires it.
pub struct ThreadCache<T: Pooled> {
    local: LocalCache,
    _for: PhantomData<fn() -> T>,
}

impl<T: Pooled> core::fmt::Debug for ThreadCache<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.local.fmt(f)
    }
}

impl<T: Pooled> ThreadCache<T> {
    loom_const_fn! {
        /// An empty cache (the `thread_local!` initialiser).
        pub const fn new() -> Self {
            Self { local: LocalCache::new(), _for: PhantomData }
        }
    }
}

impl<T: Pooled> Default for ThreadCache<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The thread-exit hook of a derived type's cache: a thread-local armed by the slow path
/// before the cache is first registered, whose destructor hands the cache's slots to the pool
/// and closes it (later uses on that thread then go without a cache).
pub struct RetireAtExit<T: Pooled>(PhantomData<fn() -> T>);

impl<T: Pooled> core::fmt::Debug for RetireAtExit<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RetireAtExit")
    }
}

impl<T: Pooled> RetireAtExit<T> {
    loom_const_fn! {
        /// The hook (the `thread_local!` initialiser).
        pub const fn new() -> Self {
            Self(PhantomData)
        }
    }
}

impl<T: Pooled> Default for RetireAtExit<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Pooled> Drop for RetireAtExit<T> {
    fn drop(&mut self) {
        T::__with_cache(|cache| T::pool().raw.retire(cache));
    }
}

/// Runs `f` with this thread's cache from `key`.
#[inline(always)]
pub fn with_cache<T: Pooled, R>(
    key: &'static LocalKey<ThreadCache<T>>,
    f: impl FnOnce(&LocalCache) -> R,
) -> R {
    with_local(key, |cache| f(&cache.local))
}

/// Runs `f` with this thread's value of `key`, a thread-local without a destructor: the typed
/// caches' way in, derived and generic alike.
///
/// The thread-local is reached with the smallest closure there is (its address) and `f` runs
/// outside `LocalKey::with`: a closure that holds the hit path would make `with` big enough
/// that the compiler calls it instead of inlining it, which in checked builds (whose hit path
/// is longer) cost a call, a return and the thread-local's lookup on every allocation.
#[inline(always)]
pub(crate) fn with_local<C: 'static, R>(key: &'static LocalKey<C>, f: impl FnOnce(&C) -> R) -> R {
    const { assert!(!core::mem::needs_drop::<C>()) };
    let local: *const C = key.with(core::ptr::from_ref);
    // SAFETY: `C` has no destructor (asserted above), so once `with` has initialised it the
    // thread-local is never torn down: it lives as long as this thread, the pointer stays valid
    // while `f` runs on it, and the shared borrow is the one `with` would have lent.
    f(unsafe { &*local })
}

/// Arms `key`'s destructor; `false` once this thread's thread-locals are being destroyed.
#[inline]
pub fn retire_at_exit<T: Pooled>(key: &'static LocalKey<RetireAtExit<T>>) -> bool {
    key.try_with(|_| ()).is_ok()
}
