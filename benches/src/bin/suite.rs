//! The real-work suite (`typool_benches::suite`) on glibc's allocator.

fn main() {
    typool_benches::suite::main_with("glibc");
}
