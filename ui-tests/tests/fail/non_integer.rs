#[derive(typool::Pooled)]
#[pooled(initial = "lots")]
struct Particle {
    x: f32,
}

fn main() {}
