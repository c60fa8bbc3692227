//! Parsing `#[pooled(key = value, ..)]`.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{
    Attribute, Error, Expr, ExprLit, ExprUnary, Ident, Lit, LitInt, LitStr, Path, Token, UnOp,
};

/// The keys of `#[pooled(..)]`, each with the span of its value for later checks.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) initial: Option<(usize, Span)>,
    pub(crate) max: Option<(usize, Span)>,
    pub(crate) cache: Option<(usize, Span)>,
    /// `decay_ms = N`: milliseconds unused memory waits before it goes back (0: never).
    pub(crate) decay_ms: Option<(u32, Span)>,
    pub(crate) krate: Option<Path>,
    /// `huge_pages` or `numa = N`, with the key's span.
    pub(crate) backing: Option<(BackingKey, Span)>,
    /// `mesh`: segments in memory files, sparse pages meshable (its span).
    pub(crate) mesh: Option<Span>,
    /// Collection aliases to declare, in the order given.
    pub(crate) aliases: Vec<Alias>,
}

/// One of `vec = Name`, `small_vec(Name, N)`, `stable_vec = Name`.
pub(crate) struct Alias {
    pub(crate) kind: AliasKind,
    pub(crate) name: Ident,
}

/// Where the pool's memory comes from: `huge_pages` or `numa = N`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum BackingKey {
    HugePages,
    Numa(u32),
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum AliasKind {
    Vec,
    SmallVec(usize),
    StableVec,
}

impl AliasKind {
    fn key(self) -> &'static str {
        match self {
            Self::Vec => "vec",
            Self::SmallVec(_) => "small_vec",
            Self::StableVec => "stable_vec",
        }
    }
}

const KEYS: &str = "`initial`, `max`, `cache`, `decay_ms`, `huge_pages`, `numa`, `mesh`, `crate`, `vec`, `small_vec` and `stable_vec`";

/// Parses `huge_pages` (a flag) or `numa = N` (a node number).
fn backing(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<BackingKey> {
    if key == "huge_pages" {
        if meta.input.peek(Token![=]) {
            let value: Expr = meta.value()?.parse()?;
            return Err(Error::new_spanned(
                value,
                "`huge_pages` is a flag and takes no value: write `#[pooled(huge_pages)]`",
            ));
        }
        return Ok(BackingKey::HugePages);
    }
    let usage =
        "`numa` takes a NUMA node number, e.g. `numa = 0` (`numactl --hardware` lists them)";
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(usage));
    }
    let value: Expr = meta.value()?.parse()?;
    match &value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(n), ..
        }) => n.base10_parse::<u32>().map(BackingKey::Numa).map_err(|_| {
            Error::new_spanned(
                n,
                format!("NUMA node `{n}` is too large: node numbers fit in 32 bits"),
            )
        }),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_), ..
        }) => Err(Error::new_spanned(
            &value,
            "a NUMA node number cannot be negative: nodes count from 0, e.g. `numa = 0`",
        )),
        _ => Err(Error::new_spanned(&value, usage)),
    }
}

/// Parses an alias key's value: `= Name`, or `(Name, N)` for `small_vec`.
fn alias(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<Alias> {
    let name_error = |span: Span| {
        Error::new(
            span,
            format!("`{key}` takes a type name for the alias, e.g. `{key} = Particles`"),
        )
    };
    if key != "small_vec" {
        let value = meta.value()?;
        let name: Ident = value.parse().map_err(|e| name_error(e.span()))?;
        let kind = if key == "vec" {
            AliasKind::Vec
        } else {
            AliasKind::StableVec
        };
        return Ok(Alias { kind, name });
    }
    let usage =
        "`small_vec` takes an alias name and an inline capacity, e.g. `small_vec(ParticleBuf, 8)`";
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(usage));
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let name: Ident = content.parse().map_err(|e| Error::new(e.span(), usage))?;
    if content.is_empty() {
        return Err(Error::new(
            name.span(),
            format!("{usage}: the inline capacity is missing"),
        ));
    }
    content.parse::<Token![,]>()?;
    let n: LitInt = content.parse().map_err(|e| Error::new(e.span(), usage))?;
    let n_value = n
        .base10_parse::<usize>()
        .map_err(|_| Error::new(n.span(), usage))?;
    if n_value == 0 {
        return Err(Error::new(
            n.span(),
            "an inline capacity of 0 keeps nothing inline: use `vec = Name` for a heap vector, or give N ≥ 1",
        ));
    }
    if !content.is_empty() {
        return Err(content.error(usage));
    }
    Ok(Alias {
        kind: AliasKind::SmallVec(n_value),
        name,
    })
}

/// Parses every `#[pooled]` attribute, collecting all errors rather than stopping at one.
pub(crate) fn parse(attrs: &[Attribute]) -> (Options, Option<Error>) {
    let mut opts = Options::default();
    let mut errors: Option<Error> = None;
    let mut push = |e: Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    for attr in attrs.iter().filter(|a| a.path().is_ident("pooled")) {
        let result = attr.parse_nested_meta(|meta| {
            // A bad key is reported and skipped, so that every mistake in the attribute is
            // reported at once, and the checks of the values below still run.
            if let Err(e) = parse_key(&mut opts, &meta) {
                push(e);
                skip_to_next_key(&meta);
            }
            Ok(())
        });
        if let Err(e) = result {
            push(e);
        }
    }
    for e in check(&opts) {
        push(e);
    }
    (opts, errors)
}

/// Parses one `key = value` (or `key(..)`, or a flag) into `opts`.
fn parse_key(opts: &mut Options, meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    let key = meta
        .path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default();
    let slot = match key.as_str() {
        "vec" | "small_vec" | "stable_vec" => {
            let a = alias(meta, &key)?;
            if opts.aliases.iter().any(|b| b.kind.key() == a.kind.key()) {
                return Err(Error::new(
                    meta.path.get_ident().map_or(a.name.span(), Ident::span),
                    format!("duplicate key `{key}`: one alias of each kind"),
                ));
            }
            if opts.aliases.iter().any(|b| b.name == a.name) {
                return Err(Error::new(
                    a.name.span(),
                    format!(
                        "duplicate alias name `{}`: give each alias its own name",
                        a.name
                    ),
                ));
            }
            opts.aliases.push(a);
            return Ok(());
        }
        "huge_pages" | "numa" => {
            let b = backing(meta, &key)?;
            if let Some((_, _)) = opts.backing {
                return Err(Error::new(
                    meta.path.span(),
                    "a pool has one backing: give one of `huge_pages` and `numa = N`, once",
                ));
            }
            opts.backing = Some((b, meta.path.span()));
            return Ok(());
        }
        "mesh" => {
            if meta.input.peek(Token![=]) {
                let value: Expr = meta.value()?.parse()?;
                return Err(Error::new_spanned(
                    value,
                    "`mesh` is a flag and takes no value: write `#[pooled(mesh)]`",
                ));
            }
            if opts.mesh.is_some() {
                return Err(meta.error("duplicate key `mesh`: give it once"));
            }
            opts.mesh = Some(meta.path.span());
            return Ok(());
        }
        "decay_ms" => {
            if opts.decay_ms.is_some() {
                return Err(meta.error("duplicate key `decay_ms`: give each key once"));
            }
            let what = "`decay_ms` takes a whole number of milliseconds (0 turns decay off), e.g. `decay_ms = 1000`";
            let lit: LitInt = meta
                .value()?
                .parse()
                .map_err(|e| Error::new(e.span(), what))?;
            let ms = lit
                .base10_parse::<u32>()
                .map_err(|_| Error::new(lit.span(), what))?;
            opts.decay_ms = Some((ms, lit.span()));
            return Ok(());
        }
        "initial" => &mut opts.initial,
        "max" => &mut opts.max,
        "cache" => &mut opts.cache,
        "crate" => {
            if opts.krate.is_some() {
                return Err(meta.error("duplicate key `crate`: give it once"));
            }
            let lit: LitStr = meta.value()?.parse()?;
            opts.krate = Some(lit.parse().map_err(|_| {
                Error::new(
                    lit.span(),
                    "`crate` takes a path in a string, e.g. `crate = \"::my_typool\"`",
                )
            })?);
            return Ok(());
        }
        _ => {
            return Err(meta.error(format!(
                "unknown key `{}` in #[pooled(..)]: the keys are {KEYS}",
                quote::ToTokens::to_token_stream(&meta.path)
            )))
        }
    };
    if slot.is_some() {
        return Err(meta.error(format!("duplicate key `{key}`: give each key once")));
    }
    let value = meta.value()?;
    let lit: LitInt = value.parse().map_err(|e| {
        Error::new(
            e.span(),
            format!("`{key}` takes a whole number of slots, e.g. `{key} = 1024`"),
        )
    })?;
    let n = lit.base10_parse::<usize>().map_err(|_| {
        Error::new(
            lit.span(),
            format!("`{key}` takes a whole number of slots, e.g. `{key} = 1024`"),
        )
    })?;
    *slot = Some((n, lit.span()));
    Ok(())
}

/// Moves past the rest of a key that failed to parse: up to the next top-level comma.
fn skip_to_next_key(meta: &ParseNestedMeta<'_>) {
    let _ = meta.input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if matches!(&tt, proc_macro2::TokenTree::Punct(p) if p.as_char() == ',') {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    });
}

/// Checks that the values make sense together.
fn check(opts: &Options) -> Vec<Error> {
    let mut errors = Vec::new();
    if let Some((c, span)) = opts.cache {
        if c < 2 {
            errors.push(Error::new(
                span,
                format!("`cache = {c}` is too small: a thread cache holds at least 2 slots (the default is 64); remove the key or raise it"),
            ));
        }
        if c > 65536 {
            errors.push(Error::new(
                span,
                format!("`cache = {c}` is too large: at most 65536 slots per thread"),
            ));
        }
    }
    if let Some((m, span)) = opts.max {
        if m == 0 {
            errors.push(Error::new(span, "`max = 0` would refuse every allocation: give the largest number of live objects, or remove the key for an unbounded pool"));
        } else if m > u32::MAX as usize {
            errors.push(Error::new(
                span,
                "`max` must fit in 32 bits; remove the key for an unbounded pool",
            ));
        } else if let Some((i, _)) = opts.initial {
            if m < i {
                errors.push(Error::new(
                    span,
                    format!("`max = {m}` is below `initial = {i}`: a pool cannot reserve more than it may hold; raise `max` or lower `initial`"),
                ));
            }
        }
    }
    errors
}
