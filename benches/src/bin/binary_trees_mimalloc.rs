//! binary-trees with mimalloc as the global allocator (see `typool_benches::binary_trees`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    typool_benches::binary_trees::main_with("mimalloc");
}
