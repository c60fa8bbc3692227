//! `PoolArc` against `Arc` with mimalloc as the global allocator (see
//! `typool_benches::shared`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    typool_benches::shared::main_with("mimalloc");
}
