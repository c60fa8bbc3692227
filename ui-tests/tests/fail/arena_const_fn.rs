#[typool::arena_scope]
const fn answer() -> u32 {
    42
}

fn main() {}
