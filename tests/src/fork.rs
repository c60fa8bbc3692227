//! The fork workload (issue 20): threads churn every kind of typool memory while the main
//! thread forks; each child allocates, frees, trims and reads the stats, then exits. A child
//! that inherited a held lock hangs, and the parent reports it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use typool::{Pool, PoolBox, PoolConfig, Pooled, PooledVec};

/// A derived pool's type.
#[derive(Pooled, Debug)]
pub struct Node {
    value: u64,
    _pad: [u64; 3],
}

/// A type for a `Pool<T>` that lives in a static.
#[derive(Debug)]
pub struct Blob(pub [u64; 16]);

static BLOBS: Pool<Blob> = Pool::with_config(PoolConfig::new());

/// What the parent saw of its children.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Children that exited 0 in time.
    pub ok: usize,
    /// Children killed after the time limit: each inherited a held lock.
    pub hung: usize,
    /// Children that exited otherwise (a status that is not 0, or a signal).
    pub failed: Vec<i32>,
}

/// Memory work that passes through every lock typool has: thread caches' slow paths, the
/// depot, segments, the registry, `trim`, `stats::all`, the slab behind `PoolAlloc`, and
/// thread exit. `round` varies the sizes.
pub fn churn(round: u64) -> u64 {
    let n = 2_000 + (round % 7) as usize * 500;
    let nodes: Vec<PoolBox<Node>> = (0..n as u64)
        .map(|i| {
            PoolBox::new(Node {
                value: i,
                _pad: [0; 3],
            })
        })
        .collect();
    let blobs: Vec<_> = (0..n / 4)
        .map(|i| BLOBS.alloc(Blob([i as u64; 16])))
        .collect();
    let mut v: PooledVec<u64> = PooledVec::new_in(typool::PoolAlloc);
    v.extend(0..n as u64 * 2);
    let sum = nodes.iter().map(|b| b.value).sum::<u64>()
        + blobs.iter().map(|b| b.0[0]).sum::<u64>()
        + v.iter().sum::<u64>();
    drop(nodes);
    drop(blobs);
    drop(v);
    if round.is_multiple_of(5) {
        Node::pool().trim();
        BLOBS.trim();
    }
    if round.is_multiple_of(3) {
        sum + typool::stats::all().len() as u64
    } else {
        sum
    }
}

/// The fork test's check: `TYPOOL_FORKS` (200) forks beside churning threads, each child
/// exiting 0 within 10 s.
pub fn assert_children_never_hang() {
    let forks = std::env::var("TYPOOL_FORKS").map_or(200, |v| v.parse().unwrap());
    let outcome = fork_while_churning(forks, Duration::from_secs(10));
    assert_eq!(outcome.hung, 0, "{outcome:?}");
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    assert_eq!(outcome.ok, forks);
}

/// Forks `forks` times while three threads churn (one of them through short-lived threads);
/// each child runs [`churn`] and its own checks and `_exit`s 0, or is killed after `limit`.
pub fn fork_while_churning(forks: usize, limit: Duration) -> Outcome {
    static STOP: AtomicBool = AtomicBool::new(false);
    STOP.store(false, Ordering::SeqCst);
    let outcome = Mutex::new(Outcome::default());
    std::thread::scope(|s| {
        for t in 0..3u64 {
            s.spawn(move || {
                let mut round = t;
                while !STOP.load(Ordering::Relaxed) {
                    if t == 2 {
                        std::thread::scope(|s| {
                            s.spawn(|| churn(round));
                        });
                    } else {
                        churn(round);
                    }
                    round += 3;
                }
            });
        }
        for i in 0..forks {
            let child = fork_child(i as u64);
            let status = wait_for(child, limit);
            let mut o = outcome.lock().unwrap();
            match status {
                Some(0) => o.ok += 1,
                Some(code) => o.failed.push(code),
                None => o.hung += 1,
            }
        }
        STOP.store(true, Ordering::SeqCst);
    });
    outcome.into_inner().unwrap()
}

/// Forks; the child allocates and frees 20,000 pooled objects and more, checks them, and
/// exits 0 (else a bit per failed check: 1 values, 2 sum, 4 listed, 8 trim). Returns the
/// child's pid.
fn fork_child(i: u64) -> libc::pid_t {
    // SAFETY: fork has no preconditions; the child only runs code that is sound in a child
    // of a multithreaded process when every lock it takes was free at the fork — what the
    // test checks — and leaves with `_exit`, running no destructors or atexit handlers.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid > 0 {
        return pid;
    }
    let held: Vec<PoolBox<Node>> = (0..20_000u64)
        .map(|v| {
            PoolBox::new(Node {
                value: v ^ i,
                _pad: [v; 3],
            })
        })
        .collect();
    let ok = held
        .iter()
        .enumerate()
        .all(|(v, b)| b.value == v as u64 ^ i);
    // Listed while it holds objects (after the trim below it may hold no memory at all, and
    // then it is rightly not listed: its pages may all have come back).
    let seen = typool::stats::all()
        .iter()
        .any(|s| s.type_name.ends_with("Node") && s.live >= 20_000);
    drop(held);
    let sum = churn(i);
    let trimmed = Node::pool().trim() + BLOBS.trim();
    let _ = typool::stats::all();
    // One bit per failed check, so that a failure says which.
    let code = i32::from(!ok)
        | i32::from(sum == 0) << 1
        | i32::from(!seen) << 2
        | i32::from(trimmed == usize::MAX) << 3;
    // SAFETY: ends the child at once, as a forked child of a threaded program should.
    unsafe { libc::_exit(code) }
}

/// The child's exit status, or `None` if it had not exited after `limit` (it is killed).
fn wait_for(pid: libc::pid_t, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: `pid` is our child; `status` is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(r >= 0, "waitpid failed");
        if r == pid {
            return Some(if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            });
        }
        if start.elapsed() > limit {
            backtrace_of(pid);
            // SAFETY: as above; the child is reaped right after.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Prints where a hung child waits, if gdb is at hand (what a hang report needs).
fn backtrace_of(pid: libc::pid_t) {
    let out = std::process::Command::new("gdb")
        .args([
            "-p",
            &pid.to_string(),
            "-batch",
            "-ex",
            "thread apply all bt",
        ])
        .output();
    match out {
        Ok(out) => eprintln!(
            "child {pid} hung; its stacks:\n{}",
            String::from_utf8_lossy(&out.stdout)
        ),
        Err(e) => eprintln!("child {pid} hung (no gdb for its stacks: {e})"),
    }
}
