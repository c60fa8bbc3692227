//! `Arena` against a model: allocations (sizes 0..=64 KiB, alignments 1..=4096) through
//! `&Arena as Allocator`, byte slices, values with drop counters, `Allocator` grow and shrink,
//! checkpoints, restores (stale ones too) and resets. Live allocations must be aligned, never
//! overlap and keep their contents; restore and reset must drop exactly what came after, once.

use allocator_api2::alloc::Allocator;
use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use typool::{Arena, Checkpoint};

/// Largest request a model makes.
pub const MAX_SIZE: usize = 64 * 1024;

#[derive(Clone, Debug, arbitrary::Arbitrary)]
pub enum Op {
    Alloc {
        size: usize,
        align_log2: u32,
    },
    /// Byte data, which the arena takes from the other end of its free gap.
    Bytes {
        size: usize,
    },
    /// A value whose drop the model counts.
    Value,
    /// Grow or shrink allocation `which` (of those made through `Allocator`) to `size`.
    Realloc {
        which: usize,
        size: usize,
    },
    Checkpoint,
    Restore(usize),
    Reset,
}

struct Live {
    ptr: *const u8,
    size: usize,
    align: usize,
    fill: u8,
    time: usize,
    /// Made through `Allocator`, so it may be grown or shrunk.
    raw: bool,
}

/// Counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Steps between two checks of every live allocation's contents (alignment and overlap are
/// checked after every step, contents once more at the end): a full check reads every live
/// byte, which would make long sequences quadratic.
const FULL_CHECK_EVERY: usize = 8;

fn check_intact(live: &[Live], contents: bool) {
    for l in live {
        // SAFETY: the model only keeps allocations the arena still owes us.
        let bytes = unsafe { std::slice::from_raw_parts(l.ptr, l.size) };
        assert!(
            !contents || super::all_bytes_are(bytes, l.fill),
            "allocation {} was overwritten",
            l.time
        );
        assert_eq!(
            l.ptr.addr() % l.align,
            0,
            "allocation {} misaligned",
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

/// Replays `ops`. With `precise`, a restore forgets the checkpoints after it (the model can
/// then predict `bytes_used` exactly); without, stale checkpoints are restored too, and only
/// memory safety and drops are checked.
pub fn run(ops: &[Op], precise: bool) {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut made = 0usize;
    {
        let mut arena = Arena::with_capacity(128);
        let mut live: Vec<Live> = Vec::new();
        // Values' allocation times, to know which a restore drops.
        let mut values: Vec<usize> = Vec::new();
        let mut checkpoints: Vec<(Checkpoint, usize, usize)> = Vec::new(); // (cp, time, used)
        for (time, op) in ops.iter().enumerate() {
            let fill = (time % 251) as u8;
            match *op {
                Op::Alloc { size, align_log2 } => {
                    let size = size % (MAX_SIZE + 1);
                    let align = 1 << (align_log2 % 13);
                    let layout = Layout::from_size_align(size, align).unwrap();
                    let p = (&arena).allocate(layout).unwrap().cast::<u8>();
                    // SAFETY: `size` fresh bytes.
                    unsafe { std::ptr::write_bytes(p.as_ptr(), fill, size) };
                    live.push(Live {
                        ptr: p.as_ptr(),
                        size,
                        align,
                        fill,
                        time,
                        raw: true,
                    });
                }
                Op::Bytes { size } => {
                    let size = size % (MAX_SIZE + 1);
                    let copy = arena.alloc_slice_copy(&vec![fill; size]);
                    live.push(Live {
                        ptr: copy.as_ptr(),
                        size,
                        align: 1,
                        fill,
                        time,
                        raw: false,
                    });
                }
                Op::Value => {
                    arena.alloc(Counted(drops.clone()));
                    made += 1;
                    values.push(time);
                }
                Op::Realloc { which, size } => {
                    let raw: Vec<usize> = (0..live.len()).filter(|&i| live[i].raw).collect();
                    if raw.is_empty() {
                        continue;
                    }
                    let i = raw[which % raw.len()];
                    let size = size % (MAX_SIZE + 1);
                    let l = &mut live[i];
                    let old = Layout::from_size_align(l.size, l.align).unwrap();
                    let new = Layout::from_size_align(size, l.align).unwrap();
                    let ptr = NonNull::new(l.ptr.cast_mut()).unwrap();
                    // SAFETY: the allocation is live, made through `&arena` with `old`.
                    let moved = unsafe {
                        if size >= l.size {
                            (&arena).grow(ptr, old, new)
                        } else {
                            (&arena).shrink(ptr, old, new)
                        }
                    }
                    .expect("an arena grows or shrinks any block");
                    l.ptr = moved.as_ptr().cast();
                    let kept = l.size.min(size);
                    // SAFETY: `moved` is `size` bytes; the first `kept` must be the old ones.
                    let bytes = unsafe { std::slice::from_raw_parts(l.ptr, kept) };
                    assert!(super::all_bytes_are(bytes, l.fill), "realloc lost contents");
                    l.size = size;
                    // Memory taken now: a restore to an earlier checkpoint reclaims it (Rust's
                    // borrows forbid using the block across that restore; the model forgets it).
                    l.time = time;
                    // SAFETY: `size` bytes, ours.
                    unsafe { std::ptr::write_bytes(moved.as_ptr().cast::<u8>(), l.fill, size) };
                }
                Op::Checkpoint => {
                    checkpoints.push((arena.checkpoint(), time, arena.stats().bytes_used))
                }
                Op::Restore(i) if !checkpoints.is_empty() => {
                    let k = i % checkpoints.len();
                    let (cp, at, used) = checkpoints[k];
                    let before = drops.load(Ordering::Relaxed);
                    arena.restore(cp);
                    live.retain(|l| l.time < at);
                    let gone = values.iter().filter(|&&t| t > at).count();
                    values.retain(|&t| t < at);
                    assert_eq!(
                        drops.load(Ordering::Relaxed) - before,
                        gone,
                        "restore drops what came after"
                    );
                    if precise {
                        // Later checkpoints are now stale: restoring them is memory-safe (the
                        // imprecise run) but rewinds to no position the model can predict.
                        checkpoints.truncate(k + 1);
                        assert_eq!(arena.stats().bytes_used, used);
                    }
                }
                Op::Restore(_) => {}
                Op::Reset => {
                    let before = drops.load(Ordering::Relaxed);
                    arena.reset();
                    assert_eq!(
                        drops.load(Ordering::Relaxed) - before,
                        values.len(),
                        "reset drops every value"
                    );
                    live.clear();
                    values.clear();
                    checkpoints.clear();
                    assert_eq!(arena.stats().bytes_used, 0);
                    assert!(arena.stats().chunks <= 1);
                }
            }
            check_intact(&live, time % FULL_CHECK_EVERY == FULL_CHECK_EVERY - 1);
            let need: usize = live.iter().map(|l| l.size).sum();
            assert!(arena.stats().bytes_used >= need);
            assert_eq!(
                made - drops.load(Ordering::Relaxed),
                values.len(),
                "a value dropped early or twice"
            );
        }
        check_intact(&live, true);
    }
    assert_eq!(
        drops.load(Ordering::Relaxed),
        made,
        "dropping the arena drops every value once"
    );
}
