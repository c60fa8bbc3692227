//! binary-trees with typool's slab as the global allocator (see `typool_benches::binary_trees`).
#[global_allocator]
static GLOBAL: typool::SlabAllocator = typool::SlabAllocator::new();

fn main() {
    typool_benches::binary_trees::main_with("slab");
}
