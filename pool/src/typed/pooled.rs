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
/// `pool()` returns the same pool on every call, and `__with_cache` passes `f` the calling
/// thread's own cache of that pool (a `thread_local!` dedicated to it, whose destructor
/// retires the cache), or `None` when that thread-local is gone. [`PoolBox`] relies on both to
/// return every slot to the pool it came from. The derive upholds this; hand-written impls
/// are not supported.
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
    fn __with_cache<R>(f: impl FnOnce(Option<&LocalCache>) -> R) -> R;

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

/// A derived type's thread-local cache: retires into the type's pool when the thread exits.
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

impl<T: Pooled> Drop for ThreadCache<T> {
    fn drop(&mut self) {
        T::pool().raw.retire(&self.local);
    }
}

/// Runs `f` with this thread's cache from `key`, or with `None` once it has been destroyed
/// (a `PoolBox` dropped by another thread-local's destructor).
#[inline(always)]
pub fn with_cache<T: Pooled, R>(
    key: &'static LocalKey<ThreadCache<T>>,
    f: impl FnOnce(Option<&LocalCache>) -> R,
) -> R {
    let mut f = Some(f);
    match key.try_with(|c| f.take().map(|f| f(Some(&c.local)))) {
        Ok(Some(r)) => r,
        _ => (f.take().expect("`f` runs at most once"))(None),
    }
}
