use std::future::Future;
use typool::{arena_scope, ArenaVec};

/// An async handler keeps its arena across `.await`s and its future stays `Send`.
#[arena_scope(capacity = 512)]
async fn handle(req: String) -> usize {
    let copy = arena.alloc_str(&req);
    std::future::ready(()).await;
    let n = arena.alloc(copy.len());
    // An `ArenaVec` borrows the arena (`&Arena`, not `Send`): finished as a slice in a block
    // of its own, its elements may cross an `.await`.
    let lens: &mut [usize] = {
        let mut v: ArenaVec<usize> = ArenaVec::new_in(arena);
        v.extend([*n, 1]);
        v.leak()
    };
    std::future::ready(()).await;
    lens.iter().sum()
}

fn assert_send<T: Send>(_: &T) {}

fn main() {
    let fut = handle("hello".to_string());
    assert_send(&fut);
    // Drive it by hand: it never waits on anything.
    let mut fut = Box::pin(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert_eq!(fut.as_mut().poll(&mut cx), std::task::Poll::Ready(6));
}
