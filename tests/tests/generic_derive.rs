//! `#[derive(Pooled)]` on generic types: a pool per instantiation, each with its own thread
//! caches, listed apart by its full type path; instantiations past the inline slots work
//! without a cache; thread exit gives every cache back.

use std::sync::atomic::{AtomicUsize, Ordering};
use typool::{PoolBox, Pooled};

#[derive(Pooled, Debug, Clone, PartialEq)]
struct Node<K: 'static, V: 'static> {
    key: K,
    value: V,
    next: Option<PoolBox<Node<K, V>>>,
}

#[derive(Pooled)]
#[pooled(max = 3, vec = Envelopes)]
struct Envelope<P: Send>
where
    P: Clone,
{
    payload: P,
}

#[derive(Pooled)]
struct Buf<const N: usize> {
    bytes: [u8; N],
}

static DROPS: AtomicUsize = AtomicUsize::new(0);

#[derive(Pooled)]
struct Counted<T> {
    _value: T,
}

impl<T> Drop for Counted<T> {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn each_instantiation_has_its_own_pool() {
    let a = PoolBox::new(Node {
        key: 1u32,
        value: String::from("one"),
        next: None,
    });
    let b = PoolBox::new(Node {
        key: 2u64,
        value: 2.5f64,
        next: None,
    });
    let c = Node {
        key: 3u32,
        value: String::from("three"),
        next: Some(a),
    }
    .pooled();
    assert_eq!(c.next.as_ref().unwrap().value, "one");

    let ours = Node::<u32, String>::pool().stats();
    let theirs = Node::<u64, f64>::pool().stats();
    assert_eq!((ours.live, theirs.live), (2, 1));
    assert!(!core::ptr::eq(
        Node::<u32, String>::pool() as *const _ as *const (),
        Node::<u64, f64>::pool() as *const _ as *const ()
    ));
    assert_eq!(ours.type_path, core::any::type_name::<Node<u32, String>>());
    assert_eq!(theirs.type_path, core::any::type_name::<Node<u64, f64>>());
    let listed: Vec<&str> = typool::stats::all()
        .into_iter()
        .map(|s| s.type_path)
        .collect();
    assert!(listed.contains(&ours.type_path), "{listed:?}");
    assert!(listed.contains(&theirs.type_path), "{listed:?}");
    drop((b, c));
    assert_eq!(Node::<u32, String>::pool().stats().live, 0);
}

#[test]
fn two_instantiations_on_several_threads() {
    const THREADS: usize = if cfg!(miri) { 2 } else { 4 };
    // Past a thread cache's first magazines, so refills and the exit hook run; fewer under Miri.
    const EACH: usize = if cfg!(miri) { 80 } else { 2_000 };
    const ROUNDS: i32 = if cfg!(miri) { 1 } else { 5 };
    // Joined one by one, not only by the scope's end: `join` waits for a thread's TLS
    // destructors (the caches' exit hook), the scope's end does not, and Miri reports a thread
    // still in its destructors when the test binary exits.
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || {
                    for round in 0..ROUNDS {
                        let xs: Vec<_> = (0..EACH)
                            .map(|i| {
                                PoolBox::new(Counted {
                                    _value: (t, i, round),
                                })
                            })
                            .collect();
                        let ys: Vec<_> = (0..EACH)
                            .map(|i| PoolBox::new(Counted { _value: i as u8 }))
                            .collect();
                        assert!(Counted::<(usize, usize, i32)>::pool().stats().live >= EACH);
                        drop((xs, ys));
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
    });
    assert_eq!(
        DROPS.load(Ordering::Relaxed),
        THREADS * EACH * 2 * ROUNDS as usize
    );
    for stats in [
        Counted::<(usize, usize, i32)>::pool().stats(),
        Counted::<u8>::pool().stats(),
    ] {
        assert_eq!(stats.live, 0, "{stats:?}");
        assert!(
            stats.cache_hits > 0,
            "the instantiation has thread caches: {stats:?}"
        );
    }
}

#[test]
fn bounds_where_clauses_and_aliases_carry_over() {
    let a = PoolBox::new(Envelope { payload: vec![1u8] });
    let _b = PoolBox::new(Envelope { payload: vec![2u8] });
    let _c = PoolBox::new(Envelope { payload: vec![3u8] });
    let Err(refused) = PoolBox::try_new(Envelope { payload: vec![4u8] }) else {
        panic!("a fourth envelope fits in a pool of at most 3");
    };
    assert_eq!(refused.into_inner().payload, [4]);
    assert_eq!(a.payload, [1]);
    // Another instantiation has a pool (and a bound) of its own.
    let other = PoolBox::new(Envelope { payload: 'x' });
    assert_eq!(other.payload, 'x');

    let mut v: Envelopes<u16> = Envelopes::new_in(typool::PoolAlloc);
    v.push(Envelope { payload: 7u16 });
    assert_eq!(v[0].payload, 7);
}

#[test]
fn const_generic_instantiations_are_apart() {
    let small = PoolBox::new(Buf { bytes: [1u8; 16] });
    let large = PoolBox::new(Buf { bytes: [2u8; 4096] });
    assert_eq!(Buf::<16>::pool().stats().slot_size, 16);
    assert_eq!(Buf::<4096>::pool().stats().slot_size, 4096);
    assert_eq!((small.bytes[15], large.bytes[4095]), (1, 2));
}

/// More instantiations than a generic type has cache slots (8): the later ones go without a
/// thread cache, and every one still keeps its values apart and frees them.
#[test]
fn instantiations_past_the_inline_slots_still_work() {
    const HELD: usize = if cfg!(miri) { 10 } else { 100 };
    macro_rules! each {
        ($($t:ty = $v:expr),*) => {$(
            {
                let held: Vec<_> = (0..HELD).map(|_| PoolBox::new(Node::<$t, u16> { key: $v, value: 9, next: None })).collect();
                assert!(held.iter().all(|n| n.key == $v && n.value == 9));
                assert_eq!(Node::<$t, u16>::pool().stats().live, HELD);
                drop(held);
                assert_eq!(Node::<$t, u16>::pool().stats().live, 0);
            }
        )*};
    }
    each!(
        u8 = 1,
        u16 = 2,
        u32 = 3,
        u64 = 4,
        u128 = 5,
        i8 = 6,
        i16 = 7,
        i32 = 8,
        i64 = 9,
        i128 = 10,
        usize = 11,
        isize = 12,
        char = 'c',
        bool = true
    );
}
