#[derive(typool::Pooled)]
#[pooled(vec = Particle)]
struct Particle {
    x: f32,
}

fn main() {}
