#[derive(typool::Pooled)]
#[pooled(cache = 0)]
struct Particle {
    x: f32,
}

fn main() {}
