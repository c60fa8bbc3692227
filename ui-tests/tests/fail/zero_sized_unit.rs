#[derive(typool::Pooled)]
struct Marker;

fn main() {}
