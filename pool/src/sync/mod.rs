//! The one place typool takes its synchronisation primitives from.
//!
//! Under `--cfg typool_loom` every atomic, mutex and thread-local comes from
//! [loom](https://docs.rs/loom), so the models in `loom/` explore every interleaving
//! of the real code. Everywhere else they are `std`'s. The cfg name is crate-prefixed
//! because `RUSTFLAGS` reach every crate in the build.
//!
//! Every lock is taken with [`lock`], [`try_lock`] or [`lock_std`], inside a
//! [`fork::Section`], so that `fork` never copies a held lock (`fork.rs`). A `Mutex` method
//! called directly would bypass the gate: the fork tests caught one (`try_lock`) that did.

#[cfg(not(typool_loom))]
pub(crate) mod fork;

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

/// A held lock: the guard, then the fork gate's section, which ends after the lock is released
/// (fields drop in order).
pub(crate) struct Locked<G> {
    guard: G,
    _section: Section,
}

impl<G: core::ops::Deref> core::ops::Deref for Locked<G> {
    type Target = G::Target;
    fn deref(&self) -> &G::Target {
        &self.guard
    }
}

impl<G: core::ops::DerefMut> core::ops::DerefMut for Locked<G> {
    fn deref_mut(&mut self) -> &mut G::Target {
        &mut self.guard
    }
}

#[cfg(not(typool_loom))]
use fork::Section;

/// Loom's threads are not the OS's and loom does not fork: no gate.
#[cfg(typool_loom)]
struct Section;

#[cfg(typool_loom)]
impl Section {
    fn enter() -> Self {
        Section
    }
}

/// Locks `m` inside a fork section, taking the data even if another thread panicked while
/// holding it: every critical section in typool leaves the data consistent before it can panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> Locked<MutexGuard<'_, T>> {
    let section = Section::enter();
    Locked {
        guard: m.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
        _section: section,
    }
}

/// [`lock`] if the lock is free now, else `None` (the section ends at once).
pub(crate) fn try_lock<T>(m: &Mutex<T>) -> Option<Locked<MutexGuard<'_, T>>> {
    let section = Section::enter();
    let guard = match m.try_lock() {
        Ok(guard) => guard,
        Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return None,
    };
    Some(Locked {
        guard,
        _section: section,
    })
}

/// [`lock`] for the process-wide statics, which are `std`'s mutexes under loom too.
pub(crate) fn lock_std<T>(m: &std::sync::Mutex<T>) -> Locked<std::sync::MutexGuard<'_, T>> {
    let section = Section::enter();
    Locked {
        guard: m.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
        _section: section,
    }
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
