//! Issue 24's soundness experiment (see `typool_benches::mesh_experiment`):
//! `cargo run --release --manifest-path benches/Cargo.toml --bin mesh_experiment [TRIALS]`.
fn main() {
    typool_benches::mesh_experiment::main();
}
