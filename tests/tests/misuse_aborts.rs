//! Misuse an allocator cannot hand back — a double free, a foreign pointer, a block freed with
//! another layout — is reported with a message that names the allocator, and the process
//! aborts: an allocator must never unwind out of `dealloc`.
//!
//! Each case runs in a child process (this test binary again, with `MISUSE_CASE` set), and the
//! parent checks that the child died by `SIGABRT` and what it wrote on standard error.

use allocator_api2::alloc::{Allocator, Layout};
use std::process::Command;
use std::ptr::NonNull;
use typool::{BuddyAllocator, SlabAllocator};

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
#[cfg(debug_assertions)]
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
#[cfg(debug_assertions)]
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
#[cfg(debug_assertions)]
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
