#[typool::arena_scope]
fn handle(arena: &str) -> usize {
    arena.len()
}

fn main() {}
