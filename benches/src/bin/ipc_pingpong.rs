//! Shared memory against a Unix socket and a pipe, one 64-byte message each way (see
//! `typool_benches::ipc`):
//! `cargo run --release --manifest-path benches/Cargo.toml --bin ipc_pingpong [ROUND_TRIPS]`.
fn main() {
    typool_benches::ipc::main();
}
