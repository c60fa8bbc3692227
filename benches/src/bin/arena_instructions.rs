//! Runs `R` rounds of 1000 `u64` allocations and a reset in one arena, for counting
//! instructions: `benches/arena_instructions.sh` runs it at two `R` per arena and prints the
//! difference per allocation.

use typool_benches::arenas::{thousand_u64, BumpArena};

fn run<A: BumpArena>(rounds: u64) {
    let mut arena = A::with_capacity(1 << 16);
    thousand_u64(&mut arena); // warm up: the first chunk
    for _ in 0..rounds {
        thousand_u64(&mut arena);
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().expect("usage: arena_instructions ARENA ROUNDS");
    let rounds: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .expect("usage: arena_instructions ARENA ROUNDS");
    match name.as_str() {
        "typool_arena" => run::<typool::Arena>(rounds),
        "bumpalo" => run::<bumpalo::Bump>(rounds),
        "bump_scope" => run::<bump_scope::Bump>(rounds),
        other => panic!("unknown arena {other}"),
    }
}
