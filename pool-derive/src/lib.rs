//! Procedural macros for [typool](https://docs.rs/typool). Use them through `typool`, which
//! re-exports them; generated code reaches the runtime only through `::typool::__private`.
//!
//! Modules: `attr` parses `#[pooled(..)]`, `valid` checks the item, `expand` writes the code.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

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
/// (thread-cache size, at least 2, default 64), `crate = "path"` (where typool is, when
/// renamed). The type must be concrete (no generics), not a union, and not zero-sized.
#[proc_macro_derive(Pooled, attributes(pooled))]
pub fn derive_pooled(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input).into()
}
