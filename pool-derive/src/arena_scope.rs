//! `#[arena_scope]`: a function body gets a leased arena, reset and handed back on exit.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::{spanned::Spanned, Error, FnArg, Ident, Item, ItemFn, LitInt, Pat};

/// `name = ..` and `capacity = ..`.
struct Options {
    name: Ident,
    capacity: Option<LitInt>,
}

fn parse_options(attr: TokenStream) -> Result<Options, Error> {
    let mut name: Option<Ident> = None;
    let mut capacity: Option<LitInt> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            if name.is_some() {
                return Err(meta.error("duplicate key `name`: give it once"));
            }
            name = Some(meta.value()?.parse().map_err(|e: Error| {
                Error::new(
                    e.span(),
                    "`name` takes an identifier for the arena binding, e.g. `name = scratch`",
                )
            })?);
            Ok(())
        } else if meta.path.is_ident("capacity") {
            if capacity.is_some() {
                return Err(meta.error("duplicate key `capacity`: give it once"));
            }
            let lit: LitInt = meta.value()?.parse().map_err(|e: Error| {
                Error::new(
                    e.span(),
                    "`capacity` takes the first chunk's size in bytes, e.g. `capacity = 65536`",
                )
            })?;
            lit.base10_parse::<usize>()?;
            capacity = Some(lit);
            Ok(())
        } else {
            Err(meta.error(format!(
                "unknown key `{}` in #[arena_scope(..)]: the keys are `name` and `capacity`",
                meta.path.to_token_stream()
            )))
        }
    });
    syn::parse::Parser::parse2(parser, attr)?;
    Ok(Options {
        name: name.unwrap_or_else(|| Ident::new("arena", Span::call_site())),
        capacity,
    })
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let parsed: Result<Item, Error> = syn::parse2(item.clone());
    let func = match parsed {
        Ok(Item::Fn(f)) => f,
        Ok(other) => {
            let e = Error::new(
                item_span(&other),
                "#[arena_scope] goes on a function (free, method or `async fn`): it leases an arena for the length of one call",
            );
            return with_error(item, e);
        }
        Err(e) => return with_error(item, e),
    };
    match parse_options(attr).and_then(|opts| check(&func, &opts).map(|()| opts)) {
        Ok(opts) => rewrite(func, &opts),
        Err(e) => with_error(item, e),
    }
}

fn item_span(item: &Item) -> Span {
    let tokens = item.to_token_stream();
    tokens
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |t| t.span())
}

/// Emits the item untouched beside the error, so one mistake gives one message.
fn with_error(item: TokenStream, e: Error) -> TokenStream {
    let e = e.into_compile_error();
    quote! { #e #item }
}

fn check(func: &ItemFn, opts: &Options) -> Result<(), Error> {
    let sig = &func.sig;
    if let Some(c) = &sig.constness {
        return Err(Error::new_spanned(
            c,
            "#[arena_scope] cannot go on a `const fn`: an arena is leased at run time; remove `const` or the attribute",
        ));
    }
    if let Some(abi) = &sig.abi {
        return Err(Error::new_spanned(
            abi,
            "#[arena_scope] cannot go on an `extern` fn: a panic cannot unwind out of it, so the arena could not be reset; \
             put the attribute on a Rust fn that the `extern` fn calls",
        ));
    }
    for input in &sig.inputs {
        if let FnArg::Typed(t) = input {
            if let Pat::Ident(p) = &*t.pat {
                if p.ident == opts.name {
                    return Err(Error::new_spanned(
                        &p.ident,
                        format!(
                            "this parameter is named `{0}`, like the arena that #[arena_scope] binds; rename it, or name the arena with `#[arena_scope(name = other)]`",
                            opts.name
                        ),
                    ));
                }
            }
        }
    }
    if sig.asyncness.is_none() {
        if let Some(call) = rewinding_call(func.block.to_token_stream(), &opts.name) {
            return Err(Error::new(
                call.span(),
                format!(
                    "`{0}.{call}()` cannot be called inside #[arena_scope]: `{0}` is the scope's arena, \
                     shared as `&Arena` for the whole call and reset when the function returns. To give \
                     memory back within one call, do that part in another #[arena_scope] function \
                     (each call gets its own arena), or use an `Arena` of your own (`Arena::new()`)",
                    opts.name
                ),
            ));
        }
    }
    Ok(())
}

/// The method of the first `name.reset(..)`, `name.restore(..)` or `name.scope(..)` in
/// `tokens`: the `&mut Arena` methods a sync scope's `&Arena` cannot call.
fn rewinding_call(tokens: TokenStream, name: &Ident) -> Option<Ident> {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, t) in tokens.iter().enumerate() {
        match (t, tokens.get(i + 1), tokens.get(i + 2), tokens.get(i + 3)) {
            (
                TokenTree::Ident(receiver),
                Some(TokenTree::Punct(dot)),
                Some(TokenTree::Ident(method)),
                Some(TokenTree::Group(args)),
            ) if receiver == name
                && dot.as_char() == '.'
                && args.delimiter() == proc_macro2::Delimiter::Parenthesis
                && ["reset", "restore", "scope"].contains(&method.to_string().as_str()) =>
            {
                return Some(method.clone());
            }
            (TokenTree::Group(g), ..) => {
                if let Some(found) = rewinding_call(g.stream(), name) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

fn rewrite(func: ItemFn, opts: &Options) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let name = &opts.name;
    let capacity = opts
        .capacity
        .as_ref()
        .map_or_else(|| quote!(4096usize), |c| quote!(#c));
    // The value handed back carries the span of the body's last statement, so a borrow error
    // on it (a reference into the arena escaping) points at the user's expression.
    let tail = block
        .stmts
        .last()
        .map_or_else(|| block.span(), Spanned::span);
    let ret = Ident::new("__typool_arena_ret", Span::mixed_site().located_at(tail));
    // Sync fns lease from a per-thread list and see `&Arena`. An async fn's future may move
    // between threads, so it leases from the global list and sees `&mut Arena`: `&Arena` held
    // across an `.await` would make the future `!Send` (the arena is not `Sync`).
    let (source, binding) = if sig.asyncness.is_some() {
        (quote!(GlobalLease), quote!(&mut ::typool::__private::Arena))
    } else {
        (quote!(LocalLease), quote!(&::typool::__private::Arena))
    };
    let span = block.span();
    let lease = Ident::new("__typool_arena_lease", Span::mixed_site());
    let body = quote::quote_spanned! {span=>
        let mut #lease = ::typool::__private::#source::new(#capacity);
        #[allow(unused_variables)]
        let #name: #binding = #lease.arena();
        // Bound before the lease drops, so that temporaries of the body's tail expression
        // end before the arena is reset.
        let #ret = #block;
        // A statement, not a tail, so the allow can sit on it: after a body that diverges
        // this line is unreachable, and that is no fault of the user's.
        #[allow(unreachable_code, clippy::needless_return)]
        return #ret;
    };
    quote! {
        #(#attrs)*
        #vis #sig {
            #body
        }
    }
}
