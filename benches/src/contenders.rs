//! Every way a user would allocate the benchmarked [`Obj`], behind one trait ([`Contender`]),
//! so each scenario is written once and run for all.
//!
//! | contender | what it is |
//! |---|---|
//! | `limit` | **the limit**: a thread-local free list of raw pointers over preallocated storage — a load, a store and the value's write per allocation; nothing shared, nothing counted |
//! | `typool` | `PoolBox<Obj>` from `#[derive(Pooled)]` |
//! | `typool_handle` | `Handle<Obj>` from a `static Pool<Obj>` (a pool that is not derived) |
//! | `typool_mesh` | `PoolBox<MeshObj>`: `Obj`'s twin with `#[pooled(mesh)]` |
//! | `box` | `Box<Obj>` under the binary's `#[global_allocator]` (glibc, mimalloc or typool's slab: one binary each) |
//! | `lockfree_object_pool` | `LinearObjectPool<Obj>::pull()`, then the value written |
//! | `object_pool` | `object_pool::Pool<Obj>::pull()`, then the value written |
//! | `sharded_slab` | `Slab<Obj>` insert / remove |
//! | `mutex_vec` | a `Mutex<Vec<Box<Obj>>>` free list |
//! | `no_alloc` | no allocation: the loop's own cost, subtracted by the instruction counter |

use std::cell::Cell;
use std::hint::black_box;
use std::mem::ManuallyDrop;
use std::ptr::{self, NonNull};
use std::sync::Mutex;
use typool::{Handle, Pool, PoolBox, Pooled};

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

/// A slot of the limit's storage: an `Obj` while handed out, a link while free.
#[repr(C)]
union LimitSlot {
    next: *mut LimitSlot,
    obj: ManuallyDrop<Obj>,
}

thread_local! {
    /// This thread's free slots. `const`-initialised and without a destructor, so reaching it
    /// is one thread-pointer-relative access.
    static LIMIT_FREE: Cell<*mut LimitSlot> = const { Cell::new(ptr::null_mut()) };
}

/// Slots the limit preallocates per refill.
const LIMIT_BATCH: usize = 1 << 14;

/// Preallocates `LIMIT_BATCH` slots (never freed) and links them: the limit's only slow path.
#[cold]
#[inline(never)]
fn limit_refill() -> *mut LimitSlot {
    let slots: &'static mut [LimitSlot] = Vec::leak(
        (0..LIMIT_BATCH)
            .map(|_| LimitSlot {
                next: ptr::null_mut(),
            })
            .collect(),
    );
    for i in 0..LIMIT_BATCH - 1 {
        let next: *mut LimitSlot = &mut slots[i + 1];
        slots[i].next = next;
    }
    slots.as_mut_ptr()
}

/// The limit's handle: a raw pointer; dropping it pushes the slot on the dropping thread's list.
pub struct LimitBox(NonNull<Obj>);
// SAFETY: owns its slot like a `Box`; a slot dropped on another thread joins that thread's list.
unsafe impl Send for LimitBox {}

impl Drop for LimitBox {
    #[inline(always)]
    fn drop(&mut self) {
        let slot = self.0.as_ptr().cast::<LimitSlot>();
        LIMIT_FREE.with(|free| {
            // SAFETY: the slot is ours (this handle owned it) and `Obj` needs no drop.
            unsafe { (*slot).next = free.get() };
            free.set(slot);
        });
    }
}

pub struct Limit;
impl Contender for Limit {
    type Handle = LimitBox;
    const NAME: &'static str = "limit";
    fn new() -> Self {
        Self
    }
    #[inline(always)]
    fn alloc(&'static self, value: Obj) -> LimitBox {
        LIMIT_FREE.with(|free| {
            let mut slot = free.get();
            if slot.is_null() {
                slot = limit_refill();
            }
            // SAFETY: `slot` heads this thread's free list, so it is free, ours, and its
            // first word links to the next free slot; it is big and aligned enough for `Obj`.
            unsafe {
                free.set((*slot).next);
                let obj = slot.cast::<Obj>();
                obj.write(value);
                LimitBox(NonNull::new_unchecked(obj))
            }
        })
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

/// `Obj` in a `mesh` pool: the `typool_mesh` contender's object, the same 64 bytes.
#[derive(Pooled)]
#[pooled(mesh)]
#[repr(C)]
pub struct MeshObj {
    pub data: [u64; 8],
}

/// `PoolBox<MeshObj>`: a derived type with `#[pooled(mesh)]` (segments in memory files, 4 KiB
/// pages, shuffled fresh slots); its hit path is `typool`'s.
pub struct TypoolMesh;
impl Contender for TypoolMesh {
    type Handle = PoolBox<MeshObj>;
    const NAME: &'static str = "typool_mesh";
    fn new() -> Self {
        Self
    }
    #[inline(always)]
    fn alloc(&'static self, value: Obj) -> PoolBox<MeshObj> {
        PoolBox::new(MeshObj { data: value.data })
    }
}

/// `Obj` as a generic type: the `typool_generic` contender's object, the same 64 bytes.
#[derive(Pooled)]
#[repr(C)]
pub struct GenericObj<T: 'static> {
    pub data: [T; 8],
}

/// `PoolBox<GenericObj<u64>>`: a generic derived type's instantiation, whose pool and thread
/// cache are found by `TypeId` (typool's `typed/generic.rs`).
pub struct TypoolGeneric;
impl Contender for TypoolGeneric {
    type Handle = PoolBox<GenericObj<u64>>;
    const NAME: &'static str = "typool_generic";
    fn new() -> Self {
        Self
    }
    #[inline(always)]
    fn alloc(&'static self, value: Obj) -> PoolBox<GenericObj<u64>> {
        PoolBox::new(GenericObj { data: value.data })
    }
}

static HANDLE_POOL: Pool<Obj> = Pool::new();

pub struct TypoolHandle;
impl Contender for TypoolHandle {
    type Handle = Handle<'static, Obj>;
    const NAME: &'static str = "typool_handle";
    fn new() -> Self {
        Self
    }
    #[inline(always)]
    fn alloc(&'static self, value: Obj) -> Handle<'static, Obj> {
        HANDLE_POOL.alloc(value)
    }
}

/// `Box<Obj>` under whatever `#[global_allocator]` the binary installed.
pub struct BoxGlobal;
impl Contender for BoxGlobal {
    type Handle = Box<Obj>;
    const NAME: &'static str = "box";
    fn new() -> Self {
        Self
    }
    #[inline(always)]
    fn alloc(&'static self, value: Obj) -> Box<Obj> {
        Box::new(value)
    }
}

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
        black_box(value)
    }
}

/// Runs `f::<C>(args…)` with the contender type named `name`; `None` for an unknown name.
#[macro_export]
macro_rules! for_contender {
    ($name:expr, $f:ident $(, $arg:expr)*) => {
        match $name {
            "limit" => Some($f::<$crate::Limit>($($arg),*)),
            "typool" => Some($f::<$crate::Typool>($($arg),*)),
            "typool_handle" => Some($f::<$crate::TypoolHandle>($($arg),*)),
            "typool_generic" => Some($f::<$crate::TypoolGeneric>($($arg),*)),
            "typool_mesh" => Some($f::<$crate::TypoolMesh>($($arg),*)),
            "box" => Some($f::<$crate::BoxGlobal>($($arg),*)),
            "lockfree_object_pool" => Some($f::<$crate::LockfreeObjectPool>($($arg),*)),
            "object_pool" => Some($f::<$crate::ObjectPool>($($arg),*)),
            "sharded_slab" => Some($f::<$crate::ShardedSlab>($($arg),*)),
            "mutex_vec" => Some($f::<$crate::MutexVec>($($arg),*)),
            "no_alloc" => Some($f::<$crate::NoAlloc>($($arg),*)),
            _ => None,
        }
    };
}

/// The contenders of the `pools` bench (glibc as the global allocator), the limit first.
pub const CONTENDERS: [&str; 8] = [
    "limit",
    "typool",
    "typool_handle",
    "box",
    "lockfree_object_pool",
    "object_pool",
    "sharded_slab",
    "mutex_vec",
];
