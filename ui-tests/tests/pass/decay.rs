use typool::{PoolBox, Pooled};

#[derive(Pooled)]
#[pooled(decay_ms = 50, initial = 64)]
struct Burst {
    value: [u64; 8],
}

#[derive(Pooled)]
#[pooled(decay_ms = 0)]
struct Steady {
    value: u64,
}

fn main() {
    let b = PoolBox::new(Burst { value: [1; 8] });
    let s = PoolBox::new(Steady { value: 2 });
    assert_eq!(b.value[7] + s.value, 3);
    assert_eq!(Burst::pool().stats().live, 1);
}
