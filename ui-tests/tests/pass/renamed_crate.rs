// The `crate = ".."` key: generated code names the runtime through the given path.
mod reexport {
    pub use typool as pools;
}

#[derive(typool::Pooled)]
#[pooled(crate = "crate::reexport::pools")]
struct Job {
    id: u64,
}

fn main() {
    let j = typool::PoolBox::new(Job { id: 3 });
    assert_eq!(j.id, 3);
}
