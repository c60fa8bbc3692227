//! binary-trees, by the Computer Language Benchmarks Game's rules: every node is allocated on
//! its own through a library's allocator or pool (no preallocated node array, no custom
//! free list in the program), a stretch tree of `max_depth + 1`, a long-lived tree of
//! `max_depth`, then for each depth `4, 6, …, max_depth` `2^(max_depth − depth + 4)` trees built,
//! checked and dropped. The output is the game's, line for line, whatever the contender.
//!
//! Work is shared among `workers` threads as the game's parallel programs share it (they use a
//! thread pool): the main thread and `workers − 1` others, alive for the whole run, take chunks
//! of about 65,536 nodes (one tree at least), deepest first, from one counter. Each tree is built and dropped by the worker
//! that checks it; nothing is shared but the counter and the sums.
//!
//! | contender | a node is |
//! |---|---|
//! | `pool_box` | `PoolBox<PoolNode>` from `#[derive(Pooled)]` |
//! | `pool_box_huge` | `PoolBox<HugeNode>`, `#[derive(Pooled)]` with `#[pooled(huge_pages)]` |
//! | `box` | `Box<BoxNode>` under the binary's `#[global_allocator]` |
//! | `typed_arena` | a `&Node` in a `typed_arena::Arena` made for each tree |
//! | `bumpalo` | a `&Node` in a `bumpalo::Bump` made for each tree |
//! | `typool_arena` | a `&Node` in a `typool::Arena` made for each tree |

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use typool::{PoolBox, Pooled};

/// The shallowest tree the game builds.
pub const MIN_DEPTH: u32 = 4;

/// A node of the `pool_box` contender.
#[derive(Pooled)]
pub struct PoolNode {
    left: Option<PoolBox<PoolNode>>,
    right: Option<PoolBox<PoolNode>>,
}

/// A node of the `pool_box_huge` contender: as `PoolNode`, on huge pages.
#[derive(Pooled)]
#[pooled(huge_pages)]
pub struct HugeNode {
    left: Option<PoolBox<HugeNode>>,
    right: Option<PoolBox<HugeNode>>,
}

/// A second derived node type, for the diagnostic `pool_box_split` contender: the same code
/// on a pool of its own.
#[derive(Pooled)]
pub struct OtherNode {
    left: Option<PoolBox<OtherNode>>,
    right: Option<PoolBox<OtherNode>>,
}

/// A node of the `box` contender.
pub struct BoxNode {
    left: Option<Box<BoxNode>>,
    right: Option<Box<BoxNode>>,
}

/// A node of the arena contenders.
pub struct RefNode<'a> {
    left: Option<&'a RefNode<'a>>,
    right: Option<&'a RefNode<'a>>,
}

/// Builds a tree of `depth`, walks it, drops it: the game's unit of work, for one contender.
pub trait Contender: Sync {
    /// Nodes visited by the check of one freshly built tree of `depth`.
    fn tree(&self, depth: u32) -> u32;

    /// A tree of `depth` that stays alive while `f` runs, and its check.
    fn long_lived(&self, depth: u32, f: &mut dyn FnMut()) -> u32;

    /// As [`Self::tree`], each step timed: how long the build, the check and the drop took,
    /// and the check.
    fn phases(&self, depth: u32) -> ([Duration; 3], u32);
}

fn ref_tree<'a>(depth: u32, alloc: &dyn Fn(RefNode<'a>) -> &'a RefNode<'a>) -> &'a RefNode<'a> {
    let (left, right) = if depth == 0 {
        (None, None)
    } else {
        (
            Some(ref_tree(depth - 1, alloc)),
            Some(ref_tree(depth - 1, alloc)),
        )
    };
    alloc(RefNode { left, right })
}

fn ref_check(n: &RefNode<'_>) -> u32 {
    1 + n.left.map_or(0, ref_check) + n.right.map_or(0, ref_check)
}

/// A contender whose nodes own their children through `$ptr`, made by `$new`.
macro_rules! boxed_contender {
    ($name:ident, $node:ident, $ptr:ident, $new:path) => {
        #[doc = concat!("`", stringify!($ptr), "<", stringify!($node), ">`.")]
        pub struct $name;
        impl $name {
            fn build(depth: u32) -> $ptr<$node> {
                let (left, right) = if depth == 0 {
                    (None, None)
                } else {
                    (Some(Self::build(depth - 1)), Some(Self::build(depth - 1)))
                };
                $new($node { left, right })
            }
            fn check(n: &$node) -> u32 {
                1 + n.left.as_deref().map_or(0, Self::check)
                    + n.right.as_deref().map_or(0, Self::check)
            }
        }
        impl Contender for $name {
            fn tree(&self, depth: u32) -> u32 {
                Self::check(&Self::build(depth))
            }
            fn long_lived(&self, depth: u32, f: &mut dyn FnMut()) -> u32 {
                let t = Self::build(depth);
                f();
                Self::check(&t)
            }
            fn phases(&self, depth: u32) -> ([Duration; 3], u32) {
                let start = Instant::now();
                let t = Self::build(depth);
                let built = Instant::now();
                let check = Self::check(&t);
                let checked = Instant::now();
                drop(t);
                ([built - start, checked - built, checked.elapsed()], check)
            }
        }
    };
}
boxed_contender!(PoolBoxes, PoolNode, PoolBox, PoolBox::new);
boxed_contender!(HugePoolBoxes, HugeNode, PoolBox, PoolBox::new);
boxed_contender!(Boxes, BoxNode, Box, Box::new);
boxed_contender!(OtherPoolBoxes, OtherNode, PoolBox, PoolBox::new);

/// A diagnostic, not a contender of the tables: odd-numbered threads build `OtherNode`s, the
/// rest `PoolNode`s, so two workers share no pool at all. Its times against `pool_box`'s say
/// how much of what two workers cost each other is the pool they share.
pub struct SplitPoolBoxes;
impl SplitPoolBoxes {
    fn odd() -> bool {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local!(static ODD: bool = NEXT.fetch_add(1, Ordering::Relaxed) % 2 == 1);
        ODD.with(|o| *o)
    }
}
impl Contender for SplitPoolBoxes {
    fn tree(&self, depth: u32) -> u32 {
        if Self::odd() {
            OtherPoolBoxes.tree(depth)
        } else {
            PoolBoxes.tree(depth)
        }
    }
    fn long_lived(&self, depth: u32, f: &mut dyn FnMut()) -> u32 {
        PoolBoxes.long_lived(depth, f)
    }
    fn phases(&self, depth: u32) -> ([Duration; 3], u32) {
        if Self::odd() {
            OtherPoolBoxes.phases(depth)
        } else {
            PoolBoxes.phases(depth)
        }
    }
}

/// An arena per tree, through `$new` and `$alloc`.
macro_rules! arena_contender {
    ($name:ident, $new:expr, $alloc:ident) => {
        #[doc = concat!("A `", stringify!($new), "` per tree.")]
        pub struct $name;
        impl Contender for $name {
            fn tree(&self, depth: u32) -> u32 {
                let arena = $new;
                ref_check(ref_tree(depth, &|n| arena.$alloc(n)))
            }
            fn long_lived(&self, depth: u32, f: &mut dyn FnMut()) -> u32 {
                let arena = $new;
                let t = ref_tree(depth, &|n| arena.$alloc(n));
                f();
                ref_check(t)
            }
            fn phases(&self, depth: u32) -> ([Duration; 3], u32) {
                let start = Instant::now();
                let (built, check, checked) = {
                    let arena = $new;
                    let t = ref_tree(depth, &|n| arena.$alloc(n));
                    let built = Instant::now();
                    (built, ref_check(t), Instant::now())
                }; // The arena, and its tree, dropped.
                ([built - start, checked - built, checked.elapsed()], check)
            }
        }
    };
}
arena_contender!(TypedArenas, typed_arena::Arena::new(), alloc);
arena_contender!(Bumps, bumpalo::Bump::new(), alloc);
arena_contender!(TypoolArenas, typool::Arena::new(), alloc);

/// The contender named `name`, if there is one.
pub fn contender(name: &str) -> Option<&'static dyn Contender> {
    Some(match name {
        "pool_box" => &PoolBoxes,
        "pool_box_huge" => &HugePoolBoxes,
        "pool_box_split" => &SplitPoolBoxes,
        "box" => &Boxes,
        "typed_arena" => &TypedArenas,
        "bumpalo" => &Bumps,
        "typool_arena" => &TypoolArenas,
        _ => return None,
    })
}

/// Nodes of the trees a worker takes at a time (one tree at least): small enough that the
/// deepest depth, 16 trees, still spreads over the workers.
const CHUNK_NODES: usize = 1 << 16;

/// The whole program: its output lines, in the game's order.
pub fn run(c: &dyn Contender, n: u32, workers: usize) -> Vec<String> {
    let max_depth = n.max(MIN_DEPTH + 2);
    let stretch = max_depth + 1;
    let mut out = vec![format!(
        "stretch tree of depth {stretch}\t check: {}",
        c.tree(stretch)
    )];
    let depths: Vec<u32> = (MIN_DEPTH..=max_depth).step_by(2).collect();
    let iterations = |depth: u32| 1usize << (max_depth - depth + MIN_DEPTH);
    let mut checks = Vec::new();
    let long = c.long_lived(max_depth, &mut || {
        checks = shared(c, &depths, &iterations, workers);
    });
    for (&depth, check) in depths.iter().zip(checks) {
        out.push(format!(
            "{}\t trees of depth {depth}\t check: {check}",
            iterations(depth)
        ));
    }
    out.push(format!(
        "long lived tree of depth {max_depth}\t check: {long}"
    ));
    out
}

/// The program on one thread with each tree's build, check and drop timed apart: per depth,
/// nanoseconds per node of each (two clock reads per step and tree: about 1 ns per node at
/// depth 4, nothing past depth 10). The stretch tree, the long-lived tree and the order of
/// the depths (deepest first) are [`run`]'s, so the trees are built from the same reused
/// memory.
pub fn phases(c: &dyn Contender, n: u32) -> Vec<String> {
    let max_depth = n.max(MIN_DEPTH + 2);
    let stretch = c.tree(max_depth + 1);
    assert_eq!(
        stretch,
        (2 << (max_depth + 1)) - 1,
        "the stretch tree's check"
    );
    let mut out =
        vec!["| depth | trees | build ns/node | check ns/node | drop ns/node |".to_string()];
    out.push("|---:|---:|---:|---:|---:|".to_string());
    let mut rows = Vec::new();
    let long = c.long_lived(max_depth, &mut || {
        // Deepest first, as `run`'s workers take them.
        let depths: Vec<u32> = (MIN_DEPTH..=max_depth).step_by(2).collect();
        for &depth in depths.iter().rev() {
            let trees = 1u32 << (max_depth - depth + MIN_DEPTH);
            let mut sum = [Duration::ZERO; 3];
            for _ in 0..trees {
                let (times, check) = c.phases(depth);
                assert_eq!(check, (2 << depth) - 1, "a tree's check");
                for (s, t) in sum.iter_mut().zip(times) {
                    *s += t;
                }
            }
            let nodes = f64::from(trees) * f64::from((2 << depth) - 1);
            let [b, c, d] = sum.map(|t| t.as_secs_f64() * 1e9 / nodes);
            rows.push(format!("| {depth} | {trees} | {b:.2} | {c:.2} | {d:.2} |"));
        }
    });
    assert_eq!(long, (2 << max_depth) - 1, "the long-lived tree's check");
    out.extend(rows.into_iter().rev());
    out
}

/// Every depth's trees on `workers` threads that live for the whole run and take chunks of
/// about `CHUNK_NODES` nodes, deepest depth first, from one counter; the sum of the checks
/// per depth.
fn shared(
    c: &dyn Contender,
    depths: &[u32],
    iterations: &dyn Fn(u32) -> usize,
    workers: usize,
) -> Vec<u64> {
    let chunks: Vec<(usize, usize, usize)> = depths
        .iter()
        .enumerate()
        .rev()
        .flat_map(|(i, &d)| {
            let n = iterations(d);
            let chunk = (CHUNK_NODES >> (d + 1)).max(1);
            (0..n)
                .step_by(chunk)
                .map(move |s| (i, s, (s + chunk).min(n)))
        })
        .collect();
    let sums: Vec<AtomicU64> = depths.iter().map(|_| AtomicU64::new(0)).collect();
    let next = AtomicUsize::new(0);
    let work = || loop {
        let Some(&(i, start, end)) = chunks.get(next.fetch_add(1, Ordering::Relaxed)) else {
            return;
        };
        let sum: u64 = (start..end).map(|_| u64::from(c.tree(depths[i]))).sum();
        sums[i].fetch_add(sum, Ordering::Relaxed);
    };
    std::thread::scope(|s| {
        for _ in 1..workers {
            s.spawn(work);
        }
        work();
    });
    sums.into_iter().map(AtomicU64::into_inner).collect()
}

/// Peak resident set of this process so far, in KiB (`VmHWM` in `/proc/self/status`).
pub fn peak_rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The body of every binary-trees binary: `BIN CONTENDER DEPTH WORKERS [--print | --phases]`;
/// prints one line `contender workers depth seconds peak_rss_kib checksum` to stdout (the
/// game's output itself with `--print`; with `--phases`, the table of [`phases`] on one
/// thread), and with `TYPOOL_BT_STATS` set the derived node pools' `stats()` to stderr.
pub fn main_with(allocator: &str) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().map_or("pool_box", String::as_str);
    let depth = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let workers = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let print = args.iter().any(|a| a == "--print");
    let c = contender(name).unwrap_or_else(|| panic!("unknown contender {name}"));
    if args.iter().any(|a| a == "--phases") {
        for line in phases(c, depth) {
            println!("{line}");
        }
        return;
    }
    let t = std::time::Instant::now();
    let out = run(c, depth, workers);
    let secs = t.elapsed().as_secs_f64();
    if print {
        for line in &out {
            println!("{line}");
        }
        return;
    }
    let digest = out.iter().fold(0u64, |h, l| {
        l.bytes()
            .fold(h, |h, b| h.wrapping_mul(0x100_0000_01b3) ^ u64::from(b))
    });
    println!(
        "{allocator} {name} {workers} {depth} {secs:.3} {} {digest:016x}",
        peak_rss_kib()
    );
    if std::env::var_os("TYPOOL_BT_STATS").is_some() {
        eprintln!("{:?}", PoolNode::pool().stats());
        eprintln!("{:?}", OtherNode::pool().stats());
    }
}
