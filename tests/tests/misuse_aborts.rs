//! Misuse an allocator cannot hand back — a double free, a foreign pointer, a block freed with
//! another layout — is reported with a message that names the allocator, and the process
//! aborts: an allocator must never unwind out of `dealloc`.
//!
//! Each case runs in a child process (this test binary again, with `MISUSE_CASE` set), and the
//! parent checks that the child died by `SIGABRT` and what it wrote on standard error.
//!
//! The slab's and the pools' checks are on in debug builds and, in release builds, with
//! feature `hardened` (`cargo test -p typool-tests --release --features hardened --test
//! misuse_aborts`, which `.ci/run` runs); the buddy's are always on.

use allocator_api2::alloc::{Allocator, Layout};
use std::process::Command;
use std::ptr::NonNull;
use typool::{BuddyAllocator, PoolBox, Pooled, SlabAllocator};

/// Runs the misuse named `case` in a child, or — in the child — commits it.
fn expect_abort(case: &str, message: &str, misuse: impl FnOnce()) {
    if std::env::var("MISUSE_CASE").as_deref() == Ok(case) {
        misuse();
        eprintln!("the misuse was not caught");
        std::process::exit(0);
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([case, "--exact", "--nocapture", "--test-threads=1"])
        .env("MISUSE_CASE", case)
        .output()
        .expect("the test binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            out.status.signal(),
            Some(6),
            "{case}: the child should abort (SIGABRT), got {:?}; stderr:\n{stderr}",
            out.status
        );
    }
    #[cfg(not(unix))]
    assert!(!out.status.success(), "{case}: the child should abort");
    assert!(
        stderr.contains(message),
        "{case}: stderr lacks {message:?}:\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "{case}: a panic, not an abort:\n{stderr}"
    );
}

#[test]
fn buddy_double_free_aborts_with_a_message() {
    expect_abort(
        "buddy_double_free_aborts_with_a_message",
        "BuddyAllocator: ",
        || {
            let buddy = BuddyAllocator::with_capacity(1024);
            let layout = Layout::from_size_align(64, 8).unwrap();
            let p = (&buddy).allocate(layout).unwrap();
            // SAFETY: deliberately wrong the second time: the check aborts before any change.
            unsafe {
                (&buddy).deallocate(p.cast(), layout);
                (&buddy).deallocate(p.cast(), layout);
            }
        },
    );
}

#[test]
fn buddy_foreign_pointer_aborts_with_a_message() {
    expect_abort(
        "buddy_foreign_pointer_aborts_with_a_message",
        "not in this allocator's region",
        || {
            let buddy = BuddyAllocator::with_capacity(1024);
            let mut x = [0u64; 2];
            let layout = Layout::from_size_align(16, 8).unwrap();
            // SAFETY: deliberately wrong: the check aborts before any change.
            unsafe { (&buddy).deallocate(NonNull::from(&mut x).cast(), layout) };
        },
    );
}

#[test]
#[cfg(any(debug_assertions, feature = "hardened"))]
fn slab_free_with_another_class_aborts_with_a_message() {
    expect_abort(
        "slab_free_with_another_class_aborts_with_a_message",
        "it was allocated with a different layout",
        || {
            let slab = SlabAllocator::new();
            let p = (&slab).allocate(Layout::new::<[u8; 24]>()).unwrap();
            // SAFETY: deliberately wrong: the check aborts before anything is freed.
            unsafe { (&slab).deallocate(p.cast(), Layout::new::<[u8; 200]>()) };
        },
    );
}

#[test]
#[cfg(any(debug_assertions, feature = "hardened"))]
fn slab_foreign_pointer_aborts_with_a_message() {
    expect_abort(
        "slab_foreign_pointer_aborts_with_a_message",
        "SlabAllocator: ",
        || {
            let slab = SlabAllocator::new();
            let mut local = [0u64; 4];
            let p = NonNull::from(&mut local).cast::<u8>();
            // SAFETY: deliberately wrong: the check aborts before anything is freed.
            unsafe { (&slab).deallocate(p, Layout::new::<[u64; 4]>()) };
        },
    );
}

#[test]
#[cfg(any(debug_assertions, feature = "hardened"))]
fn slab_interior_pointer_aborts_with_a_message() {
    expect_abort(
        "slab_interior_pointer_aborts_with_a_message",
        "is not a block of the 40 B size class",
        || {
            let slab = SlabAllocator::new();
            let layout = Layout::new::<[u8; 40]>();
            // Two blocks, so the pointer below is inside the class's carved memory.
            let p = (&slab).allocate(layout).unwrap().cast::<u8>();
            let _q = (&slab).allocate(layout).unwrap();
            // SAFETY: deliberately wrong: 8 bytes into a block is no block's start (40 B slots,
            // a size that is not a power of two); the check aborts before anything is freed.
            unsafe { (&slab).deallocate(p.add(8), layout) };
        },
    );
}

#[test]
#[cfg(any(debug_assertions, feature = "hardened"))]
fn slab_global_dealloc_with_a_large_layout_aborts_with_a_message() {
    use std::alloc::GlobalAlloc;
    expect_abort(
        "slab_global_dealloc_with_a_large_layout_aborts_with_a_message",
        "a layout past every size class",
        || {
            let slab = SlabAllocator::new();
            // SAFETY: a non-zero layout.
            let p = unsafe { slab.alloc(Layout::new::<[u8; 64]>()) };
            // SAFETY: deliberately wrong: the check aborts before anything is freed.
            unsafe { slab.dealloc(p, Layout::new::<[u8; 100_000]>()) };
        },
    );
}

#[test]
#[cfg(any(debug_assertions, feature = "hardened"))]
fn slab_double_free_aborts_before_the_block_is_reused() {
    expect_abort(
        "slab_double_free_aborts_before_the_block_is_reused",
        "SlabAllocator's size class (16 B slots) freed twice",
        || {
            let slab = SlabAllocator::new();
            let layout = Layout::new::<[u8; 12]>();
            let p = (&slab).allocate(layout).unwrap();
            // SAFETY: deliberately wrong the second time: the check aborts before the block
            // is linked into a free list twice.
            unsafe {
                (&slab).deallocate(p.cast(), layout);
                (&slab).deallocate(p.cast(), layout);
            }
        },
    );
}

#[test]
#[cfg(any(debug_assertions, feature = "hardened"))]
fn slab_write_after_free_is_caught_when_the_block_is_handed_out() {
    expect_abort(
        "slab_write_after_free_is_caught_when_the_block_is_handed_out",
        "was written after it was freed",
        || {
            let slab = SlabAllocator::new();
            let layout = Layout::new::<[u64; 4]>();
            let p = (&slab).allocate(layout).unwrap().cast::<u64>();
            // SAFETY: deliberately wrong: a write through a dangling pointer into a free
            // block, whose memory the slab keeps mapped; the next allocation must notice.
            unsafe {
                (&slab).deallocate(p.cast(), layout);
                p.as_ptr().write_volatile(0x4141_4141_4141_4141);
                p.as_ptr().add(1).write_volatile(0x4141_4141_4141_4141);
            }
            let _ = (&slab).allocate(layout);
        },
    );
}

#[derive(Pooled)]
struct Session {
    id: u64,
}

#[test]
#[cfg(any(debug_assertions, feature = "hardened"))]
fn a_pool_box_freed_twice_across_threads_aborts_naming_the_pool() {
    expect_abort(
        "a_pool_box_freed_twice_across_threads_aborts_naming_the_pool",
        "in the pool for misuse_aborts::Session",
        || {
            let raw = PoolBox::into_raw(PoolBox::new(Session { id: 7 }));
            let addr = raw as usize;
            // The first free, on another thread: the slot goes to that thread's cache and,
            // when it exits, to the depot — where the calling thread's debug walk cannot see it.
            std::thread::spawn(move || {
                // SAFETY: from `into_raw`, taken back once here.
                let b = unsafe { PoolBox::from_raw(addr as *mut Session) };
                assert_eq!(b.id, 7);
            })
            .join()
            .unwrap();
            // SAFETY: deliberately wrong: the second free must abort, not link the slot twice.
            drop(unsafe { PoolBox::from_raw(raw) });
        },
    );
}
