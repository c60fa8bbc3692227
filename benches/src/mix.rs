//! Allocators that compose (issue 21): one loop that uses `Box` on the global allocator, a
//! `PooledVec` on `PoolAlloc`, a handle from a `static Pool<T>` and a derived type's `PoolBox`
//! on every iteration, beside each of those alone. Real programs use several at once; the mix
//! should cost no more than its parts.
//!
//! `mix_main!` makes a binary of it under a given global allocator; `benches/mix.sh` counts
//! instructions per iteration with callgrind.

use std::hint::black_box;
use typool::{Pool, PoolAlloc, PoolBox, Pooled, PooledVec};

/// The value every part allocates.
#[derive(Clone, Copy, Debug)]
pub struct Obj(pub [u64; 4]);

/// A derived type of the same size.
#[derive(Pooled, Debug)]
pub struct Derived(pub [u64; 4]);

/// A hand-built pool in a static.
pub static POOL: Pool<Obj> = Pool::new();

#[inline(always)]
fn boxed(i: u64) {
    black_box(Box::new(Obj([i; 4])));
}

#[inline(always)]
fn pooled_vec(i: u64) {
    let mut v: PooledVec<u64> = PooledVec::with_capacity_in(4, PoolAlloc);
    v.push(i);
    black_box(&v);
}

#[inline(always)]
fn handle(i: u64) {
    black_box(POOL.alloc(Obj([i; 4])));
}

#[inline(always)]
fn derived(i: u64) {
    black_box(PoolBox::new(Derived([i; 4])));
}

/// Runs `part` for `n` iterations: `none`, `box`, `vec`, `handle`, `derived`, or `mix` (all
/// four on every iteration).
pub fn run(part: &str, n: u64) {
    match part {
        "none" => (0..n).for_each(|i| {
            black_box(Obj([i; 4]));
        }),
        "box" => (0..n).for_each(boxed),
        "vec" => (0..n).for_each(pooled_vec),
        "handle" => (0..n).for_each(handle),
        "derived" => (0..n).for_each(derived),
        "mix" => (0..n).for_each(|i| {
            boxed(i);
            pooled_vec(i);
            handle(i);
            derived(i);
        }),
        other => panic!("unknown part {other}"),
    }
}

/// A `mix` binary: `static GLOBAL: $ty = $init` as the global allocator; arguments `PART N`.
#[macro_export]
macro_rules! mix_main {
    ($ty:ty, $init:expr) => {
        #[global_allocator]
        static GLOBAL: $ty = $init;

        fn main() {
            let usage = "usage: mix none|box|vec|handle|derived|mix N";
            let mut args = std::env::args().skip(1);
            let part = args.next().expect(usage);
            let n: u64 = args.next().and_then(|s| s.parse().ok()).expect(usage);
            $crate::mix::run(&part, n);
        }
    };
}
