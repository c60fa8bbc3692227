//! Counts instructions of scenarios A and B for one contender, with glibc malloc as the global
//! allocator (`box` is `Box<Obj>` under glibc):
//!
//! ```sh
//! cargo build --release --manifest-path benches/Cargo.toml --bin instructions
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null benches/target/release/instructions typool A 1000000
//! ```
//!
//! `benches/instructions.sh` runs it at two `N` for every contender and prints the difference
//! per object. `instructions_mimalloc` and `instructions_slab` are the same under those global
//! allocators.

fn main() {
    typool_benches::count_main();
}
