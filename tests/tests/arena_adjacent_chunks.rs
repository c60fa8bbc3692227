//! The arena's `Allocator` impl under a global allocator that places blocks next to each other,
//! as any bump allocator does: a block at the end of an older chunk can then sit right below
//! the current chunk (bump upwards), or far above it (bump downwards). The arena must judge
//! "the most recent allocation" by the chunk, not by address alone.

use allocator_api2::alloc::{Allocator, Layout};
use allocator_api2::vec::Vec as AVec;
use std::alloc::{GlobalAlloc, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use typool::Arena;

/// A bump allocator over a static region, segregated by size as real ones are: blocks of 512
/// bytes and more upwards from the bottom (so the arena's chunks lie back to back), smaller
/// ones downwards from the top — and everything downwards on a thread that asks for it. Frees
/// are ignored; anything that does not fit goes to `System`.
struct Bump;

const REGION: usize = 64 << 20;
#[repr(align(4096))]
struct Region(core::cell::UnsafeCell<[u8; REGION]>);
// SAFETY: blocks handed out are disjoint; the region is only reached through them.
unsafe impl Sync for Region {}
static MEMORY: Region = Region(core::cell::UnsafeCell::new([0; REGION]));
/// Bytes taken from the bottom, and from the top.
static UP: AtomicUsize = AtomicUsize::new(0);
static DOWN: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static DOWNWARDS: Cell<bool> = const { Cell::new(false) };
}

fn base() -> usize {
    MEMORY.0.get().cast::<u8>() as usize
}

// SAFETY: every block is a distinct, aligned range of the static region (or `System`'s), and
// stays valid for the whole program.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let (size, align) = (layout.size(), layout.align());
        let down = size < 512 || DOWNWARDS.try_with(Cell::get).unwrap_or(false);
        loop {
            let (up, top) = (UP.load(Ordering::Relaxed), DOWN.load(Ordering::Relaxed));
            let (start, next_up, next_down) = if down {
                let end = base() + REGION - top;
                let start = (end.saturating_sub(size)) & !(align - 1);
                (start, up, base() + REGION - start)
            } else {
                let start = (base() + up + align - 1) & !(align - 1);
                (start, start + size - base(), top)
            };
            if start < base() + up || start + size > base() + REGION - top {
                // SAFETY: forwarded from the caller.
                return unsafe { System.alloc(layout) };
            }
            let (counter, old, new) = if down {
                (&DOWN, top, next_down)
            } else {
                (&UP, up, next_up)
            };
            if counter
                .compare_exchange(old, new, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                return start as *mut u8;
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let p = ptr as usize;
        if !(base()..base() + REGION).contains(&p) {
            // SAFETY: not ours, so `System`'s, with this layout.
            unsafe { System.dealloc(ptr, layout) };
        }
    }
}

#[global_allocator]
static GLOBAL: Bump = Bump;

/// Fills the arena's current chunk to its end with `block`, so the next allocation needs a
/// new chunk.
fn last_block_of_first_chunk(arena: &Arena) -> (std::ptr::NonNull<u8>, Layout) {
    let layout = Layout::from_size_align(64, 8).unwrap();
    let mut last = (&arena).allocate(layout).unwrap().cast::<u8>();
    while arena.stats().chunks == 1 && arena.stats().bytes_used + 64 <= arena.stats().bytes_reserved
    {
        last = (&arena).allocate(layout).unwrap().cast::<u8>();
    }
    (last, layout)
}

#[test]
fn freeing_the_last_block_of_an_older_adjacent_chunk_leaves_the_cursor_alone() {
    let arena = Arena::with_capacity(1024);
    let (last, layout) = last_block_of_first_chunk(&arena);
    // A request that does not fit: a new chunk, placed right after the first by the bump.
    let big = (&arena)
        .allocate(Layout::from_size_align(4096, 8).unwrap())
        .unwrap();
    assert_eq!(
        big.cast::<u8>().as_ptr() as usize,
        last.as_ptr() as usize + 64,
        "the two chunks are adjacent (the case under test)"
    );
    // Freeing `big` gives its bytes back: the current chunk is empty, its cursor at its base,
    // which is also where the first chunk's last block ends.
    // SAFETY: `big` was allocated above with this layout.
    unsafe { (&arena).deallocate(big.cast(), Layout::from_size_align(4096, 8).unwrap()) };
    let used = arena.stats().bytes_used;
    // SAFETY: `last` was allocated above with `layout`.
    unsafe { (&arena).deallocate(last, layout) };
    assert_eq!(
        arena.stats().bytes_used,
        used,
        "freeing a block of an older chunk changed the current one"
    );
    // The next allocation lies in the current chunk, where `big` was.
    let next = (&arena).allocate(layout).unwrap().cast::<u8>();
    assert_eq!(next.as_ptr(), big.cast::<u8>().as_ptr());
}

#[test]
fn growing_a_vector_in_an_older_chunk_above_the_current_one_moves_it() {
    DOWNWARDS.with(|d| d.set(true));
    let arena = Arena::with_capacity(1024);
    let mut v: AVec<u64, &Arena> = AVec::new_in(&arena);
    v.extend(0..16);
    // A chunk the bump places *below* the first: the vector now sits above `hi`.
    let _filler = (&arena)
        .allocate(Layout::from_size_align(8192, 8).unwrap())
        .unwrap();
    v.extend(16..4000);
    assert!(v.iter().copied().eq(0..4000));
    DOWNWARDS.with(|d| d.set(false));
}
