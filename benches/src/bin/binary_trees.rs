//! binary-trees on glibc's allocator (see `typool_benches::binary_trees`).
fn main() {
    typool_benches::binary_trees::main_with("glibc");
}
