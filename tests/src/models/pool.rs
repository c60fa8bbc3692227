//! A bounded `Pool<T>` used from several threads, against a model: allocations on any
//! thread, each object freed on any thread (so slots cross caches and the depot), threads
//! that exit (their caches go back to the depot) and come back, `trim` and `reserve`. Values
//! must come back intact; a full pool must hand the value back, undropped; the bound must
//! hold; `stats().live` must match; every value must drop exactly once.
//!
//! Threads run one operation at a time, in order (a job and its answer over channels), so a
//! sequence of operations replays the same way every time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{Scope, ScopedJoinHandle};
use typool::{Handle, Pool, PoolConfig, PoolError};

/// Threads that allocate and free.
pub const THREADS: usize = 3;
/// The pool's bound.
pub const MAX_LIVE: usize = 48;

#[derive(Clone, Debug, arbitrary::Arbitrary)]
pub enum Op {
    /// Thread `thread` allocates a value.
    Alloc {
        thread: u8,
        value: u32,
    },
    /// Thread `thread` frees object `which` (made on any thread).
    Free {
        thread: u8,
        which: usize,
    },
    /// Thread `thread` exits; a fresh one takes its place.
    Exit {
        thread: u8,
    },
    Trim,
    Reserve(u8),
}

/// A value that counts its drops.
#[derive(Debug)]
struct Counted {
    value: u32,
    drops: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

type Job<'env> = Box<dyn FnOnce() + Send + 'env>;

/// A thread that runs jobs one at a time until its sender is dropped.
struct Worker<'scope, 'env> {
    jobs: mpsc::Sender<Job<'env>>,
    thread: ScopedJoinHandle<'scope, ()>,
}

impl<'scope, 'env> Worker<'scope, 'env> {
    fn spawn(s: &'scope Scope<'scope, 'env>) -> Self {
        let (jobs, rx) = mpsc::channel::<Job<'env>>();
        let thread = s.spawn(move || rx.into_iter().for_each(|job| job()));
        Self { jobs, thread }
    }

    /// Runs `f` on this worker's thread and waits for its answer.
    fn run<R: Send + 'env>(&self, f: impl FnOnce() -> R + Send + 'env) -> R {
        let (tx, rx) = mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(f());
            }))
            .expect("the worker is alive");
        rx.recv()
            .expect("the job ran (a panic on the worker fails the test)")
    }

    fn exit(self) {
        drop(self.jobs);
        self.thread.join().expect("the worker's jobs did not panic");
    }
}

/// Replays `ops`.
pub fn run(ops: &[Op]) {
    let drops = Arc::new(AtomicUsize::new(0));
    let pool: Pool<Counted> = Pool::with_config(PoolConfig::new().max(MAX_LIVE).cache(4));
    let mut made = 0usize;
    std::thread::scope(|s| {
        let mut workers: Vec<Worker<'_, '_>> = (0..THREADS).map(|_| Worker::spawn(s)).collect();
        let mut live: Vec<(Handle<'_, Counted>, u32)> = Vec::new();
        for op in ops {
            match *op {
                Op::Alloc { thread, value } => {
                    let w = &workers[thread as usize % THREADS];
                    let (pool, d) = (&pool, drops.clone());
                    let before = drops.load(Ordering::Relaxed);
                    let got = w.run(move || pool.try_alloc(Counted { value, drops: d }));
                    made += 1;
                    match got {
                        Ok(h) => {
                            assert_eq!(h.value, value);
                            live.push((h, value));
                            assert!(live.len() <= MAX_LIVE, "the pool passed its bound");
                        }
                        Err(e) => {
                            // Slots cached by other threads do not count as room, so a bounded
                            // pool may refuse below its bound — but only as exhausted.
                            assert!(matches!(e, PoolError::Exhausted { .. }), "refused with {e}");
                            let back = e.into_inner();
                            assert_eq!(back.value, value, "a full pool hands the value back");
                            assert_eq!(drops.load(Ordering::Relaxed), before, "nor drops it");
                        }
                    }
                }
                Op::Free { thread, which } if !live.is_empty() => {
                    let (h, value) = live.swap_remove(which % live.len());
                    let w = &workers[thread as usize % THREADS];
                    let before = drops.load(Ordering::Relaxed);
                    let seen = w.run(move || {
                        let v = h.value;
                        drop(h);
                        v
                    });
                    assert_eq!(seen, value, "an object changed while live");
                    assert_eq!(
                        drops.load(Ordering::Relaxed),
                        before + 1,
                        "one drop per free"
                    );
                }
                Op::Free { .. } => {}
                Op::Exit { thread } => {
                    let k = thread as usize % THREADS;
                    let fresh = Worker::spawn(s);
                    std::mem::replace(&mut workers[k], fresh).exit();
                }
                Op::Trim => {
                    pool.trim();
                }
                Op::Reserve(n) => {
                    pool.reserve(n as usize)
                        .expect("reserving within the bound");
                }
            }
            assert_eq!(pool.stats().live, live.len(), "stats().live");
            assert_eq!(made - drops.load(Ordering::Relaxed), live.len());
            for (h, value) in &live {
                assert_eq!(h.value, *value, "an object changed while live");
            }
        }
        for (h, _) in live {
            drop(h);
        }
        workers.into_iter().for_each(Worker::exit);
    });
    assert_eq!(
        drops.load(Ordering::Relaxed),
        made,
        "every value dropped once"
    );
    assert_eq!(pool.stats().live, 0);
}
