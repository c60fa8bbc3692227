// Generic types: a pool per instantiation, bounds and where clauses kept, 'static added.
use typool::{PoolBox, Pooled};

#[derive(Pooled)]
struct Wrapper<T> {
    value: T,
}

#[derive(Pooled)]
#[pooled(max = 10, vec = Messages)]
struct Message<T: Clone, const N: usize>
where
    T: Send,
{
    parts: [T; N],
}

fn main() {
    let a = PoolBox::new(Wrapper { value: 1u32 });
    let b = Wrapper { value: String::from("two") }.pooled();
    assert_eq!((a.value, b.value.as_str()), (1, "two"));
    assert_eq!(Wrapper::<u32>::pool().stats().live, 1);
    assert_eq!(Wrapper::<String>::pool().stats().live, 1);

    let m = PoolBox::new(Message { parts: [7u8; 4] });
    assert_eq!(m.parts, [7; 4]);
    let v: Messages<u8, 4> = Messages::new_in(typool::PoolAlloc);
    assert!(v.is_empty());
}
