//! `SlabAllocator`, `BuddyAllocator` and `PoolAlloc` against a model: random sequences of
//! allocations, reallocations (grow and shrink) and frees, with sizes 0..=1 MiB and
//! alignments 1..=4096. Live blocks must be aligned, never overlap, and keep their contents
//! across every reallocation; a buddy that refuses must really have no block that fits; the
//! fragmentation reports must account for exactly the live bytes.

use allocator_api2::alloc::{AllocError, Allocator};
use proptest::prelude::*;
use std::alloc::Layout;
use std::ptr::NonNull;
use typool::{BuddyAllocator, PoolAlloc, SlabAllocator};

#[derive(Clone, Debug)]
enum Op {
    Alloc { size: usize, align_log2: u32 },
    Realloc { which: usize, size: usize },
    Free { which: usize },
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 0usize..=64, 3 => 0usize..=4096, 2 => 0usize..=40_000, 1 => 0usize..=1 << 20]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (size(), 0u32..=12).prop_map(|(size, align_log2)| Op::Alloc { size, align_log2 }),
        3 => (any::<usize>(), size()).prop_map(|(which, size)| Op::Realloc { which, size }),
        3 => any::<usize>().prop_map(|which| Op::Free { which }),
    ]
}

struct Block {
    ptr: NonNull<u8>,
    layout: Layout,
    fill: u8,
}

impl Block {
    fn fill(&self) {
        // SAFETY: the block is live and `layout.size()` bytes long.
        unsafe { self.ptr.as_ptr().write_bytes(self.fill, self.layout.size()) };
    }

    fn intact_prefix(&self, len: usize) -> bool {
        // SAFETY: the block is live and at least `len` bytes long.
        let bytes = unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), len) };
        bytes.iter().all(|&b| b == self.fill)
    }
}

fn check(live: &[Block]) {
    let mut spans: Vec<(usize, usize)> = live
        .iter()
        .filter(|b| b.layout.size() > 0)
        .map(|b| {
            (
                b.ptr.as_ptr().addr(),
                b.ptr.as_ptr().addr() + b.layout.size(),
            )
        })
        .collect();
    spans.sort_unstable();
    for w in spans.windows(2) {
        assert!(
            w[0].1 <= w[1].0,
            "live blocks overlap: {:x?} and {:x?}",
            w[0],
            w[1]
        );
    }
    for b in live {
        assert_eq!(
            b.ptr.as_ptr().addr() % b.layout.align(),
            0,
            "misaligned {:?}",
            b.layout
        );
        assert!(
            b.intact_prefix(b.layout.size()),
            "a block of {:?} was overwritten",
            b.layout
        );
    }
}

/// Replays `ops` through `a`. `refused` judges an `AllocError` (the slab never refuses here).
fn replay<A: Allocator + Copy>(
    a: A,
    ops: &[Op],
    refused: impl Fn(Layout) -> bool,
    live_bytes: Option<&dyn Fn() -> usize>,
) {
    let mut live: Vec<Block> = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        let fill = step as u8 | 1;
        match *op {
            Op::Alloc { size, align_log2 } => {
                let layout = Layout::from_size_align(size, 1 << align_log2).unwrap();
                match a.allocate(layout) {
                    Ok(p) => {
                        assert!(p.len() >= size);
                        let b = Block {
                            ptr: p.cast(),
                            layout,
                            fill,
                        };
                        b.fill();
                        live.push(b);
                    }
                    Err(AllocError) => assert!(refused(layout), "refused {layout:?} with room"),
                }
            }
            Op::Realloc { which, size } if !live.is_empty() => {
                let i = which % live.len();
                let old = live[i].layout;
                let new = Layout::from_size_align(size, old.align()).unwrap();
                // SAFETY: the block is live, allocated from `a` with `old`.
                let moved = unsafe {
                    if size >= old.size() {
                        a.grow(live[i].ptr, old, new)
                    } else {
                        a.shrink(live[i].ptr, old, new)
                    }
                };
                match moved {
                    Ok(p) => {
                        live[i].ptr = p.cast();
                        live[i].layout = new;
                        assert!(
                            live[i].intact_prefix(old.size().min(size)),
                            "contents lost in a realloc from {old:?} to {new:?}"
                        );
                        live[i].fill = fill;
                        live[i].fill();
                    }
                    Err(AllocError) => {
                        assert!(refused(new), "refused to realloc to {new:?} with room");
                        assert!(live[i].intact_prefix(old.size()), "a failed realloc hurt");
                    }
                }
            }
            Op::Free { which } if !live.is_empty() => {
                let b = live.swap_remove(which % live.len());
                // SAFETY: the block is live, allocated from `a` with this layout.
                unsafe { a.deallocate(b.ptr, b.layout) };
            }
            _ => {}
        }
        check(&live);
        if let Some(live_bytes) = live_bytes {
            let expected: usize = live.iter().map(|b| b.layout.size()).sum();
            assert_eq!(live_bytes(), expected, "fragmentation().live_bytes");
        }
    }
    for b in live {
        // SAFETY: the block is live, allocated from `a` with this layout.
        unsafe { a.deallocate(b.ptr, b.layout) };
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(typool_tests::proptest_cases()))]

    #[test]
    fn slab_allocator_keeps_blocks_apart_and_intact(ops in prop::collection::vec(op(), 1..120)) {
        let slab = SlabAllocator::new();
        replay(&slab, &ops, |_| false, Some(&|| slab.fragmentation().live_bytes));
        prop_assert_eq!(slab.fragmentation().live_bytes, 0);
    }

    #[test]
    fn buddy_allocator_keeps_blocks_apart_and_refuses_only_when_full(
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let buddy = BuddyAllocator::with_capacity(4 << 20);
        let refused = |l: Layout| {
            let block = l.size().max(l.align()).max(16).next_power_of_two();
            buddy.fragmentation().largest_free_block < block
        };
        replay(&buddy, &ops, refused, Some(&|| buddy.fragmentation().live_bytes));
        let f = buddy.fragmentation();
        prop_assert_eq!((f.free_bytes, f.largest_free_block), (4 << 20, 4 << 20), "everything coalesced");
    }

    #[test]
    fn pool_alloc_keeps_blocks_apart_and_intact(ops in prop::collection::vec(op(), 1..60)) {
        // The process-wide slab is shared with other tests in this binary: check blocks only.
        replay(PoolAlloc, &ops, |_| false, None);
    }
}
