//! `trim` after the threads that freed everything have exited: the free slots cached for them
//! (and the caller's) go back to the depot first, so every empty segment is given back.
//! One test in its own binary: no other test's threads can take over an exited thread's id
//! (and with it the cache `trim` should reach) while it runs.

use typool::{Pool, SlabAllocator};

const N: usize = 20_000;

#[test]
fn trim_reaches_the_callers_cache_and_caches_of_exited_threads() {
    let pool: &'static Pool<[u64; 32]> = Box::leak(Box::new(Pool::new()));
    let slab: &'static SlabAllocator = Box::leak(Box::new(SlabAllocator::new()));
    // `spawn` + `join` (not a scope): a joined thread has run its thread-local destructors, so
    // its id is back on the free list.
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let held: Vec<_> = (0..N).map(|_| pool.alloc([1; 32])).collect();
                drop(held);
                let blocks: allocator_api2::vec::Vec<u64, _> =
                    allocator_api2::vec::Vec::with_capacity_in(N, slab);
                drop(blocks);
                let many: Vec<allocator_api2::boxed::Box<[u8; 200], _>> = (0..N)
                    .map(|_| allocator_api2::boxed::Box::new_in([0u8; 200], slab))
                    .collect();
                drop(many);
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    drop(pool.alloc([2; 32]));
    assert_eq!(pool.stats().live, 0);

    let before = pool.stats().bytes_reserved;
    let freed = pool.trim();
    let after = pool.stats().bytes_reserved;
    assert_eq!(before - after, freed);
    assert_eq!(after, 0, "{before} bytes reserved, {freed} given back");

    assert_eq!(slab.fragmentation().live_bytes, 0);
    let freed = slab.trim();
    let f = slab.fragmentation();
    assert!(freed > 0);
    assert_eq!(f.reserved_bytes, 0, "{f}; {freed} bytes given back");
}
