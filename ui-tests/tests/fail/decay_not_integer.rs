use typool::Pooled;

#[derive(Pooled)]
#[pooled(decay_ms = 1.5)]
struct Burst {
    value: [u64; 8],
}

fn main() {}
