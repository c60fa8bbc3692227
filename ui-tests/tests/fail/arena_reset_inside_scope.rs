// The scope's arena is reset when the function returns; it cannot be reset inside.
#[typool::arena_scope]
fn handle(body: &str) -> usize {
    let n = arena.alloc_str(body).len();
    arena.reset();
    n
}

fn main() {
    let _ = handle("request");
}
