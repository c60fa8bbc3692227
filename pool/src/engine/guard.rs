//! Free-list integrity: checked in debug builds always, and in release with feature `hardened`.
//!
//! A *checked* build (`debug_assertions` or `hardened`) keeps two words in every free slot:
//!
//! - the link to the next free slot, **encoded**: XORed with the pool's random secret and the
//!   slot's own address (mimalloc's secure mode does the same), so a stray write or a forged
//!   link decodes to a wild value, not to an address the writer chose;
//! - a **tag** that says "this slot is free": a function of the secret and the slot's address
//!   that a live object holds only by a 2⁻⁶⁴ accident (or by knowing the secret).
//!
//! Every free checks the tag first: a slot that already carries it is freed twice, and the
//! process reports which pool and aborts before the slot can be handed out twice. Every
//! allocation checks that the slot still carries its tag and that the decoded link is
//! plausible (aligned, in the user half of the address space): a slot written after it was
//! freed is reported the same way, instead of steering the next allocation. Allocation then
//! clears the tag, so a live object never carries it.
//!
//! An unchecked build stores the plain link and nothing else; every function here is then
//! the plain load or store, and [`Secret`] and the tag word do not exist.
//!
//! What it cannot see: a stale pointer freed after its slot was handed out again (it looks
//! like a free of the new object), and writes past the two words. ASan (`poison.rs`) covers
//! those in the sanitizer runs.

use crate::engine::magazine::{FreeSlot, Top};
#[cfg(typool_checked)]
use crate::engine::misuse::abort_with;
#[cfg(typool_checked)]
use core::cell::Cell;

/// Whether this build checks free lists: `cfg(typool_checked)`, which `build.rs` sets for
/// builds with debug assertions and for feature `hardened`.
pub(crate) const CHECKED: bool = cfg!(typool_checked);

/// A pool's key for its free lists: random per pool in checked builds, nothing otherwise.
///
/// Invariant: one pool uses one secret for its whole life (set at its first cache's
/// registration, before any slot is linked), so every link and tag in its chains was
/// written with the secret that reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Secret {
    #[cfg(typool_checked)]
    key: usize,
}

impl Secret {
    /// The secret of a pool that has none yet (no slot of it is linked).
    pub(crate) const UNSET: Self = Self {
        #[cfg(typool_checked)]
        key: 0,
    };

    /// The word to store as a secret (never 0, so 0 can mean "not drawn yet").
    #[cfg(typool_checked)]
    pub(crate) fn draw() -> usize {
        random_word() | 1
    }

    #[cfg(typool_checked)]
    pub(crate) const fn from_word(key: usize) -> Self {
        Self { key }
    }

    /// What `slot`'s link is XORed with: the secret and the slot's address (rotated, so the
    /// address's changing low bits land on the link's high ones).
    #[cfg(typool_checked)]
    #[inline(always)]
    fn mask(self, slot: *mut FreeSlot) -> usize {
        self.key ^ slot.addr().rotate_left(32)
    }

    /// `slot`'s free tag: its mask and a salt. One XOR past the mask, which the free computes
    /// anyway. Knowing a tag tells no more than knowing a link does (either gives the mask);
    /// and a tag never equals a link word written with the same mask, since that would take
    /// a link equal to the salt, whose top bit no link has on 64-bit targets (a link is a
    /// slot's address, below 2^47, shifted left by `Top::LEN_BITS`).
    #[cfg(typool_checked)]
    #[inline(always)]
    fn tag(self, slot: *mut FreeSlot) -> usize {
        self.mask(slot) ^ TAG_SALT
    }

    /// Writes `slot`'s link to `next`, the rest of its chain (and, checked, its free tag).
    ///
    /// # Safety
    ///
    /// `slot` is a free slot of the pool this secret belongs to, owned by the caller: valid
    /// for writes of a [`FreeSlot`] and aligned for one.
    #[inline(always)]
    pub(crate) unsafe fn link(self, slot: *mut FreeSlot, next: Top) {
        #[cfg(typool_checked)]
        {
            let mask = self.mask(slot);
            // SAFETY: the caller owns the free slot, valid and aligned for a `FreeSlot`; the
            // link keeps `next`'s provenance (`map_addr`).
            unsafe {
                slot.write(FreeSlot {
                    next: next.masked(mask),
                    tag: mask ^ TAG_SALT,
                })
            };
        }
        #[cfg(not(typool_checked))]
        // SAFETY: as above.
        unsafe {
            slot.write(FreeSlot { next })
        };
    }

    /// The rest of `slot`'s chain, without checks (debug walks, trim, teardown).
    ///
    /// # Safety
    ///
    /// `slot` is in a chain the caller owns, linked with this secret.
    #[inline(always)]
    pub(crate) unsafe fn next(self, slot: *mut FreeSlot) -> Top {
        // SAFETY: forwarded from the caller: the slot's first word is its link.
        let next = unsafe { (*slot).next };
        #[cfg(typool_checked)]
        return next.masked(self.mask(slot));
        #[cfg(not(typool_checked))]
        next
    }

    /// Checks that `slot`, about to be freed, is not free already; reports and aborts if it is.
    ///
    /// # Safety
    ///
    /// `slot` is a slot of this secret's pool whose object the caller dropped: its first
    /// two words are readable.
    #[inline(always)]
    pub(crate) unsafe fn check_free(self, slot: *mut FreeSlot, pool: &Whose) {
        #[cfg(typool_checked)]
        // SAFETY: forwarded from the caller: the tag word lies inside the slot.
        if unsafe { freeze_load(core::ptr::addr_of!((*slot).tag)) } == Some(self.tag(slot)) {
            report(
                pool,
                slot,
                "freed twice (it is already a free slot of the pool)",
            );
        }
        #[cfg(not(typool_checked))]
        let _ = (slot, pool);
    }

    /// The rest of the chain `slot` heads, `slot` being about to be handed out, after checking
    /// it was left alone while free (its tag, and a link that names `left` more slots: the
    /// caller knows how many follow); clears its tag. Reports and aborts if the slot was
    /// written after it was freed.
    ///
    /// # Safety
    ///
    /// `slot` heads a chain the caller owns, linked with this secret.
    #[inline(always)]
    pub(crate) unsafe fn take(self, slot: *mut FreeSlot, left: u32, pool: &Whose) -> Top {
        // SAFETY: forwarded from the caller.
        let next = unsafe { self.next(slot) };
        #[cfg(typool_checked)]
        {
            // SAFETY: forwarded from the caller: the slot is ours, so its tag is readable.
            let tag = unsafe { &mut (*slot).tag };
            if *tag != self.tag(slot) || !next.plausible(left) {
                report(
                    pool,
                    slot,
                    "was written after it was freed (its free-list words are overwritten): a use after free",
                );
            }
            *tag = 0;
        }
        #[cfg(not(typool_checked))]
        let _ = (left, pool);
        next
    }
}

/// Loads the word at `p` as the machine holds it, initialised or not; `None` where that
/// cannot be done soundly.
///
/// The tag word of a slot being freed held the user's object a moment ago, and an object's
/// padding is uninitialised memory, which Rust code may not read as an integer — a plain or a
/// volatile read alike. An `asm!` load is outside those rules: it reads whatever bytes are
/// there (a live slot's tag word was last written by [`Secret::take`], or by the object, so
/// the bytes are ours to read). Where typool has no such load (targets other than x86-64 and
/// AArch64, and Miri, which cannot run `asm!`), there is no tag to see and this check is
/// skipped: double frees are then caught by the others (the cache walk in `from_raw`, and the
/// tag check when the slot is handed out again, which reads a word typool itself wrote).
///
/// # Safety
///
/// `p` is valid for reads of a `usize` and aligned for one.
#[cfg(typool_checked)]
#[inline(always)]
unsafe fn freeze_load(p: *const usize) -> Option<usize> {
    #[cfg(all(not(miri), target_arch = "x86_64"))]
    {
        let word: usize;
        // SAFETY: forwarded from the caller; the load touches neither the stack nor flags.
        unsafe {
            core::arch::asm!("mov {w}, qword ptr [{p}]", p = in(reg) p, w = out(reg) word,
                options(nostack, readonly, preserves_flags))
        };
        Some(word)
    }
    #[cfg(all(not(miri), target_arch = "aarch64"))]
    {
        let word: usize;
        // SAFETY: as above.
        unsafe {
            core::arch::asm!("ldr {w}, [{p}]", p = in(reg) p, w = out(reg) word,
                options(nostack, readonly, preserves_flags))
        };
        Some(word)
    }
    #[cfg(any(miri, not(any(target_arch = "x86_64", target_arch = "aarch64"))))]
    {
        let _ = p;
        None
    }
}

/// Mixed into every tag, so a tag never equals the link word written with the same secret:
/// its top bit is set, which no link's is (see [`Secret::tag`]).
#[cfg(typool_checked)]
const TAG_SALT: usize = 0x9e37_79b9_7f4a_7c15_u64 as usize;

/// Who owns a slot, for the report: the pool's name and its slot size (read by checked
/// builds only).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(typool_checked), allow(dead_code))]
pub(crate) struct Owner {
    /// The pooled type's name (`core::any::type_name`), or the allocator's.
    pub(crate) name: fn() -> &'static str,
    pub(crate) slot_size: usize,
}

impl Owner {
    /// The owner of a cache that is not registered yet.
    #[cfg(typool_checked)]
    const UNKNOWN: Self = Self {
        name: unknown_name,
        slot_size: 0,
    };
}

/// Where a cache keeps its pool's [`Owner`] for the reports: a cell in checked builds,
/// nothing otherwise. The hit path carries a reference to it; only a report reads it.
#[derive(Debug)]
pub(crate) struct Whose {
    #[cfg(typool_checked)]
    owner: Cell<Owner>,
}

impl Whose {
    /// The place of a cache that is not registered yet.
    pub(crate) const fn new() -> Self {
        Self {
            #[cfg(typool_checked)]
            owner: Cell::new(Owner::UNKNOWN),
        }
    }

    /// Records who the pool is (on registration).
    pub(crate) fn set(&self, owner: Owner) {
        #[cfg(typool_checked)]
        self.owner.set(owner);
        #[cfg(not(typool_checked))]
        let _ = owner;
    }
}

/// Reports misuse of `slot`, a slot of `pool`'s, and aborts. The owner is read here, off the
/// hit path.
#[cold]
#[inline(never)]
#[cfg(typool_checked)]
fn report(pool: &Whose, slot: *mut FreeSlot, what: &str) -> ! {
    let owner = pool.owner.get();
    abort_with(format_args!(
        "typool: {slot:p} in the pool for {} ({} B slots) {what}",
        (owner.name)(),
        owner.slot_size
    ))
}

#[cfg(typool_checked)]
fn unknown_name() -> &'static str {
    "an unregistered pool"
}

/// A random word for a pool's secret, from the OS where it has a call for that.
#[cfg(typool_checked)]
fn random_word() -> usize {
    let mut word = [0u8; core::mem::size_of::<usize>()];
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: `word` is a writable buffer of `word.len()` bytes.
        let n = unsafe { libc::getrandom(word.as_mut_ptr().cast(), word.len(), 0) };
        if n == word.len() as isize {
            return usize::from_ne_bytes(word);
        }
    }
    // No OS randomness: mix what differs between runs and pools (std's random hash keys, a
    // stack address under ASLR, a counter). Never the same secret twice in one process.
    use std::hash::{BuildHasher, Hasher};
    static DRAWS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let mut h = std::hash::RandomState::new().build_hasher();
    h.write_usize(word.as_mut_ptr().addr());
    h.write_usize(DRAWS.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.finish() as usize
}
