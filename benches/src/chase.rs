//! Pointer chasing across 1 GiB of 64-byte objects: the workload where huge pages matter.
//!
//! Every object holds the address of the next in one random cycle through all of them, so
//! each step is a load whose address depends on the last: no prefetcher helps, almost every
//! step misses the caches, and with 4 KiB pages almost every step misses the TLB too (1 GiB
//! is 262,144 pages; the TLB holds a few thousand). With 2 MiB pages the same gigabyte is
//! 512 pages, and the page walk that remains is shorter. The time per step is what a user's
//! graph, tree or hash index costs per hop once it no longer fits in cache.
//!
//! The cursor carries over from one measured iteration to the next, so no iteration re-walks
//! a warm prefix of the cycle.

use criterion::{Criterion, Throughput};
use std::hint::black_box;
use std::ops::DerefMut;

/// Objects chased: 1 GiB of 64-byte objects (`TYPOOL_CHASE_MIB` overrides the size).
pub fn objects() -> usize {
    let mib: usize = std::env::var("TYPOOL_CHASE_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    mib * (1 << 20) / 64
}

/// Steps per measured iteration.
pub const STEPS: u64 = 100_000;

/// An object in the cycle.
pub trait Link: Sized {
    fn next(&self) -> *const Self;
    fn set_next(&mut self, next: *const Self);
}

/// Declares a 64-byte node type implementing [`Link`], with `$attr` on it.
#[macro_export]
macro_rules! chase_node {
    ($(#[$attr:meta])* $name:ident) => {
        $(#[$attr])*
        pub struct $name {
            next: *const $name,
            _pad: [u64; 7],
        }

        impl $name {
            pub fn new() -> Self {
                Self { next: core::ptr::null(), _pad: [0; 7] }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        // SAFETY: `next` is only followed on the thread that built the cycle, while every
        // node is alive (the bench holds them all).
        unsafe impl Send for $name {}

        impl $crate::chase::Link for $name {
            #[inline(always)]
            fn next(&self) -> *const Self {
                self.next
            }
            fn set_next(&mut self, next: *const Self) {
                self.next = next;
            }
        }

        const _: () = assert!(core::mem::size_of::<$name>() == 64);
    };
}

/// `n` objects from `alloc`, linked into one random cycle; returns them and a start.
pub fn build<B, T>(n: usize, mut alloc: impl FnMut() -> B) -> (Vec<B>, *const T)
where
    B: DerefMut<Target = T>,
    T: Link,
{
    let mut nodes: Vec<B> = (0..n).map(|_| alloc()).collect();
    // Fisher–Yates with a fixed seed: the same cycle on every run.
    let mut order: Vec<u32> = (0..n as u32).collect();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    for w in 0..n {
        let to: *const T = &*nodes[order[(w + 1) % n] as usize];
        nodes[order[w] as usize].set_next(to);
    }
    let start: *const T = &*nodes[order[0] as usize];
    (nodes, start)
}

/// Follows `steps` links from `p`.
///
/// # Safety
///
/// `p` is in a cycle built by [`build`] whose nodes are all alive.
#[inline(never)]
pub unsafe fn chase<T: Link>(mut p: *const T, steps: u64) -> *const T {
    for _ in 0..steps {
        // SAFETY: every node of the cycle is alive (the caller's promise).
        p = unsafe { (*p).next() };
    }
    p
}

/// `AnonHugePages` of the whole process, in MiB (`/proc/self/smaps_rollup`; 0 where absent).
pub fn anon_huge_mib() -> u64 {
    std::fs::read_to_string("/proc/self/smaps_rollup")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("AnonHugePages:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / 1024)
}

/// Builds a cycle of `objects()` nodes from `alloc` and times [`STEPS`] hops under criterion
/// as `chase_<MiB>MiB_<kind>/<name>`, printing what backs the memory first.
pub fn bench<B, T>(
    c: &mut Criterion,
    kind: &str,
    name: &str,
    granted: impl Fn() -> String,
    alloc: impl FnMut() -> B,
) where
    B: DerefMut<Target = T>,
    T: Link,
{
    let before = anon_huge_mib();
    let n = objects();
    let group = &format!("chase_{}MiB_{kind}", (n * 64) >> 20);
    let (nodes, start) = build(n, alloc);
    eprintln!(
        "{group}/{name}: {n} objects ({} MiB), granted {}, AnonHugePages +{} MiB",
        (n * 64) >> 20,
        granted(),
        anon_huge_mib().saturating_sub(before)
    );
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(STEPS));
    g.sample_size(30);
    let mut cursor = start;
    g.bench_function(name, |b| {
        b.iter(|| {
            // SAFETY: `cursor` is in the cycle of `nodes`, all alive until after the group.
            cursor = unsafe { chase(cursor, STEPS) };
            black_box(cursor)
        })
    });
    g.finish();
    drop(nodes);
}

/// A criterion main that chases `Box`ed nodes with `SlabAllocator::with_backing($backing)` as
/// the `#[global_allocator]`, as `chase_<MiB>MiB_global_slab/$name` (one binary per backing:
/// a program has one global allocator).
#[macro_export]
macro_rules! chase_global_slab {
    ($backing:expr, $name:literal) => {
        #[global_allocator]
        static GLOBAL: typool::SlabAllocator = typool::SlabAllocator::with_backing($backing);

        $crate::chase_node!(Node);

        fn slab(c: &mut criterion::Criterion) {
            $crate::chase::bench(
                c,
                "global_slab",
                $name,
                || GLOBAL.backing().to_string(),
                || Box::new(Node::new()),
            );
        }

        criterion::criterion_group!(benches, slab);
        criterion::criterion_main!(benches);
    };
}
