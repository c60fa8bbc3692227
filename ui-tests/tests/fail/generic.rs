#[derive(typool::Pooled)]
struct Wrapper<T> {
    value: T,
}

fn main() {}
