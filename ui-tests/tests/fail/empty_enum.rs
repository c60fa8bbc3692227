#[derive(typool::Pooled)]
enum Never {}

fn main() {}
