//! `PoolArc` and `PoolRc`: one pointer wide, the count in the slot, every handle's drop
//! counted, the value dropped once by the last handle, on whichever thread that is.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use typool::{PoolArc, PoolRc, Pooled};

#[derive(Pooled, Debug, Clone, PartialEq)]
struct Session {
    id: u64,
    user: String,
}

/// Drops of `Ticket`s: one test uses them, so the count is its own.
static DROPS: AtomicUsize = AtomicUsize::new(0);

#[derive(Pooled)]
struct Ticket {
    id: u64,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Pooled)]
struct Generic<T> {
    value: T,
}

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn one_pointer_wide_and_send_sync_as_arc() {
    assert_eq!(
        std::mem::size_of::<PoolArc<Session>>(),
        std::mem::size_of::<usize>()
    );
    assert_eq!(
        std::mem::size_of::<Option<PoolRc<Session>>>(),
        std::mem::size_of::<usize>()
    );
    assert_send_sync::<PoolArc<Session>>();
}

#[test]
fn four_threads_by_a_thousand_clones() {
    const THREADS: usize = if cfg!(miri) { 2 } else { 4 };
    const CLONES: usize = if cfg!(miri) { 20 } else { 1000 };
    let s = PoolArc::new(Ticket { id: 7 });
    let all = Barrier::new(THREADS);
    // Joined one by one: `join` waits for a thread's TLS destructors, the scope's end does not.
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let s = PoolArc::clone(&s);
                let all = &all;
                scope.spawn(move || {
                    let clones: Vec<_> = (0..CLONES).map(|_| PoolArc::clone(&s)).collect();
                    all.wait();
                    // Every thread's clones are alive at once here.
                    assert!(PoolArc::strong_count(&s) > THREADS * CLONES);
                    assert!(clones.iter().all(|c| c.id == 7 && PoolArc::ptr_eq(c, &s)));
                    all.wait(); // no thread drops its clones before every thread has counted
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
    });
    assert_eq!(PoolArc::strong_count(&s), 1);
    assert_eq!(
        DROPS.load(Ordering::Relaxed),
        0,
        "nothing dropped while a handle lives"
    );
    let last = std::thread::spawn(move || drop(s));
    last.join().unwrap();
    assert_eq!(
        DROPS.load(Ordering::Relaxed),
        1,
        "the last handle dropped the value, once"
    );
    assert_eq!(Ticket::__counted_pool().stats().live, 0);
}

#[test]
fn get_mut_try_unwrap_and_make_mut() {
    let mut a = PoolArc::new(Session {
        id: 1,
        user: "a".into(),
    });
    PoolArc::get_mut(&mut a).unwrap().id = 2;
    let b = PoolArc::clone(&a);
    assert!(PoolArc::get_mut(&mut a).is_none(), "shared");
    let a = PoolArc::try_unwrap(a).unwrap_err();

    let mut c = PoolArc::clone(&a);
    PoolArc::make_mut(&mut c).id = 3; // shared: c moves to a clone
    assert_eq!((a.id, b.id, c.id), (2, 2, 3));
    assert!(!PoolArc::ptr_eq(&a, &c));
    drop(b);
    let mut a = a;
    let at = &*a as *const Session;
    PoolArc::make_mut(&mut a).id = 4; // unique: in place
    assert_eq!(&*a as *const Session, at);
    let session = PoolArc::try_unwrap(a).unwrap();
    assert_eq!(
        session,
        Session {
            id: 4,
            user: "a".into()
        }
    );
    assert_eq!(PoolArc::try_unwrap(c).unwrap().id, 3);
}

#[test]
fn rc_counts_in_place() {
    let a = PoolRc::new(Session {
        id: 9,
        user: "rc".into(),
    });
    let b = a.clone();
    assert_eq!(PoolRc::strong_count(&a), 2);
    drop(a);
    assert_eq!(PoolRc::strong_count(&b), 1);
    assert_eq!(PoolRc::try_unwrap(b).unwrap().id, 9);
}

#[test]
fn slots_come_back() {
    let pool = Generic::<u32>::__counted_pool(); // hidden, but the count is what this test is about
    let n: u32 = if cfg!(miri) { 50 } else { 500 };
    let held: Vec<_> = (0..n).map(|i| PoolArc::new(Generic { value: i })).collect();
    let copies: Vec<_> = held.iter().map(PoolArc::clone).collect();
    assert_eq!(pool.stats().live, n as usize);
    drop(held);
    assert_eq!(pool.stats().live, n as usize, "the copies hold them");
    assert!(copies.iter().enumerate().all(|(i, c)| c.value == i as u32));
    drop(copies);
    assert_eq!(pool.stats().live, 0);
    let rc = PoolRc::new(Generic { value: 5u32 });
    assert_eq!(pool.stats().live, 1, "PoolRc shares the pool of PoolArc");
    drop(rc);
}
