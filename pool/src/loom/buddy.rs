//! Loom model of the buddy allocator (`alloc/buddy.rs`): splits and coalesces under its lock
//! by two threads while a third block is held.

use crate::alloc::buddy::BuddyAllocator;
use crate::loom::explore;
use allocator_api2::alloc::{Allocator, Layout};
use loom::sync::Arc;
use loom::thread;

#[test]
fn loom_buddy_concurrent_split_and_coalesce() {
    let runs = explore(|| {
        let buddy = Arc::new(BuddyAllocator::with_capacity(64));
        let held = (&*buddy).allocate(Layout::new::<[u8; 16]>()).unwrap();
        let handles: Vec<_> = [16usize, 32]
            .into_iter()
            .map(|size| {
                let buddy = buddy.clone();
                thread::spawn(move || {
                    let layout = Layout::from_size_align(size, 8).unwrap();
                    let p = (&*buddy).allocate(layout).expect("16 + 16 + 32 fit in 64");
                    // SAFETY: a fresh block of `size` bytes, ours alone.
                    unsafe { p.cast::<u8>().as_ptr().write_bytes(size as u8, size) };
                    let addr = p.cast::<u8>().as_ptr().addr();
                    // SAFETY: still ours: nobody else was handed an overlapping block.
                    assert!(unsafe { *p.cast::<u8>().as_ptr().add(size - 1) } == size as u8);
                    // SAFETY: allocated above with this layout.
                    unsafe { (&*buddy).deallocate(p.cast(), layout) };
                    addr
                })
            })
            .collect();
        let addrs: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_ne!(addrs[0], held.cast::<u8>().as_ptr().addr());
        // SAFETY: allocated above with this layout.
        unsafe { (&*buddy).deallocate(held.cast(), Layout::new::<[u8; 16]>()) };
        let f = buddy.fragmentation();
        assert_eq!(
            (f.free_bytes, f.largest_free_block),
            (64, 64),
            "all coalesced"
        );
    });
    assert!(runs >= 16, "explored only {runs} executions");
}
