struct Plain {
    x: f32,
}

fn main() {
    let _ = typool::PoolBox::new(Plain { x: 1.0 });
}
