//! typool's `Arena` beside bumpalo and bump-scope: small values, byte slices, strings,
//! a vector growing in the arena, and the per-request cost of `#[arena_scope]` against
//! creating a `bumpalo::Bump` per request (and reusing one by hand).
//!
//! `cargo bench -p typool-benches --bench arenas`

use allocator_api2::vec::Vec as AVec;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use typool::arena_scope;
use typool_benches::arenas::BumpArena;

const LINE: &str = "GET /api/v1/items?page=2 HTTP/1.1";

fn per_arena<A: BumpArena>(c: &mut Criterion) {
    let mut arena = A::with_capacity(1 << 20);
    let mut g = c.benchmark_group("arena_small_u64");
    g.throughput(Throughput::Elements(1000));
    g.bench_function(A::NAME, |b| {
        b.iter(|| {
            for i in 0..1000 {
                black_box(arena.alloc_u64(i));
            }
            arena.reset();
        })
    });
    g.finish();

    let bytes = [7u8; 64];
    let mut g = c.benchmark_group("arena_slice_64B");
    g.throughput(Throughput::Elements(1000));
    g.bench_function(A::NAME, |b| {
        b.iter(|| {
            for _ in 0..1000 {
                black_box(arena.alloc_bytes(black_box(&bytes)));
            }
            arena.reset();
        })
    });
    g.finish();

    let mut g = c.benchmark_group("arena_str");
    g.throughput(Throughput::Elements(1000));
    g.bench_function(A::NAME, |b| {
        b.iter(|| {
            for _ in 0..1000 {
                black_box(arena.alloc_str(black_box(LINE)));
            }
            arena.reset();
        })
    });
    g.finish();

    let mut g = c.benchmark_group("arena_vec_push");
    for n in [10usize, 1000] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new(A::NAME, n), &n, |b, &n| {
            b.iter(|| {
                {
                    let mut v: AVec<u32, _> = AVec::new_in(arena.allocator());
                    for i in 0..n as u32 {
                        v.push(i);
                    }
                    black_box(&v);
                }
                arena.reset();
            })
        });
    }
    g.finish();
}

/// A small request: copy the line, split it, keep the words.
#[arena_scope(capacity = 4096)]
fn handle_scoped(line: &str) -> usize {
    let copy = arena.alloc_str(line);
    let mut words: typool::ArenaVec<&str> = typool::ArenaVec::new_in(arena);
    words.extend(copy.split(' '));
    words.len()
}

fn handle_fresh_bumpalo(line: &str) -> usize {
    let bump = bumpalo::Bump::with_capacity(4096);
    let copy = bump.alloc_str(line);
    let mut words = bumpalo::collections::Vec::new_in(&bump);
    words.extend(copy.split(' '));
    words.len()
}

fn handle_reused_bumpalo(bump: &mut bumpalo::Bump, line: &str) -> usize {
    let n = {
        let copy = bump.alloc_str(line);
        let mut words = bumpalo::collections::Vec::new_in(&*bump);
        words.extend(copy.split(' '));
        words.len()
    };
    bump.reset();
    n
}

#[arena_scope]
fn empty_scope() {}

fn per_request(c: &mut Criterion) {
    let mut g = c.benchmark_group("request");
    g.bench_function("typool_arena_scope", |b| {
        b.iter(|| handle_scoped(black_box(LINE)))
    });
    g.bench_function("bumpalo_new_per_request", |b| {
        b.iter(|| handle_fresh_bumpalo(black_box(LINE)))
    });
    let mut bump = bumpalo::Bump::with_capacity(4096);
    g.bench_function("bumpalo_reused_by_hand", |b| {
        b.iter(|| handle_reused_bumpalo(&mut bump, black_box(LINE)))
    });
    g.finish();
    let mut g = c.benchmark_group("scope_enter_exit");
    g.bench_function("typool_arena_scope_empty", |b| b.iter(empty_scope));
    g.finish();
}

fn suite(c: &mut Criterion) {
    per_arena::<typool::Arena>(c);
    per_arena::<bumpalo::Bump>(c);
    per_arena::<bump_scope::Bump>(c);
    per_request(c);
}

criterion_group! {
    name = benches;
    config = typool_benches::criterion_config();
    targets = suite
}
criterion_main!(benches);
