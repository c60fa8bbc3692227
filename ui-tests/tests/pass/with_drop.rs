use std::sync::atomic::{AtomicUsize, Ordering};
use typool::{PoolBox, Pooled};

static DROPS: AtomicUsize = AtomicUsize::new(0);

#[derive(Pooled)]
struct Connection {
    name: String,
}

impl Drop for Connection {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

fn main() {
    let a = PoolBox::new(Connection { name: "a".into() });
    let b = PoolBox::new(Connection { name: "b".into() });
    drop(a);
    let inner = PoolBox::into_inner(b);
    assert_eq!(inner.name, "b");
    assert_eq!(DROPS.load(Ordering::Relaxed), 1);
    drop(inner);
    assert_eq!(DROPS.load(Ordering::Relaxed), 2);
}
