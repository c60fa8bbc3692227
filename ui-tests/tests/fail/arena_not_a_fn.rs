#[typool::arena_scope]
struct Handler {
    id: u32,
}

fn main() {}
