//! Pointer chasing across 1 GiB of pooled 64-byte objects: a derived pool on plain pages
//! beside one with `#[pooled(huge_pages)]` (see `src/chase.rs`).
//! `cargo bench --manifest-path benches/Cargo.toml --bench huge_pages`

use criterion::{criterion_group, criterion_main, Criterion};
use typool::{PoolBox, Pooled};
use typool_benches::chase;

typool_benches::chase_node!(
    #[derive(Pooled)]
    PlainNode
);
typool_benches::chase_node!(
    #[derive(Pooled)]
    #[pooled(huge_pages)]
    HugeNode
);

fn pools(c: &mut Criterion) {
    let group = "pool";
    chase::bench(
        c,
        group,
        "plain",
        || PlainNode::pool().stats().backing.to_string(),
        || PoolBox::new(PlainNode::new()),
    );
    chase::bench(
        c,
        group,
        "huge_pages",
        || HugeNode::pool().stats().backing.to_string(),
        || PoolBox::new(HugeNode::new()),
    );
}

criterion_group!(benches, pools);
criterion_main!(benches);
