// Values in an arena must be `Send`: the arena (and its drops) may move between threads.
use std::rc::Rc;

#[typool::arena_scope]
fn handle() -> usize {
    let shared = arena.alloc(Rc::new(5));
    **shared
}

fn main() {
    handle();
}
