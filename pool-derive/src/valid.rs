//! What kinds of type can be pooled.

use syn::{Data, DeriveInput, Error, Fields, Result};

/// Rejects what cannot be pooled: types that borrow, unions, types with no bytes. Generic
/// types are accepted: each instantiation gets a pool (`expand::generic_impl`). A zero-sized
/// type that has fields, like `struct A(());`, is caught after type checking by a const
/// assertion that `expand` emits.
pub(crate) fn check(input: &DeriveInput) -> Result<()> {
    if let Some(lt) = input.generics.lifetimes().next() {
        return Err(Error::new_spanned(
            lt,
            format!(
                "#[derive(Pooled)] needs a type that owns its data: `{}` borrows for `{}`, but a pooled object can live as long as the program. \
                 Store owned data (e.g. `String` for `&str`, `Arc<T>` for `&T`)",
                input.ident, lt.lifetime
            ),
        ));
    }
    match &input.data {
        Data::Union(u) => Err(Error::new_spanned(
            u.union_token,
            "#[derive(Pooled)] does not support unions: a pool must know which field to drop. Wrap the union in a struct that does, and derive on that",
        )),
        Data::Struct(s) if matches!(s.fields, Fields::Unit) || s.fields.is_empty() => Err(Error::new_spanned(
            &input.ident,
            format!(
                "`{}` has no fields, so it is zero-sized and there is no memory to pool: use the value directly, or add the fields it should carry",
                input.ident
            ),
        )),
        Data::Enum(e) if e.variants.is_empty() => Err(Error::new_spanned(
            &input.ident,
            format!("`{}` has no variants, so no value of it can exist to be pooled", input.ident),
        )),
        _ => Ok(()),
    }
}
