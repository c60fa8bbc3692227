#[derive(typool::Pooled)]
#[pooled(huge_pages, numa = 0)]
struct Particle {
    x: f32,
}

fn main() {}
