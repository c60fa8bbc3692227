// Hygiene: the `crate = ".."` override resolves through a re-export, with no prelude in scope.
#![no_implicit_prelude]

mod reexport {
    pub use ::typool as pools;
}

#[derive(::typool::Pooled)]
#[pooled(crate = "crate::reexport::pools", cache = 4, huge_pages)]
struct Job {
    id: u64,
}

fn main() {
    let job = ::typool::PoolBox::new(Job { id: 3 });
    ::std::assert_eq!(job.id, 3);
    ::std::assert_eq!(<Job as ::typool::Pooled>::pool().stats().live, 1);
}
