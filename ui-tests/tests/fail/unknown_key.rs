#[derive(typool::Pooled)]
#[pooled(capacity = 10)]
struct Particle {
    x: f32,
}

fn main() {}
