#[derive(typool::Pooled)]
#[pooled(cache = 8, cache = 16)]
struct Particle {
    x: f32,
}

fn main() {}
