//! Prints the digest of every workload for seeds `0..4` under the system allocator: the
//! reference `tests/slab_global.rs` compares the slab allocator's results with.

fn main() {
    for name in typool_tests::workloads::NAMES {
        for seed in 0..4 {
            println!("{name} {seed} {}", typool_tests::workloads::run(name, seed));
        }
    }
}
