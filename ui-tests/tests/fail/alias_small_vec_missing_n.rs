#[derive(typool::Pooled)]
#[pooled(small_vec(ParticleBuf))]
struct Particle {
    x: f32,
}

fn main() {}
