use typool::{PoolBox, Pooled};

#[derive(Pooled, Debug, PartialEq)]
enum Shape {
    Circle { r: f32 },
    Square(f32),
    Empty,
}

fn main() {
    let shapes = [Shape::Circle { r: 1.0 }, Shape::Square(2.0), Shape::Empty].map(PoolBox::new);
    assert_eq!(*shapes[1], Shape::Square(2.0));
    assert_eq!(Shape::pool().stats().live, 3);
}
