// A reference into the arena cannot outlive the call: the arena is reset when it returns.
#[typool::arena_scope]
fn leak(body: &str) -> &'static str {
    arena.alloc_str(body)
}

fn main() {
    let _ = leak("request");
}
