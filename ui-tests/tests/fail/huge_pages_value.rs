#[derive(typool::Pooled)]
#[pooled(huge_pages = 3)]
struct Particle {
    x: f32,
}

fn main() {}
