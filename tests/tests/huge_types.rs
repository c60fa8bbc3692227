//! Huge and highly aligned types (issue 20): a 1 MiB-aligned, 1 MiB object goes into its pool
//! or arena on a thread with an 8 MiB stack — as `Box::new` can — and its pool reserves no
//! more than a few of them.

use typool::{Arena, Pool, PoolBox, Pooled};

const MIB: usize = 1 << 20;

#[derive(Pooled)]
#[repr(C, align(1048576))]
struct Huge {
    bytes: [u8; MIB],
}

/// Runs `f` on a thread whose stack is the main thread's usual 8 MiB.
fn on_an_8_mib_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(8 * MIB)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

fn check(h: &Huge, byte: u8) {
    assert_eq!((h as *const Huge).addr() % MIB, 0, "misaligned");
    assert!(h.bytes.iter().all(|&b| b == byte));
}

#[test]
fn pool_box_new_and_new_with_fit_an_8_mib_stack() {
    on_an_8_mib_stack(|| {
        let a = PoolBox::new(Huge { bytes: [1; MIB] });
        let b = PoolBox::new_with(|| Huge { bytes: [2; MIB] });
        check(&a, 1);
        check(&b, 2);
        let reserved = Huge::pool().stats().bytes_reserved;
        assert!(
            reserved <= 16 * MIB,
            "two 1 MiB objects reserved {} MiB",
            reserved / MIB
        );
    });
}

#[test]
fn pool_and_arena_alloc_with_fit_an_8_mib_stack() {
    on_an_8_mib_stack(|| {
        let pool: Pool<Huge> = Pool::new();
        let h = pool.alloc_with(|| Huge { bytes: [3; MIB] });
        check(&h, 3);
        assert!(pool.stats().bytes_reserved <= 16 * MIB);
        let arena = Arena::new();
        let a = arena.alloc_with(|| Huge { bytes: [4; MIB] });
        check(a, 4);
    });
}

#[test]
fn reserving_everything_says_what_was_asked() {
    let pool: Pool<u64> = Pool::new();
    let e = pool.reserve(usize::MAX).unwrap_err();
    assert_eq!(
        e.to_string(),
        "pool for u64 is out of memory: the segment asked for is larger than the address \
         space (over isize::MAX bytes); nothing was asked of the system"
    );
    // A size the system can be asked for, and refuses, is named as it was asked.
    let e = pool.reserve(isize::MAX as usize / 64).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("the system refused a"), "{msg}");
}
