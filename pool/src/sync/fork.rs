//! The gate every lock of typool is taken behind, so that `fork` never copies a held lock.
//!
//! `fork` copies the calling thread alone. A lock another thread held at that moment stays
//! held in the child, by a thread that does not exist there, and the child's first slow path
//! waits for it forever. So no thread may hold a typool lock while `fork` copies memory:
//!
//! - every lock is taken inside a [`Section`] (`sync::lock` makes one before it locks and
//!   ends it after it unlocks), and a thread's sections nest: only its outermost one counts;
//! - an outermost section adds one to a counter, one of [`STRIPES`] on their own cache lines
//!   (threads take stripes in turn, so two threads rarely share one), then checks `FORKING`;
//!   if a fork is under way it takes its count back, waits for the fork, and tries again;
//! - `prepare`, which `pthread_atfork` runs in the forking thread just before the copy, sets
//!   `FORKING` and waits until every stripe reads zero: then no thread is in a section, so no
//!   lock is held and every structure a lock guards is consistent; new sections wait;
//! - `resume` (in the parent and in the child, after the copy) clears `FORKING`.
//!
//! Why no thread can be missed: the counter's increment and the flag's load in a section,
//! and the flag's store and the counters' loads in `prepare`, are all `SeqCst`, so they fall
//! in one total order. If a section read the flag clear, its increment came before the flag
//! was set, which came before `prepare` read the counters: `prepare` sees the section and
//! waits for it. Otherwise the section sees the flag and backs off. A section's end is a
//! release decrement that `prepare`'s acquire loads read, so everything done inside happens
//! before the copy.
//!
//! Why this cannot deadlock: a thread waiting at the gate holds no typool lock (only an
//! outermost section waits, and it has taken nothing yet), so every thread inside can finish;
//! typool runs no user code inside a section. Sections the forking thread itself opens while
//! it forks — another library's fork handler that allocates through a typool global
//! allocator — pass the gate: the thread is the only one that can be inside then.
//!
//! The lock-free structures need no gate: at every instant between atomic operations they are
//! consistent. What a child cannot use are the thread caches of the parent's other threads
//! (they may have been in the middle of a pop); their two magazines per pool stay out of reach
//! in the child, and everything else — stashes, the depot, pages — the child's `trim` and
//! allocations reach as usual.
//!
//! The handlers are registered once, by the first outermost section of the process. Until
//! `pthread_atfork` returns there, a fork from a third thread is not gated; every section after
//! it is. A hit on a thread cache takes no lock and never passes the gate.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, AtomicUsize, Ordering};

/// How many counters sections spread over.
const STRIPES: usize = 16;

#[repr(align(128))]
struct Stripe(AtomicUsize);

/// Outermost sections in progress, spread over stripes.
static INSIDE: [Stripe; STRIPES] = [const { Stripe(AtomicUsize::new(0)) }; STRIPES];
/// Set by `prepare` from the moment it starts to wait until the copy is done.
static FORKING: AtomicBool = AtomicBool::new(false);
/// 0: handlers not registered; 1: being registered; 2: registered.
static HANDLERS: AtomicU8 = AtomicU8::new(0);
/// Which stripe the next thread takes.
static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

/// What a layer above does at a fork while the gate is closed (no typool lock held, no
/// slow path running): `prepare` in the forking thread just before the copy, `parent` and
/// `child` just after it, each before the gate opens. The memory files of `mesh` pools use
/// them (`os/mesh.rs`).
pub(crate) struct Hooks {
    pub(crate) prepare: fn(),
    pub(crate) parent: fn(),
    pub(crate) child: fn(),
}

/// The hooks, once set; null before.
static HOOKS: AtomicPtr<Hooks> = AtomicPtr::new(core::ptr::null_mut());

/// Sets the fork hooks (once; a second call changes nothing). Only memory files set them,
/// and builds without those (`os/mesh.rs`: Miri, ASan, loom) never call this.
#[cfg_attr(not(typool_memfd), allow(dead_code))]
pub(crate) fn set_hooks(hooks: &'static Hooks) {
    let _ = HOOKS.compare_exchange(
        core::ptr::null_mut(),
        core::ptr::from_ref(hooks).cast_mut(),
        Ordering::AcqRel,
        Ordering::Acquire,
    );
}

/// The hooks, if set.
fn hooks() -> Option<&'static Hooks> {
    // SAFETY: the pointer is null or was made from a `&'static Hooks` in `set_hooks`.
    unsafe { HOOKS.load(Ordering::Acquire).as_ref() }
}

/// One thread's place at the gate. No destructor, so it can be used during thread exit.
struct Local {
    /// Sections this thread is inside.
    depth: Cell<u32>,
    /// This thread's stripe plus one; 0 until its first section.
    stripe: Cell<usize>,
    /// This thread is the one forking (between `prepare` and `resume`).
    forker: Cell<bool>,
}

thread_local! {
    static LOCAL: Local = const {
        Local { depth: Cell::new(0), stripe: Cell::new(0), forker: Cell::new(false) }
    };
}

/// A span during which the thread may hold typool locks; `fork` waits for it to end.
#[must_use]
pub(crate) struct Section {
    /// The stripe counted, for an outermost section; none for a nested one.
    counted: Option<&'static AtomicUsize>,
}

impl Section {
    /// Enters a section, first waiting for a fork in progress (outermost sections only).
    pub(crate) fn enter() -> Self {
        LOCAL.with(|local| {
            let depth = local.depth.get();
            local.depth.set(depth + 1);
            if depth > 0 || local.forker.get() {
                return Section { counted: None };
            }
            let stripe = local.stripe();
            loop {
                stripe.fetch_add(1, Ordering::SeqCst);
                if !FORKING.load(Ordering::SeqCst) {
                    return Section {
                        counted: Some(stripe),
                    };
                }
                stripe.fetch_sub(1, Ordering::Release);
                while FORKING.load(Ordering::Acquire) {
                    std::thread::yield_now();
                }
            }
        })
    }
}

impl Drop for Section {
    fn drop(&mut self) {
        if let Some(stripe) = self.counted {
            stripe.fetch_sub(1, Ordering::Release);
        }
        LOCAL.with(|local| local.depth.set(local.depth.get() - 1));
    }
}

impl Local {
    /// This thread's stripe, chosen on its first section (which also registers the fork
    /// handlers if no thread has yet).
    fn stripe(&self) -> &'static AtomicUsize {
        let mut s = self.stripe.get();
        if s == 0 {
            register_handlers();
            s = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES + 1;
            self.stripe.set(s);
        }
        &INSIDE[s - 1].0
    }
}

/// Registers `prepare` and `resume` with `pthread_atfork`, once per process. A thread that
/// finds another registering goes on without waiting for it (see the module's last note).
fn register_handlers() {
    if HANDLERS
        .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return;
    }
    #[cfg(all(unix, not(miri)))]
    // SAFETY: the three arguments are `extern "C" fn()`s that live as long as the process;
    // they take no locks but the gate's own spin on `FORKING`, and call nothing that
    // `fork`'s handlers may not call.
    unsafe {
        // The only error is ENOMEM; a process that cannot register stays ungated, as it was.
        libc::pthread_atfork(Some(prepare), Some(resume_parent), Some(resume_child));
    }
    // Miri has no `pthread_atfork` (and no `fork`): the handlers stay unregistered there.
    #[cfg(not(all(unix, not(miri))))]
    let _ = (prepare, resume_parent, resume_child);
    HANDLERS.store(2, Ordering::Release);
}

/// Runs just before `fork` copies the process: waits until no thread is in a section, and
/// holds new ones at the gate.
extern "C" fn prepare() {
    // One fork at a time: another thread's fork finishes first.
    while FORKING
        .compare_exchange_weak(false, true, Ordering::SeqCst, Ordering::Relaxed)
        .is_err()
    {
        std::thread::yield_now();
    }
    // This thread may itself be in a section (a fork from code that typool called would have
    // to be); its own count is then one of its stripe's, which it must not wait for.
    let (mine, counted) = LOCAL.with(|local| {
        local.forker.set(true);
        (local.stripe.get(), local.depth.get() > 0)
    });
    for (i, stripe) in INSIDE.iter().enumerate() {
        let own = usize::from(counted && mine == i + 1);
        while stripe.0.load(Ordering::SeqCst) > own {
            std::thread::yield_now();
        }
    }
    if let Some(hooks) = hooks() {
        (hooks.prepare)();
    }
}

/// After the copy, in the parent: the hook, then the gate opens.
extern "C" fn resume_parent() {
    if let Some(hooks) = hooks() {
        (hooks.parent)();
    }
    resume();
}

/// After the copy, in the child: the hook, then the gate opens.
extern "C" fn resume_child() {
    if let Some(hooks) = hooks() {
        (hooks.child)();
    }
    resume();
}

/// Runs just after the copy, in the parent and in the child: opens the gate.
fn resume() {
    LOCAL.with(|local| local.forker.set(false));
    FORKING.store(false, Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_nest_and_count_once() {
        let outer = Section::enter();
        let counted = outer.counted.expect("an outermost section counts");
        let before = counted.load(Ordering::SeqCst);
        let inner = Section::enter();
        assert!(inner.counted.is_none());
        assert_eq!(counted.load(Ordering::SeqCst), before);
        drop(inner);
        drop(outer);
        assert_eq!(counted.load(Ordering::SeqCst), before - 1);
        assert_eq!(LOCAL.with(|l| l.depth.get()), 0);
    }

    #[test]
    fn a_section_waits_for_a_fork_to_finish() {
        use std::sync::atomic::AtomicBool;
        static ENTERED: AtomicBool = AtomicBool::new(false);
        // Other tests of this binary take sections too; `prepare` waits for them as it would
        // in a real fork.
        prepare();
        let waiter = std::thread::spawn(|| {
            let _s = Section::enter();
            ENTERED.store(true, Ordering::SeqCst);
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            !ENTERED.load(Ordering::SeqCst),
            "a section began during a fork"
        );
        // The forking thread itself passes, as another fork handler's allocation must.
        drop(Section::enter());
        resume();
        waiter.join().unwrap();
        assert!(ENTERED.load(Ordering::SeqCst));
    }
}
