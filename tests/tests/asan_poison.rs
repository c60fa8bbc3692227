//! Under AddressSanitizer (`bash .ci/sanitize`, which sets `--cfg typool_asan`), the bytes of a
//! free slot past its link are poisoned, so a use after free *inside* a pool — memory the pool
//! never gave back to the system — is reported. Without the cfg this file has no tests.
#![cfg(typool_asan)]

use std::process::Command;
use typool::{PoolBox, Pooled};

#[derive(Pooled)]
struct Obj {
    words: [u64; 8],
}

#[test]
fn a_use_after_free_inside_a_pool_is_reported() {
    if std::env::var("ASAN_POISON_CHILD").is_ok() {
        let b = PoolBox::new(Obj { words: [7; 8] });
        assert_eq!(b.words[1], 7);
        let kept = b.words.as_ptr();
        drop(b);
        // SAFETY: deliberately wrong: the slot is free (ASan must stop this read).
        let stale = unsafe { kept.add(1).read_volatile() };
        eprintln!("read {stale} from a free slot: not caught");
        std::process::exit(0);
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "a_use_after_free_inside_a_pool_is_reported",
            "--exact",
            "--nocapture",
        ])
        .env("ASAN_POISON_CHILD", "1")
        .output()
        .expect("the test binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the read was not caught:\n{stderr}");
    assert!(
        stderr.contains("use-after-poison"),
        "ASan did not report the poisoned slot:\n{stderr}"
    );
}
