#[derive(typool::Pooled)]
#[pooled(max = 0)]
struct Particle {
    x: f32,
}

fn main() {}
