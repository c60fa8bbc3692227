// A generic type's instantiation that borrows cannot be pooled: its pool lives as long as the
// program, so `T` must be 'static.
#[derive(typool::Pooled)]
struct Wrapper<T> {
    value: T,
}

fn main() {
    let name = String::from("local");
    let b = typool::PoolBox::new(Wrapper { value: name.as_str() });
    let _ = b.value;
}
