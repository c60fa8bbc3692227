//! The real-work suite (`typool_benches::suite`) with mimalloc as the global allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    typool_benches::suite::main_with("mimalloc");
}
