#[derive(typool::Pooled)]
#[pooled(vec = "Particles")]
struct Particle {
    x: f32,
}

fn main() {}
