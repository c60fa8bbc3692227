//! The one place typool takes its synchronisation primitives from.
//!
//! Under `--cfg typool_loom` every atomic, mutex and thread-local comes from
//! [loom](https://docs.rs/loom), so the models in `loom/` explore every interleaving
//! of the real code. Everywhere else they are `std`'s. The cfg name is crate-prefixed
//! because `RUSTFLAGS` reach every crate in the build.

#[cfg(not(typool_loom))]
pub(crate) use std::sync::{
    atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering},
    Mutex, MutexGuard,
};

#[cfg(typool_loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering},
    Mutex, MutexGuard,
};

/// Declares a `const fn` that loses its `const` under loom, whose primitives cannot be built
/// in a constant. Statics (the derived pools) only exist outside loom builds.
macro_rules! loom_const_fn {
    ($(#[$m:meta])* $vis:vis const fn $($rest:tt)*) => {
        #[cfg(not(typool_loom))]
        $(#[$m])* $vis const fn $($rest)*
        #[cfg(typool_loom)]
        $(#[$m])* $vis fn $($rest)*
    };
}
pub(crate) use loom_const_fn;

/// Locks `m`, taking the data even if another thread panicked while holding it: every
/// critical section in typool leaves the data consistent before it can panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A counter written by one thread and read by any: a relaxed load and store, never a
/// read-modify-write, so the owner pays a plain `add` on the fast path.
#[inline(always)]
pub(crate) fn bump(counter: &AtomicU64, by: u64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(by),
        Ordering::Relaxed,
    );
}

/// `[AtomicPtr::new(null); N]`, as a constant where it can be one.
#[cfg(not(typool_loom))]
macro_rules! null_ptrs {
    () => {
        [const { $crate::sync::AtomicPtr::new(core::ptr::null_mut()) }; _]
    };
}
#[cfg(typool_loom)]
macro_rules! null_ptrs {
    () => {
        core::array::from_fn(|_| $crate::sync::AtomicPtr::new(core::ptr::null_mut()))
    };
}
pub(crate) use null_ptrs;
