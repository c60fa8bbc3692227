//! An `Allocator` against a model: allocations, reallocations (grow and shrink) and frees,
//! with sizes 0..=1 MiB and alignments 1..=4096, frees and reallocations given any size that
//! "fits" the block (between the requested size and the length `allocate` returned, as
//! allocator-api2 allows). Live blocks must be aligned, never overlap, and keep their
//! contents across every reallocation; a refusal must be justified (`refused`); the
//! allocator's `live_bytes` must match the model's.

use allocator_api2::alloc::{AllocError, Allocator};
use std::alloc::Layout;
use std::ptr::NonNull;

/// Largest request a model makes.
pub const MAX_SIZE: usize = 1 << 20;

#[derive(Clone, Debug, arbitrary::Arbitrary)]
pub enum Op {
    Alloc {
        size: usize,
        align_log2: u32,
    },
    /// Grow or shrink block `which` to `size`, passing an old size `slack` past the request.
    Realloc {
        which: usize,
        size: usize,
        slack: usize,
    },
    /// Free block `which` with a size `slack` past the request (within what was granted).
    Free {
        which: usize,
        slack: usize,
    },
}

struct Block {
    ptr: NonNull<u8>,
    layout: Layout,
    /// The length `allocate` (or the last reallocation) returned.
    granted: usize,
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
        super::all_bytes_are(bytes, self.fill)
    }

    /// A layout that fits the block: the request's alignment, a size from the request's to
    /// the granted length.
    fn fitting(&self, slack: usize) -> Layout {
        let room = self.granted - self.layout.size();
        let size = self.layout.size() + slack % (room + 1);
        Layout::from_size_align(size, self.layout.align()).unwrap()
    }
}

/// Steps between two checks of every live block's contents (alignment and overlap are
/// checked after every step, and contents once more at the end): a full check reads every
/// live byte, which would make long sequences quadratic.
const FULL_CHECK_EVERY: usize = 8;

fn check(live: &[Block], contents: bool) {
    let mut spans: Vec<(usize, usize)> = live
        .iter()
        .filter(|b| b.layout.size() > 0)
        .map(|b| {
            let start = b.ptr.as_ptr().addr();
            (start, start + b.layout.size())
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
            !contents || b.intact_prefix(b.layout.size()),
            "a block of {:?} was overwritten",
            b.layout
        );
    }
}

/// Replays `ops` through `a`. `refused` judges an `AllocError`; `live_bytes`, if given, is
/// the allocator's count of requested bytes live.
pub fn replay<A: Allocator + Copy>(
    a: A,
    ops: &[Op],
    refused: impl Fn(Layout) -> bool,
    live_bytes: Option<&dyn Fn() -> usize>,
) {
    let mut live: Vec<Block> = Vec::new();
    // Exact until a block is freed with more than its requested size: the allocator cannot
    // tell how much of a fitting size was asked for, so from then on only bounds hold.
    let mut exact = true;
    for (step, op) in ops.iter().enumerate() {
        let fill = step as u8 | 1;
        match *op {
            Op::Alloc { size, align_log2 } => {
                let size = size % (MAX_SIZE + 1);
                let layout = Layout::from_size_align(size, 1 << (align_log2 % 13)).unwrap();
                match a.allocate(layout) {
                    Ok(p) => {
                        assert!(p.len() >= size, "{} bytes granted for {layout:?}", p.len());
                        let b = Block {
                            ptr: p.cast(),
                            layout,
                            granted: p.len(),
                            fill,
                        };
                        b.fill();
                        live.push(b);
                    }
                    Err(AllocError) => assert!(refused(layout), "refused {layout:?} with room"),
                }
            }
            Op::Realloc { which, size, slack } if !live.is_empty() => {
                let i = which % live.len();
                let size = size % (MAX_SIZE + 1);
                let asked = live[i].layout;
                let old = live[i].fitting(slack);
                exact &= old == asked;
                let new = Layout::from_size_align(size, old.align()).unwrap();
                // SAFETY: the block is live, allocated from `a`, and `old` fits it.
                let moved = unsafe {
                    if size >= old.size() {
                        a.grow(live[i].ptr, old, new)
                    } else {
                        a.shrink(live[i].ptr, old, new)
                    }
                };
                match moved {
                    Ok(p) => {
                        assert!(p.len() >= size, "{} bytes granted for {new:?}", p.len());
                        live[i].ptr = p.cast();
                        live[i].layout = new;
                        live[i].granted = p.len();
                        assert!(
                            live[i].intact_prefix(asked.size().min(size)),
                            "contents lost in a realloc from {old:?} to {new:?}"
                        );
                        live[i].fill = fill;
                        live[i].fill();
                    }
                    Err(AllocError) => {
                        assert!(refused(new), "refused to realloc to {new:?} with room");
                        assert!(live[i].intact_prefix(asked.size()), "a failed realloc hurt");
                    }
                }
            }
            Op::Free { which, slack } if !live.is_empty() => {
                let b = live.swap_remove(which % live.len());
                let layout = b.fitting(slack);
                exact &= layout == b.layout;
                // SAFETY: the block is live, allocated from `a`, and `layout` fits it.
                unsafe { a.deallocate(b.ptr, layout) };
            }
            _ => {}
        }
        check(&live, step % FULL_CHECK_EVERY == FULL_CHECK_EVERY - 1);
        if let Some(live_bytes) = live_bytes {
            let asked: usize = live.iter().map(|b| b.layout.size()).sum();
            let granted: usize = live.iter().map(|b| b.granted).sum();
            if exact {
                assert_eq!(live_bytes(), asked, "live_bytes");
            } else {
                assert!(live_bytes() <= granted, "live_bytes past every live block");
            }
        }
    }
    check(&live, true);
    for b in live {
        // SAFETY: the block is live, allocated from `a` with this layout.
        unsafe { a.deallocate(b.ptr, b.layout) };
    }
}
