//! Runs `N` alloc+free pairs (scenario A) of one contender, for counting instructions:
//!
//! ```sh
//! cargo build --release -p typool-benches --bin instructions
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/instructions typool 1000000
//! ```
//!
//! `benches/instructions.sh` runs it at two `N` for every contender and prints the
//! difference per pair, so start-up and warm-up cancel out.

use typool_benches::{for_contender, pairs, Contender};

fn run<C: Contender>(n: u64) {
    let pool = C::leaked();
    pairs(pool, 1000); // warm up: first segment, first cache refill
    pairs(pool, n);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().expect("usage: instructions CONTENDER N");
    let n: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .expect("usage: instructions CONTENDER N");
    for_contender!(name.as_str(), run, n);
}
