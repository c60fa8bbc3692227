#[derive(typool::Pooled)]
#[pooled(vec = Store, stable_vec = Store)]
struct Particle {
    x: f32,
}

fn main() {}
