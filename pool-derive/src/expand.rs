//! The code `#[derive(Pooled)]` writes.

use crate::attr::{self, AliasKind, BackingKey, Options};
use crate::valid;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::DeriveInput;

pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    if let Err(e) = valid::check(input) {
        let error = e.into_compile_error();
        let fallback = fallback(input);
        return quote! { #error #fallback };
    }
    let (mut opts, errors) = attr::parse(&input.attrs);
    // On a bad key, still emit the impl — with the default sizes, since the given ones may be
    // the mistake — so that one mistake gives one message and not a cascade of "`T` has no
    // pool" at every use.
    if errors.is_some() {
        opts = Options {
            krate: opts.krate,
            aliases: opts.aliases,
            ..Options::default()
        };
    }
    let errors = errors.map(syn::Error::into_compile_error);
    let imp = implement(input, &opts);
    let aliases = aliases(input, &opts);
    quote! { #errors #imp #aliases }
}

/// On an item the derive refuses (a union, a zero-sized type), an impl that
/// only type-checks — it is never compiled into a program, since the error stops the build —
/// so that one mistake gives one message and not a second, misleading "`T` has no pool of its
/// own" at every use. Types that borrow get none: they cannot be `'static` at all.
fn fallback(input: &DeriveInput) -> TokenStream {
    if input.generics.lifetimes().next().is_some() {
        return TokenStream::new();
    }
    let krate = attr::parse(&input.attrs)
        .0
        .krate
        .map_or_else(|| quote!(::typool), |p| quote!(#p));
    let p = quote!(#krate::__private);
    let generics = with_static_bounds(&input.generics);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let ty = &input.ident;
    quote! {
        #[doc(hidden)]
        const _: () = {
            #[automatically_derived]
            unsafe impl #impl_generics #p::Pooled for #ty #ty_generics #where_clause {
                fn pool() -> &'static #p::Pool<Self> {
                    ::core::unreachable!()
                }
                fn __with_cache<R>(_: impl ::core::ops::FnOnce(&#p::LocalCache) -> R) -> R {
                    ::core::unreachable!()
                }
                fn __retire_at_exit() -> bool {
                    ::core::unreachable!()
                }
                fn __counted_pool() -> &'static #p::Pool<#p::Counted<Self>> {
                    ::core::unreachable!()
                }
                fn __with_counted_cache<R>(_: impl ::core::ops::FnOnce(&#p::LocalCache) -> R) -> R {
                    ::core::unreachable!()
                }
                fn __counted_retire_at_exit() -> bool {
                    ::core::unreachable!()
                }
            }
        };
    }
}

/// `type Name = PooledVec<T>;` and friends, with the struct's visibility and a doc line.
fn aliases(input: &DeriveInput, opts: &Options) -> TokenStream {
    let ident = &input.ident;
    let vis = &input.vis;
    // A generic type's aliases are generic alike (`type Nodes<K, V> = PooledVec<Node<K, V>>`):
    // its parameters without their bounds, which a type alias does not check.
    let params: Vec<TokenStream> = input
        .generics
        .params
        .iter()
        .map(|param| match param {
            syn::GenericParam::Type(t) => {
                let id = &t.ident;
                quote!(#id)
            }
            syn::GenericParam::Const(c) => {
                let (id, cty) = (&c.ident, &c.ty);
                quote!(const #id: #cty)
            }
            syn::GenericParam::Lifetime(l) => {
                let lt = &l.lifetime;
                quote!(#lt)
            }
        })
        .collect();
    let (_, ty_generics, _) = input.generics.split_for_impl();
    let ty = quote!(#ident #ty_generics);
    let alias_params = (!params.is_empty()).then(|| quote!(<#(#params),*>));
    let krate = opts
        .krate
        .as_ref()
        .map_or_else(|| quote!(::typool), |p| quote!(#p));
    let items = opts.aliases.iter().map(|a| {
        let name = &a.name;
        if name == ident {
            return syn::Error::new(
                name.span(),
                format!("the alias `{name}` would shadow the type itself: pick another name, e.g. `{name}s`"),
            )
            .into_compile_error();
        }
        let (target, doc) = match a.kind {
            AliasKind::Vec => (
                quote!(#krate::PooledVec<#ty>),
                format!("A vector of [`{ident}`] in pooled memory (declared by `#[pooled(vec = {name})]`)."),
            ),
            AliasKind::SmallVec(n) => (
                quote!(#krate::SmallVector<#ty, #n>),
                format!("Up to {n} [`{ident}`]s inline, then the heap (declared by `#[pooled(small_vec({name}, {n}))]`)."),
            ),
            AliasKind::StableVec => (
                quote!(#krate::StableVector<#ty>),
                format!("[`{ident}`]s at stable addresses in pooled memory (declared by `#[pooled(stable_vec = {name})]`)."),
            ),
        };
        quote_spanned! {name.span()=>
            #[doc = #doc]
            #vis type #name #alias_params = #target;
        }
    });
    quote! { #(#items)* }
}

fn implement(input: &DeriveInput, opts: &Options) -> TokenStream {
    let ty = &input.ident;
    let krate = opts
        .krate
        .as_ref()
        .map_or_else(|| quote!(::typool), |p| quote!(#p));
    let p = quote!(#krate::__private);
    let mut config = quote!(#p::PoolConfig::new());
    for (name, value) in [
        ("initial", opts.initial),
        ("max", opts.max),
        ("cache", opts.cache),
    ] {
        if let Some((n, _)) = value {
            let method = syn::Ident::new(name, proc_macro2::Span::call_site());
            config = quote!(#config.#method(#n));
        }
    }
    if let Some((ms, _)) = opts.decay_ms {
        config = quote!(#config.decay_ms(#ms));
    }
    if opts.mesh.is_some() {
        config = quote!(#config.mesh(true));
    }
    match opts.backing {
        Some((BackingKey::HugePages, _)) => {
            config = quote!(#config.backing(#krate::Backing::HugePages));
        }
        Some((BackingKey::Numa(node), _)) => {
            config = quote!(#config.backing(#krate::Backing::Numa(#node)));
        }
        None => {}
    }
    let zst_message = format!(
        "`{ty}` is zero-sized, so there is no memory to pool: use the value directly, or add the fields it should carry"
    );
    if !input.generics.params.is_empty() {
        return generic_impl(input, &krate, &config, &zst_message);
    }
    let not_zero_sized = quote_spanned! {ty.span()=>
        const _: () = ::core::assert!(::core::mem::size_of::<#ty>() != 0, #zst_message);
    };
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, clippy::all)]
        const _: () = {
            #not_zero_sized

            #[automatically_derived]
            unsafe impl #p::Pooled for #ty {
                #[inline]
                fn pool() -> &'static #p::Pool<#ty> {
                    static POOL: #p::Pool<#ty> = #p::Pool::with_config(#config);
                    &POOL
                }

                #[inline(always)]
                fn __with_cache<R>(f: impl ::core::ops::FnOnce(&#p::LocalCache) -> R) -> R {
                    #p::thread_local! {
                        static CACHE: #p::ThreadCache<#ty> = const { #p::ThreadCache::new() };
                    }
                    #p::with_cache(&CACHE, f)
                }

                #[inline]
                fn __retire_at_exit() -> bool {
                    #p::thread_local! {
                        static RETIRE: #p::RetireAtExit<#ty> = const { #p::RetireAtExit::new() };
                    }
                    #p::retire_at_exit(&RETIRE)
                }

                #[inline]
                fn __counted_pool() -> &'static #p::Pool<#p::Counted<#ty>> {
                    static POOL: #p::Pool<#p::Counted<#ty>> = #p::Pool::with_config(#config);
                    &POOL
                }

                #[inline(always)]
                fn __with_counted_cache<R>(f: impl ::core::ops::FnOnce(&#p::LocalCache) -> R) -> R {
                    #p::thread_local! {
                        static CACHE: #p::ThreadCache<#p::Counted<#ty>> = const { #p::ThreadCache::new() };
                    }
                    #p::with_cache(&CACHE, f)
                }

                #[inline]
                fn __counted_retire_at_exit() -> bool {
                    #p::thread_local! {
                        static RETIRE: #p::RetireAtExit<#p::Counted<#ty>> = const { #p::RetireAtExit::new() };
                    }
                    #p::retire_at_exit(&RETIRE)
                }
            }
        };
    }
}

/// The impl for a generic type: every instantiation finds its pool and its thread cache by
/// `TypeId` in two statics written once for the type (`typool/src/typed/generic.rs`).
fn generic_impl(
    input: &DeriveInput,
    krate: &TokenStream,
    config: &TokenStream,
    zst_message: &str,
) -> TokenStream {
    let ty = &input.ident;
    let p = quote!(#krate::__private);
    let g = quote!(#p::generic);
    let generics = with_static_bounds(&input.generics);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let not_zero_sized = quote_spanned! {ty.span()=>
        const { ::core::assert!(::core::mem::size_of::<Self>() != 0, #zst_message) };
    };
    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, non_camel_case_types, clippy::all)]
        const _: () = {
            static INSTANCES: #g::Instances = #g::Instances::new();
            #p::thread_local! {
                static CACHES: #g::GenericCaches = const { #g::GenericCaches::new() };
                static RETIRE: #g::GenericRetire<__Statics> = const { #g::GenericRetire::new() };
            }
            struct __Statics;
            impl #g::GenericStatics for __Statics {
                fn caches() -> &'static ::std::thread::LocalKey<#g::GenericCaches> {
                    &CACHES
                }
            }

            #[automatically_derived]
            unsafe impl #impl_generics #p::Pooled for #ty #ty_generics #where_clause {
                #[inline]
                fn pool() -> &'static #p::Pool<Self> {
                    #not_zero_sized
                    INSTANCES.pool::<Self>(|| #config)
                }

                #[inline(always)]
                fn __with_cache<R>(f: impl ::core::ops::FnOnce(&#p::LocalCache) -> R) -> R {
                    #g::with_cache::<Self, R>(&CACHES, f)
                }

                #[inline]
                fn __retire_at_exit() -> bool {
                    #g::armed::<Self, __Statics>(<Self as #p::Pooled>::pool(), &RETIRE)
                }

                // `Counted<Self>`, the slots of `PoolArc<Self>`, is one more instantiation:
                // its pool and caches sit beside this type's own.
                #[inline]
                fn __counted_pool() -> &'static #p::Pool<#p::Counted<Self>> {
                    INSTANCES.pool::<#p::Counted<Self>>(|| #config)
                }

                #[inline(always)]
                fn __with_counted_cache<R>(f: impl ::core::ops::FnOnce(&#p::LocalCache) -> R) -> R {
                    #g::with_cache::<#p::Counted<Self>, R>(&CACHES, f)
                }

                #[inline]
                fn __counted_retire_at_exit() -> bool {
                    #g::armed::<#p::Counted<Self>, __Statics>(<Self as #p::Pooled>::__counted_pool(), &RETIRE)
                }
            }
        };
    }
}

/// `generics` with `'static` added to every type parameter: a pool lives as long as the
/// program, so what it holds must be able to.
fn with_static_bounds(generics: &syn::Generics) -> syn::Generics {
    let mut generics = generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!('static));
    }
    generics
}
