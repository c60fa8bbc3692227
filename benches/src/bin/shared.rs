//! `PoolArc` against `Arc` on glibc (see `typool_benches::shared`):
//! `cargo run --release --manifest-path benches/Cargo.toml --bin shared [REPEATS]`.
fn main() {
    typool_benches::shared::main_with("glibc");
}
