//! [`BuddyAllocator`]: power-of-two blocks over one region, split on demand and coalesced on
//! free.
//!
//! The region holds `2^n` bytes. A block of order `k` is `MIN_BLOCK << k` bytes at an offset
//! that is a multiple of its size; its *buddy* is the other half of the block of order `k + 1`
//! that contains it (index `i ^ 1`). Allocation takes the smallest free block that fits and
//! splits it, pushing the upper halves onto the free lists of their orders; freeing merges a
//! block with its buddy for as long as the buddy is free, so free memory is always held in the
//! largest blocks possible.
//!
//! Bookkeeping lives outside the region, in two bitmaps with one bit per block of every order
//! (`free`: on a free list; `used`: handed out) — `capacity / 32` bytes in all. The free lists
//! are intrusive, doubly linked through the free blocks themselves (16 bytes: two links), so
//! taking a buddy off its list is O(1). All of it sits behind one mutex: every operation is a
//! handful of list and bit updates, O(orders) at worst.
//!
//! Invariants, under the lock: a block is on the free list of order `k` exactly when its
//! `free` bit of order `k` is set; no two free blocks are buddies (they would have merged);
//! live blocks, free blocks and the blocks split to make them tile the region exactly.

use crate::alloc::blocks::{dangling, relocate};
use crate::engine::misuse::abort_with;
use crate::os::{Backing, BackingError, Granted, Region};
use crate::stats::FragmentationReport;
use crate::sync::{lock, Mutex};
use allocator_api2::alloc::{AllocError, Allocator};
use core::alloc::Layout;
use core::ptr::{self, NonNull};
use std::alloc::{GlobalAlloc, System};

/// The smallest block: room for the two links of a free block.
const MIN_BLOCK: usize = 16;
/// The region's alignment: its size, up to this (blocks inherit it).
const MAX_REGION_ALIGN: usize = 2 << 20;

/// The links written into a free block.
#[repr(C)]
struct FreeBlock {
    next: *mut FreeBlock,
    prev: *mut FreeBlock,
}

/// The mutable state, behind the allocator's lock.
struct Buddy {
    base: NonNull<u8>,
    /// Number of orders: blocks of order `orders - 1` are the whole region.
    orders: usize,
    /// Head of each order's free list (null: empty).
    heads: [*mut FreeBlock; usize::BITS as usize],
    /// `free` bits, then `used` bits: `2 * blocks0 - 1` bits each (see `bit`).
    bits: NonNull<u64>,
    words: usize,
    /// Bytes requested and granted over live blocks. `requested` is exact while blocks are
    /// freed with the size they were asked for; allocator-api2 also lets a caller free with
    /// any larger size up to the block's length, which the buddy cannot tell apart (it keeps
    /// no per-block record), so such a free takes off more than was added: `requested` then
    /// reads low by the difference (never below 0, and exact again once nothing is live).
    requested: usize,
    granted: usize,
}

/// A thread-safe buddy allocator over one region of a fixed size; use it through
/// `&BuddyAllocator`, an [`Allocator`].
///
/// Blocks are powers of two from 16 bytes to the whole region, aligned to their size (up to
/// 2 MiB, the region's alignment). A request is rounded up to the smallest block that holds
/// its size and its alignment. When no free block is large enough, allocation returns
/// [`AllocError`]: the region never grows, and nothing panics.
///
/// # Examples
///
/// ```
/// use typool::BuddyAllocator;
/// use typool::allocator_api2::vec::Vec;
///
/// let buddy = BuddyAllocator::with_capacity(1 << 20);
/// let mut v = Vec::new_in(&buddy);
/// v.extend(0..1000u32);
/// assert_eq!(v[999], 999);
/// drop(v);
/// assert_eq!(buddy.fragmentation().free_bytes, 1 << 20);
/// ```
///
/// # Bad input
///
/// Freeing a pointer outside the region, not at a block boundary, not handed out, or with a
/// layout that maps to another block size is caught before anything changes (a double free
/// the same way), in release builds too: the process prints a message that says which and
/// aborts, because an allocator must not unwind out of `deallocate`.
pub struct BuddyAllocator {
    state: Mutex<Buddy>,
    capacity: usize,
    /// The region's first byte (`region.ptr()`, kept at hand for ownership checks).
    base: NonNull<u8>,
    /// The region; given back after `Drop::drop` has freed the bitmaps.
    region: Region,
}

// SAFETY: the region and the bitmaps are owned by the allocator and touched only under
// `state`'s lock; `base` is only compared against, never dereferenced outside the lock.
unsafe impl Send for BuddyAllocator {}
// SAFETY: as above: shared access goes through the mutex.
unsafe impl Sync for BuddyAllocator {}

impl core::fmt::Debug for BuddyAllocator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BuddyAllocator")
            .field("capacity", &self.capacity)
            .field("fragmentation", &self.fragmentation())
            .finish()
    }
}

fn region_layout(capacity: usize) -> Layout {
    Layout::from_size_align(capacity, capacity.min(MAX_REGION_ALIGN)).expect("checked at creation")
}

fn bits_layout(words: usize) -> Layout {
    Layout::array::<u64>(words).expect("checked at creation")
}

impl BuddyAllocator {
    /// A buddy allocator over a region of `bytes` rounded up to a power of two (at least 16).
    ///
    /// # Panics
    ///
    /// If the system refuses the region (see [`try_with_capacity`](Self::try_with_capacity)).
    pub fn with_capacity(bytes: usize) -> Self {
        Self::try_with_capacity(bytes).unwrap_or_else(|_| {
            panic!("BuddyAllocator::with_capacity({bytes}): the system refused the region")
        })
    }

    /// As [`with_capacity`](Self::with_capacity), but gives [`AllocError`] if `bytes` rounds
    /// past `isize::MAX` or the system refuses the memory.
    pub fn try_with_capacity(bytes: usize) -> Result<Self, AllocError> {
        Self::try_with_backing(bytes, Backing::Heap).map_err(|_| AllocError)
    }

    /// A buddy allocator over a region of `bytes` (rounded as in
    /// [`with_capacity`](Self::with_capacity)) from `backing`. What the kernel granted is
    /// [`backing()`](Self::backing).
    ///
    /// # Errors
    ///
    /// [`BackingError::File`], naming the path, if a [`Backing::File`] cannot be created,
    /// sized or mapped; [`BackingError::OutOfMemory`] if `bytes` rounds past `isize::MAX` or
    /// the system refuses the memory. Huge pages and NUMA nodes that cannot be had fall back
    /// to plain pages instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use typool::{Backing, BuddyAllocator, Granted};
    /// use typool::allocator_api2::boxed::Box;
    ///
    /// let path = std::env::temp_dir().join(format!("typool-doc-{}.bin", std::process::id()));
    /// let path: &'static str = path.to_str().unwrap().to_owned().leak();
    /// let buddy = BuddyAllocator::try_with_backing(1 << 20, Backing::File(path))?;
    /// assert_eq!(buddy.backing(), Granted::File);
    /// let b = Box::new_in(*b"kept in the file", &buddy);
    /// // A shared mapping: the file holds what the memory holds.
    /// let bytes = std::fs::read(path)?;
    /// assert!(bytes.windows(16).any(|w| w == b"kept in the file"));
    /// # drop(b);
    /// # drop(buddy);
    /// # std::fs::remove_file(path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_with_backing(bytes: usize, backing: Backing) -> Result<Self, BackingError> {
        let capacity = bytes
            .max(MIN_BLOCK)
            .checked_next_power_of_two()
            .filter(|&c| c <= isize::MAX as usize / 2)
            .ok_or(BackingError::OutOfMemory { bytes })?;
        let blocks0 = capacity / MIN_BLOCK;
        let orders = blocks0.trailing_zeros() as usize + 1;
        let words = (2 * (2 * blocks0 - 1)).div_ceil(64);
        let region = Region::new(region_layout(capacity), backing)?;
        let base = region.ptr();
        // SAFETY: a non-empty layout.
        let bits = NonNull::new(unsafe { System.alloc_zeroed(bits_layout(words)) }.cast());
        // On failure `region` drops here, unused, and is given back.
        let bits = bits.ok_or(BackingError::OutOfMemory {
            bytes: bits_layout(words).size(),
        })?;
        let mut buddy = Buddy {
            base,
            orders,
            heads: [ptr::null_mut(); usize::BITS as usize],
            bits,
            words,
            requested: 0,
            granted: 0,
        };
        // SAFETY: the whole region is one free block of the top order, owned by us.
        unsafe { buddy.push(orders - 1, 0) };
        Ok(Self {
            state: Mutex::new(buddy),
            capacity,
            base,
            region,
        })
    }

    /// Bytes in the region.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// What the kernel granted the region (see [`Granted`]).
    pub fn backing(&self) -> Granted {
        self.region.granted()
    }

    /// The order of the block that serves `layout` (non-zero size), or `None` if no block can.
    fn order_of(&self, layout: Layout) -> Option<usize> {
        if layout.align() > self.capacity.min(MAX_REGION_ALIGN) {
            return None;
        }
        let need = layout.size().max(layout.align()).max(MIN_BLOCK);
        if need > self.capacity {
            return None;
        }
        let block = need.checked_next_power_of_two()?;
        Some((block / MIN_BLOCK).trailing_zeros() as usize)
    }

    /// A block for `layout`, or `AllocError` when none is free.
    fn alloc_block(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let order = self.order_of(layout).ok_or(AllocError)?;
        let mut b = lock(&self.state);
        let from = (order..b.orders)
            .find(|&k| !b.heads[k].is_null())
            .ok_or(AllocError)?;
        // SAFETY: the list of order `from` is non-empty; we hold the lock.
        let mut index = unsafe { b.pop(from) };
        for k in (order..from).rev() {
            index *= 2;
            // SAFETY: the upper half of the block just split is free and ours.
            unsafe { b.push(k, index + 1) };
        }
        b.set(Map::Used, order, index, true);
        b.requested += layout.size();
        b.granted += MIN_BLOCK << order;
        let ptr = b.block(order, index);
        Ok(NonNull::slice_from_raw_parts(ptr, MIN_BLOCK << order))
    }

    /// Checks that `ptr` is a live block of `order` and returns its index; aborts with a
    /// message otherwise (see `engine/misuse.rs`).
    fn index_of(&self, b: &Buddy, ptr: NonNull<u8>, order: usize, layout: Layout) -> usize {
        let offset = ptr.as_ptr().addr().wrapping_sub(self.base.as_ptr().addr());
        let size = MIN_BLOCK << order;
        let fail = |why: &str| -> ! {
            abort_with(format_args!(
                "BuddyAllocator: {ptr:p} freed with {layout:?} ({size} B block): {why}"
            ))
        };
        if offset >= self.capacity {
            fail("the pointer is not in this allocator's region");
        }
        if !offset.is_multiple_of(size) {
            fail(
                "not the start of a block of that size: was it allocated with a different layout?",
            );
        }
        let index = offset / size;
        if !b.get(Map::Used, order, index) {
            fail("no live block of that size starts here: a double free, or a different layout");
        }
        index
    }

    /// # Safety
    ///
    /// `ptr` is a live block of ours, allocated with `layout` (checked; aborts otherwise).
    unsafe fn free_block(&self, ptr: NonNull<u8>, layout: Layout) {
        let order = self
            .order_of(layout)
            .expect("a block was allocated for this layout");
        let mut b = lock(&self.state);
        let mut index = self.index_of(&b, ptr, order, layout);
        b.set(Map::Used, order, index, false);
        b.granted -= MIN_BLOCK << order;
        b.forget_requested(layout.size());
        let mut k = order;
        while k + 1 < b.orders && b.get(Map::Free, k, index ^ 1) {
            // SAFETY: the buddy is on the free list of order `k` (its bit says so).
            unsafe { b.unlink(k, index ^ 1) };
            index /= 2;
            k += 1;
        }
        // SAFETY: the merged block is free (its parts were this block and free buddies).
        unsafe { b.push(k, index) };
    }

    /// Shrinks a live block in place, freeing its upper halves. Returns the new block.
    fn shrink_in_place(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        from: usize,
        to: usize,
    ) -> NonNull<[u8]> {
        let mut b = lock(&self.state);
        let mut index = self.index_of(&b, ptr, from, old);
        b.set(Map::Used, from, index, false);
        for k in (to..from).rev() {
            index *= 2;
            // SAFETY: the upper half is inside our live block, which we are giving up; its
            // buddy (the lower half) stays in use, so it cannot merge.
            unsafe { b.push(k, index + 1) };
        }
        b.set(Map::Used, to, index, true);
        b.forget_requested(old.size());
        b.requested += new.size();
        b.granted = b.granted - (MIN_BLOCK << from) + (MIN_BLOCK << to);
        NonNull::slice_from_raw_parts(ptr, MIN_BLOCK << to)
    }

    /// See [`FragmentationReport`]. Exact: everything is counted under the lock.
    pub fn fragmentation(&self) -> FragmentationReport {
        let b = lock(&self.state);
        let largest = (0..b.orders)
            .rev()
            .find(|&k| !b.heads[k].is_null())
            .map_or(0, |k| MIN_BLOCK << k);
        FragmentationReport::new(b.requested, b.granted, self.capacity, largest)
    }
}

impl Drop for BuddyAllocator {
    fn drop(&mut self) {
        let b = lock(&self.state);
        // SAFETY: allocated in `try_with_backing` with this layout, and used by nobody else.
        // The region itself is given back when its field drops: `&mut self` means no block
        // is borrowed any more (blocks borrow the allocator).
        unsafe { System.dealloc(b.bits.as_ptr().cast(), bits_layout(b.words)) };
    }
}

#[derive(Clone, Copy)]
enum Map {
    Free,
    Used,
}

impl Buddy {
    /// Takes a freed (or shrunk) block's size out of `requested`; see the field.
    fn forget_requested(&mut self, size: usize) {
        self.requested = self.requested.saturating_sub(size);
        if self.granted == 0 {
            self.requested = 0;
        }
    }

    fn block(&self, order: usize, index: usize) -> NonNull<u8> {
        // SAFETY: `index` of `order` lies inside the region (callers derive it from blocks).
        unsafe { self.base.add(index * (MIN_BLOCK << order)) }
    }

    /// Position of the bit for block `index` of `order` in map `map`.
    fn bit(&self, map: Map, order: usize, index: usize) -> usize {
        let blocks0 = 1usize << (self.orders - 1);
        let per_map = 2 * blocks0 - 1;
        let level = 2 * blocks0 - 2 * (blocks0 >> order);
        debug_assert!(index < blocks0 >> order);
        per_map * map as usize + level + index
    }

    fn get(&self, map: Map, order: usize, index: usize) -> bool {
        let bit = self.bit(map, order, index);
        // SAFETY: `bit < 2 * per_map <= 64 * words`, so the word is inside the bitmap.
        unsafe { *self.bits.as_ptr().add(bit / 64) >> (bit % 64) & 1 == 1 }
    }

    fn set(&mut self, map: Map, order: usize, index: usize, on: bool) {
        let bit = self.bit(map, order, index);
        // SAFETY: as in `get`; `&mut self` means we hold the lock.
        let word = unsafe { &mut *self.bits.as_ptr().add(bit / 64) };
        if on {
            *word |= 1 << (bit % 64);
        } else {
            *word &= !(1 << (bit % 64));
        }
    }

    /// Puts block `index` of `order` on its free list.
    ///
    /// # Safety
    ///
    /// The block is free, owned by the allocator, and on no list.
    unsafe fn push(&mut self, order: usize, index: usize) {
        let node = self.block(order, index).as_ptr().cast::<FreeBlock>();
        let head = self.heads[order];
        // SAFETY: free blocks are ours, at least 16 bytes and 16-aligned; `head`, if any, is
        // a free block on this list.
        unsafe {
            node.write(FreeBlock {
                next: head,
                prev: ptr::null_mut(),
            });
            if !head.is_null() {
                (*head).prev = node;
            }
        }
        self.heads[order] = node;
        self.set(Map::Free, order, index, true);
    }

    /// Takes the first block off the free list of `order`, returning its index.
    ///
    /// # Safety
    ///
    /// The list is non-empty.
    unsafe fn pop(&mut self, order: usize) -> usize {
        let node = self.heads[order];
        let index = (node.addr() - self.base.as_ptr().addr()) / (MIN_BLOCK << order);
        // SAFETY: forwarded: `node` heads the list of `order`.
        unsafe { self.unlink(order, index) };
        index
    }

    /// Takes block `index` of `order` off its free list.
    ///
    /// # Safety
    ///
    /// The block is on the free list of `order`.
    unsafe fn unlink(&mut self, order: usize, index: usize) {
        let node = self.block(order, index).as_ptr().cast::<FreeBlock>();
        // SAFETY: `node` and its neighbours are free blocks on this list, holding links.
        unsafe {
            let FreeBlock { next, prev } = node.read();
            if prev.is_null() {
                self.heads[order] = next;
            } else {
                (*prev).next = next;
            }
            if !next.is_null() {
                (*next).prev = prev;
            }
        }
        self.set(Map::Free, order, index, false);
    }
}

// SAFETY: blocks are distinct parts of the region (the free lists and bitmaps say which are
// handed out), valid until freed or the allocator drops — and they borrow the allocator.
// Freeing checks the block against the `used` bitmap before touching anything.
unsafe impl Allocator for &BuddyAllocator {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        if layout.size() == 0 {
            return Ok(NonNull::slice_from_raw_parts(dangling(layout.align()), 0));
        }
        self.alloc_block(layout)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: forwarded from the caller (and checked).
            unsafe { self.free_block(ptr, layout) }
        }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller.
        unsafe { self.resize(ptr, old, new) }
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded from the caller.
        unsafe { self.resize(ptr, old, new) }
    }
}

impl BuddyAllocator {
    /// In place when the block size does not grow; otherwise a new block and a copy.
    ///
    /// # Safety
    ///
    /// `ptr` is a block of ours allocated with `old` (dangling if zero-sized).
    unsafe fn resize(
        &self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if old.size() != 0 && new.size() != 0 {
            if let (Some(from), Some(to)) = (self.order_of(old), self.order_of(new)) {
                if to <= from && ptr.as_ptr().addr().is_multiple_of(new.align()) {
                    return Ok(self.shrink_in_place(ptr, old, new, from, to));
                }
            }
        }
        // SAFETY: forwarded from the caller.
        unsafe { relocate(self, ptr, old, new) }
    }
}

#[cfg(all(test, not(typool_loom)))]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn splits_and_coalesces_back_to_one_block() {
        let buddy = BuddyAllocator::with_capacity(4096);
        let a = &buddy;
        let blocks: std::vec::Vec<_> = [16, 16, 32, 100, 512, 1000]
            .iter()
            .map(|&s| (a.allocate(layout(s, 8)).unwrap(), s))
            .collect();
        let f = buddy.fragmentation();
        assert_eq!(f.live_bytes, 16 + 16 + 32 + 100 + 512 + 1000);
        assert_eq!(f.reserved_bytes, 4096);
        assert_eq!(f.free_bytes, 4096 - (16 + 16 + 32 + 128 + 512 + 1024));
        for (p, s) in blocks {
            assert_eq!(p.len(), s.next_power_of_two().max(16));
            // SAFETY: allocated above with this layout.
            unsafe { a.deallocate(p.cast(), layout(s, 8)) };
        }
        let f = buddy.fragmentation();
        assert_eq!(
            (f.free_bytes, f.largest_free_block, f.external),
            (4096, 4096, 0.0)
        );
    }

    #[test]
    fn a_full_buddy_says_so() {
        let buddy = BuddyAllocator::with_capacity(256);
        let a = &buddy;
        let whole = a.allocate(layout(200, 8)).unwrap();
        assert_eq!(a.allocate(layout(1, 1)), Err(AllocError));
        assert_eq!(a.allocate(layout(512, 8)), Err(AllocError));
        assert_eq!(a.allocate(layout(1 << 40, 8)), Err(AllocError));
        // SAFETY: allocated above.
        unsafe { a.deallocate(whole.cast(), layout(200, 8)) };
        assert!(a.allocate(layout(256, 256)).is_ok());
        assert!(BuddyAllocator::try_with_capacity(usize::MAX).is_err());
    }

    #[test]
    fn alignment_and_shrink_in_place() {
        let buddy = BuddyAllocator::with_capacity(1 << 16);
        let a = &buddy;
        let p = a.allocate(layout(10, 4096)).unwrap();
        assert_eq!(p.cast::<u8>().as_ptr().addr() % 4096, 0);
        // SAFETY: the block is 4096 bytes long; shrinking it keeps the prefix in place.
        let q = unsafe {
            p.cast::<u8>().as_ptr().write_bytes(9, 10);
            a.shrink(p.cast(), layout(10, 4096), layout(10, 8)).unwrap()
        };
        assert_eq!(q.cast::<u8>(), p.cast::<u8>());
        assert_eq!(q.len(), 16);
        // SAFETY: the shrunk block keeps its first bytes.
        assert_eq!(unsafe { *q.cast::<u8>().as_ptr().add(9) }, 9);
        // SAFETY: the block now has this layout.
        unsafe { a.deallocate(q.cast(), layout(10, 8)) };
        assert_eq!(buddy.fragmentation().largest_free_block, 1 << 16);
    }

    #[test]
    fn freeing_or_shrinking_with_any_fitting_size_keeps_the_block_and_the_counts() {
        let buddy = BuddyAllocator::with_capacity(1 << 12);
        let a = &buddy;
        // A 20-byte request gets a 32-byte block; allocator-api2 lets it be freed with any
        // size from 20 to 32.
        let p = a.allocate(layout(20, 8)).unwrap();
        assert_eq!(p.len(), 32);
        // SAFETY: 32 is the length `allocate` returned: a fitting size.
        unsafe { a.deallocate(p.cast(), layout(32, 8)) };
        let f = buddy.fragmentation();
        assert_eq!((f.live_bytes, f.largest_free_block), (0, 1 << 12));
        // The whole region can be had again: nothing was lost.
        let whole = a.allocate(layout(1 << 12, 8)).unwrap();
        // SAFETY: allocated just above with this layout.
        unsafe { a.deallocate(whole.cast(), layout(1 << 12, 8)) };
        // Shrinking from a fitting size, with another block live.
        let keep = a.allocate(layout(100, 8)).unwrap();
        let q = a.allocate(layout(200, 8)).unwrap();
        // SAFETY: 256 is `q`'s returned length; 40 fits in it.
        let q = unsafe { a.shrink(q.cast(), layout(256, 8), layout(40, 8)) }.unwrap();
        assert!(buddy.fragmentation().live_bytes <= 140);
        // SAFETY: both live, freed with their current (fitting) sizes.
        unsafe {
            a.deallocate(q.cast(), layout(q.len(), 8));
            a.deallocate(keep.cast(), layout(100, 8));
        }
        let f = buddy.fragmentation();
        assert_eq!((f.live_bytes, f.largest_free_block), (0, 1 << 12));
    }
}
