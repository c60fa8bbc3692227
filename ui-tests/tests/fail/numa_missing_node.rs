#[derive(typool::Pooled)]
#[pooled(numa)]
struct Particle {
    x: f32,
}

fn main() {}
