//! Memory after a scattered peak with `SlabAllocator::with_mesh()` as the global allocator
//! (see `typool_benches::sparse`): `box` gives back with `trim()`, then `mesh()`.
use typool::SlabAllocator;

#[global_allocator]
static GLOBAL: SlabAllocator = SlabAllocator::with_mesh();

fn main() {
    typool_benches::sparse::main_with("slab_mesh", || {
        GLOBAL.trim();
        GLOBAL.mesh()
    });
}
