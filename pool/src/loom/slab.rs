//! Loom model of the slab allocator (`alloc/slab.rs`): slab blocks freed on another thread
//! than the one that allocated them while the fragmentation report reads the counters.

use crate::alloc::slab::{SlabAllocator, ThreadSlab};
use crate::loom::explore;
use allocator_api2::alloc::Layout;
use loom::sync::Arc;
use loom::thread;

/// Spawns `f` on a loom thread with room for a `SlabAllocator` (44 pools) or a `ThreadSlab`
/// on its stack; loom's default coroutine stacks are far smaller.
fn big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> thread::JoinHandle<T> {
    thread::Builder::new()
        .stack_size(4 << 20)
        .spawn(f)
        .expect("loom spawns")
}

#[test]
fn loom_slab_cross_thread_free_while_reporting() {
    let runs = explore(|| big_stack(slab_model).join().unwrap());
    assert!(runs >= 5000, "explored only {runs} executions");
}

fn slab_model() {
    {
        let slab = Arc::new(SlabAllocator::new());
        let layout = Layout::new::<u64>();
        let handles: Vec<_> = (0..2u8)
            .map(|id| {
                let slab = slab.clone();
                big_stack(move || {
                    let t = ThreadSlab::default();
                    let p = slab.alloc_in(Some(&t), 0, 8);
                    // SAFETY: a fresh 8-byte slot, ours alone.
                    unsafe { p.write(id) };
                    let report = slab.fragmentation();
                    assert!(report.live_bytes <= 16);
                    slab.retire(&t);
                    p.addr()
                })
            })
            .collect();
        let blocks: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_ne!(blocks[0], blocks[1], "two threads got one slot");
        let main = ThreadSlab::default();
        for (id, &addr) in blocks.iter().enumerate() {
            let p = addr as *mut u8;
            // SAFETY: each thread wrote its id before the join that handed us the slot.
            assert_eq!(unsafe { p.read() }, id as u8);
            // SAFETY: a live slot of class 0, allocated with `layout`, freed once.
            unsafe { slab.free_in(Some(&main), 0, p, layout) };
        }
        assert_eq!(slab.fragmentation().live_bytes, 0);
        slab.retire(&main);
    }
}
