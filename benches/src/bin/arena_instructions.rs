//! Runs `R` rounds of 1000 `u64` allocations (or string copies) and a reset in one arena, for counting
//! instructions: `benches/arena_instructions.sh` runs it at two `R` per arena and prints the
//! difference per allocation.

use typool_benches::arenas::{thousand_str, thousand_u64, BumpArena};

const LINE: &str = "GET /api/v1/items?page=2 HTTP/1.1";

fn run<A: BumpArena>(what: &str, rounds: u64) {
    let mut arena = A::with_capacity(1 << 16);
    let round = |a: &mut A| match what {
        "u64" => thousand_u64(a),
        "str" => thousand_str(a, LINE),
        other => panic!("unknown workload {other}"),
    };
    round(&mut arena); // warm up: the first chunk
    for _ in 0..rounds {
        round(&mut arena);
    }
}

#[typool::arena_scope]
fn empty_scope() {}

/// `#[arena_scope]` enter + exit, 1000 times per round.
fn scopes(rounds: u64) {
    for _ in 0..=rounds {
        for _ in 0..1000 {
            empty_scope();
        }
    }
}

fn main() {
    let usage = "usage: arena_instructions ARENA u64|str|scope ROUNDS";
    let mut args = std::env::args().skip(1);
    let name = args.next().expect(usage);
    let what = args.next().expect(usage);
    let rounds: u64 = args.next().and_then(|s| s.parse().ok()).expect(usage);
    match name.as_str() {
        "typool_arena" if what == "scope" => scopes(rounds),
        "typool_arena" => run::<typool::Arena>(&what, rounds),
        "bumpalo" => run::<bumpalo::Bump>(&what, rounds),
        "bump_scope" => run::<bump_scope::Bump>(&what, rounds),
        other => panic!("unknown arena {other}"),
    }
}
