#[derive(typool::Pooled)]
#[pooled(numa = -1)]
struct Particle {
    x: f32,
}

fn main() {}
