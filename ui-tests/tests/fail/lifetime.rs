#[derive(typool::Pooled)]
struct Borrowed<'a> {
    name: &'a str,
}

fn main() {}
