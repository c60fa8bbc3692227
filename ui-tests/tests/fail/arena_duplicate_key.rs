#[typool::arena_scope(name = a, name = b)]
fn handle(body: &str) -> usize {
    a.alloc_str(body).len()
}

fn main() {}
