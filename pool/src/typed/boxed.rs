//! [`PoolBox`]: the one-word owner of a pooled object.

use crate::engine::cache::LocalCache;
use crate::engine::guard::CHECKED;
use crate::typed::error::PoolError;
use crate::typed::pool::{refused, Pool};
use crate::typed::pooled::Pooled;
use core::borrow::{Borrow, BorrowMut};
use core::cmp::Ordering;
use core::fmt;
use core::hash::{Hash, Hasher};
use core::marker::PhantomData;
use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

/// Owns one `T` in `T`'s pool, like a `Box<T>` whose memory comes from the pool.
///
/// One pointer wide (and so is `Option<PoolBox<T>>`). Dropping it drops the value and puts
/// the slot in the dropping thread's cache — no atomic read-modify-write on that path.
/// `Send`/`Sync` exactly when `T` is.
///
/// # Examples
///
/// ```
/// use typool::{PoolBox, Pooled};
///
/// #[derive(Pooled, Debug, Clone, PartialEq)]
/// struct Particle { pos: [f32; 3], vel: [f32; 3] }
///
/// let mut p = PoolBox::new(Particle { pos: [0.0; 3], vel: [1.0, 0.0, 0.0] });
/// p.pos[0] += p.vel[0];
/// let q = p.clone();
/// assert_eq!(p, q);
/// let v: Particle = PoolBox::into_inner(p);
/// assert_eq!(v.pos[0], 1.0);
/// assert_eq!(std::mem::size_of::<Option<PoolBox<Particle>>>(), std::mem::size_of::<usize>());
/// ```
#[repr(transparent)]
pub struct PoolBox<T: Pooled> {
    ptr: NonNull<T>,
    _owns: PhantomData<T>,
}

// SAFETY: a `PoolBox` owns its `T` like `Box<T>`; freeing from another thread is supported
// (the slot goes to that thread's cache), and pools are `Sync`.
unsafe impl<T: Pooled + Send> Send for PoolBox<T> {}
// SAFETY: `&PoolBox<T>` gives only `&T`.
unsafe impl<T: Pooled + Sync> Sync for PoolBox<T> {}

impl<T: Pooled> PoolBox<T> {
    /// Moves `value` into `T`'s pool.
    ///
    /// The slot is taken before the value moves, and the slow path never carries the value,
    /// so a large `T` is copied once, into its slot, as with `Box::new`.
    ///
    /// # Panics
    ///
    /// When the pool is bounded and full, or out of memory — with [`PoolError`]'s message,
    /// e.g. `pool for Particle is exhausted: 100000 of 100000 live`. Use
    /// [`try_new`](Self::try_new) to get the value back instead.
    #[inline(always)]
    #[track_caller]
    pub fn new(value: T) -> Self {
        let ptr = Self::slot_or_panic();
        // SAFETY: a free slot of `T::pool()`, ours.
        unsafe { Self::init(ptr, value) }
    }

    /// Allocates the result of `f`, written straight into its slot (bumpalo's `alloc_with`
    /// shape): for a value too large to build on the stack first, or to skip the move. If `f`
    /// panics, the slot goes back to the pool.
    ///
    /// # Panics
    ///
    /// As [`new`](Self::new); or if `f` panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use typool::{PoolBox, Pooled};
    ///
    /// #[derive(Pooled)]
    /// struct Frame([u8; 1 << 16]);
    ///
    /// let f = PoolBox::new_with(|| Frame([0; 1 << 16]));
    /// assert!(f.0.iter().all(|&b| b == 0));
    /// ```
    #[inline(always)]
    #[track_caller]
    pub fn new_with(f: impl FnOnce() -> T) -> Self {
        let ptr = Self::slot_or_panic();
        // SAFETY: a free slot of `T::pool()`, ours.
        unsafe { Self::fill_with(ptr, f) }
    }

    /// [`new_with`](Self::new_with), or the refusal holding `f`, which was not called.
    ///
    /// # Errors
    ///
    /// As [`try_new`](Self::try_new), with `f` inside.
    #[inline(always)]
    #[cfg_attr(feature = "track-sites", track_caller)]
    pub fn try_new_with<F: FnOnce() -> T>(f: F) -> Result<Self, PoolError<F>> {
        match Self::try_slot() {
            // SAFETY: a free slot of `T::pool()`, ours.
            Ok(ptr) => Ok(unsafe { Self::fill_with(ptr, f) }),
            Err(e) => Err(e.holding(f)),
        }
    }

    /// Writes the result of `f` into `ptr` and owns it; gives the slot back if `f` panics.
    ///
    /// # Safety
    ///
    /// As [`init`](Self::init).
    #[inline(always)]
    #[cfg_attr(feature = "track-sites", track_caller)]
    unsafe fn fill_with(ptr: NonNull<T>, f: impl FnOnce() -> T) -> Self {
        /// Gives the slot back if `f` panics.
        struct Unused<T: Pooled>(NonNull<T>);
        impl<T: Pooled> Drop for Unused<T> {
            fn drop(&mut self) {
                // SAFETY: a slot of `T::pool()` that holds no value.
                unsafe { PoolBox::release(self.0) };
            }
        }
        let unused = Unused(ptr);
        let value = f();
        core::mem::forget(unused);
        // SAFETY: forwarded from the caller.
        unsafe { Self::init(ptr, value) }
    }

    /// Moves `value` into `T`'s pool, or hands it back inside the error.
    ///
    /// # Errors
    ///
    /// [`PoolError::Exhausted`] when the bounded pool is full; [`PoolError::OutOfMemory`] when
    /// the system refuses a segment.
    #[inline(always)]
    #[cfg_attr(feature = "track-sites", track_caller)]
    pub fn try_new(value: T) -> Result<Self, PoolError<T>> {
        match Self::try_slot() {
            // SAFETY: a free slot of `T::pool()`, ours.
            Ok(ptr) => Ok(unsafe { Self::init(ptr, value) }),
            Err(e) => Err(e.holding(value)),
        }
    }

    /// A free slot: the hit path, else the slow path, or its refusal.
    #[inline(always)]
    fn try_slot() -> Result<NonNull<T>, PoolError<()>> {
        match T::__with_cache(Pool::<T>::pop_slot) {
            Some(ptr) => Ok(ptr),
            None => Self::slot_slow(),
        }
    }

    /// A free slot: the hit path, else the slow path, which panics with the refusal.
    #[inline(always)]
    #[track_caller]
    fn slot_or_panic() -> NonNull<T> {
        match T::__with_cache(Pool::<T>::pop_slot) {
            Some(ptr) => ptr,
            None => Self::slot_slow().unwrap_or_else(|e| refused(e)),
        }
    }

    /// Writes `value` into the slot and owns it: the hit path's only work besides the pop.
    ///
    /// # Safety
    ///
    /// `ptr` is a free slot of `T::pool()` that the caller owns.
    #[inline(always)]
    #[cfg_attr(feature = "track-sites", track_caller)]
    unsafe fn init(ptr: NonNull<T>, value: T) -> Self {
        #[cfg(feature = "track-sites")]
        // SAFETY: a slot of `T::pool()`.
        unsafe {
            crate::typed::sites::record(ptr, core::panic::Location::caller())
        };
        // SAFETY: the slot is ours, sized and aligned for `T` (`SlotLayout::for_layout`).
        unsafe { ptr.write(value) };
        Self {
            ptr,
            _owns: PhantomData,
        }
    }

    /// The slow path: the cache is empty, so refill it from the depot or a segment — or
    /// refuse. The cache is used (and so registered) only once its retirement at thread exit
    /// is armed; a thread being torn down goes without one.
    #[cold]
    #[inline(never)]
    fn slot_slow() -> Result<NonNull<T>, PoolError<()>> {
        with_slow_cache::<T, _>(|cache| T::pool().slot_in(cache))
    }

    /// Returns a slot whose value is gone to this thread's cache.
    ///
    /// # Safety
    ///
    /// `ptr` is a slot of `T::pool()` whose value was dropped or moved out.
    #[inline(always)]
    unsafe fn release(ptr: NonNull<T>) {
        // SAFETY: forwarded from the caller.
        if !T::__with_cache(|cache| unsafe { Pool::<T>::push_slot(cache, ptr) }) {
            // SAFETY: forwarded from the caller.
            unsafe { Self::release_slow(ptr) };
        }
    }

    /// The cache is full (or closed at thread exit): make room through the depot, or free
    /// without a cache on a thread being torn down.
    ///
    /// # Safety
    ///
    /// As [`Self::release`].
    #[cold]
    #[inline(never)]
    unsafe fn release_slow(ptr: NonNull<T>) {
        // SAFETY: forwarded from the caller.
        with_slow_cache::<T, _>(|cache| unsafe { T::pool().free_in(cache, ptr) });
    }

    /// Moves the value out; the slot goes back to the pool.
    #[inline]
    pub fn into_inner(b: Self) -> T {
        let b = ManuallyDrop::new(b);
        // SAFETY: `b` owns a live `T` and is forgotten, so the value is read exactly once.
        let value = unsafe { b.ptr.as_ptr().read() };
        // SAFETY: the slot is from `T::pool()` and its value was moved out.
        unsafe { Self::release(b.ptr) };
        value
    }

    /// Gives up ownership without dropping: the pointer stays valid until
    /// [`from_raw`](Self::from_raw) takes it back.
    #[inline]
    pub fn into_raw(b: Self) -> *mut T {
        ManuallyDrop::new(b).ptr.as_ptr()
    }

    /// Takes back ownership of a pointer from [`into_raw`](Self::into_raw).
    ///
    /// # Panics
    ///
    /// In debug builds (and with feature `hardened`), if `ptr` is not an object of `T`'s pool,
    /// or is a free slot in the calling thread's cache (taken back twice, and dropped in
    /// between, on this thread) — with a message that names the pool. A double free that
    /// reaches another thread's cache is caught when the second box drops: the process
    /// reports it and aborts (see [`PoolBox`]'s "Misuse").
    ///
    /// # Safety
    ///
    /// `ptr` came from `PoolBox::<T>::into_raw` and is taken back once.
    #[inline]
    #[track_caller]
    pub unsafe fn from_raw(ptr: *mut T) -> Self {
        T::pool().debug_check_owned(ptr, "PoolBox::from_raw");
        if CHECKED && T::__with_cache(|c| c.holds(ptr.cast())) {
            already_free::<T>(ptr);
        }
        // SAFETY: by the caller's promise `ptr` is an `into_raw` pointer, never null.
        let ptr = unsafe { NonNull::new_unchecked(ptr) };
        Self {
            ptr,
            _owns: PhantomData,
        }
    }

    /// Leaks the box: the object lives (and keeps its slot) for the rest of the program.
    #[inline]
    pub fn leak<'a>(b: Self) -> &'a mut T {
        // SAFETY: the slot is never freed, so the object lives forever, uniquely borrowed.
        unsafe { &mut *Self::into_raw(b) }
    }
}

/// Runs a slow path with the cache it may use: this thread's, once its retirement at thread
/// exit is armed (so the cache registers only then), or none on a thread being torn down.
fn with_slow_cache<T: Pooled, R>(f: impl FnOnce(Option<&LocalCache>) -> R) -> R {
    if T::__retire_at_exit() {
        T::__with_cache(|cache| f(Some(cache)))
    } else {
        f(None)
    }
}

#[cold]
#[track_caller]
fn already_free<T>(ptr: *mut T) -> ! {
    panic!(
        "PoolBox::from_raw: {ptr:p} is a free slot of the pool for {}: this pointer was taken back before and its box dropped (a double from_raw)",
        crate::typed::error::short_type_name(core::any::type_name::<T>())
    )
}

impl<T: Pooled> Drop for PoolBox<T> {
    #[inline(always)]
    fn drop(&mut self) {
        /// Frees the slot even if `T::drop` panics, as `Box` does.
        struct FreeOnExit<T: Pooled>(NonNull<T>);
        impl<T: Pooled> Drop for FreeOnExit<T> {
            #[inline(always)]
            fn drop(&mut self) {
                // SAFETY: the slot is from `T::pool()`; its value has just been dropped.
                unsafe { PoolBox::release(self.0) };
            }
        }
        let _free = FreeOnExit(self.ptr);
        // SAFETY: the box owns a live `T`, dropped exactly once.
        unsafe { self.ptr.as_ptr().drop_in_place() };
    }
}

impl<T: Pooled> Deref for PoolBox<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the box owns a live `T`.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: Pooled> DerefMut for PoolBox<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the box owns a live `T`, uniquely.
        unsafe { self.ptr.as_mut() }
    }
}

impl<T: Pooled> AsRef<T> for PoolBox<T> {
    fn as_ref(&self) -> &T {
        self
    }
}

impl<T: Pooled> AsMut<T> for PoolBox<T> {
    fn as_mut(&mut self) -> &mut T {
        self
    }
}

impl<T: Pooled> Borrow<T> for PoolBox<T> {
    fn borrow(&self) -> &T {
        self
    }
}

impl<T: Pooled> BorrowMut<T> for PoolBox<T> {
    fn borrow_mut(&mut self) -> &mut T {
        self
    }
}

impl<T: Pooled> From<T> for PoolBox<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: Pooled + Default> Default for PoolBox<T> {
    #[track_caller]
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: Pooled + Clone> Clone for PoolBox<T> {
    #[track_caller]
    fn clone(&self) -> Self {
        Self::new_with(|| (**self).clone())
    }
}

impl<T: Pooled + fmt::Debug> fmt::Debug for PoolBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: Pooled + fmt::Display> fmt::Display for PoolBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: Pooled> fmt::Pointer for PoolBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&self.ptr, f)
    }
}

impl<T: Pooled + PartialEq> PartialEq for PoolBox<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Pooled + Eq> Eq for PoolBox<T> {}

impl<T: Pooled + PartialOrd> PartialOrd for PoolBox<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<T: Pooled + Ord> Ord for PoolBox<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl<T: Pooled + Hash> Hash for PoolBox<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use crate::{PoolBox, Pooled};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Pooled, Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
    #[pooled(cache = 8)]
    struct Particle {
        pos: [i32; 3],
    }

    #[test]
    fn one_word_and_niche() {
        assert_eq!(
            core::mem::size_of::<PoolBox<Particle>>(),
            core::mem::size_of::<usize>()
        );
        assert_eq!(
            core::mem::size_of::<Option<PoolBox<Particle>>>(),
            core::mem::size_of::<usize>()
        );
    }

    #[test]
    fn box_like_traits_forward_to_the_value() {
        let a = Particle { pos: [1, 2, 3] }.pooled();
        let b = PoolBox::new(Particle { pos: [1, 2, 4] });
        assert!(a < b && a != b && a == a.clone());
        assert_eq!(format!("{a:?}"), "Particle { pos: [1, 2, 3] }");
        let set: std::collections::HashSet<_> =
            [a.clone(), a.clone(), b.clone()].into_iter().collect();
        assert_eq!(set.len(), 2);
        assert_eq!(*PoolBox::<Particle>::default(), Particle::default());
    }

    #[test]
    #[should_panic(expected = "pool for Ticket is exhausted: 3 of 3 live")]
    fn new_on_a_full_bounded_pool_panics_with_the_message() {
        #[derive(Pooled)]
        #[pooled(max = 3, cache = 2)]
        struct Ticket(#[allow(dead_code)] u8);
        let held: Vec<_> = (0..3).map(|i| PoolBox::new(Ticket(i))).collect();
        let _fourth = PoolBox::new(Ticket(4));
        drop(held);
    }

    #[test]
    fn into_raw_from_raw_and_leak() {
        let p = PoolBox::new(Particle { pos: [9; 3] });
        let raw = PoolBox::into_raw(p);
        // SAFETY: `raw` came from `into_raw` and is taken back once.
        let p = unsafe { PoolBox::from_raw(raw) };
        assert_eq!(p.pos, [9; 3]);
        let leaked: &'static mut Particle = PoolBox::leak(p);
        leaked.pos[0] = 10;
        assert_eq!(leaked.pos, [10, 9, 9]);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "is not an object of the pool for Particle")]
    fn from_raw_of_a_foreign_pointer_is_caught() {
        let mut on_stack = Particle::default();
        // SAFETY: deliberately broken; the debug check must stop it before any use.
        let _ = unsafe { PoolBox::from_raw(&mut on_stack) };
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "a double from_raw")]
    fn a_double_from_raw_is_caught() {
        let raw = PoolBox::into_raw(PoolBox::new(Particle::default()));
        // SAFETY: from `into_raw`, taken back once here…
        drop(unsafe { PoolBox::from_raw(raw) });
        // SAFETY: …and deliberately twice: the debug check must stop it before any use.
        let _ = unsafe { PoolBox::from_raw(raw) };
    }

    #[test]
    fn drop_counts_balance_across_threads() {
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        #[derive(Pooled)]
        #[pooled(cache = 4)]
        struct Counted(#[allow(dead_code)] u64);
        impl Drop for Counted {
            fn drop(&mut self) {
                DROPS.fetch_add(1, Ordering::Relaxed);
            }
        }
        let n = if cfg!(miri) { 50 } else { 2000 };
        let boxes: Vec<_> = (0..n).map(|i| PoolBox::new(Counted(i))).collect();
        std::thread::spawn(move || drop(boxes)).join().unwrap();
        assert_eq!(DROPS.load(Ordering::Relaxed), n as usize);
        assert_eq!(Counted::pool().stats().live, 0);
        let v = PoolBox::into_inner(PoolBox::new(Counted(7)));
        assert_eq!(v.0, 7);
        drop(v);
        assert_eq!(DROPS.load(Ordering::Relaxed), n as usize + 1);
    }

    #[test]
    fn boxes_dropped_during_thread_teardown_are_not_lost() {
        #[derive(Pooled)]
        struct Late(#[allow(dead_code)] u32);
        struct DropsABox(Option<PoolBox<Late>>);
        impl Drop for DropsABox {
            fn drop(&mut self) {
                // Runs among the thread's TLS destructors, before or after `Late`'s cache
                // retires (the two orders below).
                drop(self.0.take());
                let _fresh = PoolBox::new(Late(2));
            }
        }
        std::thread_local!(static HOLDER: core::cell::RefCell<DropsABox> = const { core::cell::RefCell::new(DropsABox(None)) });
        // Destructors run in reverse order of first use: here the holder's runs first, while
        // the cache is still open.
        std::thread::spawn(|| {
            let b = PoolBox::new(Late(1));
            HOLDER.with(|h| h.borrow_mut().0 = Some(b));
        })
        .join()
        .unwrap();
        assert_eq!(Late::pool().stats().live, 0);
        // Here the cache retires first, so the holder frees and allocates without one.
        std::thread::spawn(|| {
            HOLDER.with(|_| {});
            let b = PoolBox::new(Late(3));
            HOLDER.with(|h| h.borrow_mut().0 = Some(b));
        })
        .join()
        .unwrap();
        let stats = Late::pool().stats();
        assert_eq!(stats.live, 0, "{stats}");
    }
}
