#[typool::arena_scope]
extern "C" fn callback(x: u32) -> u32 {
    *arena.alloc(x)
}

fn main() {}
