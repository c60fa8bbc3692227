//! The benchmark suite's subjects: one 64-byte object, and every way users would allocate it,
//! behind one trait ([`Contender`]) so each scenario is written once and run for all.
//!
//! | contender | what it is |
//! |---|---|
//! | `typool` | `PoolBox<Obj>` from `#[derive(Pooled)]` |
//! | `box_system` | `Box<Obj>` under the system allocator (glibc malloc) |
//! | `box_mimalloc` | a box whose memory comes from mimalloc's `GlobalAlloc` directly |
//! | `box_slab` | the same from typool's `SlabAllocator` (a static one, called directly) |
//! | `lockfree_object_pool` | `LinearObjectPool<Obj>` (lockfree-object-pool) |
//! | `object_pool` | `Pool<Obj>` (object-pool) |
//! | `sharded_slab` | `Slab<Obj>` insert/remove (sharded-slab) |
//! | `mutex_vec` | `Mutex<Vec<Box<Obj>>>` free list |
//! | `tls_freelist` | a thread-local `Vec` of free boxes: the physical limit, no sharing at all |

#![allow(missing_debug_implementations)]
// bench fixtures, never printed
// `Mutex<Vec<Box<T>>>` and a `Vec` of boxes are the baselines users write; keep them as such.
#![allow(clippy::vec_box)]

use std::alloc::{GlobalAlloc, Layout};
use std::cell::RefCell;
use std::hint::black_box;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Mutex;
use typool::{PoolBox, Pooled};

/// The benchmarked object: 64 bytes, one cache line.
#[derive(Pooled, Clone, Copy, Default)]
#[repr(C)]
pub struct Obj {
    pub data: [u64; 8],
}

impl Obj {
    #[inline(always)]
    pub fn new(seed: u64) -> Self {
        Self { data: [seed; 8] }
    }
}

/// A way to get an `Obj` stored somewhere and give it back. Dropping the handle frees.
pub trait Contender: Sync + Sized + 'static {
    type Handle: Send;
    const NAME: &'static str;
    fn new() -> Self;
    fn alloc(&'static self, value: Obj) -> Self::Handle;

    /// A contender that lives for the whole process (handles may borrow it).
    fn leaked() -> &'static Self {
        Box::leak(Box::new(Self::new()))
    }
}

pub struct Typool;
impl Contender for Typool {
    type Handle = PoolBox<Obj>;
    const NAME: &'static str = "typool";
    fn new() -> Self {
        Self
    }
    #[inline(always)]
    fn alloc(&'static self, value: Obj) -> PoolBox<Obj> {
        PoolBox::new(value)
    }
}

pub struct BoxSystem;
impl Contender for BoxSystem {
    type Handle = Box<Obj>;
    const NAME: &'static str = "box_system";
    fn new() -> Self {
        Self
    }
    #[inline(always)]
    fn alloc(&'static self, value: Obj) -> Box<Obj> {
        Box::new(value)
    }
}

/// An allocator a box can call directly, as a `#[global_allocator]` would be called (one
/// binary cannot have two global allocators).
pub trait Direct: GlobalAlloc + Sync + 'static {
    const NAME: &'static str;
    fn instance() -> &'static Self;
}

impl Direct for mimalloc::MiMalloc {
    const NAME: &'static str = "box_mimalloc";
    fn instance() -> &'static Self {
        &mimalloc::MiMalloc
    }
}

static SLAB: typool::SlabAllocator = typool::SlabAllocator::new();

impl Direct for typool::SlabAllocator {
    const NAME: &'static str = "box_slab";
    fn instance() -> &'static Self {
        &SLAB
    }
}

/// A `Box<Obj>` whose memory comes from `A` directly.
pub struct DirectBox<A: Direct>(NonNull<Obj>, PhantomData<A>);
// SAFETY: owns its `Obj` like a `Box`; both allocators free from any thread.
unsafe impl<A: Direct> Send for DirectBox<A> {}
impl<A: Direct> Drop for DirectBox<A> {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: allocated by `BoxDirect::alloc` from `A` with this layout; `Obj` needs no drop.
        unsafe { A::instance().dealloc(self.0.as_ptr().cast(), Layout::new::<Obj>()) }
    }
}

pub struct BoxDirect<A>(PhantomData<A>);
impl<A: Direct> Contender for BoxDirect<A> {
    type Handle = DirectBox<A>;
    const NAME: &'static str = A::NAME;
    fn new() -> Self {
        Self(PhantomData)
    }
    #[inline(always)]
    fn alloc(&'static self, value: Obj) -> DirectBox<A> {
        // SAFETY: the layout is non-zero.
        let p = unsafe { A::instance().alloc(Layout::new::<Obj>()) }.cast::<Obj>();
        let p =
            NonNull::new(p).unwrap_or_else(|| std::alloc::handle_alloc_error(Layout::new::<Obj>()));
        // SAFETY: fresh, aligned memory for one `Obj`.
        unsafe { p.as_ptr().write(value) };
        DirectBox(p, PhantomData)
    }
}

/// `Box<Obj>` from mimalloc, called directly.
pub type BoxMimalloc = BoxDirect<mimalloc::MiMalloc>;
/// `Box<Obj>` from typool's `SlabAllocator`, called directly.
pub type BoxSlab = BoxDirect<typool::SlabAllocator>;

pub struct LockfreeObjectPool(lockfree_object_pool::LinearObjectPool<Obj>);
impl Contender for LockfreeObjectPool {
    type Handle = lockfree_object_pool::LinearReusable<'static, Obj>;
    const NAME: &'static str = "lockfree_object_pool";
    fn new() -> Self {
        Self(lockfree_object_pool::LinearObjectPool::new(
            Obj::default,
            |_| {},
        ))
    }
    #[inline(always)]
    fn alloc(&'static self, value: Obj) -> Self::Handle {
        let mut h = self.0.pull();
        *h = value;
        h
    }
}

pub struct ObjectPool(object_pool::Pool<Obj>);
impl Contender for ObjectPool {
    type Handle = object_pool::Reusable<'static, Obj>;
    const NAME: &'static str = "object_pool";
    fn new() -> Self {
        Self(object_pool::Pool::new(0, Obj::default))
    }
    #[inline(always)]
    fn alloc(&'static self, value: Obj) -> Self::Handle {
        let mut h = self.0.pull(Obj::default);
        *h = value;
        h
    }
}

pub struct SlabHandle(&'static sharded_slab::Slab<Obj>, usize);
impl Drop for SlabHandle {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.remove(self.1);
    }
}

pub struct ShardedSlab(sharded_slab::Slab<Obj>);
impl Contender for ShardedSlab {
    type Handle = SlabHandle;
    const NAME: &'static str = "sharded_slab";
    fn new() -> Self {
        Self(sharded_slab::Slab::new())
    }
    #[inline(always)]
    fn alloc(&'static self, value: Obj) -> SlabHandle {
        SlabHandle(&self.0, self.0.insert(value).expect("slab full"))
    }
}

pub struct MutexHandle(Option<Box<Obj>>, &'static Mutex<Vec<Box<Obj>>>);
impl Drop for MutexHandle {
    #[inline(always)]
    fn drop(&mut self) {
        if let Some(b) = self.0.take() {
            self.1.lock().unwrap().push(b);
        }
    }
}

pub struct MutexVec(Mutex<Vec<Box<Obj>>>);
impl Contender for MutexVec {
    type Handle = MutexHandle;
    const NAME: &'static str = "mutex_vec";
    fn new() -> Self {
        Self(Mutex::new(Vec::new()))
    }
    #[inline(always)]
    fn alloc(&'static self, value: Obj) -> MutexHandle {
        let b = match self.0.lock().unwrap().pop() {
            Some(mut b) => {
                *b = value;
                b
            }
            None => Box::new(value),
        };
        MutexHandle(Some(b), &self.0)
    }
}

thread_local! {
    static FREE: RefCell<Vec<Box<Obj>>> = const { RefCell::new(Vec::new()) };
}

/// A box that returns to the *dropping* thread's free list.
pub struct TlsHandle(Option<Box<Obj>>);
impl Drop for TlsHandle {
    #[inline(always)]
    fn drop(&mut self) {
        if let Some(b) = self.0.take() {
            FREE.with(|f| f.borrow_mut().push(b));
        }
    }
}

pub struct TlsFreelist;
impl Contender for TlsFreelist {
    type Handle = TlsHandle;
    const NAME: &'static str = "tls_freelist";
    fn new() -> Self {
        Self
    }
    #[inline(always)]
    fn alloc(&'static self, value: Obj) -> TlsHandle {
        let b = FREE.with(|f| match f.borrow_mut().pop() {
            Some(mut b) => {
                *b = value;
                b
            }
            None => Box::new(value),
        });
        TlsHandle(Some(b))
    }
}

/// No allocation at all: the value stays on the stack. Only the instruction counter uses it,
/// to subtract the benchmark loop's own work (writing 64 bytes, `black_box`, the loop).
pub struct NoAlloc;
impl Contender for NoAlloc {
    type Handle = Obj;
    const NAME: &'static str = "no_alloc";
    fn new() -> Self {
        Self
    }
    #[inline(always)]
    fn alloc(&'static self, value: Obj) -> Obj {
        value
    }
}

/// Scenario A's body: `n` alloc+free pairs. Shared by the criterion bench and the
/// instruction counter so both measure the same code.
#[inline(never)]
pub fn pairs<C: Contender>(c: &'static C, n: u64) {
    for i in 0..n {
        let h = c.alloc(Obj::new(i));
        black_box(&h);
        drop(h);
    }
}

/// Runs `f` with the contender type named `name`.
#[macro_export]
macro_rules! for_contender {
    ($name:expr, $f:ident $(, $arg:expr)*) => {
        match $name {
            "typool" => $f::<$crate::Typool>($($arg),*),
            "box_system" => $f::<$crate::BoxSystem>($($arg),*),
            "box_mimalloc" => $f::<$crate::BoxMimalloc>($($arg),*),
            "box_slab" => $f::<$crate::BoxSlab>($($arg),*),
            "lockfree_object_pool" => $f::<$crate::LockfreeObjectPool>($($arg),*),
            "object_pool" => $f::<$crate::ObjectPool>($($arg),*),
            "sharded_slab" => $f::<$crate::ShardedSlab>($($arg),*),
            "mutex_vec" => $f::<$crate::MutexVec>($($arg),*),
            "tls_freelist" => $f::<$crate::TlsFreelist>($($arg),*),
            "no_alloc" => $f::<$crate::NoAlloc>($($arg),*),
            other => panic!("unknown contender {other}"),
        }
    };
}

/// The criterion settings every suite here uses: short warm-up, 2 s of measurement, 30
/// samples — enough for stable medians of these sub-microsecond loops, short enough that the
/// whole suite runs in minutes on 2 cores.
pub fn criterion_config() -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(30)
}

/// Every contender's name, baseline last.
pub const CONTENDERS: [&str; 9] = [
    "typool",
    "box_system",
    "box_mimalloc",
    "box_slab",
    "lockfree_object_pool",
    "object_pool",
    "sharded_slab",
    "mutex_vec",
    "tls_freelist",
];

pub mod churn;

/// Scenarios A and B with a plain `Box<Obj>` under whatever `#[global_allocator]` the calling
/// bench binary installed (`global_glibc`, `global_mimalloc`, `global_slab`): one binary
/// cannot have two global allocators, so each is its own bench target, and `name` tells them
/// apart in the report.
/// `global_bench!("name", Type, init)`: a whole bench binary running
/// [`global_box_scenarios`] under `static GLOBAL: Type = init` as the global allocator.
#[macro_export]
macro_rules! global_bench {
    ($name:literal, $ty:ty, $init:expr) => {
        #[global_allocator]
        static GLOBAL: $ty = $init;

        fn global(c: &mut criterion::Criterion) {
            $crate::global_box_scenarios(c, $name);
        }

        criterion::criterion_group! {
            name = benches;
            config = $crate::criterion_config();
            targets = global
        }
        criterion::criterion_main!(benches);
    };
}

pub fn global_box_scenarios(c: &mut criterion::Criterion, name: &str) {
    let mut g = c.benchmark_group("global_A_alloc_free");
    g.throughput(criterion::Throughput::Elements(1));
    g.bench_function(name, |b| b.iter(|| pairs(BoxSystem::leaked(), 1)));
    g.finish();
    let mut g = c.benchmark_group("global_B_1000_then_free");
    g.throughput(criterion::Throughput::Elements(1000));
    let mut held = Vec::with_capacity(1000);
    g.bench_function(name, |b| {
        b.iter(|| {
            for i in 0..1000 {
                held.push(Box::new(Obj::new(i)));
            }
            black_box(&held);
            held.clear();
        })
    });
    g.finish();
}

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
