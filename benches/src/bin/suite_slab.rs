//! The real-work suite (`typool_benches::suite`) with typool's slab as the global allocator.
#[global_allocator]
static GLOBAL: typool::SlabAllocator = typool::SlabAllocator::new();

fn main() {
    typool_benches::suite::main_with("slab");
}
