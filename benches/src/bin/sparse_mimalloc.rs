//! Memory after a scattered peak with mimalloc as the global allocator (see
//! `typool_benches::sparse`): `box` gives back with `mi_collect(true)`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    typool_benches::sparse::main_with("mimalloc", || {
        // SAFETY: `mi_collect` has no preconditions.
        unsafe { libmimalloc_sys::mi_collect(true) };
        typool::MeshReport::default()
    });
}
