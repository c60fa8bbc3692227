//! Shared-memory pools between real processes (issue 23): the test binary re-executes itself
//! as the other process (`Peer::spawn` runs one test of this file with a role in the
//! environment; that test sees the role and plays it instead).
#![cfg(target_os = "linux")]

use std::process::{Command, Stdio};
use typool::bytemuck::{Pod, Zeroable};
use typool::shm::{SharedPool, ShmError, ShmIndex};
use typool::PoolError;

#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
#[bytemuck(crate = "typool::bytemuck")]
#[repr(C)]
struct Msg {
    seq: u64,
    payload: [u64; 6],
    check: u64,
}

fn msg(seq: u64) -> Msg {
    let payload = core::array::from_fn(|i| seq.rotate_left(i as u32 * 7) ^ 0x5555);
    let check = payload
        .iter()
        .fold(seq, |a, p| a.wrapping_mul(31).wrapping_add(*p));
    Msg {
        seq,
        payload,
        check,
    }
}

fn intact(m: &Msg) -> bool {
    *m == msg(m.seq)
}

const ROLE: &str = "TYPOOL_SHM_ROLE";
const SEGMENT: &str = "TYPOOL_SHM_SEGMENT";

/// A segment name of this test process's own, unlinked when dropped.
struct Name(String);

impl Name {
    fn new(test: &str) -> Name {
        Name(format!("typool-test-{}-{test}", std::process::id()))
    }
}

impl Drop for Name {
    fn drop(&mut self) {
        let _ = SharedPool::<Msg>::unlink(&self.0);
    }
}

/// This test's role and segment, in a re-executed child; `None` in the parent.
fn role() -> Option<(String, String)> {
    Some((std::env::var(ROLE).ok()?, std::env::var(SEGMENT).ok()?))
}

/// Runs `test` of this binary in a new process with `role` on segment `name`.
fn spawn(test: &str, role: &str, name: &str, extra: &[(&str, String)]) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(SEGMENT, name)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn assert_all_free(pool: &SharedPool<Msg>) {
    assert_eq!(pool.stats().live, 0, "{:?}", pool.stats());
    let all: Vec<_> = (0..pool.capacity())
        .map(|i| pool.alloc(msg(i as u64)).expect("every slot is free again"))
        .collect();
    assert!(all.iter().all(|b| intact(b)));
}

const MESSAGES: u64 = 100_000;

#[test]
fn a_hundred_thousand_messages_cross_to_another_process_whole() {
    if let Some((role, name)) = role() {
        assert_eq!(role, "receiver");
        let pool = SharedPool::<Msg>::open(&name).unwrap();
        let (mut next, mut sum) = (0, 0u64);
        while next < MESSAGES {
            if let Some(m) = pool.recv() {
                assert!(intact(&m), "message {} arrived damaged", m.seq);
                assert_eq!(m.seq, next, "one sender, one receiver: in order");
                sum = sum.wrapping_add(m.check);
                next += 1;
            } else {
                std::hint::spin_loop();
            }
        }
        println!("sum {sum}");
        return;
    }
    let name = Name::new("ring");
    let pool = SharedPool::<Msg>::create(&name.0, 256).unwrap();
    let child = spawn(
        "a_hundred_thousand_messages_cross_to_another_process_whole",
        "receiver",
        &name.0,
        &[],
    );
    let mut sum = 0u64;
    for seq in 0..MESSAGES {
        let m = msg(seq);
        sum = sum.wrapping_add(m.check);
        let mut b = loop {
            match pool.alloc(m) {
                Ok(b) => break b,
                // Every slot is on its way or in the receiver's cache: wait for it to free.
                Err(PoolError::Exhausted { .. }) => std::hint::spin_loop(),
                Err(e) => panic!("{e}"),
            }
        };
        while let Err(back) = pool.send(b) {
            b = back;
            std::hint::spin_loop();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "receiver: {:?}", out.status);
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(
        said.contains(&format!("sum {sum}")),
        "receiver said {said:?}"
    );
    // The receiver exited and dropped its handle: its cache came back.
    assert_all_free(&pool);
}

#[test]
fn a_child_that_aborts_holding_slots_gives_them_back_through_recover() {
    if let Some((role, name)) = role() {
        assert_eq!(role, "aborter");
        let pool = SharedPool::<Msg>::open(&name).unwrap();
        let held: Vec<_> = (0..100).map(|i| pool.alloc(msg(i)).unwrap()).collect();
        let received: Vec<_> = std::iter::from_fn(|| pool.recv()).collect();
        assert_eq!(received.len(), 5);
        let index = pool.alloc(msg(500)).unwrap().into_index();
        println!("index {}", index.to_raw());
        core::mem::forget((held, received));
        std::process::abort();
    }
    let name = Name::new("abort");
    let pool = SharedPool::<Msg>::create(&name.0, 1024).unwrap();
    for i in 0..5 {
        pool.send(pool.alloc(msg(i)).unwrap()).unwrap();
    }
    let child = spawn(
        "a_child_that_aborts_holding_slots_gives_them_back_through_recover",
        "aborter",
        &name.0,
        &[],
    );
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "the child aborted");
    let said = String::from_utf8(out.stdout).unwrap();
    // libtest's own "test … " may precede it on the line.
    let raw: u64 = said
        .split("index ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the child printed no index: {said:?}"))
        .parse()
        .unwrap();
    // 100 boxes, 5 received, one index handed out: all live until someone recovers.
    assert_eq!(pool.stats().live, 106);
    let recovered = pool.recover();
    assert!(recovered >= 106, "recovered {recovered}");
    assert_eq!(pool.recover(), 0, "recovered once");
    assert!(matches!(
        pool.take(ShmIndex::from_raw(raw)),
        Err(ShmError::StaleIndex { .. })
    ));
    assert_all_free(&pool);
}

#[test]
fn a_sender_killed_at_any_instruction_loses_nothing() {
    if let Some((role, name)) = role() {
        assert_eq!(role, "flooder");
        let pool = SharedPool::<Msg>::open(&name).unwrap();
        for seq in 0.. {
            if let Ok(b) = pool.alloc(msg(seq)) {
                let _ = pool.send(b);
            }
        }
        unreachable!();
    }
    let name = Name::new("kill");
    let pool = SharedPool::<Msg>::create(&name.0, 64).unwrap();
    for round in 0..5 {
        let mut child = spawn(
            "a_sender_killed_at_any_instruction_loses_nothing",
            "flooder",
            &name.0,
            &[],
        );
        let mut got = 0;
        while got < 2_000 + round * 1_000 {
            if let Some(m) = pool.recv() {
                assert!(intact(&m));
                got += 1;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        pool.recover();
        // What the flooder had sent is still there, once each; nothing else is held.
        let mut seen = std::collections::HashSet::new();
        while let Some(m) = pool.recv() {
            assert!(intact(&m));
            assert!(seen.insert(m.seq), "message {} delivered twice", m.seq);
        }
        assert_all_free(&pool);
    }
}

#[test]
fn an_index_passed_through_another_channel_is_taken_once() {
    if let Some((role, name)) = role() {
        assert_eq!(role, "taker");
        let pool = SharedPool::<Msg>::open(&name).unwrap();
        let raw: u64 = std::env::var("TYPOOL_SHM_INDEX").unwrap().parse().unwrap();
        let b = pool.take(ShmIndex::from_raw(raw)).unwrap();
        assert!(intact(&b));
        println!("took {}", b.seq);
        // A second take of the same index fails, in this process too.
        assert!(matches!(
            pool.take(ShmIndex::from_raw(raw)),
            Err(ShmError::StaleIndex { .. })
        ));
        return;
    }
    let name = Name::new("index");
    let pool = SharedPool::<Msg>::create(&name.0, 64).unwrap();
    let raw = pool.alloc(msg(42)).unwrap().into_index().to_raw();
    let out = spawn(
        "an_index_passed_through_another_channel_is_taken_once",
        "taker",
        &name.0,
        &[("TYPOOL_SHM_INDEX", raw.to_string())],
    )
    .wait_with_output()
    .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().contains("took 42"));
    let stale = pool.take(ShmIndex::from_raw(raw)).unwrap_err();
    assert!(matches!(stale, ShmError::StaleIndex { .. }), "{stale}");
    assert!(
        stale.to_string().contains(&name.0),
        "names the segment: {stale}"
    );
    // Forged indices: past the slots, and in range with a generation never handed out.
    let out_of_range = pool.take(ShmIndex::from_raw(64)).unwrap_err();
    assert!(matches!(
        out_of_range,
        ShmError::OutOfRange { capacity: 64, .. }
    ));
    for forged in [u64::MAX, 7 | 99 << 32, 0] {
        assert!(
            pool.take(ShmIndex::from_raw(forged)).is_err(),
            "{forged:#x}"
        );
    }
    assert_all_free(&pool);
}

#[test]
fn another_type_is_refused_naming_both_layouts() {
    let name = Name::new("type");
    let _pool = SharedPool::<Msg>::create(&name.0, 8).unwrap();
    let err = SharedPool::<[u8; 32]>::open(&name.0).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ShmError::WrongType { .. }), "{text}");
    assert!(text.contains("shm::Msg` (64 bytes, align 8)"), "{text}");
    assert!(text.contains("`[u8; 32]` (32 bytes, align 1)"), "{text}");
    assert!(text.contains(&name.0), "{text}");
    // Same size, another alignment: refused too.
    assert!(SharedPool::<[u8; 64]>::open(&name.0).is_err());
}

#[test]
fn a_live_name_cannot_be_created_twice_and_an_abandoned_one_is_replaced() {
    let name = Name::new("twice");
    let first = SharedPool::<Msg>::create(&name.0, 8).unwrap();
    let err = SharedPool::<Msg>::create(&name.0, 8).unwrap_err();
    assert!(matches!(err, ShmError::Exists { .. }), "{err}");
    first.send(first.alloc(msg(1)).unwrap()).unwrap();
    drop(first);
    // No live handle has it open now: a new create replaces it, empty.
    let second = SharedPool::<Msg>::create(&name.0, 16).unwrap();
    assert_eq!(second.capacity(), 16);
    assert!(second.recv().is_none());
}

#[test]
fn bad_names_and_capacities_are_refused() {
    for bad in ["", "a/b", "/feed", "..", "nul\0byte"] {
        let err = SharedPool::<Msg>::create(bad, 8).unwrap_err();
        assert!(
            matches!(err, ShmError::InvalidName { .. }),
            "{bad:?}: {err}"
        );
        assert!(SharedPool::<Msg>::open(bad).is_err());
    }
    let name = Name::new("capacity");
    for capacity in [0, (1 << 30) + 1] {
        let err = SharedPool::<Msg>::create(&name.0, capacity).unwrap_err();
        assert!(matches!(err, ShmError::BadCapacity { .. }), "{err}");
    }
    let err = SharedPool::<Msg>::open("typool-test-no-such-segment").unwrap_err();
    assert!(matches!(err, ShmError::NotFound { .. }), "{err}");
    assert!(matches!(
        SharedPool::<Msg>::unlink("typool-test-no-such-segment"),
        Err(ShmError::NotFound { .. })
    ));
}

#[test]
fn a_segment_is_for_its_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let name = Name::new("mode");
    let _pool = SharedPool::<Msg>::create(&name.0, 8).unwrap();
    let mode = std::fs::metadata(format!("/dev/shm/{}", name.0))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
}

#[test]
fn a_forked_child_opens_the_segment_again() {
    let name = Name::new("fork");
    let pool = SharedPool::<Msg>::create(&name.0, 64).unwrap();
    let parents = pool.alloc(msg(1)).unwrap();
    // SAFETY: the child only runs the closure below and `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = pool.alloc(msg(2));
            }));
            let own = SharedPool::<Msg>::open(&name.0).unwrap();
            let b = own.alloc(msg(3)).unwrap();
            own.send(b).unwrap();
            // The parent's box and handle are dropped here: that must not touch the slots.
            drop(parents);
            drop(own);
            i32::from(refused.is_ok())
        }))
        .unwrap_or(2);
        // SAFETY: ends the child without running the parent's atexit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: `pid` is this process's child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{status:#x}"
    );
    assert_eq!(
        *parents,
        msg(1),
        "the child's drop left the parent's box alone"
    );
    let sent = pool.recv().expect("the child's message");
    assert_eq!(*sent, msg(3));
    drop((sent, parents));
    assert_all_free(&pool);
}

#[test]
fn threads_of_one_process_each_use_a_handle_of_their_own() {
    let name = Name::new("threads");
    let owner = SharedPool::<Msg>::create(&name.0, 128).unwrap();
    let per_thread = 20_000;
    let received = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let name = &name.0;
            s.spawn(move || {
                let pool = SharedPool::<Msg>::open(name).unwrap();
                for i in 0..per_thread {
                    let mut b = loop {
                        if let Ok(b) = pool.alloc(msg(t << 32 | i)) {
                            break b;
                        }
                        std::thread::yield_now();
                    };
                    while let Err(back) = pool.send(b) {
                        b = back;
                    }
                }
            });
        }
        for _ in 0..2 {
            let (name, received) = (&name.0, &received);
            s.spawn(move || {
                let pool = SharedPool::<Msg>::open(name).unwrap();
                while received.load(std::sync::atomic::Ordering::Relaxed) < 2 * per_thread {
                    match pool.recv() {
                        Some(m) => {
                            assert!(intact(&m));
                            received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        None => std::thread::yield_now(),
                    }
                }
            });
        }
    });
    assert_all_free(&owner);
}

#[test]
fn a_segment_larger_than_dev_shm_is_an_error_not_a_fault_later() {
    // SAFETY: `statvfs` is plain integers, for which all zeroes is a valid value.
    let mut fs: libc::statvfs = unsafe { core::mem::zeroed() };
    // SAFETY: the path is NUL-terminated and `fs` is a valid place for the result.
    let rc = unsafe { libc::statvfs(c"/dev/shm".as_ptr(), &mut fs) };
    assert_eq!(rc, 0);
    let free = fs.f_bavail as u64 * fs.f_frsize as u64;
    // Twice what is free, in 4 KiB slots, if the layout can express it.
    let capacity = (2 * free / 4096).max(1) as usize;
    if capacity > 1 << 30 {
        eprintln!("/dev/shm has more than 2 TiB free: nothing to test");
        return;
    }
    let name = Name::new("enospc");
    let err = SharedPool::<[u8; 4096]>::create(&name.0, capacity).unwrap_err();
    assert!(
        matches!(
            err,
            ShmError::Os {
                call: "fallocate",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        matches!(
            SharedPool::<[u8; 4096]>::open(&name.0),
            Err(ShmError::NotFound { .. })
        ),
        "a failed create leaves no name behind"
    );
}
