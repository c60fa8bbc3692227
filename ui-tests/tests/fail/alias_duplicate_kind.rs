#[derive(typool::Pooled)]
#[pooled(vec = Particles, vec = MoreParticles)]
struct Particle {
    x: f32,
}

fn main() {}
