//! The pools of a generic derived type: one per instantiation, found by [`TypeId`].
//!
//! Rust has no generic statics, so `#[derive(Pooled)]` on `Node<K, V>` cannot write one
//! `static POOL` per `Node<u32, String>`. It writes, once for the generic type, an
//! [`Instances`] (a static) and a [`GenericCaches`] (a `thread_local!` without a destructor),
//! and each instantiation finds its own pool and cache there:
//!
//! - **Its pool.** The first call of `Node::<u32, String>::pool()` builds a `Pool` for that
//!   instantiation — leaked, so it lives as long as the program, like a derived static pool —
//!   and pushes it on the type's list of instantiations. Pushes hold a lock; lookups, which
//!   only slow paths make, take none.
//! - **Its thread cache.** Each thread has [`INLINE`](caches::INLINE) caches per generic type, each tagged
//!   with the `TypeId` it serves. The hit path looks at one of them, the one the `TypeId`'s
//!   hash picks — a constant, since the compiler knows `TypeId::of::<Self>()` — and compares
//!   its tag with the address of a constant holding `T`'s `TypeId` (one 8-byte compare, where
//!   a concrete type has none; the 16-byte ids are compared only when the addresses differ,
//!   which another copy of the constant, in another crate or codegen unit, can make happen).
//!   A slow path that finds no cache tagged for its instantiation tags a free one (probing on
//!   from that slot) before it registers it. A thread that uses more instantiations of one
//!   generic type than it has caches serves the rest without a cache (the depot and segments,
//!   a slot at a time): correct and slower; `INLINE` is sized so that programs never get there.
//!
//! Invariants: a cache's tag is set once, by its thread, before the cache registers, and names
//! the pool the cache then serves (`pools[k]` is that pool); an untagged cache never registers,
//! and neither does [`GenericCaches::closed`], which instantiations without a cache are
//! handed, so their hit paths miss and their slow paths go without one ([`armed`] says so);
//! the thread's [`GenericRetire`] is armed before the first cache registers, and its
//! destructor retires every tagged cache into its pool.

use crate::engine::config::PoolConfig;
use crate::sync::{lock, loom_const_fn, AtomicPtr, Mutex, Ordering};
use crate::typed::pool::Pool;
use core::any::TypeId;
use core::ptr::{self, NonNull};

/// One instantiation: its `TypeId` and its pool (a leaked `Pool<T>` of that `T`).
struct Instance {
    type_id: TypeId,
    /// A `&'static Pool<T>` for the `T` whose id is `type_id`, type-erased.
    pool: NonNull<()>,
    /// The next-older instantiation.
    next: *const Instance,
}

/// The pools of one generic derived type's instantiations (the derive's static).
pub struct Instances {
    /// Every instantiation, newest first (push-only).
    list: AtomicPtr<Instance>,
    create: Mutex<()>,
}

impl core::fmt::Debug for Instances {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Instances").finish_non_exhaustive()
    }
}

// SAFETY: an `Instances` points at leaked `Instance`s that never change after they are
// published (with `Release`, read with `Acquire`, created under the lock), and through them at
// leaked pools, which are `Send + Sync` whatever they hold.
unsafe impl Send for Instances {}
// SAFETY: as for `Send`.
unsafe impl Sync for Instances {}

impl Instances {
    loom_const_fn! {
        /// No instantiation yet (the derive's static initialiser).
        pub const fn new() -> Self {
            Self {
                list: AtomicPtr::new(ptr::null_mut()),
                create: Mutex::new(()),
            }
        }
    }

    /// How many instantiations have a pool (the loom model's check).
    #[cfg(all(test, typool_loom))]
    pub(crate) fn len(&self) -> usize {
        let mut n = 0;
        let mut p = self.list.load(Ordering::Acquire);
        // SAFETY: the list holds leaked instances that never change once published.
        while let Some(inst) = unsafe { p.as_ref() } {
            n += 1;
            p = inst.next.cast_mut();
        }
        n
    }

    fn find<T: 'static>(&self) -> Option<&'static Instance> {
        let mut p = self.list.load(Ordering::Acquire);
        // SAFETY: the list holds leaked instances that never change once published.
        while let Some(inst) = unsafe { p.as_ref() } {
            if inst.type_id == TypeId::of::<T>() {
                return Some(inst);
            }
            p = inst.next.cast_mut();
        }
        None
    }

    /// `T`'s pool, built with `config` on the first call for this `T`.
    ///
    /// # Panics
    ///
    /// If the system refuses the few hundred bytes of the pool itself (as `Box::new` does).
    pub fn pool<T: 'static>(
        &'static self,
        config: impl FnOnce() -> PoolConfig,
    ) -> &'static Pool<T> {
        let inst = match self.find::<T>() {
            Some(inst) => inst,
            None => self.create::<T>(config()),
        };
        // SAFETY: the instance for `T`'s id names a leaked `Pool<T>`.
        unsafe { inst.pool.cast::<Pool<T>>().as_ref() }
    }

    #[cold]
    fn create<T: 'static>(&self, config: PoolConfig) -> &'static Instance {
        let _held = lock(&self.create);
        if let Some(inst) = self.find::<T>() {
            return inst;
        }
        let pool = Box::leak(Box::new(Pool::<T>::with_config(config)));
        let inst = Box::leak(Box::new(Instance {
            type_id: TypeId::of::<T>(),
            pool: NonNull::from(pool).cast(),
            next: self.list.load(Ordering::Relaxed),
        }));
        self.list.store(inst, Ordering::Release);
        inst
    }
}

impl Default for Instances {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(not(typool_loom))]
pub use caches::{armed, with_cache, GenericCaches, GenericRetire, GenericStatics};

/// The thread caches of generic types: only outside loom builds, where the derive's statics
/// exist (the loom model explores `Instances`).
#[cfg(not(typool_loom))]
mod caches {
    use super::Pool;
    use crate::engine::cache::LocalCache;
    use crate::typed::pooled::with_local;
    use core::any::TypeId;
    use core::cell::Cell;
    use core::hash::{Hash, Hasher};
    use core::marker::PhantomData;
    use core::ptr::NonNull;
    use std::thread::LocalKey;

    /// Caches a thread keeps per generic type, for as many of its instantiations (a power of two).
    pub const INLINE: usize = 8;

    /// The tag of a cache that serves no instantiation yet: no pooled type has this id.
    const UNTAGGED: &TypeId = &TypeId::of::<Untagged>();
    enum Untagged {}

    /// `T`'s tag: its `TypeId`, in a constant of its own. Two such constants at one address hold
    /// one value, so one type; so a tag equal to `key::<T>()` as an address is `T`'s. The converse
    /// does not hold — a crate or codegen unit may keep a copy of `T`'s constant elsewhere — so a
    /// tag that differs as an address is compared as a `TypeId` too.
    #[inline(always)]
    fn key<T: 'static>() -> &'static TypeId {
        const { &TypeId::of::<T>() }
    }

    /// Whether `tag` names `T`: the address first (one compare with a constant), the id behind
    /// it when the address is another copy's.
    #[inline(always)]
    fn names<T: 'static>(tag: &'static TypeId) -> bool {
        core::ptr::eq(tag, key::<T>()) || *tag == TypeId::of::<T>()
    }

    /// The cache the hash of `T`'s `TypeId` picks: where its probe starts.
    #[inline(always)]
    fn home<T: 'static>() -> usize {
        /// Keeps what `TypeId` hashes (one `u64` today), folded if it ever writes more.
        struct Fold(u64);
        impl Hasher for Fold {
            fn write(&mut self, bytes: &[u8]) {
                for &b in bytes {
                    self.0 = self.0.rotate_left(8) ^ u64::from(b);
                }
            }
            fn write_u64(&mut self, n: u64) {
                self.0 ^= n;
            }
            fn finish(&self) -> u64 {
                self.0
            }
        }
        let mut h = Fold(0);
        TypeId::of::<T>().hash(&mut h);
        (h.0 >> (u64::BITS - INLINE.trailing_zeros())) as usize
    }

    /// How a thread-exit hook retires a cache into a pool whose `T` it does not know.
    type Retire = unsafe fn(NonNull<()>, &LocalCache);

    /// A tagged cache's pool (a leaked `Pool<T>`, type-erased) and how to retire into it.
    type TaggedPool = Option<(NonNull<()>, Retire)>;

    /// Retires `cache` into the `Pool<T>` at `pool`.
    ///
    /// # Safety
    ///
    /// `pool` points at a live `Pool<T>`.
    unsafe fn retire<T>(pool: NonNull<()>, cache: &LocalCache) {
        // SAFETY: by the caller's promise.
        unsafe { pool.cast::<Pool<T>>().as_ref() }.raw.retire(cache);
    }

    /// A thread's caches for one generic type (the derive's thread-local): `caches[k]` serves the
    /// instantiation `tags[k]` names, in the pool `pools[k]`.
    pub struct GenericCaches {
        tags: [Cell<&'static TypeId>; INLINE],
        pools: [Cell<TaggedPool>; INLINE],
        caches: [LocalCache; INLINE],
        /// For instantiations without a cache: untagged and never registered.
        closed: LocalCache,
    }

    impl core::fmt::Debug for GenericCaches {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            let tagged = self.tags.iter().filter(|t| *t.get() != *UNTAGGED).count();
            f.debug_struct("GenericCaches")
                .field("tagged", &tagged)
                .finish_non_exhaustive()
        }
    }

    impl GenericCaches {
        /// Untagged caches (the `thread_local!` initialiser).
        pub const fn new() -> Self {
            Self {
                tags: [const { Cell::new(UNTAGGED) }; INLINE],
                pools: [const { Cell::new(None) }; INLINE],
                caches: [const { LocalCache::new() }; INLINE],
                closed: LocalCache::new(),
            }
        }

        /// The cache tagged for `T` elsewhere than at its home, or the closed one.
        #[cold]
        #[inline(never)]
        fn probe<T: 'static>(&self) -> &LocalCache {
            match self.find::<T>() {
                Some(k) => &self.caches[k],
                None => &self.closed,
            }
        }

        fn find<T: 'static>(&self) -> Option<usize> {
            (0..INLINE)
                .map(|i| (home::<T>() + i) % INLINE)
                .find(|&k| names::<T>(self.tags[k].get()))
        }

        /// Tags a cache for `T` (of `pool`) unless one is tagged already: `false` when every cache
        /// serves another instantiation.
        fn tag<T: 'static>(&self, pool: &'static Pool<T>) -> bool {
            if self.find::<T>().is_some() {
                return true;
            }
            let free = (0..INLINE)
                .map(|i| (home::<T>() + i) % INLINE)
                .find(|&k| *self.tags[k].get() == *UNTAGGED);
            if let Some(k) = free {
                self.pools[k].set(Some((NonNull::from(pool).cast(), retire::<T>)));
                self.tags[k].set(key::<T>());
            }
            free.is_some()
        }
    }

    impl Default for GenericCaches {
        fn default() -> Self {
            Self::new()
        }
    }

    /// Where a generic type's thread-exit hook finds its thread's caches: the derive's
    /// thread-local.
    pub trait GenericStatics: 'static {
        /// The type's thread-local caches.
        fn caches() -> &'static LocalKey<GenericCaches>;
    }

    /// The thread-exit hook of a generic type's caches: its destructor retires every tagged cache
    /// into its pool (a cache that never registered is skipped by the retirement itself).
    pub struct GenericRetire<S: GenericStatics>(PhantomData<fn() -> S>);

    impl<S: GenericStatics> core::fmt::Debug for GenericRetire<S> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("GenericRetire")
        }
    }

    impl<S: GenericStatics> GenericRetire<S> {
        /// The hook (the `thread_local!` initialiser).
        pub const fn new() -> Self {
            Self(PhantomData)
        }
    }

    impl<S: GenericStatics> Default for GenericRetire<S> {
        fn default() -> Self {
            Self::new()
        }
    }

    impl<S: GenericStatics> Drop for GenericRetire<S> {
        fn drop(&mut self) {
            S::caches().with(|c| {
                for (pool, cache) in c.pools.iter().zip(&c.caches) {
                    if let Some((pool, retire)) = pool.get() {
                        // SAFETY: `pools[k]` names the live, leaked pool that `retire` expects.
                        unsafe { retire(pool, cache) };
                    }
                }
            });
        }
    }

    /// Runs `f` with this thread's cache for `T`: the one tagged for it, or the closed one.
    #[inline(always)]
    pub fn with_cache<T: 'static, R>(
        caches: &'static LocalKey<GenericCaches>,
        f: impl FnOnce(&LocalCache) -> R,
    ) -> R {
        with_local(caches, |c| {
            let k = home::<T>();
            if core::ptr::eq(c.tags[k].get(), key::<T>()) {
                f(&c.caches[k])
            } else {
                elsewhere::<T, R>(c, f)
            }
        })
    }

    /// `with_cache` for a `T` whose cache is not at its home: apart, so that the hit path
    /// above has one cache to run `f` on and no choice between two to carry into it.
    #[cold]
    #[inline(never)]
    fn elsewhere<T: 'static, R>(c: &GenericCaches, f: impl FnOnce(&LocalCache) -> R) -> R {
        f(c.probe::<T>())
    }

    /// The slow paths' gate: arms this thread's exit hook and tags a cache for `T`. `true` when
    /// `T` has a cache on this thread that may now register; `false` on a thread being torn down,
    /// or when every cache serves another instantiation.
    #[inline]
    pub fn armed<T: 'static, S: GenericStatics>(
        pool: &'static Pool<T>,
        hook: &'static LocalKey<GenericRetire<S>>,
    ) -> bool {
        hook.try_with(|_| ()).is_ok() && S::caches().with(|c| c.tag(pool))
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use core::ptr;

        std::thread_local! {
            static CACHES: GenericCaches = const { GenericCaches::new() };
        }

        fn cache_of<T: 'static>() -> *const LocalCache {
            with_cache::<T, _>(&CACHES, ptr::from_ref)
        }

        /// Another crate (a `dylib`, say) may hold its own copy of `T`'s key constant: a tag at
        /// another address holding `T`'s id still finds `T`'s cache, through the slow lookup,
        /// and no other type's.
        #[test]
        fn a_copy_of_the_key_finds_the_same_cache() {
            // A static has an address of its own: never the key constant's.
            static COPY: TypeId = TypeId::of::<u64>();
            let copy = &COPY;
            let home = home::<u64>();
            let (at_home, closed) = CACHES.with(|c| {
                c.tags[home].set(copy);
                (ptr::from_ref(&c.caches[home]), ptr::from_ref(&c.closed))
            });
            assert!(!ptr::eq(copy, key::<u64>()), "the test needs a second copy");
            assert_eq!(cache_of::<u64>(), at_home);
            // A type tagged nowhere is served by the closed cache, whatever its home.
            assert_eq!(cache_of::<[u8; 3]>(), closed);
            // The key itself hits at home.
            CACHES.with(|c| c.tags[home].set(key::<u64>()));
            assert_eq!(cache_of::<u64>(), at_home);
            CACHES.with(|c| c.tags[home].set(UNTAGGED));
            assert_eq!(cache_of::<u64>(), closed);
        }
    }
}
