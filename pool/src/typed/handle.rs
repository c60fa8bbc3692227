//! [`Handle`]: the RAII owner of an object in a pool you built yourself.

use crate::typed::pool::Pool;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

/// Owns one `T` in a [`Pool`]; dropping it drops the value and returns its slot to the
/// calling thread's cache. Borrows the pool, so the pool outlives every handle.
///
/// For `#[derive(Pooled)]` types prefer [`PoolBox`](crate::PoolBox): one pointer wide and
/// `'static`.
///
/// # Examples
///
/// ```
/// use typool::Pool;
///
/// let pool = Pool::new();
/// let mut h = pool.alloc(String::from("pooled"));
/// h.push('!');
/// assert_eq!(*h, "pooled!");
/// assert_eq!(h.into_inner(), "pooled!");
/// ```
pub struct Handle<'p, T> {
    ptr: NonNull<T>,
    pool: &'p Pool<T>,
    _owns: PhantomData<T>,
}

// SAFETY: a handle owns its `T` outright (like `Box<T>`); the pool is `Sync`.
unsafe impl<T: Send> Send for Handle<'_, T> {}
// SAFETY: `&Handle` only gives `&T`.
unsafe impl<T: Sync> Sync for Handle<'_, T> {}

impl<'p, T> Handle<'p, T> {
    /// # Safety
    ///
    /// `ptr` is a slot of `pool` holding a live `T` that nothing else owns.
    #[inline(always)]
    pub(crate) unsafe fn from_parts(ptr: NonNull<T>, pool: &'p Pool<T>) -> Self {
        Self {
            ptr,
            pool,
            _owns: PhantomData,
        }
    }

    /// Moves the value out and returns the slot to the pool.
    #[inline]
    pub fn into_inner(self) -> T {
        let this = core::mem::ManuallyDrop::new(self);
        // SAFETY: the handle owns a live `T`; it is forgotten, so the value is read once.
        let value = unsafe { this.ptr.as_ptr().read() };
        // SAFETY: the slot came from this pool and its value was just moved out.
        unsafe { this.pool.release(this.ptr) };
        value
    }

    /// The pool this handle's object lives in.
    pub fn pool(&self) -> &'p Pool<T> {
        self.pool
    }
}

impl<T> Drop for Handle<'_, T> {
    #[inline(always)]
    fn drop(&mut self) {
        struct FreeOnExit<'a, 'p, T>(&'a Handle<'p, T>);
        impl<T> Drop for FreeOnExit<'_, '_, T> {
            #[inline(always)]
            fn drop(&mut self) {
                // SAFETY: the value was dropped (or its drop panicked, which ends it too).
                unsafe { self.0.pool.release(self.0.ptr) };
            }
        }
        let _free = FreeOnExit(self);
        // SAFETY: the handle owns a live `T`, dropped exactly once here.
        unsafe { self.ptr.as_ptr().drop_in_place() };
    }
}

impl<T> Deref for Handle<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the handle owns a live `T`.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> DerefMut for Handle<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the handle owns a live `T`, uniquely.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T: fmt::Debug> fmt::Debug for Handle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
