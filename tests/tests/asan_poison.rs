//! Under AddressSanitizer (`bash .ci/sanitize`, which sets `--cfg typool_asan`), memory typool
//! keeps but no one may touch is poisoned: the bytes of a free pool slot past its link words,
//! and an arena's free gap (including what a reset or restore gave back). So a use after free
//! *inside* a pool or an arena — memory never given back to the system — is reported. Without
//! the cfg this file has no tests.
#![cfg(typool_asan)]

use std::process::Command;
use typool::{Arena, PoolBox, Pooled};

#[derive(Pooled)]
struct Obj {
    words: [u64; 8],
}

/// Runs `stale_read` in a child (this test binary again) and checks that ASan stops it.
fn expect_use_after_poison(case: &str, stale_read: impl FnOnce() -> u64) {
    if std::env::var("ASAN_POISON_CHILD").as_deref() == Ok(case) {
        let stale = stale_read();
        eprintln!("read {stale} from freed memory: not caught");
        std::process::exit(0);
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([case, "--exact", "--nocapture"])
        .env("ASAN_POISON_CHILD", case)
        .output()
        .expect("the test binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{case}: the read was not caught:\n{stderr}"
    );
    assert!(
        stderr.contains("use-after-poison"),
        "{case}: ASan did not report poisoned memory:\n{stderr}"
    );
}

#[test]
fn a_use_after_free_inside_a_pool_is_reported() {
    expect_use_after_poison("a_use_after_free_inside_a_pool_is_reported", || {
        let b = PoolBox::new(Obj { words: [7; 8] });
        assert_eq!(b.words[3], 7);
        let kept = b.words.as_ptr();
        drop(b);
        // SAFETY: deliberately wrong: the slot is free (ASan must stop this read).
        unsafe { kept.add(3).read_volatile() }
    });
}

#[test]
fn a_read_of_arena_memory_after_reset_is_reported() {
    expect_use_after_poison("a_read_of_arena_memory_after_reset_is_reported", || {
        let mut arena = Arena::with_capacity(4096);
        let kept: *const u64 = arena.alloc([7u64; 4]).as_ptr();
        arena.reset();
        // SAFETY: deliberately wrong: the arena was reset (ASan must stop this read).
        unsafe { kept.add(1).read_volatile() }
    });
}

#[test]
fn a_read_past_an_arena_allocation_is_reported() {
    expect_use_after_poison("a_read_past_an_arena_allocation_is_reported", || {
        let arena = Arena::with_capacity(4096);
        let kept: *const u64 = arena.alloc([7u64; 4]).as_ptr();
        // SAFETY: deliberately wrong: past the allocation, in the arena's free gap.
        unsafe { kept.add(6).read_volatile() }
    });
}
