#[typool::arena_scope(size = 1024)]
fn handle(body: &str) -> usize {
    arena.alloc_str(body).len()
}

fn main() {}
