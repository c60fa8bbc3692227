#![no_implicit_prelude]

mod pooled {
    #[derive(::typool::Pooled)]
    #[pooled(cache = 8)]
    pub struct Point {
        pub x: f64,
        pub y: f64,
    }
}

fn main() {
    let p = ::typool::PoolBox::new(pooled::Point { x: 1.0, y: 2.0 });
    ::std::assert_eq!(p.x + p.y, 3.0);
}
