#[derive(typool::Pooled)]
#[pooled(small_vec(ParticleBuf, 0))]
struct Particle {
    x: f32,
}

fn main() {}
