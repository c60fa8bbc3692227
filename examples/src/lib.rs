//! Internal package of the typool workspace; see its `examples/` targets. This library holds
//! what several examples share: the showcase's workload (`server`), its A/B harness (`ab`),
//! its plots (`plots`) and its claims (`claims`), and a counting global allocator.

pub mod ab;
pub mod claims;
pub mod plots;
pub mod server;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The system allocator, counting calls and the bytes currently asked for. An example installs
/// it with `#[global_allocator] static GLOBAL: Counting = Counting;`.
#[derive(Debug)]
pub struct Counting;

static CALLS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

impl Counting {
    /// Allocations and reallocations so far.
    pub fn calls() -> usize {
        CALLS.load(Relaxed)
    }

    /// Bytes requested by blocks not yet freed (what callers asked for, not malloc's headers).
    pub fn bytes() -> usize {
        BYTES.load(Relaxed)
    }
}

// SAFETY: forwards every call to `System` unchanged, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        CALLS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size(), Relaxed);
        // SAFETY: the caller's contract is forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        BYTES.fetch_sub(layout.size(), Relaxed);
        // SAFETY: the caller's contract is forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        CALLS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size, Relaxed);
        BYTES.fetch_sub(layout.size(), Relaxed);
        // SAFETY: the caller's contract is forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
