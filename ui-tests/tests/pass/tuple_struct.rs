use typool::{PoolBox, Pooled};

#[derive(Pooled)]
#[pooled(initial = 16, max = 16, cache = 2)]
struct Id(u64, u32);

fn main() {
    let ids: Vec<_> = (0..16).map(|i| PoolBox::new(Id(i, 0))).collect();
    let Err(err) = PoolBox::try_new(Id(99, 1)) else {
        panic!("a full bounded pool must refuse");
    };
    assert_eq!(err.to_string(), "pool for Id is exhausted: 16 of 16 live");
    assert_eq!(err.into_inner().0, 99);
    assert_eq!(ids[15].0, 15);
}
