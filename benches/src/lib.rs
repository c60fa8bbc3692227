//! The probe: typool measured as users get it. This crate is not a member of typool's
//! workspace; it depends on typool by path and builds with cargo's default profiles, exactly
//! like a user's crate, so what inlines here is what inlines for users.
//!
//! - [`contenders`]: the benchmarked object and every way to allocate it, the limit first.
//! - [`scenarios`]: scenarios A–D, shared by the criterion benches and the instruction counter.
//! - [`churn`]: the variable-size churn trace. [`arenas`]: the bump arenas compared.

#![allow(missing_debug_implementations)]
// bench fixtures, never printed
// `Mutex<Vec<Box<T>>>` is the baseline users write; keep it as such.
#![allow(clippy::vec_box)]

pub mod binary_trees;
pub mod chase;
pub mod churn;
pub mod contenders;
#[cfg(target_os = "linux")]
pub mod ipc;
#[cfg(target_os = "linux")]
pub mod mesh_experiment;
pub mod mix;
pub mod scenarios;
pub mod shared;
#[cfg(target_os = "linux")]
pub mod sparse;
pub mod suite;

pub use contenders::*;
pub use scenarios::*;

/// The arenas compared in `benches/arenas.rs`, behind one trait.
#[allow(clippy::mut_from_ref)] // arenas hand out fresh memory through `&self`
pub mod arenas {
    use allocator_api2::alloc::Allocator;

    /// A bump arena: allocate small things, reset them all.
    pub trait BumpArena: Sized {
        const NAME: &'static str;
        type Alloc<'a>: Allocator
        where
            Self: 'a;
        fn with_capacity(bytes: usize) -> Self;
        fn alloc_u64(&self, v: u64) -> &mut u64;
        fn alloc_bytes(&self, src: &[u8]) -> &mut [u8];
        fn alloc_str(&self, s: &str) -> &mut str;
        fn allocator(&self) -> Self::Alloc<'_>;
        fn reset(&mut self);
    }

    /// typool's `Arena` and bumpalo's `Bump` share the method names the trait needs.
    macro_rules! same_names {
        ($ty:ty, $name:literal) => {
            impl BumpArena for $ty {
                const NAME: &'static str = $name;
                type Alloc<'a> = &'a $ty;
                fn with_capacity(bytes: usize) -> Self {
                    <$ty>::with_capacity(bytes)
                }
                #[inline(always)]
                fn alloc_u64(&self, v: u64) -> &mut u64 {
                    self.alloc(v)
                }
                #[inline(always)]
                fn alloc_bytes(&self, src: &[u8]) -> &mut [u8] {
                    self.alloc_slice_copy(src)
                }
                #[inline(always)]
                fn alloc_str(&self, s: &str) -> &mut str {
                    <$ty>::alloc_str(self, s)
                }
                fn allocator(&self) -> &$ty {
                    self
                }
                fn reset(&mut self) {
                    <$ty>::reset(self)
                }
            }
        };
    }
    same_names!(typool::Arena, "typool_arena");
    same_names!(bumpalo::Bump, "bumpalo");

    impl BumpArena for bump_scope::Bump {
        const NAME: &'static str = "bump_scope";
        type Alloc<'a> = &'a bump_scope::Bump;
        fn with_capacity(bytes: usize) -> Self {
            bump_scope::Bump::with_size(bytes)
        }
        #[inline(always)]
        fn alloc_u64(&self, v: u64) -> &mut u64 {
            self.alloc(v).into_mut()
        }
        #[inline(always)]
        fn alloc_bytes(&self, src: &[u8]) -> &mut [u8] {
            self.alloc_slice_copy(src).into_mut()
        }
        #[inline(always)]
        fn alloc_str(&self, s: &str) -> &mut str {
            bump_scope::Bump::alloc_str(self, s).into_mut()
        }
        fn allocator(&self) -> &bump_scope::Bump {
            self
        }
        fn reset(&mut self) {
            bump_scope::Bump::reset(self)
        }
    }

    /// 1000 string copies then a reset: the instruction counter's `str` unit.
    #[inline(never)]
    pub fn thousand_str<A: BumpArena>(arena: &mut A, s: &str) {
        for _ in 0..1000 {
            std::hint::black_box(arena.alloc_str(std::hint::black_box(s)));
        }
        arena.reset();
    }

    /// 1000 small allocations then a reset: the unit the instruction counter measures.
    #[inline(never)]
    pub fn thousand_u64<A: BumpArena>(arena: &mut A) {
        for i in 0..1000 {
            std::hint::black_box(arena.alloc_u64(i));
        }
        arena.reset();
    }
}
