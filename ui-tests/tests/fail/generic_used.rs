// A generic type used as if it were pooled: only the derive's message, no second
// "has no pool of its own" at the use.
#[derive(typool::Pooled)]
struct Wrapper<T> {
    value: T,
}

fn main() {
    let b = typool::PoolBox::new(Wrapper { value: 1u32 });
    let _ = b.value;
}
