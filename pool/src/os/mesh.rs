//! Memory files for meshing: segments whose pages can be remapped onto each other.
//!
//! A `mesh` pool's segments are shared mappings of anonymous memory files (`memfd_create`),
//! one file per segment, so that two virtual pages can be made to share one physical page
//! (`engine/mesh.rs` says when; this file says how). Four operations, all on whole 4 KiB
//! pages ([`MESH_PAGE`]):
//!
//! - [`File::mesh_onto`]: write-protect the source page, let the caller copy its live bytes
//!   into the target page, map the source's addresses onto the target's file page, then punch
//!   the source's own file page out (its memory goes back to the OS);
//! - [`File::restore`]: map a page's addresses back onto its own (now empty) file page;
//! - [`File::punch`]: give a range's memory back (the next touch reads zeros);
//! - the fork hooks, which give a child its own copy of every file (below).
//!
//! # Writers during a mesh
//!
//! Between the write-protection and the remap, a thread that writes the source page — to a
//! live object, or a free slot's link — takes a `SIGSEGV`. The handler installed here
//! recognises a fault inside a memory file (the table [`REGIONS`], readable without a lock),
//! waits until that page is no longer [`ACTIVE`] (and no fork snapshot is [`imp::FROZEN`]), and
//! returns: the faulting instruction runs again, now on the remapped page, which holds the
//! copy. So no write is lost and none lands in the page being left: a write either finished
//! before the protection (and the copy, made after it, carries it) or runs after the remap.
//! Readers never fault; they see the old page or the copy, whose bytes are the same. A fault
//! anywhere else goes to the handler that was installed before this one (Rust's stack-overflow
//! handler, or the default action).
//!
//! What the handler may do: read atomics, call `sched_yield`, call the previous handler. It
//! takes no lock and allocates nothing. What it cannot do: help a *kernel* write. A system
//! call that writes into a page under protection (`read(2)` into a pooled buffer) fails with
//! `EFAULT` instead of faulting in user space; `BENCHMARKS.md` ("Meshing: can a page be
//! meshed…") shows the experiment. Such writes must not target a `mesh` pool's objects while
//! `mesh()` runs. A thread that writes a page being meshed *from a signal handler that
//! interrupted the meshing thread itself* would wait for itself: don't.
//!
//! # Fork
//!
//! A shared mapping is not copied on write by `fork`: parent and child would share every
//! object. So the fork gate (`sync/fork.rs`) calls three hooks. Before the copy, with no
//! typool lock held anywhere, `imp::before_fork` write-protects every memory file (writers wait
//! as above) and snapshots each into a new memory file (`copy_file_range` over the data, holes
//! kept). In the child, `imp::in_child` maps each snapshot over its segment and meshes the same
//! pages again, so the child starts with exactly the memory the parent had at the fork; in
//! the parent, `imp::in_parent` closes the snapshots and lifts the protection. A fork of a process
//! with `mesh` pools costs a copy of their committed memory.

use super::map::PAGE;
use super::sys_vec::{sys_vec, SysVec};
use crate::sync::lock_std;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The unit meshing works in: one base page.
pub(crate) const MESH_PAGE: usize = PAGE;

/// How many memory files can exist at once; a segment asked for past that is a plain one
/// (and is never meshed).
const MAX_REGIONS: usize = 1024;

/// One memory file's entry: its mapping's address and length (0 while free), its descriptor,
/// and during a fork its snapshot's.
struct Entry {
    base: AtomicUsize,
    len: AtomicUsize,
    fd: AtomicI32,
    #[cfg_attr(not(typool_memfd), allow(dead_code))]
    snapshot: AtomicI32,
}

/// Every memory file mapped, readable by the fault handler without a lock; written under
/// [`TABLE`].
static REGIONS: [Entry; MAX_REGIONS] = [const {
    Entry {
        base: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        fd: AtomicI32::new(-1),
        snapshot: AtomicI32::new(-1),
    }
}; MAX_REGIONS];

/// The page being meshed (its address), or 0. One mesh at a time in the process: the
/// caller of [`File::mesh_onto`] holds [`TABLE`].
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// The table's lock, and the meshed pages: `(source page, target page)` addresses, which a
/// forked child meshes again.
static TABLE: Mutex<SysVec<(usize, usize)>> = Mutex::new(sys_vec());

/// One segment's memory file, mapped shared at `ptr`. Dropping it unmaps and closes.
///
/// Invariant: `ptr..ptr + len` is a shared read-write mapping of the file `fd` from offset 0
/// (except pages meshed onto another file, which map that file's page), registered in
/// [`REGIONS`] at `entry`; `len` is a multiple of [`MESH_PAGE`].
#[derive(Debug)]
pub(crate) struct File {
    ptr: NonNull<u8>,
    len: usize,
    entry: usize,
}

impl File {
    /// A new memory file of `len` bytes (rounded up to pages), mapped; `None` where there are
    /// none (not Linux, Miri, a sanitizer build), when the table is full, or when the system
    /// refuses.
    pub(crate) fn new(len: usize) -> Option<File> {
        let len = super::map::round_up(len, MESH_PAGE)?;
        imp::new(len)
    }

    pub(crate) fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// Gives the memory of the whole pages inside `[offset, offset + len)` back to the OS;
    /// the next touch reads zeros. Returns the bytes given back.
    ///
    /// # Safety
    ///
    /// Nothing needs the bytes of the range, and none of its pages is meshed onto another.
    pub(crate) unsafe fn punch(&self, offset: usize, len: usize) -> usize {
        let lo = offset.next_multiple_of(MESH_PAGE);
        let hi = ((offset + len) & !(MESH_PAGE - 1)).min(self.len);
        if hi <= lo {
            return 0;
        }
        if imp::punch(self.fd(), lo, hi - lo) {
            hi - lo
        } else {
            0
        }
    }

    /// Meshes the page at `offset` onto `target`'s page at `target_offset`: protects it from
    /// writes, runs `copy` (which must copy every byte the source's live slots hold into the
    /// target page, at the same offsets), maps the source's addresses onto the target's file
    /// page, and gives the source's own memory back. Whether it was done; if not, the page
    /// is as it was (writable, its own) and `copy` may or may not have run.
    ///
    /// # Safety
    ///
    /// Both pages are whole pages of these files; the source page is not meshed; the bytes
    /// `copy` writes into the target are no one's (free slots no thread can reach); after the
    /// call, every byte of the source page that anyone may read or write is the copy.
    pub(crate) unsafe fn mesh_onto(
        &self,
        offset: usize,
        target: &File,
        target_offset: usize,
        copy: impl FnOnce(),
    ) -> bool {
        debug_assert!(offset.is_multiple_of(MESH_PAGE) && offset < self.len);
        debug_assert!(target_offset.is_multiple_of(MESH_PAGE) && target_offset < target.len);
        let mut aliases = lock_std(&TABLE);
        let page = self.ptr.as_ptr().wrapping_add(offset);
        let Some(()) = aliases.try_reserve(1).ok() else {
            return false;
        };
        imp::ensure_handler();
        ACTIVE.store(page.addr(), Ordering::SeqCst);
        // SAFETY: the page lies in this file's mapping (the caller), which we own.
        if !unsafe { imp::protect(page, MESH_PAGE, false) } {
            ACTIVE.store(0, Ordering::SeqCst);
            return false;
        }
        copy();
        // SAFETY: the page lies in our mapping and the target page in `target`'s file; the
        // copy holds every live byte (the caller), so the new mapping serves them all.
        let mapped = unsafe { imp::map_at(page, MESH_PAGE, target.fd(), target_offset) };
        if !mapped {
            // SAFETY: as for the protection above.
            unsafe { imp::protect(page, MESH_PAGE, true) };
        }
        ACTIVE.store(0, Ordering::SeqCst);
        if !mapped {
            return false;
        }
        aliases.push((page.addr(), target.ptr.as_ptr().addr() + target_offset));
        imp::punch(self.fd(), offset, MESH_PAGE);
        true
    }

    /// Maps the page at `offset`, meshed onto another file's page, back onto its own file
    /// page, which reads as zeros. Whether it was done (if not, it stays meshed).
    ///
    /// # Safety
    ///
    /// The page was meshed by [`mesh_onto`](Self::mesh_onto), and nothing needs its bytes.
    pub(crate) unsafe fn restore(&self, offset: usize) -> bool {
        let mut aliases = lock_std(&TABLE);
        let page = self.ptr.as_ptr().wrapping_add(offset);
        // SAFETY: the page lies in our mapping; no one reads or writes it (the caller).
        if !unsafe { imp::map_at(page, MESH_PAGE, self.fd(), offset) } {
            return false;
        }
        if let Some(i) = aliases.iter().position(|&(s, _)| s == page.addr()) {
            aliases.swap_remove(i);
        }
        true
    }

    fn fd(&self) -> i32 {
        REGIONS[self.entry].fd.load(Ordering::Relaxed)
    }
}

impl Drop for File {
    fn drop(&mut self) {
        let mut aliases = lock_std(&TABLE);
        let (lo, hi) = (
            self.ptr.as_ptr().addr(),
            self.ptr.as_ptr().addr() + self.len,
        );
        // A dropped segment has no page meshed onto another (they would not be empty), and
        // none of another's onto it; forget any entry left in the range all the same.
        aliases.retain(|&(s, t)| !(lo..hi).contains(&s) && !(lo..hi).contains(&t));
        let e = &REGIONS[self.entry];
        e.base.store(0, Ordering::SeqCst);
        // SAFETY: the mapping and the descriptor are ours (the invariant), and the segment
        // that owned them is gone.
        unsafe { imp::unmap(self.ptr, self.len, e.fd.swap(-1, Ordering::Relaxed)) };
        e.len.store(0, Ordering::SeqCst);
    }
}

#[cfg(typool_memfd)]
mod imp {
    use super::{Entry, File, ACTIVE, MESH_PAGE, REGIONS, TABLE};
    use crate::engine::misuse::abort_with;
    use crate::sync::lock_std;
    use core::cell::UnsafeCell;
    use core::mem::MaybeUninit;
    use core::ptr::{self, NonNull};
    use core::sync::atomic::{AtomicBool, Ordering};

    pub(super) fn new(len: usize) -> Option<File> {
        crate::sync::fork::set_hooks(&HOOKS);
        let _table = lock_std(&TABLE);
        let entry = REGIONS
            .iter()
            .position(|e| e.len.load(Ordering::Relaxed) == 0)?;
        let fd = make_file(len)?;
        // SAFETY: a new shared mapping of a file we just sized; no address hint.
        let raw = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            // SAFETY: the descriptor is ours and used by nothing else.
            unsafe { libc::close(fd) };
            return None;
        }
        let e: &Entry = &REGIONS[entry];
        e.fd.store(fd, Ordering::Relaxed);
        e.len.store(len, Ordering::SeqCst);
        e.base.store(raw.expose_provenance(), Ordering::SeqCst);
        Some(File {
            ptr: NonNull::new(raw.cast())?,
            len,
            entry,
        })
    }

    /// A new memory file of `len` bytes (close-on-exec), or `None`.
    fn make_file(len: usize) -> Option<i32> {
        // SAFETY: a constant, NUL-terminated name; the flags are valid.
        let fd = unsafe { libc::memfd_create(c"typool-mesh".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return None;
        }
        // SAFETY: `fd` is the file just made.
        if unsafe { libc::ftruncate(fd, len as libc::off_t) } != 0 {
            // SAFETY: as above.
            unsafe { libc::close(fd) };
            return None;
        }
        Some(fd)
    }

    pub(super) fn punch(fd: i32, offset: usize, len: usize) -> bool {
        // SAFETY: `fd` is one of our memory files; punching a hole changes no mapping.
        unsafe {
            libc::fallocate(
                fd,
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                offset as libc::off_t,
                len as libc::off_t,
            ) == 0
        }
    }

    /// # Safety
    ///
    /// `[page, page + len)` lies in one of our mappings.
    pub(super) unsafe fn protect(page: *mut u8, len: usize, writable: bool) -> bool {
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: forwarded from the caller; only the protection changes.
        unsafe { libc::mprotect(page.cast(), len, prot) == 0 }
    }

    /// Maps `[at, at + len)` (inside one of our mappings) onto `fd` from `offset`, in place.
    ///
    /// # Safety
    ///
    /// Everything anyone may read or write in the range is in the file's pages from `offset`.
    pub(super) unsafe fn map_at(at: *mut u8, len: usize, fd: i32, offset: usize) -> bool {
        // SAFETY: `MAP_FIXED` replaces part of a mapping we own (the caller); its contents are
        // what the caller says.
        let raw = unsafe {
            libc::mmap(
                at.cast(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_FIXED,
                fd,
                offset as libc::off_t,
            )
        };
        raw != libc::MAP_FAILED
    }

    /// # Safety
    ///
    /// The mapping and the descriptor are ours and no one uses them any more.
    pub(super) unsafe fn unmap(ptr: NonNull<u8>, len: usize, fd: i32) {
        // SAFETY: forwarded from the caller.
        unsafe {
            libc::munmap(ptr.as_ptr().cast(), len);
            libc::close(fd);
        }
    }

    /// The fault handler's predecessor, saved when ours is installed.
    struct Previous(UnsafeCell<MaybeUninit<libc::sigaction>>);
    // SAFETY: written only under `TABLE`, while the installed handler is not ours (so ours
    // is not reading it, bar a fault that began before someone replaced ours: see
    // `ensure_handler`).
    unsafe impl Sync for Previous {}
    static PREVIOUS: Previous = Previous(UnsafeCell::new(MaybeUninit::uninit()));

    /// Every memory file is write-protected for a fork's snapshot.
    pub(super) static FROZEN: AtomicBool = AtomicBool::new(false);

    static HOOKS: crate::sync::fork::Hooks = crate::sync::fork::Hooks {
        prepare: before_fork,
        parent: in_parent,
        child: in_child,
    };

    /// Whether `addr` lies in a memory file's mapping (the fault handler's question).
    fn in_a_file(addr: usize) -> bool {
        REGIONS.iter().any(|e| {
            let base = e.base.load(Ordering::Acquire);
            base != 0 && addr.wrapping_sub(base) < e.len.load(Ordering::Acquire)
        })
    }

    /// Makes sure the `SIGSEGV` handler is ours, chaining to whatever is installed now.
    /// Called under `TABLE` before each write-protection — not when the first file is made:
    /// that can happen before `main` (the slab as the global allocator), and Rust's runtime
    /// then installs its own handler over ours. A library that replaces ours later gets
    /// chained to the next time a page is meshed.
    pub(super) fn ensure_handler() {
        // SAFETY: queries and sets the `SIGSEGV` action; ours is an `extern "C"` function that
        // lives as long as the process, and the previous action is saved before ours can run.
        unsafe {
            let mut current: libc::sigaction = core::mem::zeroed();
            libc::sigaction(libc::SIGSEGV, ptr::null(), &mut current);
            let ours = on_fault as *const () as usize;
            if current.sa_sigaction == ours {
                return;
            }
            (*PREVIOUS.0.get()).write(current);
            let mut action: libc::sigaction = core::mem::zeroed();
            action.sa_sigaction = ours;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGSEGV, &action, ptr::null_mut());
        }
    }

    /// `SIGSEGV`: a write to a page being meshed (or frozen for a fork) waits until it is
    /// writable again and retries; anything else goes to the previous handler.
    extern "C" fn on_fault(sig: i32, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
        // SAFETY: the kernel hands a valid `siginfo_t` to an `SA_SIGINFO` handler.
        let addr = unsafe { (*info).si_addr() }.addr();
        if in_a_file(addr) {
            let page = addr & !(MESH_PAGE - 1);
            while ACTIVE.load(Ordering::SeqCst) == page || FROZEN.load(Ordering::SeqCst) {
                // SAFETY: `sched_yield` is async-signal-safe and has no preconditions.
                unsafe { libc::sched_yield() };
            }
            return;
        }
        // SAFETY: `PREVIOUS` was written before this handler was installed.
        let previous = unsafe { (*PREVIOUS.0.get()).assume_init_ref() };
        let handler = previous.sa_sigaction;
        if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
            // Put the previous action back and return: the fault happens again and takes it.
            // SAFETY: re-installs an action the kernel gave us.
            unsafe { libc::sigaction(sig, previous, ptr::null_mut()) };
        } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
            // SAFETY: an `SA_SIGINFO` handler has this signature; we forward our arguments.
            let f: extern "C" fn(i32, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { core::mem::transmute(handler) };
            f(sig, info, context);
        } else {
            // SAFETY: a plain handler takes the signal number.
            let f: extern "C" fn(i32) = unsafe { core::mem::transmute(handler) };
            f(sig);
        }
    }

    /// The entries in use, as `(entry, base, len, fd)`.
    fn live() -> impl Iterator<Item = (&'static Entry, usize, usize, i32)> {
        REGIONS.iter().filter_map(|e| {
            let base = e.base.load(Ordering::Acquire);
            (base != 0).then(|| {
                (
                    e,
                    base,
                    e.len.load(Ordering::Relaxed),
                    e.fd.load(Ordering::Relaxed),
                )
            })
        })
    }

    /// Fork hook, in the forking thread before the copy, with every other typool lock free:
    /// write-protects every memory file and snapshots it.
    fn before_fork() {
        let _table = lock_std(&TABLE);
        if live().next().is_none() {
            return;
        }
        ensure_handler();
        FROZEN.store(true, Ordering::SeqCst);
        for (_, base, len, _) in live() {
            // SAFETY: the whole mapping is ours; only its protection changes.
            unsafe { protect(ptr::with_exposed_provenance_mut(base), len, false) };
        }
        for (e, _, len, fd) in live() {
            let copy = make_file(len).filter(|&snap| copy_data(fd, snap, len));
            let snap = copy.unwrap_or_else(|| {
                abort_with(format_args!(
                    "typool: cannot copy a mesh pool's memory for a forked child (memfd_create or copy_file_range failed)"
                ))
            });
            e.snapshot.store(snap, Ordering::Relaxed);
        }
    }

    /// Copies the data of `from` (holes stay holes) into `to`, both `len` bytes long.
    fn copy_data(from: i32, to: i32, len: usize) -> bool {
        let mut at: libc::off_t = 0;
        while (at as usize) < len {
            // SAFETY: `from` is one of our memory files.
            let data = unsafe { libc::lseek(from, at, libc::SEEK_DATA) };
            if data < 0 {
                return true; // ENXIO: no data past `at`.
            }
            // SAFETY: as above.
            let hole = unsafe { libc::lseek(from, data, libc::SEEK_HOLE) };
            if hole < 0 {
                return false;
            }
            let (mut src, mut dst) = (data, data);
            while src < hole {
                // SAFETY: both descriptors are our files; the offsets are ours to advance.
                let n = unsafe {
                    libc::copy_file_range(from, &mut src, to, &mut dst, (hole - src) as usize, 0)
                };
                if n <= 0 {
                    return false;
                }
            }
            at = hole;
        }
        true
    }

    /// Fork hook, in the parent after the copy: drops the snapshots and lifts the protection.
    fn in_parent() {
        let _table = lock_std(&TABLE);
        if !FROZEN.load(Ordering::SeqCst) {
            return;
        }
        for (e, base, len, _) in live() {
            // SAFETY: the snapshot is ours alone in this process.
            unsafe { libc::close(e.snapshot.swap(-1, Ordering::Relaxed)) };
            // SAFETY: the whole mapping is ours; only its protection changes.
            unsafe { protect(ptr::with_exposed_provenance_mut(base), len, true) };
        }
        FROZEN.store(false, Ordering::SeqCst);
    }

    /// Fork hook, in the child: each segment gets its snapshot as its own memory file.
    fn in_child() {
        let aliases = lock_std(&TABLE);
        if !FROZEN.load(Ordering::SeqCst) {
            return;
        }
        let fail = || -> ! {
            abort_with(format_args!(
                "typool: cannot give a forked child its own copy of a mesh pool's memory (mmap failed)"
            ))
        };
        for (e, base, len, fd) in live() {
            let snap = e.snapshot.swap(-1, Ordering::Relaxed);
            // SAFETY: the snapshot holds the segment's bytes as of the fork; mapping it over
            // the segment (whole, read-write) gives this process its own copy.
            if !unsafe { map_at(ptr::with_exposed_provenance_mut(base), len, snap, 0) } {
                fail();
            }
            // SAFETY: the parent's file is no longer mapped here; the descriptor is ours.
            unsafe { libc::close(fd) };
            e.fd.store(snap, Ordering::Relaxed);
        }
        for &(source, target) in aliases.iter() {
            let Some((_, base, _, fd)) = live().find(|&(_, b, l, _)| target.wrapping_sub(b) < l)
            else {
                fail()
            };
            // SAFETY: the source page's live bytes are in the target page (it was meshed so
            // in the parent, and the snapshots are of the same instant).
            if !unsafe {
                map_at(
                    ptr::with_exposed_provenance_mut(source),
                    MESH_PAGE,
                    fd,
                    target - base,
                )
            } {
                fail();
            }
        }
        FROZEN.store(false, Ordering::SeqCst);
    }
}

#[cfg(not(typool_memfd))]
#[allow(dead_code)]
mod imp {
    use super::File;
    use core::ptr::NonNull;

    pub(super) fn new(_: usize) -> Option<File> {
        None
    }
    pub(super) fn punch(_: i32, _: usize, _: usize) -> bool {
        false
    }
    pub(super) unsafe fn protect(_: *mut u8, _: usize, _: bool) -> bool {
        false
    }
    pub(super) unsafe fn map_at(_: *mut u8, _: usize, _: i32, _: usize) -> bool {
        false
    }
    pub(super) unsafe fn unmap(_: NonNull<u8>, _: usize, _: i32) {
        unreachable!("no memory file exists without memfd")
    }
    pub(super) fn ensure_handler() {}
}
