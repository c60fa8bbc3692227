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
/// ```text
/// #[derive(Pooled)]
/// #[pooled(initial = 1024, max = 100_000, cache = 64)]   // every key optional
/// struct Particle { pos: [f32; 3], vel: [f32; 3] }
/// ```
///
/// Keys: `initial` (slots reserved at first use), `max` (bound on live objects), `cache`
/// (thread-cache size, at least 2, default 64), `decay_ms` (how long unused memory waits
/// before it goes back to the OS, default 1000; 0 turns decay off — see
/// `typool::PoolConfig::decay_ms`), `huge_pages` (segments on 2 MiB pages) or
/// `numa = N` (segments bound to NUMA node N) — see `typool::Backing` —, `crate = "path"`
/// (where typool is, when renamed). The type must be concrete (no generics), not a union,
/// and not zero-sized.
///
/// Collection aliases, declared with the type's visibility: `vec = Name` (`type Name =
/// typool::PooledVec<T>`), `small_vec(Name, N)` (`typool::SmallVector<T, N>`), `stable_vec =
/// Name` (`typool::StableVector<T>`).
#[proc_macro_derive(Pooled, attributes(pooled))]
pub fn derive_pooled(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input).into()
}

/// Gives a function a bump arena for the length of one call: `arena: &Arena` is in scope, and
/// the arena is reset and handed back for the next call when the function returns or panics.
///
/// ```text
/// #[arena_scope]                           // options: name = scratch, capacity = 65536
/// fn handle(req: &Request) -> Response {
///     let body: &mut str = arena.alloc_str(&req.body);
///     ...
/// }
/// ```
///
/// Sync functions and methods lease from a per-thread list; an `async fn` leases from a global
/// one and binds `arena: &mut Arena` instead, so that its future stays `Send`. An `ArenaVec` kept
/// across an `.await` holds a `&Arena` (not `Send`) and makes the future `!Send`. References into
/// the arena cannot leave the function: the borrow checker refuses.
#[proc_macro_attribute]
pub fn arena_scope(attr: TokenStream, item: TokenStream) -> TokenStream {
    arena_scope::expand(attr.into(), item.into()).into()
}
