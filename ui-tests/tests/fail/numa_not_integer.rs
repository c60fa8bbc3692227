#[derive(typool::Pooled)]
#[pooled(numa = 1.5)]
struct Particle {
    x: f32,
}

fn main() {}
