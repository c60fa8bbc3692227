#[derive(typool::Pooled)]
#[pooled(mesh = true)]
struct Particle {
    x: f32,
}

fn main() {}
