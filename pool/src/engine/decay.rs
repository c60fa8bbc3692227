//! Decay: memory that no one used for a while goes back to the OS, without a call to `trim`
//! and without a background thread.
//!
//! # Policy
//!
//! Memory a pool holds unused for longer than its `decay_ms` ([`PoolConfig::decay_ms`]) is
//! given back, a step at a time, from the pool's slow paths — the moments a thread takes
//! memory from the pool or hands it a magazine. Each step (at most one per half period, run
//! by whichever thread finds it due) moves memory one level down if it sat unused for a whole
//! period since the last step:
//!
//! 1. a thread's stash whose owner neither pushed nor popped since the last step goes to the
//!    depot (the owner's two magazines stay: only the owner may touch them); a stash in use
//!    is trimmed by its owner instead, who hands the depot what it held unused for a whole
//!    period (`LocalCache::shed_unused` in `cache.rs`);
//! 2. the depot goes back into its pages — where its slots stay available to every thread,
//!    first fit by address, so that live objects gather low and high pages drain;
//! 3. a page that was empty at the last step and still is goes back to the OS, and so does a
//!    segment all of whose pages are;
//! 4. in a `mesh` pool, one window of pages (1,024) is meshed (`engine/mesh.rs`), the next
//!    step going on where this one stopped.
//!
//! So memory a thread freed and no one reuses is back with the OS within about two or three
//! periods. A pool whose threads only reuse their own two magazines reaches no slow path, and
//! decays at its next one (or at `trim`, or when the thread exits). Finding out what is idle
//! costs the owners nothing: a stash counts its operations (a plain store on its owner's
//! line) and the step compares the count with the one it saw last. A busy pool pays one reap
//! of its depot per period.
//!
//! Loom builds never decay: a step's timing comes from the wall clock, which a model cannot
//! replay.
//!
//! [`PoolConfig::decay_ms`]: crate::PoolConfig::decay_ms

use crate::sync::{AtomicU64, Ordering};

/// When a pool's next decay step is due.
#[derive(Debug)]
pub(crate) struct Decay {
    /// Milliseconds on [`now_ms`]'s clock at which the next step is due (0: the first slow
    /// path sets it).
    due: AtomicU64,
}

impl Decay {
    crate::sync::loom_const_fn! {
        pub(crate) const fn new() -> Self {
            Self { due: AtomicU64::new(0) }
        }
    }

    /// Whether the calling thread should run a step now, for a period of `ms` (0: never).
    /// At most one thread wins each step.
    #[inline]
    pub(crate) fn due(&self, ms: u32) -> bool {
        if ms == 0 || cfg!(typool_loom) {
            return false;
        }
        let now = now_ms();
        let due = self.due.load(Ordering::Relaxed);
        if now < due {
            return false;
        }
        let next = now + u64::from(ms / 2).max(1);
        let won = self
            .due
            .compare_exchange(due, next, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        // The very first slow path only starts the clock.
        won && due != 0
    }
}

/// Milliseconds since the first call, on the monotonic clock.
#[cfg(not(typool_loom))]
pub(crate) fn now_ms() -> u64 {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let epoch = match EPOCH.get() {
        Some(&epoch) => epoch,
        // A `OnceLock` being set is a lock: set it behind the fork gate.
        None => {
            let _section = crate::sync::fork::Section::enter();
            *EPOCH.get_or_init(std::time::Instant::now)
        }
    };
    epoch.elapsed().as_millis() as u64 + 1
}

#[cfg(typool_loom)]
pub(crate) fn now_ms() -> u64 {
    0
}

/// A stash's activity, as a decay step sees it: the owner counts its stash operations; the
/// step remembers the count it saw last, so an unchanged count means a whole idle period.
#[derive(Debug)]
pub(crate) struct StashClock {
    ops: AtomicU64,
    seen: AtomicU64,
}

impl StashClock {
    crate::sync::loom_const_fn! {
        pub(crate) const fn new() -> Self {
            Self { ops: AtomicU64::new(0), seen: AtomicU64::new(0) }
        }
    }

    /// The owner used its stash (a relaxed load and store: only the owner writes `ops`).
    #[inline]
    pub(crate) fn tick(&self) {
        crate::sync::bump(&self.ops, 1);
    }

    /// Whether the stash sat unused since the last step asked (and starts a new period).
    pub(crate) fn idle(&self) -> bool {
        let ops = self.ops.load(Ordering::Relaxed);
        self.seen.swap(ops, Ordering::Relaxed) == ops
    }
}
