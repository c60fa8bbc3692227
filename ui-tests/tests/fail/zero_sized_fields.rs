#[derive(typool::Pooled)]
struct Nothing((), [u64; 0]);

fn main() {}
