//! Procedural macros for [typool](https://docs.rs/typool). Use them through `typool`, which
//! re-exports them; generated code reaches the runtime only through `::typool::__private`.
//!
//! Modules: `attr` parses `#[pooled(..)]`, `valid` checks the item, `expand` writes the code;
//! `arena_scope` is the whole of `#[arena_scope]`.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod arena_scope;
mod attr;
mod expand;
mod valid;

use proc_macro::TokenStream;

/// Gives a type its own pool and thread-local cache: implements `typool::Pooled`.
///
/// ```
/// use typool::{PoolBox, Pooled};
///
/// #[derive(Pooled)]
/// #[pooled(initial = 1024, max = 100_000, cache = 64)]   // every key optional
/// struct Particle { pos: [f32; 3], vel: [f32; 3] }
///
/// let p = PoolBox::new(Particle { pos: [0.0; 3], vel: [1.0; 3] });
/// assert_eq!(p.vel[0], 1.0);
/// assert_eq!(Particle::pool().stats().live, 1);
/// ```
///
/// Keys: `initial` (slots reserved at first use; by default 256, or as many as fit in 64 KiB
/// for types larger than 256 bytes), `max` (bound on live objects: past it `PoolBox::try_new`
/// hands the value back and `PoolBox::new` panics), `cache`
/// (thread-cache size, at least 2, default 64), `decay_ms` (how long unused memory waits
/// before it goes back to the OS, default 1000; 0 turns decay off — see
/// `typool::PoolConfig::decay_ms`), `huge_pages` (segments on 2 MiB pages) or
/// `numa = N` (segments bound to NUMA node N) — see `typool::Backing` —, `mesh` (sparse
/// pages can be meshed by `Pool::mesh`, see `typool::PoolConfig::mesh`), `crate = "path"`
/// (where typool is, when renamed). The type must own its data (no lifetime parameters), not
/// be a union, and not be zero-sized.
///
/// **Generic types** get one pool per instantiation: `Node::<u32, String>::pool()` and
/// `Node::<u64, f64>::pool()` are two pools, listed apart in `typool::stats::all()` under
/// their full type paths. The derive adds `T: 'static` to every type parameter (a pool lives
/// as long as the program); a type that names itself in a field, like `next:
/// Option<PoolBox<Node<K, V>>>`, states the bound in its definition (`struct Node<K: 'static,
/// V: 'static>`). An instantiation finds its pool and its thread cache by `TypeId`, which
/// costs its hit path a compare that a concrete type's does not make; a thread keeps caches
/// for 8 instantiations of each generic type, and serves more without a cache.
///
/// ```
/// use typool::{PoolBox, Pooled};
///
/// #[derive(Pooled)]
/// struct Message<T> { id: u64, body: T }
///
/// let text = PoolBox::new(Message { id: 1, body: String::from("hi") });
/// let bytes = PoolBox::new(Message { id: 2, body: [0u8; 16] });
/// assert_eq!(Message::<String>::pool().stats().live, 1);
/// assert_eq!(Message::<[u8; 16]>::pool().stats().live, 1);
/// # drop((text, bytes));
/// ```
///
/// Collection aliases, declared with the type's visibility: `vec = Name` (`type Name =
/// typool::PooledVec<T>`), `small_vec(Name, N)` (`typool::SmallVector<T, N>`), `stable_vec =
/// Name` (`typool::StableVector<T>`).
#[proc_macro_derive(Pooled, attributes(pooled))]
pub fn derive_pooled(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input).into()
}

/// Gives a function a bump arena for the length of one call, reset and handed back for the
/// next call when the function returns or panics. In the body, `arena` is a `&Arena` in a
/// sync function or method, and a `&mut Arena` in an `async fn`.
///
/// ```
/// use typool::{arena_scope, ArenaVec};
///
/// #[arena_scope]
/// fn handle(request: &str) -> usize {
///     let line = arena.alloc_str(request);
///     let mut words: ArenaVec<&str> = ArenaVec::new_in(arena);
///     words.extend(line.split(' '));
///     words.len()
/// }
///
/// // Both keys are optional: the binding's name (default `arena`) and the first chunk's size
/// // in bytes (default 4096; the arena grows past it as needed).
/// #[arena_scope(name = scratch, capacity = 65536)]
/// fn shout(text: &str) -> String {
///     scratch.alloc_str(text).to_uppercase()
/// }
///
/// assert_eq!(handle("GET /index.html HTTP/1.1"), 3);
/// assert_eq!(shout("hi"), "HI");
/// ```
///
/// Sync functions and methods lease from a per-thread list; an `async fn` leases from a global
/// one and binds `arena: &mut Arena` instead, so that its future stays `Send`. An `ArenaVec` kept
/// across an `.await` holds a `&Arena` (not `Send`) and makes the future `!Send` — one error
/// naming `ArenaBorrowsStayOnOneThread`: build vectors between awaits, or finish one as a slice
/// that may cross them, in a block of its own:
///
/// ```
/// # use std::future::Future;
/// # use typool::{arena_scope, ArenaVec};
/// #[arena_scope]
/// async fn total(words: Vec<String>) -> usize {
///     let lens: &mut [usize] = {
///         let mut v = ArenaVec::new_in(arena);
///         v.extend(words.iter().map(|w| w.len()));
///         v.leak() // a slice in the arena, freed with it; `Send`
///     };
///     std::future::ready(()).await;
///     lens.iter().sum()
/// }
/// # fn assert_send<T: Send>(_: &T) {}
/// # let fut = total(vec!["ab".into(), "c".into()]);
/// # assert_send(&fut);
/// # let mut fut = Box::pin(fut);
/// # let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// # assert_eq!(fut.as_mut().poll(&mut cx), std::task::Poll::Ready(3));
/// ```
///
/// References into the arena cannot leave the function: the borrow checker
/// refuses.
#[proc_macro_attribute]
pub fn arena_scope(attr: TokenStream, item: TokenStream) -> TokenStream {
    arena_scope::expand(attr.into(), item.into()).into()
}
