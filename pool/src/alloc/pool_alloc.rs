//! [`PoolAlloc`]: the process-wide slab allocator as a zero-sized [`Allocator`], and the
//! collections bound to it.

use crate::alloc::slab::SlabAllocator;
use allocator_api2::alloc::{AllocError, Allocator};
use core::alloc::Layout;
use core::ptr::NonNull;

/// The slab allocator behind every [`PoolAlloc`]; separate from any `#[global_allocator]`.
static SLAB: SlabAllocator = SlabAllocator::new();

/// A zero-sized handle to typool's process-wide [`SlabAllocator`]: put it under any
/// allocator-aware collection to keep that collection's memory in pooled size classes, at no
/// cost in the collection's size.
///
/// # Examples
///
/// ```
/// use typool::{PoolAlloc, PooledVec};
///
/// let mut v: PooledVec<u64> = PooledVec::new_in(PoolAlloc);
/// v.extend([1, 2, 3]);
/// assert_eq!(v.iter().sum::<u64>(), 6);
/// assert_eq!(core::mem::size_of::<PooledVec<u64>>(), core::mem::size_of::<Vec<u64>>());
/// assert!(PoolAlloc::slab().fragmentation().live_bytes >= 24);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PoolAlloc;

impl PoolAlloc {
    /// The process-wide slab allocator, for its [`fragmentation`](SlabAllocator::fragmentation)
    /// and [`trim`](SlabAllocator::trim).
    pub fn slab() -> &'static SlabAllocator {
        &SLAB
    }
}

// SAFETY: every method forwards to `&SLAB`, a `'static` allocator that lives as long as any
// block; copies of `PoolAlloc` are interchangeable because they all name `SLAB`.
unsafe impl Allocator for PoolAlloc {
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        (&SLAB).allocate(layout)
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { (&SLAB).deallocate(ptr, layout) }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller.
        unsafe { (&SLAB).grow(ptr, old, new) }
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller.
        unsafe { (&SLAB).shrink(ptr, old, new) }
    }
}

/// A `Vec` in pooled memory: `typool::allocator_api2::vec::Vec<T, PoolAlloc>`. Build it with
/// `PooledVec::new_in(PoolAlloc)`; `#[pooled(vec = Name)]` names one for a type.
pub type PooledVec<T> = allocator_api2::vec::Vec<T, PoolAlloc>;

/// A [`StableVector`](typool_containers::StableVector) in pooled memory: elements never move
/// while present, removals leave holes that later pushes reuse. `#[pooled(stable_vec = Name)]`
/// names one for a type.
///
/// ```
/// let mut v = typool::StableVector::<u32>::new();
/// let i = v.push(7);
/// assert_eq!(v[i], 7);
/// ```
pub type StableVector<T> = typool_containers::StableVector<T, PoolAlloc>;
