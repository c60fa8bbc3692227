//! With a counting global allocator: after warm-up, a request handled under `#[arena_scope]`
//! allocates nothing from the system — everything comes from the reused arena.
//!
//! Only the measuring thread's allocations count: the test harness's main thread allocates
//! while it waits for the test (its first blocking receive builds a waker), and on a loaded
//! machine that can fall inside the measured window.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use typool::{arena_scope, ArenaVec};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

std::thread_local! {
    /// Whether this thread's allocations count (a const cell: no allocation, no destructor).
    static MEASURED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if MEASURED.try_with(Cell::get).unwrap_or(false) {
        ALLOCS.fetch_add(1, Relaxed);
    }
}

// SAFETY: forwards to `System`, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const REQUESTS: [&str; 4] = [
    "GET /index.html HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\n",
    "POST /api/items HTTP/1.1\r\nHost: example\r\nContent-Type: application/json\r\n\r\n{\"name\":\"bolt\",\"qty\":12}",
    "GET /search?q=memory+pools&page=2 HTTP/1.1\r\nHost: example\r\n\r\n",
    "DELETE /api/items/42 HTTP/1.1\r\nHost: example\r\nAuthorization: token\r\n\r\n",
];

/// Parses headers into arena vectors, builds a response line in the arena.
#[arena_scope(capacity = 1024)]
fn handle(req: &str) -> usize {
    let mut headers: ArenaVec<(&str, &str)> = ArenaVec::new_in(arena);
    let mut lines = req.split("\r\n");
    let first = lines.next().unwrap_or("");
    for line in lines.by_ref().take_while(|l| !l.is_empty()) {
        if let Some((k, v)) = line.split_once(": ") {
            headers.push((k, v));
        }
    }
    let lowered = arena.alloc_slice_fill_with(headers.len(), |i| {
        let name = arena.alloc_str(headers[i].0);
        name.make_ascii_lowercase();
        name.len()
    });
    let body = arena.alloc_str(lines.next().unwrap_or(""));
    first.len() + lowered.iter().sum::<usize>() + body.len()
}

#[test]
fn zero_system_allocations_per_request_after_warm_up() {
    MEASURED.with(|m| m.set(true));
    for r in REQUESTS.iter().cycle().take(100) {
        handle(r);
    }
    let before = ALLOCS.load(Relaxed);
    let mut total = 0;
    for r in REQUESTS.iter().cycle().take(10_000) {
        total += handle(r);
    }
    let during = ALLOCS.load(Relaxed) - before;
    assert!(total > 0);
    assert_eq!(
        during, 0,
        "10,000 requests made {during} system allocations"
    );
}
