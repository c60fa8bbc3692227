//! Internal package of the typool workspace; see its `examples/` targets. This library holds
//! what several examples share: the showcase's workload (`server`), its A/B harness (`ab`),
//! its plots (`plots`) and its claims (`claims`), and a counting global allocator.

pub mod ab;
pub mod claims;
pub mod plots;
pub mod server;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;

/// The path of example `name` as `cargo test` builds it, beside the calling test's binary
/// (for the tests that run an example as a user does). Panics with what to run if it is not
/// built: `cargo test --test X` alone builds no examples.
pub fn built_example(name: &str) -> PathBuf {
    let test = std::env::current_exe().expect("the test's own path");
    let profile = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = profile
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built: run `cargo test -p typool-examples` (or the workspace), which builds the examples",
        path.display()
    );
    path
}
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
