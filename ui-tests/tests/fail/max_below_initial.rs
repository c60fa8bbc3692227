#[derive(typool::Pooled)]
#[pooled(initial = 1000, max = 10)]
struct Particle {
    x: f32,
}

fn main() {}
