//! Issue 24's soundness question, as an experiment: can a page be meshed — its live objects
//! copied into another page at the same offsets and its addresses mapped onto that page —
//! while other threads keep writing those objects, without losing a write?
//!
//! `cargo run --release --manifest-path benches/Cargo.toml --bin mesh_experiment [TRIALS]`
//!
//! Each trial maps two pages of a `memfd` (A, B) shared, with live 64-byte objects in A's even
//! slots and B's odd ones. Two writer threads increment every live object in a loop with a
//! plain read and write through its address (a write that lands on A's old page after the copy
//! is lost, and shows as a count short). Halfway, the mesher: (1) write-protects A with
//! `userfaultfd` (`UFFDIO_WRITEPROTECT`), (2) copies A's live slots into B, (3) maps A's
//! addresses onto B's page of the file (`mmap MAP_FIXED`), (4) wakes A's waiters, (5) punches
//! A's old page out of the file. At the end every object must hold its writer's count, read
//! through either address. It runs three ways: without step 1 (the control: writes must be
//! lost, or the test proves nothing), with a privileged `userfaultfd`, and with an
//! unprivileged one (`UFFD_USER_MODE_ONLY`) — with writers that write from user code, and
//! with writers whose writes the kernel makes (`read(2)` from a pipe into the object).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

const PAGE: usize = 4096;
const SLOT: usize = 64;
const SLOTS: usize = PAGE / SLOT;

// <linux/userfaultfd.h>, x86-64 and aarch64 (the ioctl numbers encode the structs' sizes).
const UFFDIO_API: u64 = 0xC018_AA3F;
const UFFDIO_REGISTER: u64 = 0xC020_AA00;
const UFFDIO_WAKE: u64 = 0x8010_AA02;
const UFFDIO_WRITEPROTECT: u64 = 0xC018_AA06;
const UFFD_API: u64 = 0xAA;
const UFFD_USER_MODE_ONLY: i32 = 1;
const UFFD_FEATURE_WP_HUGETLBFS_SHMEM: u64 = 1 << 12;
const UFFDIO_REGISTER_MODE_WP: u64 = 1 << 1;
const UFFDIO_WRITEPROTECT_MODE_WP: u64 = 1 << 0;

#[repr(C)]
struct UffdioApi {
    api: u64,
    features: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioRange {
    start: u64,
    len: u64,
}

#[repr(C)]
struct UffdioRegister {
    range: UffdioRange,
    mode: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioWriteprotect {
    range: UffdioRange,
    mode: u64,
}

fn ok(rc: i64, what: &str) -> io::Result<()> {
    if rc < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("{what}: {e}")));
    }
    Ok(())
}

/// An ioctl on `fd` whose argument is `arg`.
fn ioctl<T>(fd: i32, request: u64, arg: &mut T, what: &str) -> io::Result<()> {
    // SAFETY: `arg` is a live, writable struct of the layout `request` names.
    ok(
        unsafe { libc::ioctl(fd, request as _, arg as *mut T) } as i64,
        what,
    )
}

fn userfaultfd(user_mode_only: bool) -> io::Result<i32> {
    let flags = libc::O_CLOEXEC
        | libc::O_NONBLOCK
        | if user_mode_only {
            UFFD_USER_MODE_ONLY
        } else {
            0
        };
    // SAFETY: the syscall takes flags and returns a descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_userfaultfd, flags) } as i32;
    ok(fd.into(), "userfaultfd")?;
    let mut api = UffdioApi {
        api: UFFD_API,
        features: UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
        ioctls: 0,
    };
    ioctl(fd, UFFDIO_API, &mut api, "UFFDIO_API")?;
    Ok(fd)
}

/// How a trial runs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Protection {
    None,
    Privileged,
    UserModeOnly,
}

#[derive(Default)]
struct Outcome {
    /// Objects whose count came out short: a write was lost.
    lost: u64,
    /// Kernel writes into an object refused with `EFAULT` (then redone by hand).
    refused: u64,
    pauses: Vec<Duration>,
}

/// Two pages of one memfd, mapped shared; unmapped and closed when dropped.
struct Pages {
    memfd: i32,
    base: *mut u8,
}

impl Pages {
    fn new() -> io::Result<Pages> {
        // SAFETY: a NUL-terminated name and no flags.
        let memfd = unsafe { libc::memfd_create(c"typool-mesh-experiment".as_ptr(), 0) };
        ok(memfd.into(), "memfd_create")?;
        // SAFETY: `memfd` is ours.
        let rc = unsafe { libc::ftruncate(memfd, 2 * PAGE as i64) };
        ok(rc.into(), "ftruncate")?;
        // SAFETY: a new shared mapping of the file's two pages, at an address the kernel picks.
        let base = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                2 * PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                memfd,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Pages {
            memfd,
            base: base.cast(),
        })
    }

    fn a(&self) -> usize {
        self.base as usize
    }

    fn b(&self) -> usize {
        self.base as usize + PAGE
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        // SAFETY: the mapping and the descriptor are this value's.
        unsafe {
            libc::munmap(self.base.cast(), 2 * PAGE);
            libc::close(self.memfd);
        }
    }
}

/// Adds one to the `u64` at `p`, as user code would, or through the kernel (`read(2)` from
/// `pipe` into it). Returns whether the kernel refused.
fn bump(p: usize, pipe: [i32; 2], by_kernel: bool) -> bool {
    let q = p as *mut u64;
    // SAFETY: `p` is a live slot of a mapping that outlives the writers, and only this
    // thread writes it (concurrent reads are the mesher's copy, of whole slots).
    let v = unsafe { q.read_volatile() } + 1;
    if by_kernel {
        // SAFETY: `pipe` is this thread's pipe; 8 bytes from `v` in, 8 bytes out into `q`.
        let refused = unsafe {
            libc::write(pipe[1], (&v as *const u64).cast(), 8);
            libc::read(pipe[0], q.cast(), 8) != 8
        };
        if !refused {
            return false;
        }
        let mut sink = 0u64;
        // SAFETY: drains the 8 bytes the refused read left in this thread's pipe.
        unsafe { libc::read(pipe[0], (&mut sink as *mut u64).cast(), 8) };
    }
    // SAFETY: as above.
    unsafe { q.write_volatile(v) };
    by_kernel
}

/// Steps 1–5 of the module docs on `pages`; the pause.
fn mesh(pages: &Pages, uffd: Option<i32>) -> io::Result<Duration> {
    let t = Instant::now();
    let range = || UffdioRange {
        start: pages.a() as u64,
        len: PAGE as u64,
    };
    if let Some(fd) = uffd {
        let mut wp = UffdioWriteprotect {
            range: range(),
            mode: UFFDIO_WRITEPROTECT_MODE_WP,
        };
        ioctl(fd, UFFDIO_WRITEPROTECT, &mut wp, "UFFDIO_WRITEPROTECT")?;
    }
    for i in (0..SLOTS).step_by(2) {
        // SAFETY: slot `i` of A and of B, both inside the mapping; A's is not written now
        // (protected), B's is free (its live slots are the odd ones).
        unsafe {
            core::ptr::copy_nonoverlapping(
                (pages.a() + i * SLOT) as *const u8,
                (pages.b() + i * SLOT) as *mut u8,
                SLOT,
            )
        };
    }
    // SAFETY: replaces the mapping of A's page, which this experiment owns, by the file's page
    // B: every address of A stays mapped, onto B's memory.
    let r = unsafe {
        libc::mmap(
            pages.a() as *mut _,
            PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_FIXED,
            pages.memfd,
            PAGE as i64,
        )
    };
    if r as usize != pages.a() {
        return Err(io::Error::last_os_error());
    }
    if let Some(fd) = uffd {
        ioctl(fd, UFFDIO_WAKE, &mut range(), "UFFDIO_WAKE")?;
    }
    // SAFETY: frees the file's first page, which no mapping uses any more.
    let rc = unsafe {
        libc::fallocate(
            pages.memfd,
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            0,
            PAGE as i64,
        )
    };
    ok(rc.into(), "fallocate(PUNCH_HOLE)")?;
    Ok(t.elapsed())
}

fn trial(uffd: Option<i32>, by_kernel: bool, out: &mut Outcome) -> io::Result<()> {
    let pages = Pages::new()?;
    if let Some(fd) = uffd {
        let mut reg = UffdioRegister {
            range: UffdioRange {
                start: pages.a() as u64,
                len: PAGE as u64,
            },
            mode: UFFDIO_REGISTER_MODE_WP,
            ioctls: 0,
        };
        ioctl(fd, UFFDIO_REGISTER, &mut reg, "UFFDIO_REGISTER")?;
    }
    let live: Vec<usize> = (0..SLOTS)
        .step_by(2)
        .map(|i| pages.a() + i * SLOT)
        .chain((1..SLOTS).step_by(2).map(|i| pages.b() + i * SLOT))
        .collect();
    let stop = AtomicBool::new(false);
    let refused = AtomicU64::new(0);
    let writers = 2;
    let (counts, pause) = std::thread::scope(|s| -> io::Result<_> {
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let mine: Vec<usize> = live.iter().copied().skip(w).step_by(writers).collect();
                let (stop, refused) = (&stop, &refused);
                s.spawn(move || {
                    let mut pipe = [0i32; 2];
                    // SAFETY: `pipe` has room for the two descriptors.
                    unsafe { libc::pipe(pipe.as_mut_ptr()) };
                    let mut n = 0u64;
                    while !stop.load(Relaxed) {
                        n += 1;
                        for &p in &mine {
                            if bump(p, pipe, by_kernel) {
                                refused.fetch_add(1, Relaxed);
                            }
                        }
                    }
                    // SAFETY: this thread's pipe.
                    unsafe {
                        libc::close(pipe[0]);
                        libc::close(pipe[1])
                    };
                    n
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(2));
        let pause = mesh(&pages, uffd);
        std::thread::sleep(Duration::from_millis(2));
        stop.store(true, Relaxed);
        let counts: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        Ok((counts, pause?))
    })?;
    for (j, &p) in live.iter().enumerate() {
        // SAFETY: the writers are done; `p` is mapped.
        let got = unsafe { (p as *const u64).read_volatile() };
        if got != counts[j % writers] {
            out.lost += 1;
        }
        if p < pages.b() {
            // SAFETY: B's slot at the same offset: after the mesh, the same memory.
            let alias = unsafe { ((p + PAGE) as *const u64).read_volatile() };
            assert_eq!(alias, got, "the two addresses of a meshed object disagree");
        }
    }
    out.refused += refused.load(Relaxed);
    out.pauses.push(pause);
    Ok(())
}

/// Runs every way for `trials` trials and prints a table.
pub fn main() {
    let trials: usize = std::env::args().nth(1).map_or(300, |n| n.parse().unwrap());
    println!("{trials} trials each, 2 writer threads and the mesher on 2 vCPUs (oversubscribed)\n");
    println!("| write-protection | writes by | objects with a lost write | kernel writes refused | pause median | pause max |");
    println!("|---|---|---:|---:|---:|---:|");
    for protection in [
        Protection::None,
        Protection::Privileged,
        Protection::UserModeOnly,
    ] {
        for by_kernel in [false, true] {
            let uffd = match protection {
                Protection::None => None,
                p => match userfaultfd(p == Protection::UserModeOnly) {
                    Ok(fd) => Some(fd),
                    Err(e) => {
                        println!("| {protection:?} | — | not available: {e} | | | |");
                        break;
                    }
                },
            };
            let mut out = Outcome::default();
            for _ in 0..trials {
                trial(uffd, by_kernel, &mut out).expect("trial");
            }
            out.pauses.sort();
            let who = if by_kernel {
                "the kernel (`read(2)`)"
            } else {
                "user code"
            };
            println!(
                "| {protection:?} | {who} | {} | {} | {:.0} µs | {:.0} µs |",
                out.lost,
                out.refused,
                out.pauses[trials / 2].as_secs_f64() * 1e6,
                out.pauses[trials - 1].as_secs_f64() * 1e6
            );
            if let Some(fd) = uffd {
                // SAFETY: the descriptor is ours and no longer used.
                unsafe { libc::close(fd) };
            }
        }
    }
}
