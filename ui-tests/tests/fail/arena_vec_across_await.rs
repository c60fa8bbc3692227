// An `ArenaVec` borrows its arena (`&Arena`), and the arena is used by one thread at a time,
// so a vector kept across an `.await` makes the future `!Send`: one error, naming the marker
// whose name says why (not one per cell of the arena). The fix: finish the vector before the
// `.await` as a slice, `v.leak()`, in a block of its own (see `pass/arena_async_is_send.rs`).
use typool::ArenaVec;

#[typool::arena_scope]
async fn handle(words: Vec<String>) -> usize {
    let mut lens: ArenaVec<usize> = ArenaVec::new_in(arena);
    for w in &words {
        lens.push(w.len());
    }
    std::future::ready(()).await;
    lens.iter().sum()
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    assert_send(handle(vec!["a".to_string()]));
}
