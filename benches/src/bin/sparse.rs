//! Memory after a scattered peak on glibc (see `typool_benches::sparse`): `box` gives back
//! with `malloc_trim(0)`; `pool` and `pool_mesh` are typool's pools on top.
fn main() {
    typool_benches::sparse::main_with("glibc", || {
        // SAFETY: `malloc_trim` has no preconditions.
        unsafe { libc::malloc_trim(0) };
        typool::MeshReport::default()
    });
}
