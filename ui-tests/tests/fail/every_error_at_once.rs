// Every mistake of an attribute is reported in one pass: the unknown key, the bad value and
// the bound below `initial`, not the first alone.
#[derive(typool::Pooled)]
#[pooled(capacity = 64, cache = "big", initial = 100, max = 10)]
struct Particle {
    pos: [f32; 3],
}

fn main() {}
