//! How fast a binary-trees tree is walked, by the layout of its nodes alone: no allocator, a
//! plain 2 MiB-aligned block, nodes of 16 bytes placed one after another in allocation order
//! (children before their parent, as `binary_trees`' build allocates them), optionally with a
//! gap of `GAP` bytes at every `PERIOD`-byte boundary — the layout of typool's coloured pages
//! (`PERIOD` 65536, `GAP` 16) and of mimalloc's, against packed pages (`PERIOD` 0). Prints the
//! median and the best of 20 walks, in ns per node.
//!
//! ```sh
//! walk_layout DEPTH [PERIOD [GAP]]      # e.g. walk_layout 18 0; walk_layout 18 65536 16
//! ```
use std::alloc::{alloc, dealloc, Layout};
use std::ptr::null;
use std::time::Instant;

/// A node: its two children, or null.
#[repr(C)]
struct Node {
    left: *const Node,
    right: *const Node,
}

/// Places nodes one after another from `next`, skipping `gap` bytes at each multiple of
/// `period` (0: never).
struct Placer {
    next: usize,
    period: usize,
    gap: usize,
}

impl Placer {
    fn place(&mut self, node: Node) -> *const Node {
        if self.period > 0 && self.next.is_multiple_of(self.period) {
            self.next += self.gap;
        }
        let at = self.next as *mut Node;
        self.next += size_of::<Node>();
        // SAFETY: `main` made the block large enough for every node and its gaps, aligned to
        // 2 MiB; `next` stays a multiple of 16 (the gap is one), so `at` is aligned.
        unsafe { at.write(node) };
        at
    }
}

fn build(p: &mut Placer, depth: u32) -> *const Node {
    let (left, right) = if depth == 0 {
        (null(), null())
    } else {
        (build(p, depth - 1), build(p, depth - 1))
    };
    p.place(Node { left, right })
}

#[inline(never)]
fn check(n: *const Node) -> u32 {
    // SAFETY: every non-null pointer in the tree is a node `build` wrote into the live block.
    let n = unsafe { &*n };
    let side = |c: *const Node| if c.is_null() { 0 } else { check(c) };
    1 + side(n.left) + side(n.right)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("walk_layout DEPTH [PERIOD [GAP]]"))
        .collect();
    let depth = *args.first().expect("walk_layout DEPTH [PERIOD [GAP]]") as u32;
    let (period, gap) = (
        args.get(1).copied().unwrap_or(0),
        args.get(2).copied().unwrap_or(16),
    );
    assert!(gap.is_multiple_of(16) && (period == 0 || period > gap));
    let nodes = (2usize << depth) - 1;
    let gaps = if period == 0 {
        0
    } else {
        nodes * 16 / (period - gap) + 1
    };
    let layout = Layout::from_size_align(nodes * 16 + gaps * gap, 2 << 20).unwrap();
    // SAFETY: the layout's size is not zero.
    let block = unsafe { alloc(layout) };
    assert!(!block.is_null(), "no memory for the tree");
    let mut placer = Placer {
        next: block.addr(),
        period,
        gap,
    };
    let tree = build(&mut placer, depth);
    assert!(placer.next <= block.addr() + layout.size());
    let mut walks: Vec<f64> = (0..20)
        .map(|_| {
            let start = Instant::now();
            assert_eq!(check(tree) as usize, nodes);
            start.elapsed().as_secs_f64() * 1e9 / nodes as f64
        })
        .collect();
    walks.sort_by(f64::total_cmp);
    let pages = if period == 0 {
        "packed".to_string()
    } else {
        format!("a {gap}-byte gap every {period} bytes")
    };
    println!(
        "depth {depth}, {pages}: median {:.2} ns per node, best {:.2}",
        walks[10], walks[0]
    );
    // SAFETY: allocated above with this layout; the tree is not used after this.
    unsafe { dealloc(block, layout) };
}
