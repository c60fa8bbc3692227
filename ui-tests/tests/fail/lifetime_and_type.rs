// A lifetime parameter stays an error when type parameters come with it.
#[derive(typool::Pooled)]
struct Entry<'a, T> {
    key: &'a str,
    value: T,
}

fn main() {}
