//! `Arena` against a model: random sequences of allocations (sizes 0..=64 KiB, alignments
//! 1..=4096), checkpoints, restores (including stale ones) and resets. Live allocations must
//! be aligned, never overlap, and keep their contents; restore and reset must give back
//! exactly what came after.

use allocator_api2::alloc::Allocator;
use proptest::prelude::*;
use std::alloc::Layout;
use typool::{Arena, Checkpoint};

#[derive(Clone, Debug)]
enum Op {
    Alloc {
        size: usize,
        align_log2: u32,
    },
    /// Byte data, which the arena takes from the other end of its free gap.
    Bytes {
        size: usize,
    },
    Checkpoint,
    Restore(usize),
    Reset,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (prop_oneof![0usize..=64, 0usize..=4096, 0usize..=65536], 0u32..=12)
            .prop_map(|(size, align_log2)| Op::Alloc { size, align_log2 }),
        3 => prop_oneof![0usize..=64, 0usize..=4096, 0usize..=65536].prop_map(|size| Op::Bytes { size }),
        2 => Just(Op::Checkpoint),
        2 => any::<usize>().prop_map(Op::Restore),
        1 => Just(Op::Reset),
    ]
}

struct Live {
    ptr: *const u8,
    size: usize,
    fill: u8,
    time: usize,
}

fn check_intact(live: &[Live]) {
    for l in live {
        // SAFETY: the model only keeps allocations the arena still owes us.
        let bytes = unsafe { std::slice::from_raw_parts(l.ptr, l.size) };
        assert!(
            bytes.iter().all(|&b| b == l.fill),
            "allocation {} was overwritten",
            l.time
        );
    }
    let mut spans: Vec<(usize, usize)> = live
        .iter()
        .filter(|l| l.size > 0)
        .map(|l| (l.ptr.addr(), l.ptr.addr() + l.size))
        .collect();
    spans.sort_unstable();
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0, "live allocations overlap: {w:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(typool_tests::proptest_cases()))]
    #[test]
    fn arena_matches_its_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops, true)?;
    }

    /// Restores to any checkpoint taken since the last reset, stale ones included: the live
    /// allocations (those made before the checkpoint) must stay intact.
    #[test]
    fn stale_restores_corrupt_nothing(ops in prop::collection::vec(op(), 1..60)) {
        run(ops, false)?;
    }
}

fn run(ops: Vec<Op>, precise: bool) -> Result<(), TestCaseError> {
    {
        let mut arena = Arena::with_capacity(128);
        let mut live: Vec<Live> = Vec::new();
        let mut checkpoints: Vec<(Checkpoint, usize, usize)> = Vec::new(); // (cp, time, bytes_used)
        for (time, op) in ops.into_iter().enumerate() {
            match op {
                Op::Alloc { size, align_log2 } => {
                    let layout = Layout::from_size_align(size, 1 << align_log2).unwrap();
                    let p = (&arena).allocate(layout).unwrap().cast::<u8>();
                    prop_assert_eq!(p.as_ptr() as usize % layout.align(), 0);
                    let fill = (time % 251) as u8;
                    // SAFETY: `size` fresh bytes.
                    unsafe { std::ptr::write_bytes(p.as_ptr(), fill, size) };
                    live.push(Live {
                        ptr: p.as_ptr(),
                        size,
                        fill,
                        time,
                    });
                }
                Op::Bytes { size } => {
                    let fill = (time % 251) as u8;
                    let copy = arena.alloc_slice_copy(&vec![fill; size]);
                    live.push(Live {
                        ptr: copy.as_ptr(),
                        size,
                        fill,
                        time,
                    });
                }
                Op::Checkpoint => {
                    checkpoints.push((arena.checkpoint(), time, arena.stats().bytes_used))
                }
                Op::Restore(i) if !checkpoints.is_empty() => {
                    let k = i % checkpoints.len();
                    let (cp, at, used) = checkpoints[k];
                    arena.restore(cp);
                    live.retain(|l| l.time < at);
                    if precise {
                        // Later checkpoints are now stale: restoring them is memory-safe (the
                        // other property) but rewinds to no position the model can predict.
                        checkpoints.truncate(k + 1);
                        prop_assert_eq!(arena.stats().bytes_used, used);
                    }
                }
                Op::Restore(_) => {}
                Op::Reset => {
                    arena.reset();
                    live.clear();
                    checkpoints.clear();
                    prop_assert_eq!(arena.stats().bytes_used, 0);
                    prop_assert!(arena.stats().chunks <= 1);
                }
            }
            check_intact(&live);
            let need: usize = live.iter().map(|l| l.size).sum();
            prop_assert!(arena.stats().bytes_used >= need);
        }
    }
    Ok(())
}
